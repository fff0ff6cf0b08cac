"""The ``audit`` command line: version, help, exit codes, report formats, explain and rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from tests.conftest import REPO_ROOT, write_tree

ANALYTICS = REPO_ROOT / "sample_projects" / "analytics_flask"
RULE_IDS = ["ASY101", "ASY102", "ASY103", "ASY104", "ASY105", "CCH101", "CCH102", "CCH103",
            "DB101", "DB102", "DB103", "DB104", "DB105", "DB201", "DB202", "DB203", "IDX101", "IDX102",
            "IDX103", "IDX104", "LLM101", "LLM102", "LLM103", "LLM104", "LLM105", "LLM106", "LLM107",
            "LLM108", "LLM109", "LLM110", "PRF101", "PRF102", "PRF103", "PRF104",
            "PRF105", "PRF106", "PRF107", "PRF201", "PRF202", "PRF203", "PRF204", "PRF205", "PRF206",
            "SQL101", "SQL102", "SQL103", "SQL104", "SQL105", "SQL106", "SQL107"]

# One DB101 (severity high, not reachable from a request handler, so not raised to critical) at line 4.
HIGH_ONLY = {
    "repo.py": """\
        def load(cur, ids):
            out = []
            for i in ids:
                cur.execute("SELECT id FROM t WHERE id = %s", (i,))
                out.append(cur.fetchone())
            return out
        """,
}

# The same lookup done once: nothing to report.
CLEAN = {
    "repo.py": """\
        def load(cur, ids):
            cur.execute("SELECT id FROM t WHERE id = ANY(%s)", (list(ids),))
            return cur.fetchall()
        """,
}


def cli_runner() -> CliRunner:
    """A runner that keeps stderr apart from stdout (the default from click 8.2 on, an option before)."""
    try:
        return CliRunner(mix_stderr=False)
    except TypeError:
        return CliRunner()


@pytest.fixture
def runner():
    return cli_runner()


def invoke(runner, *args):
    result = runner.invoke(app, [str(a) for a in args])
    # Every expected outcome ends through typer.Exit / SystemExit; anything else is a crash.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def scan_json(runner, *args) -> dict:
    result = invoke(runner, "scan", *args, "--format", "json")
    return json.loads(result.stdout)


# --- version, help -------------------------------------------------------------------------


def test_version(runner):
    result = invoke(runner, "--version")
    assert result.exit_code == 0
    assert result.stdout == "audit 0.1.0\n"


def test_help_lists_the_commands(runner):
    result = invoke(runner, "--help")
    assert result.exit_code == 0
    for command in ("scan", "explain", "rules"):
        assert f" {command} " in result.stdout


def test_no_arguments_shows_help(runner):
    result = invoke(runner)
    assert result.exit_code in (0, 2)  # 2 from click 8.2 on, 0 before
    assert "scan" in result.stdout and "explain" in result.stdout


def test_scan_help_lists_the_options(runner):
    result = invoke(runner, "scan", "--help")
    assert result.exit_code == 0
    for option in ("--format", "--output", "--fail-on", "--exclude", "--jobs", "--strict", "--top"):
        assert option in result.stdout


# --- usage errors ----------------------------------------------------------------------------


def test_scan_of_a_missing_path_is_a_one_line_usage_error(runner, tmp_path):
    missing = tmp_path / "no" / "such" / "directory-with-a-long-name-so-that-a-wrapping-console-would-break-it"
    result = invoke(runner, "scan", missing)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"audit: error: path does not exist: {missing}\n"


def test_scan_of_a_file_that_is_not_python_is_a_usage_error(runner, tmp_path):
    (tmp_path / "notes.txt").write_text("hello\n", encoding="utf-8")
    result = invoke(runner, "scan", tmp_path / "notes.txt")
    assert result.exit_code == 2
    assert result.stderr == f"audit: error: not a Python file: {tmp_path / 'notes.txt'}\n"


def test_unknown_format_and_threshold_are_usage_errors(runner, tmp_path):
    assert invoke(runner, "scan", tmp_path, "--format", "xml").exit_code == 2
    assert invoke(runner, "scan", tmp_path, "--fail-on", "severe").exit_code == 2
    assert invoke(runner, "scan", tmp_path, "--jobs", "-1").exit_code == 2


def test_unwritable_output_is_a_usage_error(runner, tmp_path):
    write_tree(tmp_path / "src", CLEAN)
    for fmt in ("terminal", "json", "markdown"):
        target = tmp_path / "missing-dir" / f"report.{fmt}"
        result = invoke(runner, "scan", tmp_path / "src", "--format", fmt, "-o", target)
        assert result.exit_code == 2, fmt
        assert result.stderr == f"audit: error: cannot write {target}: No such file or directory\n"


def test_python_dash_m_reports_usage_errors_without_a_traceback(tmp_path):
    missing = tmp_path / "nowhere"
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    proc = subprocess.run([sys.executable, "-m", "auditor", "scan", str(missing)], cwd=tmp_path,
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == f"audit: error: path does not exist: {missing}\n"
    assert "Traceback" not in proc.stderr

    proc = subprocess.run([sys.executable, "-m", "auditor", "--version"], cwd=tmp_path,
                          capture_output=True, text=True, env=env, timeout=120)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "audit 0.1.0\n", "")


# --- exit codes ------------------------------------------------------------------------------


def test_exit_0_when_nothing_is_found(runner, tmp_path):
    write_tree(tmp_path, CLEAN)
    result = invoke(runner, "scan", tmp_path, "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["findings"] == []


def test_exit_1_when_a_finding_reaches_the_default_threshold_high(runner, tmp_path):
    write_tree(tmp_path, HIGH_ONLY)
    result = invoke(runner, "scan", tmp_path, "--format", "json")
    assert result.exit_code == 1
    findings = json.loads(result.stdout)["findings"]
    assert [(f["rule"], f["path"], f["line"], f["severity"]) for f in findings] == [
        ("DB101", "repo.py", 4, "high")]


@pytest.mark.parametrize("threshold, code", [
    ("none", 0), ("critical", 0), ("high", 1), ("medium", 1), ("low", 1), ("info", 1)])
def test_fail_on_threshold(runner, tmp_path, threshold, code):
    write_tree(tmp_path, HIGH_ONLY)  # only one high finding
    assert invoke(runner, "scan", tmp_path, "--fail-on", threshold).exit_code == code


def test_fail_on_critical_exits_1_on_a_critical_finding(runner):
    # analytics_flask has request-reachable (critical) findings.
    assert invoke(runner, "scan", ANALYTICS, "--fail-on", "critical", "--format", "json").exit_code == 1


# --- JSON ------------------------------------------------------------------------------------


def test_json_report_is_versioned_and_deterministic(runner):
    first = invoke(runner, "scan", ANALYTICS, "--format", "json", "--jobs", "1")
    second = invoke(runner, "scan", ANALYTICS, "--format", "json", "--jobs", "1")
    parallel = invoke(runner, "scan", ANALYTICS, "--format", "json", "--jobs", "2")
    assert first.exit_code == second.exit_code == parallel.exit_code == 1
    assert first.stdout == second.stdout
    assert first.stdout == parallel.stdout
    document = json.loads(first.stdout)
    assert document["schema_version"] == "1.1"
    assert document["tool"] == {"name": "audit", "version": "0.1.0"}
    assert document["summary"]["findings"] == 20 == len(document["findings"])
    assert document["summary"]["files"] == 15
    assert document["notes"] == []
    finding = next(f for f in document["findings"] if (f["path"], f["line"]) == ("app/repositories/accounts.py", 44))
    assert finding["rule"] == "DB101"
    assert finding["severity"] == "critical"
    assert finding["priority"] == "P0"
    assert finding["chain"] == ["app/repositories/accounts.py:43 for account in accounts",
                                "app/repositories/accounts.py:44 cur.execute()"]
    assert str(REPO_ROOT) not in first.stdout  # no absolute paths: the report is portable


def test_output_file_is_written(runner, tmp_path):
    target = tmp_path / "report.json"
    result = invoke(runner, "scan", ANALYTICS, "--format", "json", "-o", target)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"wrote {target} (20 findings)\n"
    assert json.loads(target.read_text(encoding="utf-8"))["schema_version"] == "1.1"
    assert target.read_text(encoding="utf-8") == invoke(runner, "scan", ANALYTICS, "--format", "json").stdout


def test_terminal_report_to_a_file(runner, tmp_path):
    target = tmp_path / "report.txt"
    result = invoke(runner, "scan", ANALYTICS, "-o", target)
    assert result.exit_code == 1
    assert result.stdout == ""
    text = target.read_text(encoding="utf-8")
    assert "P0 critical DB101 app/repositories/accounts.py:44  (confidence high)" in text


# --- Markdown --------------------------------------------------------------------------------


def test_markdown_report(runner):
    result = invoke(runner, "scan", ANALYTICS, "--format", "markdown")
    assert result.exit_code == 1
    text = result.stdout
    assert text.startswith("# Performance audit: analytics_flask\n")
    assert "## Executive summary" in text
    assert "| Python files scanned | 15 |" in text
    assert "| Findings | 20 (7 critical, 8 high, 4 medium, 1 low) |" in text
    assert "## Roadmap" in text
    assert "- [ ] DB101 Database query inside a loop in `app/services/reports.py` (2 sites)" in text
    assert "#### DB101 Database query inside a loop: `app/services/reports.py:19`" in text
    assert ("Evidence: app/services/reports.py:18 for acct in accounts → "
            "app/services/reports.py:19 accounts_repo.load_account_summary() → ") in text
    assert "app/repositories/metrics.py:9 cur.execute()" in text
    assert "## Notes" not in text  # no notes on a clean sample
    assert "\n\n\n" not in text
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_markdown_report_of_an_empty_tree(runner, tmp_path):
    result = invoke(runner, "scan", tmp_path, "--format", "markdown")
    assert result.exit_code == 0
    assert "| Findings | 0 (none) |" in result.stdout
    assert "No findings." in result.stdout
    assert "### P0: Now: fixes for request-path problems with high confidence\n\n- nothing\n" in result.stdout
    assert "\n\n\n" not in result.stdout


# --- terminal --------------------------------------------------------------------------------


def test_terminal_report_lists_the_top_finding(runner):
    result = invoke(runner, "scan", ANALYTICS)
    assert result.exit_code == 1
    out = result.stdout
    assert "audit scanned 15 files" in out
    first = out.index("P0 critical DB101 app/repositories/accounts.py:44")
    assert "44 | cur.execute(" in out[first:]
    assert "Traceback" not in out


def test_terminal_top_limits_the_findings_shown(runner):
    result = invoke(runner, "scan", ANALYTICS, "--top", "1")
    assert result.exit_code == 1
    assert "P0 critical DB101 app/repositories/accounts.py:44" in result.stdout
    assert "P0 critical DB105 app/services/ingest.py:63" not in result.stdout
    assert "… 19 more; use --format markdown -o report.md for all." in result.stdout


# --- single file -----------------------------------------------------------------------------


def test_scanning_a_single_file_reports_only_that_file(runner):
    result = scan_json(runner, ANALYTICS / "scripts" / "nightly_maintenance.py")
    assert [(f["rule"], f["path"], f["line"]) for f in result["findings"]] == [
        ("DB202", "nightly_maintenance.py", 16),
        ("DB202", "nightly_maintenance.py", 24),
        ("DB203", "nightly_maintenance.py", 48),
        ("DB101", "nightly_maintenance.py", 51),
    ]


def test_scanning_a_file_in_a_package_sees_the_whole_package(runner):
    # reports.py calls helpers in app/repositories and is reached from handlers in app/routes:
    # the single-file scan reports exactly what the full scan reports for it.
    full = scan_json(runner, ANALYTICS)
    expected = [(f["rule"], f["path"], f["line"], f["severity"]) for f in full["findings"]
                if f["path"] == "app/services/reports.py"]
    assert expected == [("DB101", "app/services/reports.py", 19, "critical"),
                        ("DB101", "app/services/reports.py", 28, "critical"),
                        ("DB104", "app/services/reports.py", 46, "high")]
    single = scan_json(runner, ANALYTICS / "app" / "services" / "reports.py")
    assert [(f["rule"], f["path"], f["line"], f["severity"]) for f in single["findings"]] == expected


def test_scanning_a_single_file_follows_helpers_in_sibling_modules(runner, tmp_path):
    write_tree(tmp_path, {
        "helpers.py": """\
            def fetch_one(cur, item_id):
                cur.execute("SELECT id FROM items WHERE id = %s", (item_id,))
                return cur.fetchone()
            """,
        "main.py": """\
            from helpers import fetch_one


            def run(cur, ids):
                return [fetch_one(cur, i) for i in ids]
            """,
        "other.py": "def broken(:\n    pass\n",
    })
    result = invoke(runner, "scan", tmp_path / "main.py", "--format", "json", "--strict")
    assert result.exit_code == 1  # the note about other.py is not this file's: --strict ignores it
    document = json.loads(result.stdout)
    assert [(f["rule"], f["path"], f["line"]) for f in document["findings"]] == [("DB101", "main.py", 5)]
    assert document["notes"] == []


# --- explain, rules --------------------------------------------------------------------------


def test_explain(runner):
    result = invoke(runner, "explain", "DB101")
    assert result.exit_code == 0
    out = result.stdout
    assert out.startswith("DB101 query-in-loop: Database query inside a loop\n")
    assert "severity high, confidence high, category n-plus-one" in out
    assert "Why is this bad?" in out
    assert "Remediation" in out
    assert "- PostgreSQL - Row and Array Comparisons (IN, ANY): " \
           "https://www.postgresql.org/docs/current/functions-comparisons.html" in out


def test_explain_is_case_insensitive(runner):
    result = invoke(runner, "explain", "db202")
    assert result.exit_code == 0
    assert result.stdout.startswith("DB202 ")


def test_explain_unknown_rule(runner):
    result = invoke(runner, "explain", "NOPE")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "audit: error: unknown rule NOPE; known: " + ", ".join(RULE_IDS) + "\n"


def test_rules_lists_every_rule(runner):
    result = invoke(runner, "rules")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == RULE_IDS
    assert lines[0] == "ASY101  medium   Blocking call (sync database driver, HTTP, Redis, LLM SDK, sleep) inside async def"
    assert "DB101  high     Database query inside a loop" in lines
    assert "DB104  medium   Loop-invariant query repeated on every iteration" in lines


@pytest.mark.parametrize("name,first", [("report.json", "{"), ("report.md", "# Performance audit: analytics_flask"),
                                        ("report.txt", "audit scanned")])
def test_output_suffix_chooses_the_format(tmp_path, name, first):
    target = tmp_path / name
    result = cli_runner().invoke(app, ["scan", str(ANALYTICS), "-o", str(target), "--fail-on", "none"])
    assert result.exit_code == 0
    assert target.read_text(encoding="utf-8").startswith(first)
