"""Extra DDL sources named by the ``schema`` configuration key (files, or directories of ``.sql`` files)."""

from __future__ import annotations

import os
from pathlib import Path

from auditor.sql_files import read_sql_files


def schema_texts(root: Path, paths: list, scanned_sql: list) -> tuple:
    """``((label, text) list, notes)`` for the configured schema ``paths`` (absolute). Labels are
    relative to ``root`` (``../db/schema.sql`` outside it); files the scan reads anyway
    (``scanned_sql``) are not read twice; a missing path is a note."""
    root = root.resolve()
    seen = set(scanned_sql)
    labels, notes = [], []
    for entry in paths:
        path = Path(entry)
        label = Path(os.path.relpath(path, root)).as_posix()
        if path.is_dir():
            found = sorted(Path(os.path.relpath(file, root)).as_posix() for file in path.rglob("*.sql")
                           if file.is_file())
            if not found:
                notes.append((label, "schema path has no .sql files"))
            labels.extend(found)
        elif path.is_file():
            labels.append(label)
        else:
            notes.append((label, "schema path not found"))
    unique = []
    for label in labels:
        if label not in seen:
            seen.add(label)
            unique.append(label)
    return read_sql_files(root, unique), notes
