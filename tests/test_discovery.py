"""Which files a scan reads: .gitignore, excludes, environments, build output, symlinks, SQL."""

from __future__ import annotations

import json
import os
import threading

import pytest

from auditor.cli import app
from auditor.config import Config
from auditor.discovery import discover
from auditor.scan import run_scan
from tests.conftest import found, write_tree
from tests.test_cli import cli_runner

QUERY_IN_LOOP = """\
    def load(cur, ids):
        for i in ids:
            cur.execute("SELECT 1 WHERE %s", (i,))
    """


def touch(root, *paths, text="X = 1\n"):
    for rel in paths:
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def test_plain_tree_is_listed_sorted(tmp_path):
    touch(tmp_path, "b.py", "a.py", "pkg/__init__.py", "pkg/z.py", "README.md", "setup.cfg")
    result = discover(tmp_path)
    assert result.files == ["a.py", "b.py", "pkg/__init__.py", "pkg/z.py"]
    assert result.sql_files == []
    assert result.notes == []


def test_root_gitignore_is_honoured(tmp_path):
    touch(tmp_path, "app.py", "secret_settings.py", "generated/models.py", "keep/generated.py",
          "pkg/tmp_cache.py", "pkg/real.py")
    (tmp_path / ".gitignore").write_text("secret_*.py\ngenerated/\n*_cache.py\n", encoding="utf-8")
    assert discover(tmp_path).files == ["app.py", "keep/generated.py", "pkg/real.py"]


def test_nested_gitignore_applies_below_its_directory_only(tmp_path):
    touch(tmp_path, "local_settings.py", "pkg/local_settings.py", "pkg/models.py",
          "pkg/sub/local_dev.py", "pkg/sub/views.py", "other/local_x.py")
    (tmp_path / "pkg" / ".gitignore").write_text("local_*.py\n", encoding="utf-8")
    assert discover(tmp_path).files == ["local_settings.py", "other/local_x.py", "pkg/models.py",
                                        "pkg/sub/views.py"]


def test_gitignore_negation(tmp_path):
    touch(tmp_path, "gen_a.py", "gen_keep.py", "main.py")
    (tmp_path / ".gitignore").write_text("gen_*.py\n!gen_keep.py\n", encoding="utf-8")
    assert discover(tmp_path).files == ["gen_keep.py", "main.py"]


def test_exclude_glob(tmp_path):
    touch(tmp_path, "app/main.py", "legacy/old.py", "legacy/deep/older.py", "app/legacy_io.py")
    assert discover(tmp_path, ("legacy/**",)).files == ["app/legacy_io.py", "app/main.py"]
    assert discover(tmp_path, ("*.py", "!app/main.py")).files == ["app/main.py"]


def test_exclude_on_the_command_line(tmp_path):
    write_tree(tmp_path, {"legacy/old.py": QUERY_IN_LOOP, "app/new.py": QUERY_IN_LOOP})
    runner = cli_runner()
    everything = runner.invoke(app, ["scan", str(tmp_path), "--format", "json"])
    assert [(f["rule"], f["path"], f["line"]) for f in json.loads(everything.stdout)["findings"]] == [
        ("DB101", "app/new.py", 3), ("DB101", "legacy/old.py", 3)]
    result = runner.invoke(app, ["scan", str(tmp_path), "--format", "json", "--exclude", "legacy/**"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert [(f["rule"], f["path"], f["line"]) for f in document["findings"]] == [("DB101", "app/new.py", 3)]
    assert document["summary"]["files"] == 1
    result = runner.invoke(app, ["scan", str(tmp_path), "--format", "json",
                                 "--exclude", "legacy/**", "--exclude", "app/"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["summary"]["files"] == 0


@pytest.mark.parametrize("directory", [
    ".venv", "venv", "node_modules", "build", "dist", "__pycache__", ".tox", ".git", "site-packages",
    "audit.egg-info", "pkg/__pycache__", "pkg/build"])
def test_environment_and_build_directories_are_skipped(tmp_path, directory):
    write_tree(tmp_path, {"main.py": "X = 1\n", f"{directory}/lib.py": QUERY_IN_LOOP})
    assert discover(tmp_path).files == ["main.py"]
    assert run_scan(tmp_path, Config(), jobs=1).findings == []


def test_a_virtualenv_under_any_name_is_skipped(tmp_path):
    write_tree(tmp_path, {"main.py": "X = 1\n", "py311/lib/python3.11/site.py": QUERY_IN_LOOP,
                          "py311/bin/tool.py": QUERY_IN_LOOP, "envs/not_a_venv.py": "X = 2\n"})
    (tmp_path / "py311" / "pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")
    assert discover(tmp_path).files == ["envs/not_a_venv.py", "main.py"]


def test_sql_files_are_listed_separately(tmp_path):
    touch(tmp_path, "app.py", "migrations/0001_init.sql", "queries/report.sql", "notes.txt")
    result = discover(tmp_path)
    assert result.files == ["app.py"]
    assert result.sql_files == ["migrations/0001_init.sql", "queries/report.sql"]
    assert run_scan(tmp_path, Config(), jobs=1).metrics["sql_files"] == 2


def test_symlinked_file_outside_the_root_is_skipped_with_a_note(tmp_path):
    root = tmp_path / "repo"
    outside = tmp_path / "elsewhere"
    write_tree(root, {"main.py": "X = 1\n"})
    write_tree(outside, {"secret.py": QUERY_IN_LOOP})
    os.symlink(outside / "secret.py", root / "linked.py")
    result = discover(root)
    assert result.files == ["main.py"]
    assert result.notes == [("linked.py", "skipped: symlink points outside the scanned tree")]
    scan = run_scan(root, Config(), jobs=1)
    assert scan.findings == []
    assert scan.notes == [("linked.py", "skipped: symlink points outside the scanned tree")]


def test_symlink_notes_do_not_fail_strict_mode(tmp_path):
    root = tmp_path / "repo"
    write_tree(root, {"main.py": "X = 1\n"})
    write_tree(tmp_path / "elsewhere", {"x.py": "X = 2\n"})
    os.symlink(tmp_path / "elsewhere" / "x.py", root / "outside.py")
    os.symlink(root / "missing.py", root / "dangling.py")
    result = cli_runner().invoke(app, ["scan", str(root), "--format", "json", "--strict"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["notes"] == [
        {"path": "dangling.py", "message": "skipped: symlink is broken or loops"},
        {"path": "outside.py", "message": "skipped: symlink points outside the scanned tree"},
    ]


def _discover_within(root, seconds=30):
    box = {}
    thread = threading.Thread(target=lambda: box.update(result=discover(root)), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "discovery hangs on a symlink loop"
    return box["result"]


def test_symlink_loops_do_not_hang(tmp_path):
    touch(tmp_path, "pkg/mod.py")
    os.symlink(tmp_path, tmp_path / "pkg" / "up")  # directory loop
    os.symlink(tmp_path / "pkg", tmp_path / "pkg" / "self")
    os.symlink(tmp_path / "b.py", tmp_path / "a.py")  # file loop a -> b -> a
    os.symlink(tmp_path / "a.py", tmp_path / "b.py")
    result = _discover_within(tmp_path)
    assert result.files == ["pkg/mod.py"]
    assert result.notes == [("a.py", "skipped: symlink is broken or loops"),
                            ("b.py", "skipped: symlink is broken or loops")]
    scan = run_scan(tmp_path, Config(), jobs=1)
    assert scan.metrics["files"] == 1


def test_symlinked_directory_is_not_followed(tmp_path):
    root = tmp_path / "repo"
    write_tree(root, {"real/mod.py": QUERY_IN_LOOP})
    write_tree(tmp_path / "outside", {"ext.py": QUERY_IN_LOOP})
    os.symlink(root / "real", root / "alias")  # inside the tree: would report real/mod.py twice
    os.symlink(tmp_path / "outside", root / "vendor")
    result = discover(root)
    assert result.files == ["real/mod.py"]
    assert result.notes == []
    assert found(run_scan(root, Config(), jobs=1)) == [("DB101", "real/mod.py", 3)]


def test_symlink_to_a_file_inside_the_root_is_kept(tmp_path):
    touch(tmp_path, "pkg/impl.py")
    os.symlink(tmp_path / "pkg" / "impl.py", tmp_path / "compat.py")
    assert discover(tmp_path).files == ["compat.py", "pkg/impl.py"]


def test_a_fifo_named_py_is_skipped_not_read(tmp_path):
    touch(tmp_path, "main.py")
    os.mkfifo(tmp_path / "pipe.py")  # reading it would block forever
    result = discover(tmp_path)
    assert result.files == ["main.py"]
    assert result.notes == [("pipe.py", "skipped: not a regular file")]


def test_scan_root_given_through_a_symlink(tmp_path):
    write_tree(tmp_path / "real", {"mod.py": QUERY_IN_LOOP})
    os.symlink(tmp_path / "real", tmp_path / "link")
    assert discover(tmp_path / "link").files == ["mod.py"]
    assert found(run_scan(tmp_path / "link", Config(), jobs=1)) == [("DB101", "mod.py", 3)]
