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
    assert result.stderr.startswith(f"audit: error: {tmp_path.resolve() / '.audit.yml'}: unknown key 'fail_on' "
                                    "(did you mean 'fail-on'? known: cache-dir, connections, dialect, exclude, fail-on, ")
    assert result.stderr.endswith(", severity)\n") and "\n" not in result.stderr[:-1]


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


# One line with DB101 (query in a loop), SQL102 (leading wildcard) and SQL103 (SELECT *).
THREE_RULES = """\
    def load(cur, names):
        for name in names:
            cur.execute("SELECT * FROM items WHERE name LIKE %s", ("%" + name,))
    """


def rules_found(root, *args) -> list:
    return sorted(locations(scan_cli(root, *args)), key=lambda f: (f[1], f[2], f[0]))


@pytest.mark.parametrize("text, expected", [
    ("select: [SQL]\n", [("SQL102", "jobs.py", 3), ("SQL103", "jobs.py", 3)]),
    ("ignore: [sql103]\n", [("DB101", "jobs.py", 3), ("SQL102", "jobs.py", 3)]),
    ("select: [DB, SQL103]\n", [("DB101", "jobs.py", 3), ("SQL103", "jobs.py", 3)]),
    # The most specific code wins: an ignored family with one selected rule, and the reverse.
    ("select: [SQL]\nignore: [SQL102]\n", [("SQL103", "jobs.py", 3)]),
    ("select: [SQL102]\nignore: [SQL]\n", [("SQL102", "jobs.py", 3)]),
    ("select: ['*']\nignore: [SQL1]\n", [("DB101", "jobs.py", 3)]),
])
def test_select_and_ignore(tmp_path, text, expected):
    write_tree(tmp_path, {"jobs.py": THREE_RULES})
    (tmp_path / ".audit.yml").write_text(text, encoding="utf-8")
    assert rules_found(tmp_path) == expected


def test_command_line_select_replaces_and_ignore_extends(tmp_path):
    write_tree(tmp_path, {"jobs.py": THREE_RULES})
    (tmp_path / ".audit.yml").write_text("select: [SQL]\nignore: [SQL102]\n", encoding="utf-8")
    assert rules_found(tmp_path, "--select", "DB101,SQL102") == [("DB101", "jobs.py", 3)]
    assert rules_found(tmp_path, "--select", "DB", "--select", "SQL") == [("DB101", "jobs.py", 3),
                                                                         ("SQL103", "jobs.py", 3)]
    assert rules_found(tmp_path, "--ignore", "SQL103") == []
    result = scan_cli(tmp_path)
    assert json.loads(result.stdout)["summary"]["ignored_by_config"] == 2


def test_unknown_rule_code_is_an_error_with_a_suggestion(tmp_path):
    (tmp_path / ".audit.yml").write_text("ignore: [DB1o1]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(info.value) == f"{tmp_path.resolve() / '.audit.yml'}: 'ignore': 'DB1O1' matches no rule; did you mean 'DB101'?"
    result = scan_cli(tmp_path / ".", "--select", "XYZ")
    assert result.exit_code == 2
    assert result.stderr == f"audit: error: {info.value}\n"
    (tmp_path / ".audit.yml").unlink()
    result = scan_cli(tmp_path, "--select", "XYZ")
    assert (result.exit_code, result.stderr) == (2, "audit: error: --select: 'XYZ' matches no rule\n")


def test_per_path_ignores(tmp_path):
    write_tree(tmp_path, {"app/jobs.py": QUERY_IN_LOOP, "scripts/backfill.py": QUERY_IN_LOOP,
                          "scripts/deep/fix.py": QUERY_IN_LOOP, "migrations/versions/x.py": QUERY_IN_LOOP})
    (tmp_path / "pyproject.toml").write_text(
        '[tool.audit]\ninclude-tests = true\n'
        '[tool.audit.per-path-ignores]\n"scripts/*" = ["DB101"]\n"migrations/**" = ["*"]\n', encoding="utf-8")
    # "scripts/*" matches the directory's files and, gitignore-style, what is under them.
    assert rules_found(tmp_path) == [("DB101", "app/jobs.py", 3)]
    (tmp_path / "pyproject.toml").write_text(
        '[tool.audit]\ninclude-tests = true\nper-path-ignores = {"/scripts/*.py" = ["DB"]}\n', encoding="utf-8")
    assert rules_found(tmp_path) == [("DB101", "app/jobs.py", 3), ("DB101", "migrations/versions/x.py", 3),
                                     ("DB101", "scripts/deep/fix.py", 3)]


def test_per_path_ignores_beat_a_specific_select(tmp_path):
    write_tree(tmp_path, {"legacy/jobs.py": THREE_RULES})
    (tmp_path / ".audit.yml").write_text("select: [DB101]\nper-path-ignores:\n  legacy/: ['*']\n", encoding="utf-8")
    assert rules_found(tmp_path) == []


def test_per_path_globs_are_relative_to_a_configuration_above_the_scanned_directory(tmp_path):
    write_tree(tmp_path, {"svc/app/jobs.py": QUERY_IN_LOOP, "svc/app/legacy/old.py": QUERY_IN_LOOP})
    (tmp_path / ".audit.yml").write_text("per-path-ignores:\n  svc/app/legacy/**: [DB101]\n", encoding="utf-8")
    assert rules_found(tmp_path / "svc" / "app") == [("DB101", "jobs.py", 3)]
    assert rules_found(tmp_path / "svc") == [("DB101", "app/jobs.py", 3)]


def test_severity_overrides(tmp_path):
    write_tree(tmp_path, {"jobs.py": THREE_RULES})
    (tmp_path / ".audit.yml").write_text("severity: {SQL103: high, SQL: info, DB101: low}\n", encoding="utf-8")
    result = scan_cli(tmp_path)
    severities = {(f["rule"], f["severity"], f["priority"]) for f in json.loads(result.stdout)["findings"]}
    assert severities == {("DB101", "low", "P3"), ("SQL102", "info", "P3"), ("SQL103", "high", "P1")}
    assert result.exit_code == 1  # SQL103 is high now
    (tmp_path / ".audit.yml").write_text("severity: {SQL103: medium, DB101: medium}\n", encoding="utf-8")
    assert scan_cli(tmp_path).exit_code == 0


@pytest.mark.parametrize("text, message", [
    ("severity: {SQL103: severe}\n", "'severity' values must be one of critical, high, medium, low, info "
                                     "(got SQL103: severe)"),
    ("severity: [SQL103]\n", "'severity' must map rule ids to severities"),
    ("per-path-ignores: [scripts]\n", "'per-path-ignores' must map path globs to lists of rule ids"),
    ("per-path-ignores: {scripts/: [DB9]}\n", "'per-path-ignores' 'scripts/': 'DB9' matches no rule"),
    ("select: DB\n", "'select' must be a list of strings"),
    ("schema: db/schema.sql\n", "'schema' must be a list of strings"),
    ("per_path_ignores: {}\n", "unknown key 'per_path_ignores' (did you mean 'per-path-ignores'? known: "),
])
def test_invalid_rule_settings(tmp_path, text, message):
    (tmp_path / ".audit.yml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(info.value).startswith(f"{tmp_path.resolve() / '.audit.yml'}: {message}")


def test_nearest_configuration_governs_each_subproject(tmp_path):
    write_tree(tmp_path, {"billing/jobs.py": THREE_RULES, "search/jobs.py": THREE_RULES,
                          "search/scripts/once.py": QUERY_IN_LOOP, "web/jobs.py": THREE_RULES})
    (tmp_path / ".audit.yml").write_text("ignore: [SQL102]\nper-path-ignores: {'web/': [SQL103]}\n",
                                         encoding="utf-8")
    # A subproject's own configuration replaces the root's per-file settings for its files ...
    (tmp_path / "search" / ".audit.yml").write_text("select: [DB, SQL102]\nper-path-ignores: {'scripts/': ['*']}\n",
                                                    encoding="utf-8")
    # ... a pyproject.toml without [tool.audit] does not, and severity comes from the nearest one.
    (tmp_path / "web" / "pyproject.toml").write_text('[project]\nname = "web"\n', encoding="utf-8")
    (tmp_path / "billing" / "pyproject.toml").write_text('[tool.audit]\nseverity = {DB101 = "medium"}\n',
                                                         encoding="utf-8")
    result = scan_cli(tmp_path)
    assert sorted(locations(result), key=lambda f: (f[1], f[0])) == [
        ("DB101", "billing/jobs.py", 3), ("SQL102", "billing/jobs.py", 3), ("SQL103", "billing/jobs.py", 3),
        ("DB101", "search/jobs.py", 3), ("SQL102", "search/jobs.py", 3),
        ("DB101", "web/jobs.py", 3),
    ]
    assert sorted((f["path"], f["severity"]) for f in json.loads(result.stdout)["findings"] if f["rule"] == "DB101") \
        == [("billing/jobs.py", "medium"), ("search/jobs.py", "high"), ("web/jobs.py", "high")]
    # --ignore applies over every configuration.
    assert rules_found(tmp_path, "--ignore", "DB") == [
        ("SQL102", "billing/jobs.py", 3), ("SQL103", "billing/jobs.py", 3), ("SQL102", "search/jobs.py", 3)]
    assert json.loads(result.stdout)["notes"] == []
    # Scanning a subproject alone uses its own configuration as the root one.
    assert rules_found(tmp_path / "search") == [("DB101", "jobs.py", 3), ("SQL102", "jobs.py", 3)]


def test_whole_scan_settings_in_a_nested_configuration_are_noted(tmp_path):
    write_tree(tmp_path, {"svc/jobs.py": QUERY_IN_LOOP, "svc/legacy/old.py": QUERY_IN_LOOP})
    (tmp_path / "svc" / ".audit.yml").write_text("dialect: mysql\nexclude: [legacy/]\nfail-on: none\n"
                                                 "ignore: [SQL]\n", encoding="utf-8")
    result = scan_cli(tmp_path)
    assert result.exit_code == 1  # fail-on comes from the root (none here: the default, high)
    assert locations(result) == [("DB101", "svc/jobs.py", 3), ("DB101", "svc/legacy/old.py", 3)]
    message = "applies to the whole scan and is read from the scanned directory's configuration; ignored here"
    assert json.loads(result.stdout)["notes"] == [{"path": "svc/.audit.yml", "message": f"'{key}' {message}"}
                                                  for key in ("dialect", "exclude", "fail-on")]


def test_a_nested_pyproject_that_is_not_toml_is_noted_not_fatal(tmp_path):
    write_tree(tmp_path, {"svc/jobs.py": QUERY_IN_LOOP, "tests/data/broken/x.py": "X = 1\n"})
    (tmp_path / "tests" / "data" / "broken" / "pyproject.toml").write_text("[tool.audit\n", encoding="utf-8")
    result = scan_cli(tmp_path)
    assert (result.exit_code, locations(result)) == (1, [("DB101", "svc/jobs.py", 3)])
    [note] = json.loads(result.stdout)["notes"]
    assert note["path"] == "tests/data/broken/pyproject.toml"
    assert note["message"].startswith("not read as a configuration: Expected ']' at the end of a table declaration")
    # The same file at the scanned directory is the scan's own configuration: an error.
    assert scan_cli(tmp_path / "tests" / "data" / "broken").exit_code == 2


def test_invalid_nested_configuration_is_a_usage_error(tmp_path):
    write_tree(tmp_path, {"svc/jobs.py": QUERY_IN_LOOP})
    (tmp_path / "svc" / ".audit.yml").write_text("selct: [DB]\n", encoding="utf-8")
    result = scan_cli(tmp_path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"audit: error: {tmp_path.resolve() / 'svc' / '.audit.yml'}: unknown key "
                                    "'selct' (did you mean 'select'? ")


ORDERS_VIEW = """\
    from flask import Flask

    app = Flask(__name__)


    @app.route("/orders/<int:customer_id>")
    def orders(customer_id):
        cur = get_cursor()
        cur.execute("SELECT id, total FROM orders WHERE customer_id = %s", (customer_id,))
        return cur.fetchall()
    """


def test_schema_paths_feed_the_schema_catalog(tmp_path):
    write_tree(tmp_path, {"app/views.py": ORDERS_VIEW,
                          "db/schema.sql": "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, "
                                           "total numeric);\n",
                          "db/more/indexes.sql": "CREATE INDEX orders_customer ON orders (customer_id);\n"})
    # Without the schema no index is recommended: the table is unknown.
    assert rules_found(tmp_path / "app") == []
    (tmp_path / ".audit.yml").write_text("schema: [db/schema.sql, db/gone.sql]\n", encoding="utf-8")
    assert load_config(tmp_path / "app").schema == [str(tmp_path.resolve() / "db" / "schema.sql"),
                                                   str(tmp_path.resolve() / "db" / "gone.sql")]
    result = scan_cli(tmp_path / "app")
    assert locations(result) == [("IDX101", "views.py", 9)]
    assert json.loads(result.stdout)["notes"] == [{"path": "../db/gone.sql", "message": "schema path not found"}]
    assert json.loads(result.stdout)["summary"]["schema_tables"] == 1
    # A directory contributes every .sql file under it: the index exists, nothing to recommend.
    (tmp_path / ".audit.yml").write_text("schema: [db/]\n", encoding="utf-8")
    result = scan_cli(tmp_path / "app")
    assert (locations(result), json.loads(result.stdout)["notes"]) == ([], [])
    # Scanning the whole repository reads db/ once, as part of the tree.
    assert json.loads(scan_cli(tmp_path).stdout)["summary"]["sql_files"] == 2


def test_the_readme_configuration_example_is_valid(tmp_path):
    from tests.conftest import REPO_ROOT

    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    example = readme.split("### Configuration", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "pyproject.toml").write_text(example, encoding="utf-8")
    config = load_config(tmp_path)
    assert (config.select, config.ignore, config.severity) == (["DB", "SQL", "IDX"], ["SQL103"], {"SQL104": "low"})
    assert config.per_path_ignores == {"scripts/*": ["DB101"], "migrations/**": ["*"]}
    assert config.schema == [str(tmp_path.resolve() / "db" / "schema.sql"),
                             str(tmp_path.resolve() / "db" / "migrations")]
