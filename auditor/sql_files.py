"""Reading the ``.sql`` files of a scanned tree (the statements they hold are analysed by
:mod:`auditor.sql.statements`; the schema they declare is read by :mod:`auditor.schema_paths`)."""

from __future__ import annotations

from pathlib import Path

MAX_SQL_FILE_BYTES = 2 * 1024 * 1024


def read_sql_files(root: Path, sql_files: list) -> list:
    """``(path, text)`` of each ``.sql`` file that can be read, is text, and is not over the size limit."""
    texts = []
    for rel in sql_files:
        try:
            data = (root / rel).read_bytes()
        except OSError:
            continue
        if len(data) <= MAX_SQL_FILE_BYTES and b"\x00" not in data:
            texts.append((rel, data.decode("utf-8", "replace")))
    return texts


def unread_sql_notes(root: Path, sql_files: list, sql_texts: list) -> list:
    """``(path, why)`` for each ``.sql`` file that :func:`read_sql_files` left out."""
    read = {rel for rel, _ in sql_texts}
    notes = []
    for rel in sql_files:
        if rel in read:
            continue
        try:
            data = (root / rel).read_bytes()
        except OSError as exc:
            notes.append((rel, f"unreadable: {exc.strerror or exc}"))
            continue
        if len(data) > MAX_SQL_FILE_BYTES:
            notes.append((rel, f"skipped: {len(data) // 1024} KiB is over the {MAX_SQL_FILE_BYTES // 1024} KiB limit"))
        elif b"\x00" in data:
            notes.append((rel, "skipped: binary file (NUL bytes)"))
    return notes
