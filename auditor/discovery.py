"""Find the files to scan: honour .gitignore and excludes, skip environments and build output."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

SKIPPED_DIRS = {".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", "build", "dist",
                ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", "site-packages",
                ".eggs", ".audit-cache", ".direnv", "__pypackages__"}


@dataclass
class Discovery:
    """The files found and what was skipped with a reason worth telling."""

    files: list = field(default_factory=list)  # repository-relative posix paths of .py files
    sql_files: list = field(default_factory=list)
    notes: list = field(default_factory=list)  # (path, message)


def _ignore_spec(directory: Path) -> pathspec.PathSpec | None:
    gitignore = directory / ".gitignore"
    if not gitignore.is_file():
        return None
    try:
        lines = gitignore.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(lines)


def discover(root: Path, excludes: tuple = ()) -> Discovery:
    """Walk ``root`` and return the Python (and SQL) files to scan."""
    root = root.resolve()
    result = Discovery()
    exclude_spec = pathspec.GitIgnoreSpec.from_lines(list(excludes)) if excludes else None
    specs: list = []  # (relative dir, spec)
    for current, dirs, files in os.walk(root, followlinks=False):
        current_path = Path(current)
        rel_dir = current_path.relative_to(root).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir
        spec = _ignore_spec(current_path)
        if spec is not None:
            specs.append((rel_dir, spec))
        kept = []
        for name in sorted(dirs):
            rel = f"{rel_dir}/{name}" if rel_dir else name
            full = current_path / name
            if name in SKIPPED_DIRS or name.endswith(".egg-info") or (full / "pyvenv.cfg").exists():
                continue
            if full.is_symlink() or _ignored(rel + "/", specs, exclude_spec):
                continue
            kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            if not (name.endswith(".py") or name.endswith(".sql")):
                continue
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if _ignored(rel, specs, exclude_spec):
                continue
            full = current_path / name
            if full.is_symlink():
                try:
                    target = full.resolve(strict=True)
                except (OSError, RuntimeError):
                    result.notes.append((rel, "skipped: symlink is broken or loops"))
                    continue
                if root not in target.parents:
                    result.notes.append((rel, "skipped: symlink points outside the scanned tree"))
                    continue
            if not full.is_file():  # a FIFO or device named *.py: reading it could block forever
                result.notes.append((rel, "skipped: not a regular file"))
                continue
            (result.files if name.endswith(".py") else result.sql_files).append(rel)
    result.files.sort()
    result.sql_files.sort()
    return result


def _ignored(rel: str, specs: list, exclude_spec) -> bool:
    if exclude_spec is not None and exclude_spec.match_file(rel):
        return True
    for base, spec in specs:
        if base and not rel.startswith(base + "/"):
            continue
        if spec.match_file(rel[len(base) + 1:] if base else rel):
            return True
    return False
