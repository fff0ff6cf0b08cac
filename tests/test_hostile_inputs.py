"""The hostile corpus (tests/hostile/corpus.py) scanned in one tree with good files: no crash, no
traceback, the good files' findings exactly, a note for each bad file and none for the odd-but-valid
ones, nothing executed, nothing written into the tree. Also: the per-file time limit, and our own
malformed configuration file (one line, exit 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auditor.cli import app
from auditor.config import Config
from auditor.limits import TIME_LIMIT_ENVIRONMENT, FileTimeLimit, file_time_limit, limited_time, time_limit_note
from auditor.scan import run_scan
from tests.conftest import REPO_ROOT, found
from tests.hostile.corpus import GOOD_FILES, GOOD_FINDINGS, MALFORMED_AUDIT_YML, NOTE, QUIET, make_tree
from tests.test_cli import cli_runner

# A hostile file that is valid Python building SQL by concatenation: a real finding.
HOSTILE_FINDINGS = [("SQL103", "odd/sql_injection_text.py", 1)]


def listing(root: Path) -> list:
    """Every path under ``root`` with its size and mtime (symlinks not followed)."""
    entries = []
    for current, dirs, files in os.walk(root):
        for name in sorted(dirs + files):
            full = Path(current) / name
            info = full.lstat()
            entries.append((str(full.relative_to(root)), info.st_mode, info.st_size, info.st_mtime_ns))
    return sorted(entries)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """``(tree, marker directory, {path: NOTE or QUIET})``."""
    base = tmp_path_factory.mktemp("hostile")
    tree, markers = base / "tree", base / "markers"
    tree.mkdir()
    markers.mkdir()
    expected = make_tree(tree, markers)
    return tree, markers, expected


def test_the_corpus_has_over_200_hostile_inputs(hostile):
    _, _, expected = hostile
    assert len(expected) >= 200
    assert sum(1 for e in expected.values() if e == NOTE) >= 150


def test_the_hostile_tree_scans_without_a_crash_and_keeps_every_good_finding(hostile, tmp_path):
    tree, markers, expected = hostile
    before = listing(tree)
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    env.pop(TIME_LIMIT_ENVIRONMENT, None)
    # --jobs 1: every file is parsed in this one process, so a native parser crash would kill the run
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "auditor", "scan", str(tree), "--format", "json", "--jobs", "1"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    elapsed = time.monotonic() - started
    assert proc.returncode == 1, proc.stderr[-2000:]  # 1: the good files' high DB101 findings
    assert proc.stderr == ""
    document = json.loads(proc.stdout)
    assert sorted((f["rule"], f["path"], f["line"]) for f in document["findings"]) == sorted(
        GOOD_FINDINGS + HOSTILE_FINDINGS)
    noted: dict = {}
    for note in document["notes"]:
        noted.setdefault(note["path"], []).append(note["message"])
    missing = sorted(path for path, expect in expected.items() if expect == NOTE and path not in noted)
    unexpected = sorted(path for path in noted if expected.get(path) != NOTE)
    assert missing == [] and unexpected == [], (missing, {p: noted[p] for p in unexpected})
    assert all(expected[path] == QUIET for path in GOOD_FILES if path in expected) and not set(GOOD_FILES) & set(noted)
    assert sorted(markers.iterdir()) == []  # no import-time payload ran
    assert listing(tree) == before  # nothing written into the scanned tree
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nor into the working directory
    assert elapsed < 300


def test_a_file_over_the_time_limit_is_noted_and_the_rest_is_reported(tmp_path, monkeypatch):
    slow = "".join(f"def f{i}(x):\n    return [x + {i} for _ in range(3)]\n\n" for i in range(12_000))
    (tmp_path / "slow.py").write_text(slow, encoding="utf-8")
    slow_sql = "".join(f"INSERT INTO t (a, b) VALUES ({i}, 'x{i}');\n" for i in range(3000))
    (tmp_path / "slow.sql").write_text(slow_sql, encoding="utf-8")
    for rel, data in GOOD_FILES.items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    monkeypatch.setenv(TIME_LIMIT_ENVIRONMENT, "0.25")
    for jobs in (1, 2):
        result = run_scan(tmp_path, Config(), jobs=jobs)
        assert result.notes == [("slow.py", time_limit_note(0.25)), ("slow.sql", time_limit_note(0.25))], result.notes
        assert result.notes[0][1] == "skipped: parsing took longer than the 0.25 s limit (AUDIT_FILE_TIME_LIMIT)"
        assert found(result) == GOOD_FINDINGS
    monkeypatch.setenv(TIME_LIMIT_ENVIRONMENT, "0")  # no limit: the files are analysed
    result = run_scan(tmp_path, Config(), jobs=1)
    assert result.notes == []
    assert result.metrics["sql_statements"] == 3000 + len(GOOD_FINDINGS) + 1  # and good/queries.sql


def test_time_limit_setting_and_timer_restoration(monkeypatch):
    monkeypatch.delenv(TIME_LIMIT_ENVIRONMENT, raising=False)
    assert file_time_limit() == 60.0
    monkeypatch.setenv(TIME_LIMIT_ENVIRONMENT, "soon")
    assert file_time_limit() == 60.0
    monkeypatch.setenv(TIME_LIMIT_ENVIRONMENT, "2.5")
    assert file_time_limit() == 2.5
    import signal

    with pytest.raises(FileTimeLimit):
        with limited_time(0.05):
            while True:
                pass
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    with limited_time(0.5):
        pass  # finishing in time raises nothing and leaves no timer behind
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


@pytest.mark.parametrize("name", sorted(MALFORMED_AUDIT_YML))
@pytest.mark.parametrize("where", [".audit.yml", "sub/.audit.yml"])
def test_our_own_malformed_configuration_is_one_line_and_exit_2(tmp_path, name, where):
    for rel, data in {**GOOD_FILES, where: MALFORMED_AUDIT_YML[name], "sub/app.py": b"X = 1\n"}.items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    result = cli_runner().invoke(app, ["scan", str(tmp_path), "--format", "json", "--jobs", "1"])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    assert result.stderr.startswith("audit: error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_files_that_cannot_be_read_are_noted_even_as_root(tmp_path):
    """As root, mode 000 does not stop a read (the corpus expects such a file to be analysed then);
    a file that vanishes between discovery and reading, or a directory, fails for root too."""
    from auditor.scan import _read_and_extract
    from auditor.sql_files import unread_sql_notes

    (tmp_path / "package.py").mkdir()
    assert _read_and_extract(str(tmp_path), "gone.py").error == "unreadable: No such file or directory"
    assert _read_and_extract(str(tmp_path), "package.py").error == "unreadable: Is a directory"
    assert unread_sql_notes(tmp_path, ["gone.sql"], []) == [("gone.sql", "unreadable: No such file or directory")]
    if os.geteuid() != 0:
        (tmp_path / "locked.py").write_bytes(b"X = 1\n")
        (tmp_path / "locked.py").chmod(0)
        assert _read_and_extract(str(tmp_path), "locked.py").error == "unreadable: Permission denied"
