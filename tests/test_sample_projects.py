"""Each sample project's scan equals its expected_findings.txt exactly, both ways."""

from __future__ import annotations

import pytest

from auditor.config import Config
from auditor.scan import run_scan
from tests.conftest import REPO_ROOT

SAMPLES = sorted(p for p in (REPO_ROOT / "sample_projects").iterdir() if (p / "expected_findings.txt").is_file())


def read_expected(path) -> set:
    expected = set()
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        rule, location = line.split()[:2]
        file_path, line_no = location.rsplit(":", 1)
        expected.add((rule, file_path, int(line_no)))
    return expected


def test_there_are_three_sample_projects():
    assert len(SAMPLES) >= 3


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("project", SAMPLES, ids=lambda p: p.name)
def test_scan_matches_expected_findings(project, jobs):
    result = run_scan(project, Config(), jobs=jobs)
    actual = {(f.rule, f.path, f.line) for f in result.findings}
    expected = read_expected(project / "expected_findings.txt")
    assert sorted(actual - expected) == [], "reported but not expected"
    assert sorted(expected - actual) == [], "expected but not reported"
    assert result.notes == []
