"""Diff mode: ``audit scan --diff REF`` reports only findings new relative to a git revision."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import textwrap
from pathlib import Path

import pytest

from auditor import diff_mode
from auditor.cli import app
from auditor.config import Config
from auditor.diff_mode import DiffError, base_findings
from tests.conftest import write_tree
from tests.test_cli import cli_runner

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}

HELPER = """\
    def fetch_name(cur, item_id):
        cur.execute("SELECT name FROM items WHERE id = %s", (item_id,))
        return cur.fetchone()
    """

OLD_LOOP = """\
    from svc.db import fetch_name


    def names(cur, ids):
        return [fetch_name(cur, i) for i in ids]
    """

NEW_LOOP = """\
    from svc.db import fetch_name


    def labels(cur, ids):
        out = []
        for i in ids:
            out.append(fetch_name(cur, i))
        return out
    """


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, env={**os.environ, **GIT_ENV}, capture_output=True, text=True,
                          check=True)
    return done.stdout


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


@pytest.fixture
def repo(tmp_path):
    """A repository whose main branch has one N+1 (backend/svc/report.py:5); the working tree adds another."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    write_tree(root / "backend", {"svc/__init__.py": "", "svc/db.py": HELPER, "svc/report.py": OLD_LOOP})
    write_tree(root, {"README.md": "x\n"})
    commit_all(root, "base")
    write_tree(root / "backend", {"svc/labels.py": NEW_LOOP})
    return root


def run(*args):
    result = cli_runner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def found(result) -> list:
    return sorted((f["rule"], f["path"], f["line"]) for f in json.loads(result.stdout)["findings"])


def worktrees(repo: Path) -> list:
    return [line for line in git(repo, "worktree", "list", "--porcelain").splitlines() if line.startswith("worktree ")]


def test_only_findings_new_since_the_ref_are_reported(repo):
    assert found(run("scan", repo, "--format", "json")) == [("DB101", "backend/svc/labels.py", 7),
                                                            ("DB101", "backend/svc/report.py", 5)]
    result = run("scan", repo, "--format", "json", "--diff", "main")
    assert result.exit_code == 1
    assert found(result) == [("DB101", "backend/svc/labels.py", 7)]
    commit = git(repo, "rev-parse", "main").strip()
    assert json.loads(result.stdout)["summary"]["diff"] == {"ref": "main", "commit": commit, "base_findings": 1,
                                                            "matched": 1}
    assert result.stderr == (f"diff against main ({commit[:12]}): 1 findings there, 1 of them still present "
                             "(not reported)\n1 new finding\n")
    assert worktrees(repo) == [f"worktree {repo.resolve()}"]


def test_a_subdirectory_maps_its_paths_like_the_base(repo):
    result = run("scan", repo / "backend", "--format", "json", "--diff", "main")
    assert found(result) == [("DB101", "svc/labels.py", 7)]
    assert json.loads(result.stdout)["summary"]["diff"]["matched"] == 1


def test_a_directory_new_since_the_ref_is_all_new(repo):
    write_tree(repo, {"jobs/run.py": "def go(cur, ids):\n    for i in ids:\n        cur.execute('SELECT 1', i)\n"})
    result = run("scan", repo / "jobs", "--format", "json", "--diff", "HEAD")
    assert found(result) == [("DB101", "run.py", 3)]
    assert json.loads(result.stdout)["summary"]["diff"]["base_findings"] == 0


def test_the_working_tree_configuration_applies_to_the_base(repo):
    # A configuration main does not have ignores DB101 in report.py: the base's finding there is ignored too.
    (repo / ".audit.yml").write_text("per-path-ignores: {'backend/svc/report.py': [DB101]}\n", encoding="utf-8")
    git(repo, "checkout", "-q", "-b", "feature")
    commit_all(repo, "labels")
    result = run("scan", repo, "--format", "json", "--diff", "main")
    assert found(result) == [("DB101", "backend/svc/labels.py", 7)]
    assert json.loads(result.stdout)["summary"]["diff"]["base_findings"] == 0


def test_fixed_findings_are_not_reported_and_moved_ones_are_not_new(repo):
    write_tree(repo, {"backend/svc/report.py": "import os\n\n\n" + textwrap.dedent(OLD_LOOP)})
    (repo / "backend" / "svc" / "labels.py").unlink()
    result = run("scan", repo, "--format", "json", "--diff", "main", "--fail-on", "low")
    assert (result.exit_code, found(result)) == (0, [])


def test_diff_with_baseline_and_fail_on(repo, tmp_path):
    baseline = tmp_path / "baseline.json"
    assert run("baseline", "create", repo, "-o", baseline).exit_code == 0  # both N+1s accepted
    result = run("scan", repo, "--format", "json", "--diff", "main", "--baseline", baseline)
    assert (result.exit_code, found(result)) == (0, [])
    write_tree(repo, {"backend/svc/more.py": NEW_LOOP.replace("labels", "more_labels")})
    result = run("scan", repo, "--format", "json", "--diff", "main", "--baseline", baseline)
    assert (result.exit_code, found(result)) == (1, [("DB101", "backend/svc/more.py", 7)])
    assert json.loads(result.stdout)["summary"]["baseline"] == {"entries": 2, "matched": 2, "fixed": 0}
    result = run("scan", repo, "--format", "json", "--diff", "main", "--baseline", baseline, "--fail-on", "critical")
    assert (result.exit_code, found(result)) == (0, [("DB101", "backend/svc/more.py", 7)])


def test_not_a_git_repository(tmp_path):
    write_tree(tmp_path, {"main.py": "X = 1\n"})
    result = run("scan", tmp_path, "--diff", "main")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"audit: error: --diff needs a git repository, and {tmp_path.resolve()} is not in one\n"


@pytest.mark.parametrize("ref", ["no-such-branch", "--help", "main~5"])
def test_unknown_ref(repo, ref):
    result = run("scan", repo, "--diff", ref)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"audit: error: unknown git ref '{ref}' in {repo.resolve()}\n"


def test_the_worktree_is_removed_when_the_base_scan_fails(repo, monkeypatch, tmp_path):
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    seen = []

    def failing_scan(root, config, jobs=None):
        seen.append(root)
        assert (root / "backend" / "svc" / "report.py").is_file()
        raise RuntimeError("boom")

    monkeypatch.setattr("auditor.scan.run_scan", failing_scan)
    with pytest.raises(RuntimeError, match="boom"):
        base_findings(repo, "main", Config())
    assert len(seen) == 1 and temporary in seen[0].parents
    assert list(temporary.iterdir()) == []
    assert worktrees(repo) == [f"worktree {repo.resolve()}"]


def test_the_worktree_is_outside_the_repository_even_when_the_temporary_directory_is_inside(repo, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(repo / "tmp"))
    (repo / "tmp").mkdir()
    parent = diff_mode._temporary_parent(repo.resolve())
    try:
        assert parent.parent == repo.resolve().parent
    finally:
        parent.rmdir()


def test_missing_git_is_a_clear_error(repo, monkeypatch):
    monkeypatch.setenv("PATH", str(repo / "no-bin"))
    with pytest.raises(DiffError, match="^--diff needs git, which is not installed$"):
        base_findings(repo, "main", Config())


def test_a_single_file_is_compared_with_the_same_file_at_the_ref(repo):
    result = run("scan", repo / "backend" / "svc" / "report.py", "--format", "json", "--diff", "main")
    assert (result.exit_code, found(result)) == (0, [])
    result = run("scan", repo / "backend" / "svc" / "labels.py", "--format", "json", "--diff", "main")
    assert (result.exit_code, found(result)) == (1, [("DB101", "svc/labels.py", 7)])


def test_baseline_create_honours_select_and_ignore(repo, tmp_path):
    baseline = tmp_path / "b.json"
    assert run("baseline", "create", repo, "-o", baseline, "--ignore", "DB1").stderr == f"wrote {baseline} (0 findings)\n"
    assert run("baseline", "create", repo, "-o", baseline, "--select", "DB101").stderr == \
        f"wrote {baseline} (2 findings)\n"
