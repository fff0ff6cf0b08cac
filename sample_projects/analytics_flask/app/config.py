import os


class Config:
    DATABASE_URL = os.environ.get(
        "DATABASE_URL", "postgresql://analytics@localhost:5432/analytics"
    )
    # Long-running reads (CSV exports, lag checks) go to the replica when one is configured.
    REPLICA_DATABASE_URL = os.environ.get("REPLICA_DATABASE_URL", DATABASE_URL)

    DB_POOL_MIN = int(os.environ.get("DB_POOL_MIN", "2"))
    DB_POOL_MAX = int(os.environ.get("DB_POOL_MAX", "10"))

    MAX_BATCH_SIZE = int(os.environ.get("MAX_BATCH_SIZE", "1000"))
    MAX_REPORT_ACCOUNTS = 200
    DEFAULT_CURRENCY = "USD"

    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    JSON_SORT_KEYS = False

