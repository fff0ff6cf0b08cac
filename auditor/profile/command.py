"""The ``audit profile`` command (registered by ``auditor/cli.py``) and ``audit scan --dsn``."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from auditor.findings import severity_rank
from auditor.output_files import atomic_writer, write_text_atomic
from auditor.profile.connection import DEFAULT_STATEMENT_TIMEOUT_MS, ProfileError, redact, resolve_dsn

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
err = Console(stderr=True)


class ProfileFormat(str, Enum):
    """Report formats of ``audit profile``."""

    terminal = "terminal"
    json = "json"
    markdown = "markdown"


def _say(prefix: str, message: str) -> None:
    err.print(f"audit: {prefix}{message}", markup=False, highlight=False, soft_wrap=True)


def _fail(message: str) -> None:
    _say("error: ", message)
    raise typer.Exit(EXIT_USAGE)


def _format(output_format: Optional[ProfileFormat], output: Optional[Path]) -> ProfileFormat:
    if output_format is not None:
        return output_format
    suffix = output.suffix.lower() if output else ""
    if suffix == ".json":
        return ProfileFormat.json
    if suffix in (".md", ".markdown"):
        return ProfileFormat.markdown
    return ProfileFormat.terminal


def profile_command(
    dsn: Optional[str] = typer.Option(None, "--dsn", help="PostgreSQL DSN or URL (default: $AUDIT_DSN, else "
                                      "$DATABASE_URL). The session is read-only."),
    repo: Optional[Path] = typer.Option(None, "--repo", help="Repository that sends the statements: show the "
                                        "file:line of each hot statement."),
    top: int = typer.Option(10, "--top", min=1, help="Statements shown per ranking."),
    indexes: bool = typer.Option(False, "--indexes", help="Write the verified index script (to -o, else stdout) "
                                 "instead of the report."),
    output_format: Optional[ProfileFormat] = typer.Option(
        None, "--format", "-f", help="Report format (default: from the -o suffix .json/.md, else terminal)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report (or script) to this file."),
    demo: bool = typer.Option(False, "--demo", help="Profile a throwaway local PostgreSQL loaded with a sample "
                              "project's schema and workload (needs the PostgreSQL server binaries)."),
    snowflake: bool = typer.Option(False, "--snowflake", help="Profile Snowflake's query history instead "
                                   "(connection parameters from the environment or the connector's config)."),
    statement_timeout: int = typer.Option(DEFAULT_STATEMENT_TIMEOUT_MS, "--statement-timeout", min=100,
                                          help="statement_timeout of the profiler's session, in ms."),
) -> None:
    """Profile a live PostgreSQL: top statements, catalog health, index advice verified with HypoPG.

    Exit code 1 when a finding is high or critical (0 with --indexes), 2 on an error."""
    fmt = _format(output_format, output)
    if snowflake:
        from auditor.profile.snowflake_cli import run

        raise typer.Exit(run(top=top, output=output, output_format=fmt.value))
    if repo is not None and not repo.is_dir():
        _fail(f"--repo is not a directory: {repo}")
    try:
        if demo:
            from auditor.profile.demo import run_demo

            report = run_demo(top=top, repo=repo.resolve() if repo else None,
                              progress=lambda message: _say("", message) if err.is_terminal else None)
        else:
            target = resolve_dsn(dsn)
            if not target:
                _fail("no database to profile: pass --dsn (or set AUDIT_DSN or DATABASE_URL), or try --demo")
            from auditor.profile.run import ProfileOptions, profile

            report = profile(target, ProfileOptions(top=top, repo=repo.resolve() if repo else None,
                                                    statement_timeout_ms=statement_timeout))
    except ProfileError as exc:
        _fail(redact(str(exc)))
    for line in report.warnings:
        _say("warning: ", line)
    _write(report, fmt, output, indexes)
    high = any(severity_rank(f.severity) <= severity_rank("high") for f in report.findings)
    raise typer.Exit(EXIT_FINDINGS if high and not indexes else EXIT_OK)


def _write(report, fmt: ProfileFormat, output: Optional[Path], indexes: bool) -> None:
    if indexes:
        from auditor.profile.script import render_profile_script

        text = render_profile_script(report)
        what = f"{len(report.advice.chosen) if report.advice else 0} indexes"
    elif fmt == ProfileFormat.terminal:
        from auditor.profile.render import render_terminal

        if not output:
            render_terminal(report, Console())
            return
        try:
            with atomic_writer(output) as handle:
                render_terminal(report, Console(file=handle, width=120))
        except OSError as exc:
            _fail(f"cannot write {output}: {exc.strerror or exc}")
        _say("", f"wrote {output} ({len(report.findings)} findings)")
        return
    else:
        from auditor.profile.render import render_json, render_markdown

        text = render_json(report) if fmt == ProfileFormat.json else render_markdown(report)
        what = f"{len(report.findings)} findings"
    if not output:
        sys.stdout.write(text)
        return
    try:
        write_text_atomic(output, text)
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror or exc}")
    _say("", f"wrote {output} ({what})")


def apply_live_workload(result, dsn: str) -> None:
    """``audit scan --dsn``: attach pg_stat_statements figures to the findings whose code sends a
    statement, raising the hot ones. A database that cannot be read becomes a warning and a note."""
    from auditor.profile.codelink import apply_workload
    from auditor.profile.connection import connect
    from auditor.profile.workload import read_workload

    try:
        conn = connect(dsn)
    except ProfileError as exc:
        message = redact(str(exc))
        _say("warning: ", f"{message}; findings are not ranked by the live workload")
        result.notes.append(("--dsn", message))
        return
    try:
        workload = read_workload(conn)
    finally:
        conn.close()
    if workload.error:
        _say("warning: ", workload.error)
        result.notes.append(("--dsn", workload.error))
        return
    matched = apply_workload(result, workload)
    _say("", f"live workload: {len(workload.statements)} statements in pg_stat_statements; "
             f"{matched} findings send one of them")
