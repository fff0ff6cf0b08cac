"""Settings read from the environment."""

import os

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://analytics@localhost/analytics")
REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")
SNOWFLAKE_ACCOUNT = os.environ.get("SNOWFLAKE_ACCOUNT", "")
SNOWFLAKE_USER = os.environ.get("SNOWFLAKE_USER", "")
SNOWFLAKE_PASSWORD = os.environ.get("SNOWFLAKE_PASSWORD", "")
SNOWFLAKE_WAREHOUSE = os.environ.get("SNOWFLAKE_WAREHOUSE", "ANALYTICS_WH")
OLLAMA_HOST = os.environ.get("OLLAMA_HOST", "http://localhost:11434")
CHAT_MODEL = "gpt-4o-mini"
CLAUDE_MODEL = "claude-haiku-4-5"
EMBEDDING_MODEL = "text-embedding-3-small"
