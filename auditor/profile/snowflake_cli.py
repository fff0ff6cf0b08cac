"""``audit profile --snowflake``: connect, read the query history, analyse, report."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

from rich.console import Console

from auditor.findings import severity_rank

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
FORMATS = ("terminal", "json", "markdown")


def run(top: int, output: Optional[Path], output_format: str) -> int:
    """Profile the Snowflake account the environment names; the exit code: 0 ok, 1 findings at
    high or above, 2 usage or connection error (one line on stderr)."""
    from auditor.profile.snowflake_analysis import analyse
    from auditor.profile.snowflake_connect import SnowflakeSetupError, connect, connection_parameters
    from auditor.profile.snowflake_history import read_history

    err = Console(stderr=True)
    if output_format not in FORMATS:
        return _error(err, f"unknown format {output_format!r}; use {', '.join(FORMATS)}")
    try:
        params = connection_parameters(os.environ)
        conn = connect(params)
        try:
            history = read_history(conn)
        finally:
            conn.close()
    except SnowflakeSetupError as exc:
        return _error(err, str(exc))
    profile = analyse(history)
    status = _write(profile, top, output, output_format, err)
    if status:
        return status
    if any(severity_rank(finding.severity) <= severity_rank("high") for finding in profile.findings):
        return EXIT_FINDINGS
    return EXIT_OK


def _write(profile, top: int, output: Optional[Path], output_format: str, err: Console) -> int:
    from auditor.output_files import atomic_writer, write_text_atomic
    from auditor.profile.snowflake_report import render_json, render_markdown, render_terminal

    try:
        if output_format == "terminal":
            if output is None:
                render_terminal(profile, Console(), top)
                return EXIT_OK
            with atomic_writer(output) as handle:
                render_terminal(profile, Console(file=handle, width=120), top)
        else:
            text = render_json(profile, top) if output_format == "json" else render_markdown(profile, top)
            if output is None:
                sys.stdout.write(text)
                return EXIT_OK
            write_text_atomic(output, text)
    except OSError as exc:
        return _error(err, f"cannot write {output}: {exc.strerror or exc}")
    err.print(f"wrote {output} ({len(profile.findings)} findings)", markup=False, highlight=False, soft_wrap=True)
    return EXIT_OK


def _error(err: Console, message: str) -> int:
    err.print(f"audit: error: {message}", markup=False, highlight=False, soft_wrap=True)
    return EXIT_USAGE
