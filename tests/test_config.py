"""Project configuration: ``[tool.audit]`` in pyproject.toml and ``.audit.yml``."""

from __future__ import annotations

import json

import pytest

from auditor.cli import app
from auditor.config import Config, ConfigError, load_config
from auditor.scan import run_scan
from tests.conftest import found, write_tree
from tests.test_cli import cli_runner

# A home-grown query helper the catalog cannot know about, called once per item.
CUSTOM_QUERY_TREE = {
    "myapp/__init__.py": "",
    "myapp/db.py": """\
        def run_query(sql, *params):
            return _client().call(sql, params)
        """,
    "myapp/jobs.py": """\
        from myapp.db import run_query


        def refresh(ids):
            out = []
            for item_id in ids:
                out.append(run_query("SELECT id FROM items WHERE id = %s", item_id))
            return out
        """,
}

# A home-grown connection factory, called once per tenant.
CUSTOM_CONNECTION_TREE = {
    "myapp/__init__.py": "",
    "myapp/db.py": """\
        def open_db(name):
            return _driver().open(name)
        """,
    "myapp/sync.py": """\
        from myapp.db import open_db


        def sync(tenants):
            for tenant in tenants:
                conn = open_db(tenant)
                try:
                    conn.commit()
                finally:
                    conn.close()
        """,
}

QUERY_IN_LOOP = """\
    def load(cur, ids):
        for i in ids:
            cur.execute("SELECT 1 WHERE %s", (i,))
    """


def scan_cli(root, *args):
    result = cli_runner().invoke(app, ["scan", str(root), "--format", "json", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def locations(result) -> list:
    return [(f["rule"], f["path"], f["line"]) for f in json.loads(result.stdout)["findings"]]


def test_no_configuration_gives_defaults(tmp_path):
    config = load_config(tmp_path)
    assert config == Config()


def test_pyproject_queries_make_a_custom_helper_a_query(tmp_path):
    write_tree(tmp_path, CUSTOM_QUERY_TREE)
    assert found(run_scan(tmp_path, Config(), jobs=1)) == []  # unknown helper: nothing
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "myapp"\n\n[tool.audit]\nqueries = ["myapp.db.run_query"]\n', encoding="utf-8")
    config = load_config(tmp_path)
    assert config.queries == ["myapp.db.run_query"]
    assert config.source == str(tmp_path.resolve() / "pyproject.toml")
    assert found(run_scan(tmp_path, config, jobs=1)) == [("DB101", "myapp/jobs.py", 7)]
    result = scan_cli(tmp_path)
    assert result.exit_code == 1
    assert locations(result) == [("DB101", "myapp/jobs.py", 7)]


def test_audit_yml_connections_make_a_custom_factory_a_connection(tmp_path):
    write_tree(tmp_path, CUSTOM_CONNECTION_TREE)
    assert found(run_scan(tmp_path, Config(), jobs=1)) == []
    (tmp_path / ".audit.yml").write_text('connections: ["myapp.db.open_db"]\n', encoding="utf-8")
    result = scan_cli(tmp_path)
    assert result.exit_code == 1
    assert locations(result) == [("DB203", "myapp/sync.py", 6)]


def test_audit_yml_wins_over_pyproject(tmp_path):
    write_tree(tmp_path, CUSTOM_QUERY_TREE)
    (tmp_path / "pyproject.toml").write_text('[tool.audit]\nqueries = ["myapp.db.run_query"]\n', encoding="utf-8")
    (tmp_path / ".audit.yml").write_text("exclude: []\n", encoding="utf-8")
    assert load_config(tmp_path).source == str(tmp_path.resolve() / ".audit.yml")
    assert locations(scan_cli(tmp_path)) == []


def test_configuration_is_found_in_a_parent_directory(tmp_path):
    write_tree(tmp_path / "repo", CUSTOM_QUERY_TREE)
    (tmp_path / "repo" / "pyproject.toml").write_text('[tool.audit]\nqueries = ["myapp.db.run_query"]\n',
                                                      encoding="utf-8")
    assert load_config(tmp_path / "repo" / "myapp").queries == ["myapp.db.run_query"]
    assert load_config(tmp_path / "repo" / "myapp" / "jobs.py").queries == ["myapp.db.run_query"]
    # A pyproject.toml without [tool.audit] in between does not hide it.
    (tmp_path / "repo" / "myapp" / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")
    assert load_config(tmp_path / "repo" / "myapp").queries == ["myapp.db.run_query"]


def test_unknown_key_is_a_usage_error_naming_it(tmp_path):
    write_tree(tmp_path, {"main.py": "X = 1\n"})
    (tmp_path / ".audit.yml").write_text("exclude: []\nfail_on: high\n", encoding="utf-8")
    result = scan_cli(tmp_path)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (f"audit: error: {tmp_path.resolve() / '.audit.yml'}: unknown key 'fail_on' "
                             "(known: connections, dialect, exclude, fail-on, include-tests, queries)\n")


def test_unknown_key_in_pyproject(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.audit]\nquery = ["x.y"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"pyproject\.toml: unknown key 'query' "):
        load_config(tmp_path)
    assert scan_cli(tmp_path).exit_code == 2


@pytest.mark.parametrize("text, message", [
    ("queries: run_query\n", "'queries' must be a list of strings"),
    ("exclude: [1, 2]\n", "'exclude' must be a list of strings"),
    ("fail-on: severe\n", "'fail-on' must be one of critical, high, medium, low, info, none"),
    ("fail-on: no\n", "'fail-on' must be one of critical, high, medium, low, info, none"),
    ("- exclude\n", "expected a mapping of settings"),
    ("exclude: [\n", "cannot be read: expected the node content, but found '<stream end>' (line 2)"),
])
def test_invalid_audit_yml(tmp_path, text, message):
    (tmp_path / ".audit.yml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(info.value) == f"{tmp_path.resolve() / '.audit.yml'}: {message}"
    result = scan_cli(tmp_path)
    assert result.exit_code == 2
    assert result.stderr == f"audit: error: {info.value}\n"


@pytest.mark.parametrize("text, message", [
    ("[tool.audit\n", "cannot be read: "),
    ("[tool]\naudit = 1\n", "[tool.audit] must be a table of settings"),
])
def test_invalid_pyproject(tmp_path, text, message):
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(info.value).startswith(f"{tmp_path.resolve() / 'pyproject.toml'}: {message}")
    assert scan_cli(tmp_path).exit_code == 2


def test_empty_values_are_defaults(tmp_path):
    (tmp_path / ".audit.yml").write_text("exclude:\nqueries:\nfail-on:\n", encoding="utf-8")
    config = load_config(tmp_path)
    assert (config.exclude, config.queries, config.connections, config.fail_on) == ([], [], [], "")


def test_exclude_from_configuration_applies(tmp_path):
    write_tree(tmp_path, {"app/new.py": QUERY_IN_LOOP, "legacy/old.py": QUERY_IN_LOOP,
                          "vendored/lib.py": QUERY_IN_LOOP})
    (tmp_path / "pyproject.toml").write_text('[tool.audit]\nexclude = ["legacy/**"]\n', encoding="utf-8")
    result = scan_cli(tmp_path)
    assert locations(result) == [("DB101", "app/new.py", 3), ("DB101", "vendored/lib.py", 3)]
    # --exclude on the command line adds to the configured ones.
    result = scan_cli(tmp_path, "--exclude", "vendored/")
    assert locations(result) == [("DB101", "app/new.py", 3)]
    assert json.loads(result.stdout)["summary"]["files"] == 1


@pytest.mark.parametrize("name, text", [
    (".audit.yml", "fail-on: none\n"),
    ("pyproject.toml", '[tool.audit]\nfail-on = "none"\n'),
    (".audit.yml", "fail-on: critical\n"),
    (".audit.yml", "fail-on: NONE\n"),
])
def test_fail_on_from_configuration(tmp_path, name, text):
    write_tree(tmp_path, {"main.py": QUERY_IN_LOOP})  # one high DB101
    assert scan_cli(tmp_path).exit_code == 1
    (tmp_path / name).write_text(text, encoding="utf-8")
    result = scan_cli(tmp_path)
    assert result.exit_code == 0
    assert locations(result) == [("DB101", "main.py", 3)]  # still reported, just not failing


def test_command_line_fail_on_overrides_configuration(tmp_path):
    write_tree(tmp_path, {"main.py": QUERY_IN_LOOP})
    (tmp_path / ".audit.yml").write_text("fail-on: none\n", encoding="utf-8")
    assert scan_cli(tmp_path, "--fail-on", "high").exit_code == 1
    (tmp_path / ".audit.yml").write_text("fail-on: low\n", encoding="utf-8")
    assert scan_cli(tmp_path).exit_code == 1
    assert scan_cli(tmp_path, "--fail-on", "critical").exit_code == 0
