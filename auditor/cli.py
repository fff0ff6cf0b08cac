"""The ``audit`` command line."""

from __future__ import annotations

import gc
import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

from auditor import __version__

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Audit the database and LLM performance of a Python code base.")
err = Console(stderr=True)

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class OutputFormat(str, Enum):
    """Report formats of ``audit scan`` and ``audit report``."""

    terminal = "terminal"
    json = "json"
    markdown = "markdown"
    html = "html"
    sarif = "sarif"
    github = "github"


class Dialect(str, Enum):
    """SQL dialects of the target database."""

    postgres = "postgres"
    redshift = "redshift"
    snowflake = "snowflake"
    mysql = "mysql"
    sqlite = "sqlite"


class Threshold(str, Enum):
    """Severities ``--fail-on`` accepts."""

    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"
    info = "info"
    none = "none"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"audit {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Audit the database and LLM performance of a Python code base."""


def _fail(message: str) -> None:
    err.print(f"audit: error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_USAGE)


@app.command()
def scan(
    path: Path = typer.Argument(Path("."), help="Directory (or file) to scan."),
    output_format: Optional[OutputFormat] = typer.Option(
        None, "--format", "-f", help="Report format (default: from the -o suffix .json/.md, else terminal)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report to this file."),
    fail_on: Optional[Threshold] = typer.Option(
        None, "--fail-on", help="Exit 1 when a finding reaches this severity (default: high)."),
    exclude: List[str] = typer.Option([], "--exclude", help="Glob (gitignore syntax) to skip; repeatable."),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, help="Worker processes (default: all cores)."),
    strict: bool = typer.Option(False, "--strict", help="Exit 2 when a file could not be analysed."),
    include_tests: bool = typer.Option(False, "--include-tests",
                                       help="Scan test code too (not scanned by default) and report its findings."),
    top: int = typer.Option(15, "--top", min=0, help="Findings shown in the terminal summary."),
    dialect: Optional[Dialect] = typer.Option(
        None, "--dialect", help="SQL dialect of the target database (default: config, else postgres)."),
    select: List[str] = typer.Option([], "--select", help="Only these rules (ids or prefixes, comma-separated "
                                     "or repeated); replaces the configured select."),
    ignore: List[str] = typer.Option([], "--ignore", help="Rules (ids or prefixes) not to report; adds to the "
                                     "configured ignore."),
    baseline: Optional[Path] = typer.Option(None, "--baseline", help="Report only findings not in this baseline "
                                            "file (see: audit baseline create)."),
    diff: Optional[str] = typer.Option(None, "--diff", metavar="REF", help="Report only findings that are new "
                                       "relative to this git ref (scans REF in a temporary worktree)."),
    dsn: Optional[str] = typer.Option(None, "--dsn", help="PostgreSQL DSN: rank findings by the live workload "
                                      "(pg_stat_statements calls and time of the statements they send)."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="Keep the facts cache here (default: "
                                             "config cache-dir, else $XDG_CACHE_HOME/audit)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Parse every file; neither read nor write the cache."),
) -> None:
    """Scan a repository without running it and report database performance problems."""
    from auditor.baseline import BaselineError
    from auditor.diff_mode import DiffError
    from auditor.findings import SEVERITIES, severity_rank
    from auditor.gate import keep_new_findings
    from auditor.suppressions import is_suppression_note

    output_format = output_format or _format_for(output)
    result, config = _scan(path, exclude, include_tests, dialect, jobs,
                           _progress_factory(output_format, output), select=select, ignore=ignore,
                           cache_dir=cache_dir, no_cache=no_cache)
    if dsn:
        from auditor.profile.command import apply_live_workload

        apply_live_workload(result, dsn)
    try:
        for line in keep_new_findings(result, config, baseline, diff, jobs or None):
            err.print(line, markup=False, highlight=False, soft_wrap=True)
    except (BaselineError, DiffError) as exc:
        _fail(str(exc))
    _emit(result, output_format, output, top)
    if output_format == OutputFormat.terminal and output is None and result.cache:
        err.print(_cache_line(result.cache), markup=False, highlight=False, soft_wrap=True)
    threshold = (fail_on.value if fail_on else None) or config.fail_on or "high"
    if strict and any(not message.startswith("skipped: symlink") and not is_suppression_note(message)
                      for _, message in result.notes):
        raise typer.Exit(EXIT_USAGE)
    if threshold != "none" and threshold in SEVERITIES:
        if any(severity_rank(f.severity) <= severity_rank(threshold) for f in result.findings):
            raise typer.Exit(EXIT_FINDINGS)
    raise typer.Exit(EXIT_OK)


def _cache_line(cache: dict) -> str:
    """Where the facts cache is and what it saved (shown under the terminal report)."""
    if "error" in cache:
        return f"facts cache {cache['dir']} not used: {cache['error']}"
    if cache.get("result") == "reused":
        return f"cache: {cache['dir']} (nothing changed: the last result reused; --no-cache to turn it off)"
    return (f"facts cache: {cache['dir']} ({cache.get('reused', 0)} files reused, {cache.get('parsed', 0)} parsed; "
            "--no-cache to turn it off)")


def _scan(path: Path, exclude: List[str], include_tests: bool, dialect: Optional[Dialect], jobs: int,
          progress_factory=None, select: Optional[List[str]] = None, ignore: Optional[List[str]] = None,
          cache_dir: Optional[Path] = None, no_cache: bool = False) -> tuple:
    """Load the configuration for ``path``, apply the options, scan: ``(ScanResult, Config)``.

    A single file is scanned with the code around it; only its own findings and notes are kept.
    ``select`` replaces the configured rule selection, ``ignore`` adds to it (ids or prefixes,
    comma-separated or repeated).
    """
    from auditor.config import ConfigError, load_config, rule_codes
    from auditor.scan import run_scan

    if not path.exists():
        _fail(f"path does not exist: {path}")
    single = not path.is_dir()
    if single and not path.is_file():
        _fail(f"not a file or directory: {path}")
    if single and path.suffix != ".py":
        _fail(f"not a Python file: {path}")
    try:
        config = load_config(path)
    except ConfigError as exc:
        _fail(str(exc))
    config.exclude = list(config.exclude) + list(exclude)
    config.include_tests = config.include_tests or include_tests
    if dialect is not None:
        config.dialect = dialect.value
    try:
        if select:
            config.cli_select = rule_codes("--select", [c for v in select for c in v.split(",") if c.strip()])
        if ignore:
            config.cli_ignore = rule_codes("--ignore", [c for v in ignore for c in v.split(",") if c.strip()])
    except ConfigError as exc:
        _fail(str(exc))
    target = path.resolve()
    scan_root = _project_root(target) if single else target
    try:
        result = run_scan(scan_root, config, jobs=jobs or None, progress_factory=progress_factory,
                          cache_dir=None if no_cache else (cache_dir or _configured_cache_dir(config)))
    except ConfigError as exc:  # a nested configuration file under the scanned tree
        _fail(str(exc))
    if single:
        wanted = target.relative_to(scan_root).as_posix()
        result.findings = [f for f in result.findings if f.path == wanted]
        result.notes = [(p, m) for p, m in result.notes if p == wanted]
    return result, config


def _configured_cache_dir(config) -> Path:
    from auditor.fact_cache import default_cache_home

    return Path(config.cache_dir) if config.cache_dir else default_cache_home()


@app.command()
def indexes(
    path: Path = typer.Argument(Path("."), help="Directory to analyse."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the script to this file."),
    dialect: Optional[Dialect] = typer.Option(
        None, "--dialect", help="SQL dialect of the target database (default: config, else postgres)."),
    exclude: List[str] = typer.Option([], "--exclude", help="Glob (gitignore syntax) to skip; repeatable."),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, help="Worker processes (default: all cores)."),
) -> None:
    """Write a reviewed index script for the queries the code sends (PostgreSQL/MySQL/SQLite DDL;
    sort/dist keys for Redshift; clustering and search optimization for Snowflake)."""
    from auditor.sql.index_script import render_index_script

    result, config = _scan(path, exclude, False, dialect, jobs, _progress_factory(OutputFormat.json, output))
    analysis = result.sql
    notes = list(analysis.advice.notes) + [f"{p}: {m}" for p, m in analysis.notes]
    script = render_index_script(analysis.advice.recommendations, analysis.schema, config.dialect, notes=notes,
                                 redundant=analysis.redundant, source=path.resolve().name,
                                 access_paths=len(analysis.paths))
    count = len(analysis.advice.recommendations)
    if output:
        from auditor.output_files import write_text_atomic

        try:
            write_text_atomic(output, script)
        except OSError as exc:
            _fail(f"cannot write {output}: {exc.strerror or exc}")
        noun = "recommendation" if count == 1 else "recommendations"
        err.print(f"wrote {output} ({count} {noun}, {len(analysis.paths)} access paths, "
                  f"{len(analysis.schema.tables)} tables)", markup=False, highlight=False, soft_wrap=True)
    else:
        sys.stdout.write(script)
    raise typer.Exit(EXIT_OK)


def _format_for(output: Optional[Path]) -> OutputFormat:
    """The format an output file's suffix asks for: ``.json``, ``.md``, ``.html``, ``.sarif``; anything
    else is terminal text."""
    suffix = output.suffix.lower() if output else ""
    if suffix == ".json":
        return OutputFormat.json
    if suffix in {".md", ".markdown"}:
        return OutputFormat.markdown
    if suffix in {".html", ".htm"}:
        return OutputFormat.html
    if suffix == ".sarif":
        return OutputFormat.sarif
    return OutputFormat.terminal


def _project_root(file: Path) -> Path:
    """Where to scan from for one file: above its outermost package (``__init__.py`` chain).

    The file is scanned with the code around it, so that the helpers it calls in other modules of
    its package and the request handlers that reach it are followed; only its own findings and notes
    are reported.
    """
    root = file.parent
    while (root / "__init__.py").is_file() and root.parent != root:
        root = root.parent
    return root


def _progress_factory(output_format: OutputFormat, output: Optional[Path]):
    """A rich progress bar on an interactive terminal for long scans, else nothing."""
    if not err.is_terminal:
        return None

    def factory(total: int):
        if total < 200:
            return None
        from rich.progress import Progress

        progress = Progress(console=err, transient=True)
        progress.start()
        task = progress.add_task("parsing", total=total)

        def advance() -> None:
            progress.advance(task)
            if progress.tasks[0].completed >= total:
                progress.stop()

        return advance

    return factory


def _emit(result, output_format: OutputFormat, output: Optional[Path], top: int) -> None:
    from auditor.output_files import atomic_writer, write_text_atomic

    if output_format == OutputFormat.terminal:
        from auditor.render.terminal import render_terminal

        if not output:
            render_terminal(result, Console(), top=top)
            return
        try:
            with atomic_writer(output) as handle:
                render_terminal(result, Console(file=handle, width=120), top=top)
        except OSError as exc:
            _fail(f"cannot write {output}: {exc.strerror or exc}")
        err.print(f"wrote {output} ({len(result.findings)} findings)", markup=False, highlight=False,
                  soft_wrap=True)
        return
    from auditor.render import render_text

    text = render_text(result, output_format.value)
    if output:
        try:
            write_text_atomic(output, text)
        except OSError as exc:
            _fail(f"cannot write {output}: {exc.strerror or exc}")
        err.print(f"wrote {output} ({len(result.findings)} findings)", markup=False, highlight=False,
                  soft_wrap=True)
    else:
        sys.stdout.write(text)


@app.command()
def explain(rule_id: str = typer.Argument(..., help="Rule id, e.g. DB101."),
            all_examples: bool = typer.Option(False, "--all", help="Show every example, not the first two of each.")
            ) -> None:
    """Print a rule's documentation: what it finds, why it matters, examples, what to do instead."""
    from auditor.render.rule_doc import render_rule_doc
    from auditor.rules import load_rules

    rules = load_rules()
    rule = rules.get(rule_id.upper())
    if rule is None:
        _fail(f"unknown rule {rule_id}; known: {', '.join(sorted(rules))}")
    # the YAML text is wrapped already: do not rewrap it at 80 columns
    render_rule_doc(rule, Console(soft_wrap=True), examples=0 if all_examples else 2)


@app.command()
def report(
    saved: Path = typer.Argument(..., help="A JSON report written by audit scan --format json."),
    output_format: Optional[OutputFormat] = typer.Option(
        None, "--format", "-f", help="Report format (default: from the -o suffix .json/.md/.html/.sarif, "
                                     "else terminal)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report to this file."),
    top: int = typer.Option(15, "--top", min=0, help="Findings shown in the terminal summary."),
) -> None:
    """Render a saved JSON scan again, in any format (html, markdown, sarif, github...)."""
    from auditor.render.saved_report import ReportFileError, load_report

    try:
        result = load_report(saved)
    except ReportFileError as exc:
        _fail(str(exc))
    _emit(result, output_format or _format_for(output), output, top)
    raise typer.Exit(EXIT_OK)


@app.command("rules")
def list_rules() -> None:
    """List every rule."""
    from auditor.rules import load_rules

    for rule in load_rules().values():
        typer.echo(f"{rule.id}  {rule.severity:<8} {rule.title}")


baseline_app = typer.Typer(no_args_is_help=True, help="Accept the current findings, so that CI reports only new ones.")
app.add_typer(baseline_app, name="baseline")


@baseline_app.command("create")
def baseline_create(
    path: Path = typer.Argument(Path("."), help="Directory to scan (the same PATH as for audit scan --baseline)."),
    output: Path = typer.Option(Path(".audit-baseline.json"), "--output", "-o", help="Baseline file to write."),
    exclude: List[str] = typer.Option([], "--exclude", help="Glob (gitignore syntax) to skip; repeatable."),
    include_tests: bool = typer.Option(False, "--include-tests", help="Scan test code too and include its findings."),
    dialect: Optional[Dialect] = typer.Option(
        None, "--dialect", help="SQL dialect of the target database (default: config, else postgres)."),
    select: List[str] = typer.Option([], "--select", help="Only these rules (ids or prefixes)."),
    ignore: List[str] = typer.Option([], "--ignore", help="Rules (ids or prefixes) not to include."),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, help="Worker processes (default: all cores)."),
) -> None:
    """Write every current finding of PATH to a baseline file (audit scan --baseline reads it)."""
    from auditor.baseline import write_baseline

    result, _ = _scan(path, exclude, include_tests, dialect, jobs, _progress_factory(OutputFormat.json, output),
                      select=select, ignore=ignore)
    try:
        write_baseline(result.findings, output)
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror or exc}")
    count = len(result.findings)
    err.print(f"wrote {output} ({count} finding{'' if count == 1 else 's'})", markup=False, highlight=False,
              soft_wrap=True)
    raise typer.Exit(EXIT_OK)


def _register_profile() -> None:
    from auditor.profile.command import profile_command

    app.command("profile")(profile_command)


_register_profile()


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    finally:
        # The process is ending: the collector's passes over the millions of objects a large scan
        # leaves behind took as long as a warm re-scan itself at interpreter exit.
        gc.disable()
        gc.freeze()
