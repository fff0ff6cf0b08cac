"""The facts cache changes nothing but speed: same findings, notes and metrics cold, warm, after a
change, for any --jobs; foreign, corrupt or forged entries are rebuilt, never trusted or fatal."""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil

import pytest

from auditor import fact_cache
from auditor.cli import app
from auditor.config import Config
from auditor.fact_cache import FactCache
from auditor.scan import run_scan
from tests.conftest import REPO_ROOT, write_tree
from tests.test_cli import cli_runner
from tests.test_sample_projects import SAMPLES, read_expected


def outcome(result) -> tuple:
    """Everything a report shows: every field of every finding, the notes, the metrics."""
    return ([f.to_dict() for f in result.findings], result.notes, result.metrics)


def entries(cache_dir) -> list:
    return sorted(p for p in (cache_dir / "facts").rglob("*") if p.is_file())


@pytest.mark.parametrize("project", SAMPLES, ids=lambda p: p.name)
def test_sample_project_identical_without_cache_cold_and_warm_and_for_every_jobs(project, tmp_path):
    plain = run_scan(project, Config(), jobs=1)
    expected = read_expected(project / "expected_findings.txt")
    assert {(f.rule, f.path, f.line) for f in plain.findings} == expected
    cold = run_scan(project, Config(), jobs=2, cache_dir=tmp_path / "cache")
    warm1 = run_scan(project, Config(), jobs=1, cache_dir=tmp_path / "cache")  # the whole result reused
    shutil.rmtree(tmp_path / "cache" / "results")
    warm2 = run_scan(project, Config(), jobs=2, cache_dir=tmp_path / "cache")  # every file's facts reused
    files = plain.metrics["files"]
    assert (cold.cache["reused"], cold.cache["parsed"]) == (0, files)
    assert (warm1.cache["reused"], warm1.cache["parsed"], warm1.cache.get("result")) == (files, 0, "reused")
    assert (warm2.cache["reused"], warm2.cache["parsed"], warm2.cache.get("result")) == (files, 0, None)
    assert outcome(cold) == outcome(plain)
    assert outcome(warm1) == outcome(plain)
    assert outcome(warm2) == outcome(plain)
    assert plain.cache == {}


def test_jobs_one_and_two_agree_with_a_pool_and_a_cache(tmp_path):
    # More than 8 files, so --jobs 2 really uses worker processes (smaller trees are parsed in-process).
    project = REPO_ROOT / "sample_projects" / "shop_django"
    tree = tmp_path / "tree"
    for i in range(3):
        write_tree(tree / f"copy{i}", {str(p.relative_to(project)): p.read_text(encoding="utf-8")
                                       for p in project.rglob("*.py")})
    plain = run_scan(tree, Config(), jobs=1)
    assert plain.metrics["files"] >= 8
    pooled = run_scan(tree, Config(), jobs=2, cache_dir=tmp_path / "cache")
    warm = run_scan(tree, Config(), jobs=2, cache_dir=tmp_path / "cache")
    assert warm.cache["parsed"] == 0
    assert outcome(pooled) == outcome(plain) == outcome(warm)
    assert plain.findings


QUERY_LOOP = """\
    from app.models import Order


    def totals(customer_ids):
        for customer_id in customer_ids:
            print(Order.objects.filter(customer_id=customer_id).count())
"""


def test_a_changed_file_is_parsed_again_and_its_new_findings_reported(tmp_path):
    write_tree(tmp_path / "tree", {"app/__init__.py": "", "app/models.py": "from django.db import models\n\n\n"
                                   "class Order(models.Model):\n    customer_id = models.IntegerField()\n",
                                   "app/report.py": "def totals(customer_ids):\n    return []\n"})
    cache = tmp_path / "cache"
    before = run_scan(tmp_path / "tree", Config(), jobs=1, cache_dir=cache)
    assert [f.rule for f in before.findings if f.path == "app/report.py"] == []
    write_tree(tmp_path / "tree", {"app/report.py": QUERY_LOOP})
    after = run_scan(tmp_path / "tree", Config(), jobs=1, cache_dir=cache)
    assert (after.cache["reused"], after.cache["parsed"]) == (2, 1)
    assert outcome(after) == outcome(run_scan(tmp_path / "tree", Config(), jobs=1))
    assert {(f.rule, f.line) for f in after.findings if f.path == "app/report.py"} == {("DB103", 6), ("IDX101", 6)}


SAMPLE = REPO_ROOT / "sample_projects" / "billing_postgres"


def test_entries_of_another_tool_version_are_removed_and_rebuilt(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    plain = run_scan(SAMPLE, Config(), jobs=1)
    run_scan(SAMPLE, Config(), jobs=1, cache_dir=cache)
    (old_dir,) = (cache / "facts").iterdir()
    monkeypatch.setattr(fact_cache, "tool_key", lambda: "another-version")
    again = run_scan(SAMPLE, Config(), jobs=1, cache_dir=cache)
    assert again.cache["parsed"] == plain.metrics["files"] and again.cache["reused"] == 0
    assert [p.name for p in (cache / "facts").iterdir()] == ["another-version"]
    assert not old_dir.exists()
    assert outcome(again) == outcome(plain)


def test_an_entry_with_another_tool_header_is_a_miss(tmp_path):
    cache = FactCache.open(tmp_path / "cache")
    facts = fact_cache.ModuleFacts(path="a.py", module="a", lines=1)
    key = FactCache.key("a.py", b"x = 1\n")
    cache.store(key, facts)
    assert cache.load(key) == facts
    entry = cache.entries / key[:2] / key[2:]
    entry.write_bytes(entry.read_bytes().replace(cache.tool, b"0" * len(cache.tool), 1))
    assert cache.load(key) is None


@pytest.mark.parametrize("damage", ["truncate", "garble", "empty", "directory"])
def test_corrupt_entries_are_rebuilt_never_a_crash(tmp_path, damage):
    cache = tmp_path / "cache"
    plain = run_scan(SAMPLE, Config(), jobs=1)
    run_scan(SAMPLE, Config(), jobs=1, cache_dir=cache)
    for entry in sorted(p for p in cache.rglob("*") if p.is_file()):  # facts and the result
        data = entry.read_bytes()
        if damage == "truncate":
            entry.write_bytes(data[: len(data) // 2])
        elif damage == "garble":
            entry.write_bytes(data[:-40] + bytes(40))
        elif damage == "empty":
            entry.write_bytes(b"")
        else:
            entry.unlink()
            entry.mkdir()
    again = run_scan(SAMPLE, Config(), jobs=2, cache_dir=cache)
    assert outcome(again) == outcome(plain)
    assert again.cache["parsed"] == plain.metrics["files"]


def test_a_forged_entry_is_never_unpickled(tmp_path):
    """A cache shipped inside a scanned repository (cache-dir in its config) holds entries this user
    did not sign: they are ignored, so the scanned code's pickles never run."""
    tree = tmp_path / "tree"
    write_tree(tree, {"a.py": "X = 1\n"})
    cache = FactCache.open(tmp_path / "cache")
    key = FactCache.key("a.py", (tree / "a.py").read_bytes())
    marker = tmp_path / "ran"
    body = pickle.dumps(_Marker(str(marker)))
    forged_signature = hashlib.sha256(body).digest()
    path = cache.entries / key[:2] / key[2:]
    path.parent.mkdir(parents=True)
    path.write_bytes(b"audit-facts\n" + cache.tool + b"\n" + forged_signature + body)
    result = run_scan(tree, Config(), jobs=1, cache_dir=tmp_path / "cache")
    assert not marker.exists()
    assert (result.cache["reused"], result.cache["parsed"]) == (0, 1)
    assert result.notes == []


class _Marker:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_corrupt_signing_key_is_replaced(tmp_path):
    tree = tmp_path / "tree"
    write_tree(tree, {"a.py": "X = 1\n"})
    run_scan(tree, Config(), jobs=1, cache_dir=tmp_path / "cache")
    secret = fact_cache.default_cache_home() / "secret"
    original = secret.read_bytes()
    try:
        secret.write_bytes(b"short")
        result = run_scan(tree, Config(), jobs=1, cache_dir=tmp_path / "cache")
        assert (result.cache["reused"], result.cache["parsed"]) == (0, 1)  # old signatures no longer match
        assert len(secret.read_bytes()) == 32
    finally:
        secret.write_bytes(original)


def test_an_unusable_cache_directory_only_turns_the_cache_off(tmp_path):
    (tmp_path / "file").write_text("not a directory", encoding="utf-8")
    result = run_scan(SAMPLE, Config(), jobs=1, cache_dir=tmp_path / "file")
    assert outcome(result) == outcome(run_scan(SAMPLE, Config(), jobs=1))
    assert result.cache["dir"] == str(tmp_path / "file") and result.cache["error"]


def test_files_that_could_not_be_parsed_are_not_cached(tmp_path):
    tree = tmp_path / "tree"
    write_tree(tree, {"ok.py": "X = 1\n", "broken.py": "def f(:\n"})
    first = run_scan(tree, Config(), jobs=1, cache_dir=tmp_path / "cache")
    assert len(entries(tmp_path / "cache")) == 1
    shutil.rmtree(tmp_path / "cache" / "results")
    second = run_scan(tree, Config(), jobs=1, cache_dir=tmp_path / "cache")
    assert (second.cache["reused"], second.cache["parsed"]) == (1, 1)
    assert second.notes == first.notes and [path for path, _ in first.notes] == ["broken.py"]


def test_cli_says_where_the_cache_is_and_no_cache_writes_nothing(tmp_path):
    write_tree(tmp_path / "tree", {"a.py": "X = 1\n"})
    runner = cli_runner()
    cache = tmp_path / "cache"
    first = runner.invoke(app, ["scan", str(tmp_path / "tree"), "--cache-dir", str(cache)])
    assert first.exit_code == 0, first.output
    assert first.stderr.splitlines()[-1] == (f"facts cache: {cache} (0 files reused, 1 parsed; "
                                             "--no-cache to turn it off)")
    second = runner.invoke(app, ["scan", str(tmp_path / "tree"), "--cache-dir", str(cache)])
    assert second.stderr.splitlines()[-1] == (f"cache: {cache} (nothing changed: the last result reused; "
                                              "--no-cache to turn it off)")
    write_tree(tmp_path / "tree", {"b.py": "Y = 2\n"})
    third = runner.invoke(app, ["scan", str(tmp_path / "tree"), "--cache-dir", str(cache)])
    assert "(1 files reused, 1 parsed;" in third.stderr
    other = tmp_path / "other"
    off = runner.invoke(app, ["scan", str(tmp_path / "tree"), "--cache-dir", str(other), "--no-cache"])
    assert off.exit_code == 0 and "facts cache" not in off.stderr
    assert not other.exists()
    as_json = runner.invoke(app, ["scan", str(tmp_path / "tree"), "--cache-dir", str(cache), "-f", "json"])
    assert "facts cache" not in as_json.stderr and "cache" not in json.loads(as_json.stdout)["summary"]


def test_config_cache_dir_is_relative_to_the_config_file(tmp_path):
    write_tree(tmp_path / "tree", {"a.py": "X = 1\n", ".audit.yml": "cache-dir: ../my-cache\n"})
    runner = cli_runner()
    result = runner.invoke(app, ["scan", str(tmp_path / "tree")])
    assert result.exit_code == 0, result.output
    assert f"facts cache: {tmp_path / 'my-cache'} (0 files reused" in result.stderr
    assert entries(tmp_path / "my-cache")


def test_the_result_is_reused_only_while_every_input_is_unchanged(tmp_path):
    """Python and SQL files, configured schema files and the configuration all decide the result."""
    tree = tmp_path / "tree"
    write_tree(tree, {"app/q.py": "def f(cur, ids):\n    for i in ids:\n        cur.execute('SELECT 1 FROM t')\n",
                      "db/q.sql": "SELECT * FROM orders WHERE lower(email) = 'a';\n",
                      "schema/extra.sql": "CREATE TABLE orders (id int, email text);\n"})
    cache = tmp_path / "cache"
    with_schema = Config(schema=[str(tree / "schema" / "extra.sql")])

    def scan(config: Config = Config()):
        result = run_scan(tree, config, jobs=1, cache_dir=cache)
        return result.cache.get("result"), outcome(result)

    first = scan()
    assert first[0] is None and scan() == ("reused", first[1])
    (tree / "db" / "q.sql").write_text("SELECT * FROM orders WHERE email LIKE '%a';\n")
    changed_sql = scan()
    assert changed_sql[0] is None and changed_sql[1] != first[1]
    assert scan(with_schema)[0] is None and scan(with_schema)[0] == "reused"
    (tree / "schema" / "extra.sql").write_text("CREATE TABLE orders (id int, email text, note text);\n")
    assert scan(with_schema)[0] is None
    assert scan(Config(dialect="mysql"))[0] is None
    assert scan(Config(dialect="mysql")) == ("reused", outcome(run_scan(tree, Config(dialect="mysql"), jobs=1)))


def test_a_forged_result_is_never_unpickled(tmp_path):
    tree = tmp_path / "tree"
    write_tree(tree, {"a.py": "X = 1\n"})
    run_scan(tree, Config(), jobs=1, cache_dir=tmp_path / "cache")
    [entry] = list((tmp_path / "cache" / "results").iterdir())
    marker = tmp_path / "marker"
    payload = pickle.dumps(type("Evil", (), {"__reduce__": lambda self: (open, (str(marker), "w"))})())
    header = fact_cache._MAGIC + FactCache.open(tmp_path / "cache").tool + b"\n"
    assert entry.read_bytes().startswith(header)
    entry.write_bytes(header + bytes(32) + payload)  # the right header, a signature this user never made
    again = run_scan(tree, Config(), jobs=1, cache_dir=tmp_path / "cache")
    assert again.cache.get("result") is None and not marker.exists()


def test_the_facts_key_covers_exactly_the_modules_extraction_imports():
    package = REPO_ROOT / "auditor"
    names = {path.name for path in fact_cache._extraction_sources(package)}
    # imported at the top of extract.py, by those modules, or inside a function (syntax lowering)
    assert {"extract.py", "facts.py", "ast_nodes.py", "llm_shapes.py", "sql_strings.py",
            "syntax_lowering.py"} <= names
    assert not names & {"link.py", "scan.py", "cli.py", "values.py"}  # analysis, not extraction


REUSE_IN_A_FRESH_INTERPRETER = """\
import json, sys
from pathlib import Path
from auditor.config import Config
from auditor.render.json_report import render_json
from auditor.scan import run_scan

result = run_scan(Path(sys.argv[1]), Config(), jobs=1, cache_dir=Path(sys.argv[2]))
report = render_json(result)
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "sqlglot" or m in {
    "auditor.checks", "auditor.link", "auditor.extract", "auditor.sql.analysis"})
recommended = len(result.sql.advice.recommendations)  # the analysis itself, unpickled when read
print(json.dumps({"reused": result.cache.get("result"), "loaded": loaded, "report": report,
                  "recommended": recommended, "sqlglot_after": "sqlglot" in sys.modules}))
"""


def test_a_reused_result_reports_the_same_index_script_without_loading_the_analysis(tmp_path):
    """A pre-commit re-scan of an unchanged tree neither parses nor imports the analysis: the
    report's index script is the one rendered when the result was stored."""
    import subprocess
    import sys

    from auditor.render.json_report import render_json

    project = REPO_ROOT / "sample_projects" / "billing_postgres"
    fresh = run_scan(project, Config(), jobs=1)
    assert fresh.sql.advice.recommendations
    run_scan(project, Config(), jobs=1, cache_dir=tmp_path / "cache")
    proc = subprocess.run([sys.executable, "-c", REUSE_IN_A_FRESH_INTERPRETER, str(project), str(tmp_path / "cache")],
                          capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    reused = json.loads(proc.stdout)
    assert reused["reused"] == "reused"
    assert reused["loaded"] == []
    assert reused["report"] == render_json(fresh)
    assert "CREATE INDEX" in json.loads(reused["report"])["sql"]["index_script"]
    assert reused["recommended"] == len(fresh.sql.advice.recommendations)
    assert reused["sqlglot_after"] is True


def test_audit_indexes_writes_the_same_script_from_a_reused_result(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    project = str(REPO_ROOT / "sample_projects" / "billing_postgres")
    cold = cli_runner().invoke(app, ["indexes", project])
    [stored] = list((tmp_path / "xdg" / "audit" / "results").iterdir())
    written = stored.stat().st_mtime_ns
    warm = cli_runner().invoke(app, ["indexes", project])
    assert cold.exit_code == warm.exit_code == 0, warm.output
    # reused, not analysed and stored again
    assert list((tmp_path / "xdg" / "audit" / "results").iterdir()) == [stored]
    assert stored.stat().st_mtime_ns == written
    assert "CREATE INDEX" in cold.stdout
    assert warm.stdout == cold.stdout
