"""``audit indexes``: the script runs cleanly against a real PostgreSQL, for every sample project."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.config import Config
from auditor.scan import run_scan
from auditor.sql.parse import split_statements
from tests.conftest import REPO_ROOT

SAMPLES = REPO_ROOT / "sample_projects"
PROJECTS = ["billing_postgres", "shop_django", "inventory_sqlalchemy", "analytics_flask"]


def _script(project: str, *options: str) -> str:
    result = CliRunner().invoke(app, ["indexes", str(SAMPLES / project), *options])
    assert result.exit_code == 0, result.output
    return result.stdout


def _statements(script: str) -> list:
    return [text for _, text in split_statements(script, "postgres")]


def _create_tables(conn, project: str) -> None:
    """The project's tables: its own ``schema.sql`` when it has one, else from the schema catalog."""
    schema_file = SAMPLES / project / "schema.sql"
    with conn.cursor() as cur:
        if schema_file.is_file():
            cur.execute(schema_file.read_text(encoding="utf-8"))
            return
        schema = run_scan(SAMPLES / project, Config(), jobs=1).sql.schema
        for name, table in sorted(schema.tables.items()):
            columns = ", ".join(f'"{column}" {_type(kind)}' for column, kind in table.columns.items())
            cur.execute(f'CREATE TABLE "{name}" ({columns})')


def _type(declared: str) -> str:
    return declared if re.fullmatch(r"[a-z ]+(\(\d+\))?", declared or "") else "text"


@pytest.mark.parametrize("project", PROJECTS)
def test_index_script_runs_cleanly_on_postgres(postgres, project):
    script = _script(project)
    created = re.findall(r'^CREATE INDEX CONCURRENTLY IF NOT EXISTS "([^"]+)"', script, re.MULTILINE)
    database = f"indexes_{project}"
    postgres.create_database(database)
    try:
        conn = postgres.connect(database, autocommit=True)
        try:
            _create_tables(conn, project)
            with conn.cursor() as cur:
                for statement in _statements(script):
                    cur.execute(statement)
                cur.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
                present = {row[0] for row in cur.fetchall()}
                assert set(created) <= present
                for statement in _statements(script):  # IF NOT EXISTS: running it twice is harmless
                    cur.execute(statement)
        finally:
            conn.close()
    finally:
        admin = postgres.connect(autocommit=True)
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{database}"')
        admin.close()
    if project == "billing_postgres":
        assert created, "the billing workload has queries no index serves"


def test_rollback_section_is_commented_out():
    script = _script("billing_postgres")
    assert "DROP INDEX" in script
    assert not any(statement.upper().startswith("DROP") for statement in _statements(script))


def test_redshift_gets_key_advice_and_no_index():
    script = _script("billing_postgres", "--dialect", "redshift")
    assert "CREATE INDEX" not in script
    assert "SORTKEY" in script


def test_output_file_and_summary_line(tmp_path):
    target = tmp_path / "indexes.sql"
    result = CliRunner().invoke(app, ["indexes", str(SAMPLES / "billing_postgres"), "-o", str(target)])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert re.fullmatch(r"wrote .*indexes\.sql \(\d+ recommendations, \d+ access paths, 7 tables\)\n", result.stderr)
    assert target.read_text(encoding="utf-8") == _script("billing_postgres")
