"""Write report files atomically: a temporary file in the same directory, then ``os.replace``.

A reader (a CI step, an editor) sees either the previous file or the complete new one, never a
half-written report, and a failure while rendering leaves the previous file as it was. A target
that is not a regular file (``/dev/stdout``, a FIFO) is written directly; a symlink is written
through to the file it points at.
"""

from __future__ import annotations

import os
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator, Union


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_writer(path: Union[str, Path], encoding: str = "utf-8") -> Iterator[IO[str]]:
    """A text handle whose content replaces ``path`` when the block ends without an exception.

    Raises ``OSError`` (the directory cannot be written, the disk is full...); the temporary file
    is removed on any failure.
    """
    target = Path(os.path.realpath(path))
    try:
        existing = target.stat()
    except FileNotFoundError:
        existing = None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        with open(target, "w", encoding=encoding) as handle:  # a device or FIFO: nothing to replace
            yield handle
        return
    mode = stat.S_IMODE(existing.st_mode) if existing is not None else 0o666 & ~_umask()
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(descriptor, "w", encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise


def write_text_atomic(path: Union[str, Path], text: str, encoding: str = "utf-8") -> None:
    """Replace ``path`` with ``text`` atomically (see :func:`atomic_writer`)."""
    with atomic_writer(path, encoding) as handle:
        handle.write(text)
