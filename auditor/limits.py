"""Per-file limits of the extraction: one pathological file cannot stall a scan.

The time limit is a wall-clock alarm (``signal.setitimer``) around the parse of one file, in
the process that parses it. It is set by ``$AUDIT_FILE_TIME_LIMIT`` (seconds, default 60; 0
turns it off) and is only armed where an interval timer exists and the caller is the main
thread of its process (pool workers are; a scan run from a thread goes without).
"""

from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager
from typing import Iterator

DEFAULT_FILE_TIME_LIMIT_S = 60.0
TIME_LIMIT_ENVIRONMENT = "AUDIT_FILE_TIME_LIMIT"


class FileTimeLimit(BaseException):
    """Raised inside the parse of a file that took longer than the limit (a BaseException, so that
    no broad ``except Exception`` in the parser swallows it)."""


def file_time_limit() -> float:
    """Seconds one file may take to parse (``$AUDIT_FILE_TIME_LIMIT``; 0 or less: no limit)."""
    raw = os.environ.get(TIME_LIMIT_ENVIRONMENT, "").strip()
    if not raw:
        return DEFAULT_FILE_TIME_LIMIT_S
    try:
        return float(raw)
    except ValueError:
        return DEFAULT_FILE_TIME_LIMIT_S


def time_limit_note(seconds: float) -> str:
    """The note of a file whose parse was stopped."""
    return f"skipped: parsing took longer than the {seconds:g} s limit ({TIME_LIMIT_ENVIRONMENT})"


def _can_alarm() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def limited_time(seconds: float) -> Iterator[None]:
    """Raise :class:`FileTimeLimit` in the body once ``seconds`` have passed (no limit when
    ``seconds <= 0`` or no alarm can be armed). A timer already running is restored afterwards."""
    if seconds <= 0 or not _can_alarm():
        yield
        return

    def expire(signum, frame):
        raise FileTimeLimit()

    previous_handler = signal.signal(signal.SIGALRM, expire)
    previous_delay, previous_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_delay:
            signal.setitimer(signal.ITIMER_REAL, previous_delay, previous_interval)
