"""Files that cannot be analysed get a note naming them; the rest of the scan is unaffected."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import subprocess
import sys
import warnings

import pytest

import auditor.extract
import auditor.scan
from auditor.cli import app
from auditor.config import Config
from auditor.facts import ModuleFacts
from auditor.scan import run_scan
from tests.conftest import REPO_ROOT, found
from tests.hostile.corpus import HUGE_INT, refused_by_cpython
from tests.test_cli import cli_runner

GOOD = b'''\
def load_orders(cur, customer_ids):
    orders = []
    for customer_id in customer_ids:
        cur.execute("SELECT id FROM orders WHERE customer_id = %s", (customer_id,))
        orders.extend(cur.fetchall())
    return orders
'''
GOOD_FINDING = [("DB101", "good.py", 4)]

BAD_FILES = {
    "good.py": GOOD,
    "syntax_error.py": b"def broken(:\n    pass\n",
    "python2.py": b'import os\nprint "x"\n',
    "latin1.py": b'# -*- coding: latin-1 -*-\nNAME = "caf\xe9"\n',
    "bad_utf8.py": b'X = 1\nNAME = "caf\xe9"\n',
    "bom.py": b"\xef\xbb\xbfX = 1\n",
    "empty.py": b"",
    "blank.py": b"\n\n   \n",
    "binary.py": b"\x7fELF\x02\x01\x01\x00\x00\x00garbage",
    "deep.py": ("X = " + "(" * 5000 + "1" + ")" * 5000 + "\n").encode(),
    "deep_sum.py": ("X = " + "+".join(["1"] * 50000) + "\n").encode(),
    "deep_lambda.py": ("X = " + "lambda: " * 5000 + "1\n").encode(),
    "unknown_codec.py": b"# coding: klingon\nX = 1\n",
    "rot13.py": b"# coding: rot13\nK = 1\n",
    "big_int.py": HUGE_INT,  # over CPython's int digits limit (3.11 and later patch releases)
}

EXPECTED_NOTES = [
    ("bad_utf8.py", "skipped: invalid utf-8 (byte 0xe9 at line 2) and no coding declaration"),
    *([("big_int.py", "syntax error at line 1: Exceeds the limit (4300 digits) for integer string conversion…")]
      if refused_by_cpython(HUGE_INT) else []),
    ("binary.py", "skipped: binary file (NUL bytes)"),
    ("deep.py", "skipped: nesting too deep to analyse"),
    ("deep_lambda.py", "skipped: nesting too deep to analyse"),
    ("deep_sum.py", "skipped: nesting too deep to analyse"),
    # CPython 3.9 suggests print("x"), later versions print(...).
    ("python2.py", "syntax error at line 2: Missing parentheses in call to 'print'. Did you mean print(…)? "
                   "(not analysed)"),
    ("rot13.py", "skipped: rot13 is not a text encoding"),
    ("syntax_error.py", "syntax error at line 1: invalid syntax (not analysed)"),
    ("unknown_codec.py", "skipped: unknown encoding: klingon"),
]


def notes_match(actual: list, expected: list) -> bool:
    """``actual == expected`` where "…" in an expected message stands for any text."""
    if len(actual) != len(expected):
        return False
    for (path, message), (want_path, pattern) in zip(actual, expected):
        regex = ".*".join(re.escape(part) for part in pattern.split("…"))
        if path != want_path or not re.fullmatch(regex, message):
            return False
    return True


def write_bytes(root, files: dict) -> None:
    for rel, data in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


@pytest.mark.parametrize("jobs", [1, 2])
def test_bad_files_get_notes_and_the_good_finding_stays(tmp_path, jobs):
    write_bytes(tmp_path, BAD_FILES)
    result = run_scan(tmp_path, Config(), jobs=jobs)
    assert found(result) == GOOD_FINDING
    assert notes_match(result.notes, EXPECTED_NOTES), result.notes
    assert result.metrics["files"] == len(BAD_FILES)
    assert result.metrics["unparsed_files"] == len(EXPECTED_NOTES)


def test_encoded_files_that_are_fine_are_analysed(tmp_path):
    write_bytes(tmp_path, {
        "latin1.py": b'# -*- coding: latin-1 -*-\n# caf\xe9\ndef f(cur, ids):\n'
                     b'    for i in ids:\n        cur.execute("SELECT \xe9", (i,))\n',
        "bom.py": b'\xef\xbb\xbfdef g(cur, ids):\n    for i in ids:\n        cur.execute("SELECT 1", (i,))\n',
        "crlf.py": b'def h(cur, ids):\r\n    for i in ids:\r\n        cur.execute("SELECT 1", (i,))\r\n',
    })
    result = run_scan(tmp_path, Config(), jobs=1)
    assert result.notes == []
    assert found(result) == [("DB101", "bom.py", 3), ("DB101", "crlf.py", 3), ("DB101", "latin1.py", 5)]
    latin = next(f for f in result.findings if f.path == "latin1.py")
    assert latin.excerpt == 'cur.execute("SELECT é", (i,))'


def test_invalid_escape_sequences_in_scanned_code_raise_no_warning(tmp_path, capfd):
    write_bytes(tmp_path, {"regex.py": b'import re\nPATTERN = re.compile("\\d+")\nOTHER = "\\w"\n'})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_scan(tmp_path, Config(), jobs=1)
    assert [str(w.message) for w in caught] == []
    assert result.notes == []
    assert capfd.readouterr().err == ""


def test_cli_exit_code_ignores_notes_unless_strict(tmp_path):
    write_bytes(tmp_path, BAD_FILES)
    runner = cli_runner()
    result = runner.invoke(app, ["scan", str(tmp_path), "--format", "json"])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 1  # the high DB101 in good.py, as without the bad files
    document = json.loads(result.stdout)
    assert notes_match([(n["path"], n["message"]) for n in document["notes"]], EXPECTED_NOTES)
    assert runner.invoke(app, ["scan", str(tmp_path), "--fail-on", "none"]).exit_code == 0
    assert runner.invoke(app, ["scan", str(tmp_path), "--fail-on", "none", "--strict"]).exit_code == 2
    assert runner.invoke(app, ["scan", str(tmp_path), "--strict"]).exit_code == 2
    # Without the bad files, --strict changes nothing.
    clean = tmp_path / "clean"
    write_bytes(clean, {"good.py": GOOD, "empty.py": b"", "bom.py": b"\xef\xbb\xbfX = 1\n",
                        "latin1.py": BAD_FILES["latin1.py"]})
    assert runner.invoke(app, ["scan", str(clean), "--strict"]).exit_code == 1
    assert runner.invoke(app, ["scan", str(clean), "--strict", "--fail-on", "none"]).exit_code == 0


def test_terminal_and_markdown_reports_list_the_notes(tmp_path):
    write_bytes(tmp_path, BAD_FILES)
    runner = cli_runner()
    terminal = runner.invoke(app, ["scan", str(tmp_path)])
    assert f"{len(EXPECTED_NOTES)} note(s):" in terminal.stdout
    assert "  syntax_error.py: syntax error at line 1: invalid syntax (not analysed)" in terminal.stdout
    markdown = runner.invoke(app, ["scan", str(tmp_path), "--format", "markdown"]).stdout
    assert f"| Files that could not be analysed | {len(EXPECTED_NOTES)} |" in markdown
    assert "## Notes" in markdown
    listed = re.findall(r"^- `([^`]+)`: (.*)$", markdown.split("## Notes", 1)[1], re.MULTILINE)
    assert notes_match(listed, EXPECTED_NOTES), listed
    assert "#### DB101 Database query inside a loop: `good.py:4`" in markdown


def test_python_dash_m_on_bad_input_prints_no_traceback(tmp_path):
    write_bytes(tmp_path, BAD_FILES)
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    proc = subprocess.run([sys.executable, "-m", "auditor", "scan", str(tmp_path), "--format", "json",
                           "--jobs", "1"], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == ""
    document = json.loads(proc.stdout)
    assert [(f["rule"], f["path"], f["line"]) for f in document["findings"]] == GOOD_FINDING


@pytest.mark.skipif(multiprocessing.get_start_method() != "fork",
                    reason="the patched worker reaches the pool only when workers are forked")
def test_a_crashing_worker_loses_only_its_own_file(tmp_path, monkeypatch):
    files = {f"m{i:02d}.py": GOOD.replace(b"load_orders", f"load_{i}".encode()) for i in range(12)}
    write_bytes(tmp_path, files)
    real = auditor.extract.extract_facts

    def crashing(rel, data, tree=None):
        if rel == "m05.py":
            os._exit(139)  # what a native parser crash looks like to the pool
        return real(rel, data, tree)

    monkeypatch.setattr(auditor.extract, "extract_facts", crashing)
    result = run_scan(tmp_path, Config(), jobs=2)
    assert result.notes == [("m05.py", "skipped: the parser crashed on this file")]
    assert found(result) == [("DB101", f"m{i:02d}.py", 4) for i in range(12) if i != 5]


def test_worker_never_raises(tmp_path, monkeypatch):
    def exploding(rel, data, tree=None):
        raise ValueError("boom\nsecond line")

    monkeypatch.setattr(auditor.extract, "extract_facts", exploding)
    write_bytes(tmp_path, {"a.py": b"X = 1\n"})
    facts = auditor.scan._read_and_extract(str(tmp_path), "a.py")
    assert isinstance(facts, ModuleFacts)
    assert facts.error == "could not be parsed: boom"


def test_oversized_file_is_skipped(tmp_path, monkeypatch):
    monkeypatch.setattr(auditor.scan, "MAX_FILE_BYTES", 1024)
    write_bytes(tmp_path, {"huge.py": b"X = 1\n" * 400, "good.py": GOOD})
    result = run_scan(tmp_path, Config(), jobs=1)
    assert result.notes == [("huge.py", "skipped: 2 KiB is over the 1 KiB limit")]
    assert found(result) == GOOD_FINDING


def test_scanned_code_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    evil = f"""\
import os
import subprocess

open({str(marker)!r}, "w").write("ran")
os.system("touch {marker}.system")
subprocess.run(["touch", "{marker}.subprocess"])
__import__("pathlib").Path({str(marker)!r} + ".import").touch()


class Meta(type):
    def __new__(mcs, *args):
        open({str(marker)!r} + ".class", "w").close()
        return super().__new__(mcs, *args)


class Model(metaclass=Meta):
    pass


def load(cur, ids):
    for i in ids:
        cur.execute("SELECT %s", (i,))
"""
    project = tmp_path / "project"
    write_bytes(project, {"evil.py": evil.encode(), "pkg/__init__.py": evil.encode(),
                          "conftest.py": evil.encode(), "setup.py": evil.encode()})
    result = run_scan(project, Config(include_tests=True), jobs=1)
    assert found(result) == [("DB101", "conftest.py", 22), ("DB101", "evil.py", 22),
                             ("DB101", "pkg/__init__.py", 22), ("DB101", "setup.py", 22)]
    runner = cli_runner()
    for fmt in ("terminal", "json", "markdown"):
        runner.invoke(app, ["scan", str(project), "--format", fmt, "--jobs", "2"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]
