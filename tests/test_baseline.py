"""Baselines: ``audit baseline create`` and ``audit scan --baseline``."""

from __future__ import annotations

import json

import pytest

from auditor.baseline import BaselineError, read_baseline, subtract
from auditor.cli import app
from auditor.findings import Finding
from tests.conftest import write_tree
from tests.test_cli import cli_runner

LOOP = """\
    for i in ids:
        cur.execute("SELECT name FROM items WHERE id = %s", (i,))
"""


def jobs(*loops: str, name: str = "load", header: str = "") -> str:
    """A module whose function ``name`` holds the given loops (each indented into the body)."""
    body = "".join("".join(f"    {line}\n" for line in loop.splitlines()) for loop in loops)
    return f"{header}def {name}(cur, ids):\n{body}"


def run(*args):
    result = cli_runner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def create(root, baseline):
    result = run("baseline", "create", root, "-o", baseline)
    assert result.exit_code == 0, result.stderr
    return result


def scan_new(root, baseline, *args):
    result = run("scan", root, "--format", "json", "--baseline", baseline, *args)
    document = json.loads(result.stdout) if result.stdout else None
    found = sorted((f["rule"], f["path"], f["line"]) for f in document["findings"]) if document else None
    return result, document, found


def test_create_writes_every_finding_and_scan_reports_none_of_them(tmp_path):
    write_tree(tmp_path / "src", {"jobs.py": jobs(LOOP), "other.py": jobs(LOOP, name="other")})
    baseline = tmp_path / "baseline.json"
    result = create(tmp_path / "src", baseline)
    assert result.stderr == f"wrote {baseline} (2 findings)\n"
    data = json.loads(baseline.read_text(encoding="utf-8"))
    assert data["audit_baseline"] == 1
    assert [(e["rule"], e["path"], e["line"], e["function"]) for e in data["findings"]] == [
        ("DB101", "jobs.py", 3, "jobs.load"), ("DB101", "other.py", 3, "other.other")]
    result, document, found = scan_new(tmp_path / "src", baseline)
    assert (result.exit_code, found) == (0, [])
    assert document["summary"]["baseline"] == {"entries": 2, "matched": 2, "fixed": 0}
    assert result.stderr == (f"baseline {baseline}: 2 of 2 baseline findings still present (not reported), "
                             "0 fixed\n0 new findings\n")
    # Creating it again gives the same bytes (sorted, no timestamps).
    before = baseline.read_bytes()
    create(tmp_path / "src", baseline)
    assert baseline.read_bytes() == before


def test_line_shifts_do_not_make_findings_new(tmp_path):
    write_tree(tmp_path, {"jobs.py": jobs(LOOP)})
    baseline = tmp_path.parent / f"{tmp_path.name}-baseline.json"
    create(tmp_path, baseline)
    header = "import os\n\n\n# Loads names.\n\nTIMEOUT = 5\n\n\n"
    write_tree(tmp_path, {"jobs.py": jobs(LOOP, header=header)})
    result, _, found = scan_new(tmp_path, baseline, "--fail-on", "low")
    assert (result.exit_code, found) == (0, [])


def test_one_baseline_entry_absorbs_one_of_three_identical_findings(tmp_path):
    write_tree(tmp_path, {"jobs.py": jobs(LOOP)})
    baseline = tmp_path.parent / f"{tmp_path.name}-baseline.json"
    create(tmp_path, baseline)
    write_tree(tmp_path, {"jobs.py": jobs(LOOP, LOOP, LOOP)})
    result, document, found = scan_new(tmp_path, baseline)
    # The old loop keeps its line (3); the two copies added after it are the new ones.
    assert found == [("DB101", "jobs.py", 5), ("DB101", "jobs.py", 7)]
    assert result.exit_code == 1
    assert document["summary"]["baseline"] == {"entries": 1, "matched": 1, "fixed": 0}
    assert result.stderr.endswith("2 new findings\n")


def test_a_renamed_function_is_new_and_its_old_entry_fixed(tmp_path):
    write_tree(tmp_path, {"jobs.py": jobs(LOOP)})
    baseline = tmp_path.parent / f"{tmp_path.name}-baseline.json"
    create(tmp_path, baseline)
    write_tree(tmp_path, {"jobs.py": jobs(LOOP, name="load_names")})
    result, document, found = scan_new(tmp_path, baseline)
    assert found == [("DB101", "jobs.py", 3)]
    assert document["findings"][0]["function"] == "jobs.load_names"
    assert document["summary"]["baseline"] == {"entries": 1, "matched": 0, "fixed": 1}
    assert result.stderr.startswith(f"baseline {baseline}: 0 of 1 baseline findings still present (not reported), "
                                    "1 fixed\n")


def test_baseline_and_fail_on(tmp_path):
    write_tree(tmp_path, {"jobs.py": jobs(LOOP)})
    baseline = tmp_path.parent / f"{tmp_path.name}-baseline.json"
    create(tmp_path, baseline)
    write_tree(tmp_path, {"jobs.py": jobs(LOOP) + "\n\n" + jobs(LOOP, name="more")})
    assert scan_new(tmp_path, baseline)[0].exit_code == 1
    assert scan_new(tmp_path, baseline, "--fail-on", "critical")[0].exit_code == 0


@pytest.mark.parametrize("text, message", [
    (None, "baseline file not found: {path} (create it with: audit baseline create)"),
    ("{", "{path}: not a baseline file: invalid JSON at line 1 (Expecting property name enclosed in double quotes)"),
    ('{"findings": []}', "{path}: not an audit baseline file (no 'audit_baseline' key)"),
    ('{"audit_baseline": 9, "findings": []}',
     "{path}: baseline format 9 is not supported (expected 1); recreate it with: audit baseline create"),
    ('{"audit_baseline": 1, "findings": {}}', "{path}: 'findings' must be a list"),
    ('{"audit_baseline": 1, "findings": [{"rule": "DB101"}]}', "{path}: finding 1 has no valid 'fingerprint'"),
])
def test_missing_or_invalid_baseline_is_a_usage_error(tmp_path, text, message):
    write_tree(tmp_path, {"jobs.py": jobs(LOOP)})
    path = tmp_path / "baseline.json"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(BaselineError) as info:
        read_baseline(path)
    assert str(info.value) == message.format(path=path)
    result = run("scan", tmp_path, "--baseline", path)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"audit: error: {info.value}\n"


def test_baseline_create_cannot_write(tmp_path):
    write_tree(tmp_path, {"jobs.py": jobs(LOOP)})
    result = run("baseline", "create", tmp_path, "-o", tmp_path / "missing" / "b.json")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"audit: error: cannot write {tmp_path / 'missing' / 'b.json'}: ")


def finding(fingerprint: str, line: int) -> Finding:
    return Finding(rule="DB101", title="", category="", severity="high", confidence="high", path="a.py",
                   line=line, column=0, end_line=line, function="f", message="", remediation="",
                   fingerprint=fingerprint)


def test_subtract_is_a_multiset_difference_preferring_the_same_line():
    current = [finding("aaa:0", 3), finding("aaa:1", 9), finding("aaa:2", 12), finding("bbb:0", 20)]
    new, matched, gone = subtract(current, [("aaa:0", 9), ("ccc:0", 1)])
    assert [(f.fingerprint, f.line) for f in new] == [("aaa:0", 3), ("aaa:2", 12), ("bbb:0", 20)]
    assert (matched, gone) == (1, 1)
    # Known entries beyond the current copies are gone (fixed); a line match is not required.
    new, matched, gone = subtract(current[:2], [("aaa:0", 1), ("aaa:1", 2), ("aaa:2", 3)])
    assert (new, matched, gone) == ([], 2, 1)
