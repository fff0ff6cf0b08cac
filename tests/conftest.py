"""Shared test helpers: scan a small tree written to a temporary directory."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from auditor.config import Config
from auditor.scan import run_scan

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True, scope="session")
def _private_cache_home(tmp_path_factory):
    """CLI scans keep their facts cache (and its signing key) in the session's temporary
    directory, never in the user's ``~/.cache``."""
    saved = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if saved is None:
        del os.environ["XDG_CACHE_HOME"]
    else:
        os.environ["XDG_CACHE_HOME"] = saved


def write_tree(root: Path, files: dict) -> None:
    """Write ``{relative path: source}`` under ``root``."""
    for rel, source in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(source).removeprefix("\n"), encoding="utf-8")


def scan_files(root: Path, files: dict, config: Config | None = None, jobs: int = 1):
    """Write ``files`` under ``root`` and scan them."""
    write_tree(root, files)
    return run_scan(root, config or Config(), jobs=jobs)


def found(result, rule: str | None = None) -> list:
    """``(rule, path, line)`` of each finding (of ``rule``), sorted."""
    return sorted((f.rule, f.path, f.line) for f in result.findings if rule is None or f.rule == rule)


@pytest.fixture
def scan(tmp_path):
    """``scan({path: source}) -> ScanResult`` on a fresh temporary tree."""
    def _scan(files: dict, config: Config | None = None, jobs: int = 1):
        return scan_files(tmp_path, files, config, jobs)
    return _scan


import os  # noqa: E402  (appended with the PostgreSQL fixture below)


def postgres_required() -> bool:
    """``AUDIT_REQUIRE_POSTGRES=1`` (set by scripts/test.sh): a missing server fails, not skips."""
    return os.environ.get("AUDIT_REQUIRE_POSTGRES", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def postgres():
    """A private PostgreSQL cluster for the whole session (``tests/postgres.py``).

    ``postgres.dsn``, ``postgres.connect()``, ``postgres.has_hypopg``. Skips when the server
    binaries (or psycopg2) are missing, unless ``AUDIT_REQUIRE_POSTGRES=1``: then it fails.
    """
    from tests.postgres import PostgresCluster, PostgresUnavailable

    try:
        import psycopg2  # noqa: F401
    except ImportError:
        reason = "psycopg2 is not installed (pip install -e '.[test]')"
        if postgres_required():
            pytest.fail(f"AUDIT_REQUIRE_POSTGRES=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    cluster = PostgresCluster()
    try:
        cluster.start()
    except PostgresUnavailable as exc:
        if postgres_required():
            pytest.fail(f"AUDIT_REQUIRE_POSTGRES=1 but no PostgreSQL server is usable: {exc}", pytrace=False)
        pytest.skip(f"no PostgreSQL server: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()
