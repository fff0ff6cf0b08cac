"""Determinism and read-only scanning: the JSON report of every sample project is byte-identical
across runs (separate processes with different hash seeds), ``--jobs`` values and facts-cache
states (a cold and then a warm cache directory), and no run writes anything inside the scanned
tree or the working directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT
from tests.test_hostile_inputs import listing

PROJECTS = sorted(p.name for p in (REPO_ROOT / "sample_projects").iterdir() if p.is_dir())

# Scans every sample project through the command line in one process: report files in argv[1].
DRIVER = """
import sys
from auditor.cli import app
out, jobs, projects = sys.argv[1], sys.argv[2], sys.argv[3:]
for project in projects:
    code = app(["scan", "sample_projects/" + project, "--format", "json", "--jobs", jobs,
                "-o", out + "/" + project + ".json"], standalone_mode=False)
    assert code in (0, 1, None), (project, code)
"""


def scan_all(out: Path, jobs: int, seed: str, cache: Path) -> dict:
    out.mkdir()
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), PYTHONHASHSEED=seed, XDG_CACHE_HOME=str(cache))
    env.pop("AUDIT_FILE_TIME_LIMIT", None)
    proc = subprocess.run([sys.executable, "-c", DRIVER, str(out), str(jobs), *PROJECTS], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def test_sample_project_reports_are_byte_identical_across_runs_jobs_and_cache_states(tmp_path):
    assert len(PROJECTS) >= 5
    before = listing(REPO_ROOT / "sample_projects")
    cache = tmp_path / "cache"  # shared by the runs: cold for the first, warm for the others
    runs = [scan_all(tmp_path / "run1", 1, "0", cache),
            scan_all(tmp_path / "run2", 2, "1", cache),
            scan_all(tmp_path / "run3", 3, "4242", cache)]
    assert sorted(runs[0]) == [f"{p}.json" for p in PROJECTS]
    for name in runs[0]:
        assert runs[0][name].startswith(b"{") and b'"findings"' in runs[0][name]
        assert runs[1][name] == runs[0][name], name
        assert runs[2][name] == runs[0][name], name
    assert listing(REPO_ROOT / "sample_projects") == before  # nothing written inside the scanned trees
    if (REPO_ROOT / "auditor" / "fact_cache.py").is_file():  # the facts cache: the warm runs reused it
        assert any(cache.rglob("*")), "the facts cache directory stayed empty"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "cache") == ["run1", "run2", "run3"]
    for run in ("run1", "run2", "run3"):  # only the reports: no temporary files left next to them
        assert sorted(p.name for p in (tmp_path / run).iterdir()) == [f"{p}.json" for p in PROJECTS]
