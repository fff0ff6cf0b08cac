"""Diff mode: the findings of a git revision, to subtract from the working tree's.

The base revision is checked out into a temporary ``git worktree`` (detached, outside the scanned
tree, always removed) and scanned with the working tree's configuration; paths map one to one, also
when the scanned directory is a subdirectory of the repository. Filtering to changed lines would
miss an N+1 made by wrapping an unchanged query in a new loop; comparing whole scans does not.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Optional

from auditor.config import Config


class DiffError(Exception):
    """Diff mode cannot run: no git, not a repository, unknown ref, worktree failure."""


def _git(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, GIT_LFS_SKIP_SMUDGE="1", GIT_TERMINAL_PROMPT="0")
    try:
        # No hooks: checking out the base must not run anything from the repository's configuration.
        return subprocess.run(["git", "-c", "core.hooksPath=/dev/null", *args], cwd=cwd, env=env,
                              capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise DiffError("--diff needs git, which is not installed") from None


def _repository(path: Path) -> Path:
    done = _git("rev-parse", "--show-toplevel", cwd=path)
    if done.returncode != 0:
        raise DiffError(f"--diff needs a git repository, and {path} is not in one")
    return Path(done.stdout.strip()).resolve()


def _commit(top: Path, ref: str) -> str:
    done = _git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", cwd=top)
    if ref.startswith("-") or done.returncode != 0:
        raise DiffError(f"unknown git ref '{ref}' in {top}")
    return done.stdout.strip()


def _temporary_parent(top: Path) -> Path:
    """A fresh directory outside the repository for the worktree."""
    base = Path(tempfile.gettempdir()).resolve()
    if base == top or top in base.parents:
        base = top.parent
    return Path(tempfile.mkdtemp(prefix="audit-diff-", dir=base))


def base_findings(scan_root: Path, ref: str, config: Config, jobs: Optional[int] = None) -> tuple:
    """``(commit, findings)`` of a scan of ``scan_root`` as it is at ``ref``.

    The configuration is the working tree's: nested configuration files are looked up in the
    working tree, and schema paths inside the repository are read from the base revision.
    """
    from auditor.scan import run_scan

    scan_root = scan_root.resolve()
    top = _repository(scan_root if scan_root.is_dir() else scan_root.parent)
    commit = _commit(top, ref)
    subpath = scan_root.relative_to(top)
    parent = _temporary_parent(top)
    worktree = parent / "base"
    try:
        added = _git("worktree", "add", "--detach", "--quiet", str(worktree), commit, cwd=top)
        if added.returncode != 0:
            message = (added.stderr.strip().splitlines() or ["git worktree add failed"])[-1]
            raise DiffError(f"cannot check out {ref}: {message}")
        base_root = worktree / subpath
        if not base_root.is_dir():  # the scanned directory is new since the base: everything is new
            return commit, []
        base_config = dataclasses.replace(
            config, rules_root=config.rules_root or str(scan_root),
            schema=[_in_worktree(Path(entry), top, worktree) for entry in config.schema])
        return commit, run_scan(base_root, base_config, jobs=jobs).findings
    finally:
        if worktree.exists():
            _git("worktree", "remove", "--force", str(worktree), cwd=top)
        shutil.rmtree(parent, ignore_errors=True)
        _git("worktree", "prune", cwd=top)


def _in_worktree(path: Path, top: Path, worktree: Path) -> str:
    """A path inside the repository, in the base revision's worktree; other paths unchanged."""
    try:
        return str(worktree / path.relative_to(top))
    except ValueError:
        return str(path)
