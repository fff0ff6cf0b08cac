import os

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://billing@localhost:5432/billing")
DB_POOL_MIN = int(os.environ.get("DB_POOL_MIN", "1"))
DB_POOL_MAX = int(os.environ.get("DB_POOL_MAX", "10"))
STATEMENT_TIMEOUT_MS = int(os.environ.get("STATEMENT_TIMEOUT_MS", "5000"))

PAGE_SIZE = 50
