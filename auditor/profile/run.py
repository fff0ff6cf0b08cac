"""``audit profile``: connect read-only, read the workload, the catalog and the activity, check,
advise indexes (verified with HypoPG), link statements to the code, and return one report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from auditor.findings import sort_key
from auditor.profile.advice import IndexAdvice, build_advice
from auditor.profile.catalog import LiveCatalog, read_catalog
from auditor.profile.codelink import CodeIndex
from auditor.profile.connection import (DEFAULT_STATEMENT_TIMEOUT_MS, ProfileError, connect, describe_target,
                                        error_line)
from auditor.profile.health import Activity, activity_findings, index_findings, read_activity, table_findings
from auditor.profile.hotspots import workload_findings
from auditor.profile.live_findings import Thresholds
from auditor.profile.plans import Planner
from auditor.profile.workload import Workload, read_workload

MAX_ADVISED_STATEMENTS = 200  # the statements with the most execution time feed the index advice


@dataclass
class ProfileOptions:
    """What to profile and how."""

    top: int = 10
    repo: Optional[Path] = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS
    advise: bool = True


@dataclass
class ProfileReport:
    """Everything ``audit profile`` found, for the renderers and the index script."""

    target: str  # user@host:port/dbname, no password
    database: str
    server_version: str
    findings: list = field(default_factory=list)
    workload: Workload = field(default_factory=Workload)
    catalog: LiveCatalog = field(default_factory=LiveCatalog)
    activity: Activity = field(default_factory=Activity)
    advice: Optional[IndexAdvice] = None
    links: dict = field(default_factory=dict)  # queryid -> ["path:line", ...]
    warnings: list = field(default_factory=list)  # one line each, also printed on stderr
    notes: list = field(default_factory=list)
    top: int = 10
    settings: dict = field(default_factory=dict)  # the session's safety settings, as the server reports them


def profile(dsn: str, options: Optional[ProfileOptions] = None) -> ProfileReport:
    """Profile the database at ``dsn``. Raises :class:`ProfileError` when it cannot be reached."""
    options = options or ProfileOptions()
    conn = connect(dsn, options.statement_timeout_ms)
    try:
        return _profile(conn, dsn, options)
    except ProfileError:
        raise
    except Exception as exc:  # psycopg2.Error mid-way: one line, no password
        raise ProfileError(f"profiling {describe_target(dsn)} failed: {error_line(exc, dsn)}") from None
    finally:
        conn.close()


def _profile(conn, dsn: str, options: ProfileOptions) -> ProfileReport:
    cur = conn.cursor()
    cur.execute("SELECT current_database(), current_setting('server_version'), "
                "current_setting('server_version_num')::int, current_setting('default_transaction_read_only'), "
                "current_setting('statement_timeout'), current_setting('application_name')")
    database, version, version_num, read_only, timeout, application = cur.fetchone()
    report = ProfileReport(target=describe_target(dsn), database=database, server_version=version, top=options.top,
                           settings={"default_transaction_read_only": read_only, "statement_timeout": timeout,
                                     "application_name": application})
    step = ["the workload"]  # what is being read: named in the note of a partial report
    try:
        _read(conn, options, report, version_num, step)
    except Exception as exc:  # noqa: BLE001 - classified below; anything else goes on up
        reason = _interruption(conn, exc)
        if not reason:
            raise
        report.warnings.append(f"{reason} while reading {step[0]} ({error_line(exc, dsn)}): the report is partial, "
                               f"{step[0]} and what follows it are missing")
    report.findings = _findings(report, database, options)
    return report


def _interruption(conn, exc: Exception) -> str:
    """Why a step stopped when the report can still be given without it: '' for any other error."""
    try:
        import psycopg2
    except ImportError:  # pragma: no cover - connect() needs psycopg2
        return ""
    if isinstance(exc, psycopg2.Error) and conn.closed:
        return "the connection was lost"
    if isinstance(exc, psycopg2.extensions.QueryCanceledError):
        return "a statement was cancelled (statement_timeout)"
    return ""


def _read(conn, options: ProfileOptions, report: ProfileReport, version_num: int, step: list) -> None:
    """Fill ``report`` step by step (``step[0]`` names the current one)."""
    cur = conn.cursor()
    report.workload = read_workload(conn)
    if report.workload.error:
        report.warnings.append(report.workload.error + "; profiling the catalog only")
    if report.workload.hidden:
        report.warnings.append(
            f"{report.workload.hidden} statements of other users are hidden (<insufficient privilege>): "
            f"GRANT pg_read_all_stats TO {_user(conn)}; the report covers this user's statements only")
    step[0] = "the catalog"
    report.catalog = read_catalog(conn)
    step[0] = "the activity"
    report.activity = read_activity(conn, options.thresholds.long_running_s)
    if report.activity.hidden:
        report.warnings.append(
            f"the state of {report.activity.hidden} sessions of other users is hidden: GRANT pg_read_all_stats TO "
            f"{_user(conn)}; connection counts cover the visible sessions only")
    code = _code_index(options.repo, report)
    for stats in report.workload.statements:
        locations = code.locate(stats.query) if code else []
        if locations:
            report.links[stats.queryid] = locations
    if options.advise and report.workload.statements:
        step[0] = "the plans for the index advice"
        cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'hypopg'")
        hypopg = cur.fetchone() is not None
        planner = Planner(conn, version_num)
        statements = report.workload.statements[:MAX_ADVISED_STATEMENTS]
        code_texts = {s.queryid: code.code_text(s.query) for s in statements} if code else {}
        report.advice = build_advice(conn, planner, statements, report.catalog.schema,
                                     {k: v for k, v in code_texts.items() if v}, hypopg)
        denied = [p for p in report.advice.unplanned if "permission denied" in p.error]
        if denied:
            report.warnings.append(
                f"{len(denied)} statements could not be planned ({denied[0].error}): EXPLAIN needs SELECT on the "
                f"tables: GRANT pg_read_all_data TO {_user(conn)} (PostgreSQL 14+) or SELECT on them")
        for path in report.advice.paths:
            for site in path.sites:
                site.code = ", ".join(report.links.get(site.queryid, [])[:3])
        if not hypopg:
            report.warnings.append(report.advice.note)


def _findings(report: ProfileReport, database: str, options: ProfileOptions) -> list:
    """The findings of what was read (of a partial report too)."""
    findings = workload_findings(report.workload, database, options.thresholds, report.links)
    findings += index_findings(report.catalog, database, options.thresholds)
    findings += table_findings(report.catalog, database, options.thresholds)
    findings += activity_findings(report.activity, database, options.thresholds)
    if report.advice is not None:
        findings = _without_advised_foreign_keys(findings, report.advice)
        findings += _index_advice_findings(report, database)
    findings.sort(key=sort_key)
    return findings


def _user(conn) -> str:
    cur = conn.cursor()
    cur.execute("SELECT current_user")
    return cur.fetchone()[0]


def _code_index(repo: Optional[Path], report: ProfileReport) -> Optional[CodeIndex]:
    if repo is None:
        return None
    from auditor.config import ConfigError, load_config
    from auditor.scan import run_scan

    try:
        config = load_config(repo)
    except ConfigError as exc:
        report.warnings.append(f"--repo {repo}: {exc}; statements are not linked to the code")
        return None
    result = run_scan(repo.resolve(), config)
    try:
        shown = repo.resolve().relative_to(Path.cwd())
    except ValueError:
        shown = repo
    report.notes.append(f"code link: {len(result.sql.statements)} SQL statements found in {shown}")
    return CodeIndex.from_scan(result)


def _without_advised_foreign_keys(findings: list, advice: IndexAdvice) -> list:
    """IDX104 is left out for a foreign key that an advised index leads with (IDX101 carries the fix)."""
    led = set()
    for verified in advice.chosen:
        index = verified.recommendation.index
        if index.where:
            continue
        for n in range(1, len(index.keys) + 1):
            led.add((index.table, frozenset(index.columns[:n])))
    kept = []
    for finding in findings:
        live = finding.context.get("live", {})
        if finding.rule == "IDX104" and (live.get("table", "").rsplit(".", 1)[-1],
                                         frozenset(live.get("columns", ()))) in led:
            continue
        kept.append(finding)
    return kept


def _index_advice_findings(report: ProfileReport, database: str) -> list:
    """IDX101 for each index of the chosen set, with the measured figures."""
    from auditor.profile.live_findings import live_finding
    from auditor.sql.redundant import describe_keys

    findings = []
    advice = report.advice
    by_id = {s.queryid: s for s in report.workload.statements}
    for verified in advice.chosen:
        index = verified.recommendation.index
        table = index.table
        keys = describe_keys(index.keys)
        where = f" WHERE {index.where}" if index.where else ""
        include = f" INCLUDE ({', '.join(index.include)})" if index.include else ""
        served = [q for q, _, _ in verified.statements] or [
            site.queryid for path in verified.recommendation.serves for site in path.sites]
        locations = sorted({loc for q in served for loc in report.links.get(q, [])})
        sent = f"; sent from {', '.join(locations[:3])}" if locations else ""
        if verified.verified:
            figures = ", ".join(f"statement {q}: {before:,.0f} -> {after:,.0f}" for q, before, after
                                in verified.statements[:3])
            message = (f"index on {table} ({keys}){include}{where} lowers the planner cost of "
                       f"{len(verified.statements)} workload statement(s) by {verified.gain:.1%} weighted by calls "
                       f"({figures}; HypoPG){sent}")
        else:
            calls = sum(by_id[q].calls for q in served if q in by_id)
            message = (f"index on {table} ({keys}){include}{where} would serve {len(served)} workload statement(s) "
                       f"with {calls:,} calls (not verified: HypoPG is not installed){sent}")
        findings.append(live_finding(
            "IDX101", database, f"index {table} ({keys}){where}", message,
            f"{verified.ddl.replace('CREATE INDEX ON', 'CREATE INDEX CONCURRENTLY ON')}; "
            "(audit profile --indexes -o indexes.sql writes the reviewed script)",
            evidence={"table": table, "keys": keys, "where": index.where, "include": list(index.include),
                      "verified": verified.verified, "weighted_before": round(verified.weighted_before, 2),
                      "weighted_after": round(verified.weighted_after, 2),
                      "statements": [{"queryid": q, "cost_before": b, "cost_after": a}
                                     for q, b, a in verified.statements],
                      "size_bytes": verified.size_bytes},
            excerpt=verified.ddl, confidence="high" if verified.verified else "medium"))
    return findings
