"""Fingerprints survive unrelated edits and tell identical findings apart; ranking."""

from __future__ import annotations

from auditor.findings import priority_for
from tests.conftest import scan_files

LOOPS = """
def load(cur, ids):
    for i in ids:
        cur.execute("SELECT id FROM t WHERE id = %s", (i,))
    for i in ids:
        cur.execute("SELECT id FROM t WHERE id = %s", (i,))
"""


def _fingerprints(root, source):
    result = scan_files(root, {"app/repo.py": source})
    return [(f.line, f.fingerprint) for f in result.findings]


def test_fingerprints_survive_line_shifts(tmp_path):
    before = _fingerprints(tmp_path / "a", LOOPS)
    after = _fingerprints(tmp_path / "b", "import os\n\n\n# a new comment\n" + LOOPS)
    assert [line for line, _ in before] == [3, 5]
    assert [line for line, _ in after] == [8, 10]
    assert [fp for _, fp in before] == [fp for _, fp in after]


def test_identical_findings_get_distinct_fingerprints(tmp_path):
    fingerprints = [fp for _, fp in _fingerprints(tmp_path, LOOPS)]
    digests = {fp.split(":")[0] for fp in fingerprints}
    assert len(digests) == 1 and [fp.split(":")[1] for fp in fingerprints] == ["0", "1"]


def test_an_edit_to_the_flagged_code_changes_the_fingerprint(tmp_path):
    before = _fingerprints(tmp_path / "a", LOOPS)
    edited = LOOPS.replace('cur.execute("SELECT id FROM t WHERE id = %s", (i,))\n    for',
                           'cur.execute("SELECT id, name FROM t WHERE id = %s", (i,))\n    for', 1)
    after = _fingerprints(tmp_path / "b", edited)
    assert before[0][1] != after[0][1] and before[1][1].split(":")[0] == after[1][1].split(":")[0]


def test_priority_from_severity_and_confidence():
    assert priority_for("critical", "high") == "P0"
    assert priority_for("high", "high") == "P1"
    assert priority_for("high", "low") == "P2"
    assert priority_for("medium", "medium") == "P2"
    assert priority_for("low", "high") == "P3"
