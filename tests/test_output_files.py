"""Report files are written atomically (a temporary file in the same directory, then os.replace):
a failure while rendering leaves the previous file whole, and no temporary file stays behind."""

from __future__ import annotations

import json
import os
import stat

import pytest

import auditor.render
import auditor.render.terminal
from auditor.cli import app
from auditor.output_files import atomic_writer, write_text_atomic
from tests.conftest import write_tree
from tests.test_cli import cli_runner

SOURCE = """
def load(cur, ids):
    for i in ids:
        cur.execute("SELECT id FROM orders WHERE customer_id = %s", (i,))
"""


def test_write_replaces_the_file_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o640)
    write_text_atomic(target, "new ünïcode\n")
    assert target.read_text(encoding="utf-8") == "new ünïcode\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # an existing file keeps its mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]
    fresh = tmp_path / "fresh.md"
    old_mask = os.umask(0o022)
    try:
        write_text_atomic(fresh, "x")
    finally:
        os.umask(old_mask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644  # a new file gets the umask's mode, not mkstemp's 0600


def test_a_failure_while_writing_keeps_the_previous_file(tmp_path):
    target = tmp_path / "report.md"
    target.write_text("previous report\n", encoding="utf-8")
    with pytest.raises(RuntimeError):
        with atomic_writer(target) as handle:
            handle.write("half of the new rep")
            raise RuntimeError("renderer failed")
    assert target.read_text(encoding="utf-8") == "previous report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]


def test_symlinks_are_written_through_and_devices_directly(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old", encoding="utf-8")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_text_atomic(link, "new")
    assert link.is_symlink() and real.read_text(encoding="utf-8") == "new"
    write_text_atomic("/dev/null", "discarded")  # not replaced by a regular file
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_an_unwritable_directory_is_an_oserror_and_leaves_nothing(tmp_path):
    with pytest.raises(OSError):
        write_text_atomic(tmp_path / "missing-dir" / "report.json", "x")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [["scan", "{src}", "-o", "{out}/report.json"],
                                  ["scan", "{src}", "-o", "{out}/report.md"],
                                  ["scan", "{src}", "-o", "{out}/report.txt"],
                                  ["indexes", "{src}", "-o", "{out}/indexes.sql"],
                                  ["baseline", "create", "{src}", "-o", "{out}/baseline.json"]])
def test_every_writer_leaves_one_complete_file(tmp_path, args):
    src, out = tmp_path / "src", tmp_path / "out"
    write_tree(src, {"app.py": SOURCE})
    out.mkdir()
    argv = [a.format(src=src, out=out) for a in args]
    target = out / os.path.basename(argv[-1])
    target.write_text("stale", encoding="utf-8")
    result = cli_runner().invoke(app, argv)
    assert result.exit_code in (0, 1), result.stderr
    assert sorted(p.name for p in out.iterdir()) == [target.name]
    text = target.read_text(encoding="utf-8")
    assert text != "stale" and text.endswith("\n")
    if target.suffix == ".json":
        json.loads(text)
    assert sorted(p.name for p in src.iterdir()) == ["app.py"]  # nothing written into the scanned tree


@pytest.mark.parametrize("suffix, module, name", [(".json", auditor.render, "render_text"),
                                                  (".txt", auditor.render.terminal, "render_terminal")])
def test_a_report_that_fails_to_render_keeps_the_previous_file(tmp_path, monkeypatch, suffix, module, name):
    write_tree(tmp_path / "src", {"app.py": SOURCE})
    target = tmp_path / f"report{suffix}"
    target.write_text("previous report\n", encoding="utf-8")

    def failing(result, console_or_format, **kwargs):
        if hasattr(console_or_format, "print"):
            console_or_format.print("a first line of the new report")
        raise RuntimeError("renderer failed")

    monkeypatch.setattr(module, name, failing)
    result = cli_runner().invoke(app, ["scan", str(tmp_path / "src"), "-o", str(target)])
    assert isinstance(result.exception, RuntimeError)
    assert target.read_text(encoding="utf-8") == "previous report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report" + suffix, "src"]
