"""Database engine and session management."""

from __future__ import annotations

import os
from collections.abc import Iterator

from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

DATABASE_URL = os.environ.get(
    "INVENTORY_DATABASE_URL",
    "postgresql+psycopg://inventory:inventory@localhost:5432/inventory",
)

engine = create_engine(
    DATABASE_URL,
    pool_size=10,
    max_overflow=5,
    pool_pre_ping=True,
)

SessionLocal = sessionmaker(bind=engine)


def get_session() -> Iterator[Session]:
    """FastAPI dependency that provides one session per request."""
    session = SessionLocal()
    try:
        yield session
    finally:
        session.close()
