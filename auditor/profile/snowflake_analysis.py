"""Turn Snowflake query history into a profile: query groups ranked by time and credits, and the
PRF201-PRF206 findings (cost, pruning, spilling, queueing, result-cache misses, Cortex usage)."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional

from auditor.findings import Finding, assign_fingerprints, lower_severity, priority_for, rank_key
from auditor.profile import snowflake_sql as text_analysis
from auditor.profile.snowflake_history import History
from auditor.rules import load_rules

# Credits per hour of a standard warehouse by size (Snowflake's service consumption table).
CREDITS_PER_HOUR = {"XSMALL": 1, "SMALL": 2, "MEDIUM": 4, "LARGE": 8, "XLARGE": 16, "2XLARGE": 32,
                    "3XLARGE": 64, "4XLARGE": 128, "5XLARGE": 256, "6XLARGE": 512}
SIZE_NAMES = {"XSMALL": "X-Small", "SMALL": "Small", "MEDIUM": "Medium", "LARGE": "Large", "XLARGE": "X-Large",
              "2XLARGE": "2X-Large", "3XLARGE": "3X-Large", "4XLARGE": "4X-Large", "5XLARGE": "5X-Large",
              "6XLARGE": "6X-Large"}
SIZE_SQL = {"XSMALL": "XSMALL", "SMALL": "SMALL", "MEDIUM": "MEDIUM", "LARGE": "LARGE", "XLARGE": "XLARGE",
            "2XLARGE": "XXLARGE", "3XLARGE": "XXXLARGE", "4XLARGE": "X4LARGE", "5XLARGE": "X5LARGE",
            "6XLARGE": "X6LARGE"}
SIZES = tuple(CREDITS_PER_HOUR)
SNOWPARK_FACTOR = 1.5  # Snowpark-optimized warehouses bill 1.5x the standard rate

LOCATION = "snowflake:query_history"  # where live findings are located (they have no file and line)
COST_SHARE = 0.10  # PRF201: a query group with >= 10% of the estimated warehouse credits...
COST_MIN_ELAPSED_MS = 60_000  # ...and at least a minute of elapsed time in the window
PRUNE_MIN_PARTITIONS = 1_000  # PRF202: large tables only (average partitions total per run)
PRUNE_RATIO = 0.5  # scanned / total at or above this is poor pruning for a filtered query
LOCAL_SPILL_BYTES = 1 << 30  # PRF203: local spill worth reporting (remote spill always is)
QUEUE_MIN_MS = 60_000  # PRF204: a warehouse's queued-for-overload time worth reporting...
QUEUE_SHARE = 0.05  # ...when it is also >= 5% of the elapsed time of its queries
CACHE_MIN_RUNS = 5  # PRF205: identical SELECTs run this often...
CACHE_MISS_SHARE = 0.8  # ...executing (scanning data) in at least 80% of the runs


@dataclass
class QueryGroup:
    """Runs of one parameterized query (QUERY_PARAMETERIZED_HASH, else a sqlglot fingerprint)."""

    key: str
    text: str  # the most recent run's text
    query_type: str
    runs: int = 0
    elapsed_ms: float = 0.0
    execution_ms: float = 0.0
    compilation_ms: float = 0.0
    queued_overload_ms: float = 0.0
    credits: float = 0.0  # estimated warehouse credits (size x execution time)
    cloud_credits: float = 0.0
    bytes_scanned: float = 0.0
    partitions_scanned: float = 0.0
    partitions_total: float = 0.0
    spilled_local: float = 0.0
    spilled_remote: float = 0.0
    spilling_runs: int = 0
    rows_produced: float = 0.0
    warehouses: dict = field(default_factory=dict)  # name -> largest size key seen

    def figures(self) -> dict:
        """The group's measured figures, JSON-ready (times in ms, credits rounded)."""
        return {"runs": self.runs, "elapsed_ms": round(self.elapsed_ms), "execution_ms": round(self.execution_ms),
                "compilation_ms": round(self.compilation_ms), "queued_overload_ms": round(self.queued_overload_ms),
                "estimated_credits": round(self.credits, 4), "cloud_services_credits": round(self.cloud_credits, 4),
                "bytes_scanned": int(self.bytes_scanned), "partitions_scanned": int(self.partitions_scanned),
                "partitions_total": int(self.partitions_total), "bytes_spilled_local": int(self.spilled_local),
                "bytes_spilled_remote": int(self.spilled_remote), "rows_produced": int(self.rows_produced),
                "warehouses": sorted(self.warehouses)}


@dataclass
class WarehouseLoad:
    """One warehouse's queries in the window."""

    name: str
    size: str = ""  # largest size key seen
    queries: int = 0
    elapsed_ms: float = 0.0
    credits: float = 0.0
    queued_queries: int = 0
    queued_overload_ms: float = 0.0
    max_queued_ms: float = 0.0
    queued_provisioning_ms: float = 0.0


@dataclass
class CortexUse:
    """Calls of one Cortex function."""

    function: str
    queries: int = 0
    elapsed_ms: float = 0.0
    credits: float = 0.0
    groups: set = field(default_factory=set)


@dataclass
class Profile:
    """Everything ``audit profile --snowflake`` reports."""

    source: str
    queries: int
    groups: list  # QueryGroup, most estimated credits first
    warehouses: list  # WarehouseLoad, most credits first
    cortex: list  # CortexUse, most time first
    findings: list
    notes: list
    total_credits: float
    total_elapsed_ms: float


@lru_cache(maxsize=256)
def size_key(size: str) -> str:
    """``X-Small``/``XSMALL``/``2X-Large``/``XXLARGE`` -> the key of :data:`CREDITS_PER_HOUR` ('' if unknown)."""
    key = re.sub(r"[^0-9A-Z]", "", size.upper())
    key = {"XXLARGE": "2XLARGE", "XXXLARGE": "3XLARGE", "X2LARGE": "2XLARGE", "X3LARGE": "3XLARGE",
           "X4LARGE": "4XLARGE", "X5LARGE": "5XLARGE", "X6LARGE": "6XLARGE"}.get(key, key)
    return key if key in CREDITS_PER_HOUR else ""


def estimated_credits(execution_ms: float, size: str, warehouse_type: str = "") -> float:
    """Warehouse credits of one run: credits/hour of its size x its execution time.

    An estimate: QUERY_HISTORY has no per-query warehouse credits; queries running at the same time
    share the warehouse (this over-counts them) and idle time before auto-suspend is not counted.
    """
    rate = CREDITS_PER_HOUR.get(size_key(size), 0)
    if "SNOWPARK" in warehouse_type.upper():
        rate *= SNOWPARK_FACTOR
    return rate * execution_ms / 3_600_000


def analyse(history: History) -> Profile:
    """The profile of a history: groups, warehouses, Cortex usage and the findings."""
    groups: dict = {}
    warehouses: dict = {}
    cortex: dict = {}
    identical: dict = defaultdict(list)
    calls: dict = {}  # group key -> Cortex functions called
    fingerprints: dict = {}  # literal shape -> sqlglot fingerprint (for runs without QUERY_PARAMETERIZED_HASH)
    for run in history.runs:
        key = run.parameterized_hash or _fingerprint(run.text, fingerprints)
        group = groups.get(key)
        if group is None:
            group = groups[key] = QueryGroup(key=key, text=run.text, query_type=run.query_type)
            calls[key] = text_analysis.cortex_calls(run.text)  # the same in every run of a parameterized query
        credits = estimated_credits(run.execution_ms, run.warehouse_size, run.warehouse_type)
        _add_run(group, run, credits)
        if run.warehouse:
            _add_load(warehouses.setdefault(run.warehouse, WarehouseLoad(run.warehouse)), run, credits)
        for function in calls[key]:
            use = cortex.setdefault(function, CortexUse(function))
            use.queries += 1
            use.elapsed_ms += run.elapsed_ms
            use.credits += credits
            use.groups.add(key)
        if run.query_type == "SELECT" and run.status == "SUCCESS":
            identical[run.query_hash or " ".join(run.text.split())].append(run)
    ranked = sorted(groups.values(), key=lambda g: (-g.credits, -g.elapsed_ms, g.key))
    total_credits = sum(g.credits for g in ranked)
    total_elapsed = sum(g.elapsed_ms for g in ranked)
    missing = set(history.missing_columns)
    findings = _cost_findings(ranked, total_credits)
    if not missing & {"PARTITIONS_SCANNED", "PARTITIONS_TOTAL"}:
        findings += [f for g in ranked if (f := _pruning_finding(g))]
    if not missing & {"BYTES_SPILLED_TO_LOCAL_STORAGE", "BYTES_SPILLED_TO_REMOTE_STORAGE"}:
        findings += [f for g in ranked if (f := _spill_finding(g))]
    loads = sorted(warehouses.values(), key=lambda w: (-w.credits, w.name))
    if "QUEUED_OVERLOAD_TIME" not in missing:
        findings += [f for w in loads if (f := _queue_finding(w))]
    findings += [f for runs in identical.values() if (f := _cache_finding(runs))]
    uses = sorted(cortex.values(), key=lambda u: (-u.elapsed_ms, u.function))
    findings += [_cortex_finding(g, [u.function for u in uses if g.key in u.groups])
                 for g in ranked if any(g.key in u.groups for u in uses)]
    assign_fingerprints(findings)
    findings.sort(key=rank_key)
    return Profile(source=history.source, queries=len(history.runs), groups=ranked, warehouses=loads,
                   cortex=uses, findings=findings, notes=list(history.notes), total_credits=total_credits,
                   total_elapsed_ms=total_elapsed)


def _fingerprint(text: str, cache: dict) -> str:
    """The sqlglot fingerprint of ``text``, parsed once per literal shape."""
    shape = text_analysis.literal_shape(text)
    if shape not in cache:
        cache[shape] = text_analysis.fingerprint(text)
    return cache[shape]


def _add_run(group: QueryGroup, run, credits: float) -> None:
    group.runs += 1
    group.elapsed_ms += run.elapsed_ms
    group.execution_ms += run.execution_ms
    group.compilation_ms += run.compilation_ms
    group.queued_overload_ms += run.queued_overload_ms or 0.0
    group.credits += credits
    group.cloud_credits += run.cloud_credits
    group.bytes_scanned += run.bytes_scanned
    group.partitions_scanned += run.partitions_scanned or 0.0
    group.partitions_total += run.partitions_total or 0.0
    group.spilled_local += run.spilled_local or 0.0
    group.spilled_remote += run.spilled_remote or 0.0
    group.spilling_runs += 1 if (run.spilled_local or run.spilled_remote) else 0
    group.rows_produced += run.rows_produced
    if run.warehouse:
        group.warehouses[run.warehouse] = _larger(group.warehouses.get(run.warehouse, ""), size_key(run.warehouse_size))


def _add_load(load: WarehouseLoad, run, credits: float) -> None:
    load.size = _larger(load.size, size_key(run.warehouse_size))
    load.queries += 1
    load.elapsed_ms += run.elapsed_ms
    load.credits += credits
    queued = run.queued_overload_ms or 0.0
    if queued > 0:
        load.queued_queries += 1
        load.queued_overload_ms += queued
        load.max_queued_ms = max(load.max_queued_ms, queued)
    load.queued_provisioning_ms += run.queued_provisioning_ms


def _larger(a: str, b: str) -> str:
    return max((s for s in (a, b) if s), key=SIZES.index, default="")


def _finding(rule_id: str, obj: str, message: str, remediation: str, excerpt: str, figures: dict,
             lower: int = 0, impact: str = "") -> Finding:
    """A live finding of ``rule_id`` about ``obj`` (``query <key>``, ``warehouse <name>``), located in
    ``snowflake:query_history``; its severity lowered by ``lower`` levels."""
    rule = load_rules()[rule_id]
    severity = lower_severity(rule.severity, lower) if lower else rule.severity
    return Finding(rule=rule.id, title=rule.title, category=rule.category, severity=severity,
                   confidence=rule.confidence, path=LOCATION, line=0, column=0, end_line=0, function=obj,
                   message=message, remediation=remediation, effort=rule.effort, impact=impact,
                   excerpt=excerpt, context={"object": obj, "live": figures},
                   priority=priority_for(severity, rule.confidence))


def short(text: str, limit: int = 160) -> str:
    """A query's text on one line, cut at ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" if number == 1 else f"{number:,} {noun}s"


def seconds(ms: float) -> str:
    """``1,234.5 s`` from milliseconds."""
    return f"{ms / 1000:,.1f} s"


def gib(size: float) -> str:
    """``12.3 GiB`` from bytes."""
    return f"{size / (1 << 30):,.1f} GiB"


def _query_object(group: QueryGroup) -> str:
    return f"query {group.key}"


def _cost_findings(ranked: list, total_credits: float) -> list:
    findings = []
    for position, group in enumerate(ranked, start=1):
        if total_credits <= 0 or group.credits / total_credits < COST_SHARE or group.elapsed_ms < COST_MIN_ELAPSED_MS:
            continue
        share = group.credits / total_credits
        where = ", ".join(f"{name} ({SIZE_NAMES.get(size, 'unknown size')})"
                          for name, size in sorted(group.warehouses.items()))
        message = (f"Query #{position} by estimated warehouse credits: {group.credits:,.2f} credits "
                   f"({share:.0%} of the window's estimated {total_credits:,.2f}) over {_count(group.runs, 'run')}, "
                   f"{seconds(group.elapsed_ms)} elapsed ({seconds(group.elapsed_ms / group.runs)} per run) on {where}.")
        remediation = ("Open this query's profile in Snowsight (Query ID from QUERY_HISTORY) and work on its most "
                       "expensive operator: prune earlier (filters on the clustering key), select fewer columns, "
                       "pre-aggregate into a table or materialized view if it runs often, or schedule it less often. "
                       "Credits are estimated from warehouse size x execution time: queries sharing a warehouse "
                       "are over-counted; WAREHOUSE_METERING_HISTORY has the billed totals.")
        findings.append(_finding("PRF201", _query_object(group), message, remediation, short(group.text),
                                 group.figures(), impact=f"{share:.0%} of estimated warehouse credits"))
    return findings


def _pruning_finding(group: QueryGroup) -> Optional[Finding]:
    if group.runs == 0 or group.partitions_total / group.runs < PRUNE_MIN_PARTITIONS:
        return None
    ratio = group.partitions_scanned / group.partitions_total
    if ratio < PRUNE_RATIO or not text_analysis.has_filter(group.text):
        return None  # well pruned, or a full scan the query asks for (no WHERE)
    columns = text_analysis.filter_columns(group.text)
    message = (f"Scans {ratio:.0%} of the micro-partitions despite its filter: "
               f"{int(group.partitions_scanned):,} of {int(group.partitions_total):,} partitions over {_count(group.runs, 'run')} "
               f"({gib(group.bytes_scanned)} read, {seconds(group.elapsed_ms)} elapsed).")
    if columns:
        keys = "; ".join(f"{table} on {', '.join(cols)}" for table, cols in columns.items())
        message += f" It filters {keys}."
        ddl = " ".join(f"ALTER TABLE {table} CLUSTER BY ({', '.join(cols)});" for table, cols in columns.items())
        remediation = (f"Cluster the table on the columns this query filters: {ddl} Put the lowest-cardinality "
                       "column first (a date rather than a timestamp: CLUSTER BY (TO_DATE(ts)) ...), check "
                       "the effect first with SELECT SYSTEM$CLUSTERING_INFORMATION('<table>', '(<columns>)'), "
                       "and weigh automatic clustering's cost on frequently updated tables. For selective "
                       "point lookups, search optimization (ALTER TABLE ... ADD SEARCH OPTIMIZATION ON "
                       "EQUALITY(col)) is the alternative.")
    else:
        remediation = ("The filter could not be mapped to columns (OR-ed or computed conditions): filter on a "
                       "plain column the table is clustered on, then cluster the table on that column "
                       "(ALTER TABLE ... CLUSTER BY (...)).")
    return _finding("PRF202", _query_object(group), message, remediation, short(group.text),
                    dict(group.figures(), scanned_ratio=round(ratio, 4), filter_columns=columns))


def _spill_finding(group: QueryGroup) -> Optional[Finding]:
    remote = group.spilled_remote > 0
    if not remote and group.spilled_local < LOCAL_SPILL_BYTES:
        return None
    size = max(group.warehouses.values(), key=lambda s: SIZES.index(s) if s else -1, default="")
    bigger = SIZES[SIZES.index(size) + 1] if size and size != SIZES[-1] else ""
    where = ", ".join(sorted(group.warehouses)) or "its warehouse"
    message = (f"Spilled {gib(group.spilled_local)} to local and {gib(group.spilled_remote)} to remote storage in "
               f"{group.spilling_runs} of {group.runs} runs on {where} ({SIZE_NAMES.get(size, 'unknown size')}); "
               f"{seconds(group.elapsed_ms)} elapsed.")
    resize = (f"run it on a {SIZE_NAMES[bigger]} warehouse (ALTER WAREHOUSE {sorted(group.warehouses)[0]} SET "
              f"WAREHOUSE_SIZE = {SIZE_SQL[bigger]}, or a separate warehouse for this job): twice the memory and "
              "local disk, often less than twice the cost once the spill is gone"
              if bigger else "use a Snowpark-optimized warehouse (more memory per node)")
    remediation = (f"The warehouse's memory is too small for this query's joins, sorts or aggregations: {resize}. "
                   "Or make the work smaller: filter before joining, select fewer columns, aggregate in stages, "
                   "avoid ORDER BY on large intermediate results.")
    return _finding("PRF203", _query_object(group), message, remediation, short(group.text),
                    dict(group.figures(), spilling_runs=group.spilling_runs, warehouse_size=SIZE_NAMES.get(size, "")),
                    lower=0 if remote else 1)


def _queue_finding(load: WarehouseLoad) -> Optional[Finding]:
    if load.queued_overload_ms < QUEUE_MIN_MS or load.elapsed_ms <= 0 \
            or load.queued_overload_ms / load.elapsed_ms < QUEUE_SHARE:
        return None
    share = load.queued_overload_ms / load.elapsed_ms
    message = (f"Warehouse {load.name} ({SIZE_NAMES.get(load.size, 'unknown size')}) queued {load.queued_queries} of "
               f"{load.queries} queries because it was overloaded: {seconds(load.queued_overload_ms)} waiting in "
               f"total ({share:.0%} of their elapsed time), up to {seconds(load.max_queued_ms)} for one query.")
    if load.queued_provisioning_ms >= QUEUE_MIN_MS:
        message += f" Another {seconds(load.queued_provisioning_ms)} went to provisioning (resuming) the warehouse."
    remediation = (f"Queueing means concurrency, not query size: make {load.name} a multi-cluster warehouse "
                   f"(ALTER WAREHOUSE {load.name} SET MIN_CLUSTER_COUNT = 1 MAX_CLUSTER_COUNT = 3 "
                   "SCALING_POLICY = 'STANDARD'; Enterprise edition) so that extra clusters start under load, "
                   "or move a workload (BI dashboards, ELT jobs) to its own warehouse, or spread scheduled jobs "
                   "over time. A larger size helps only when the queued queries are themselves slow.")
    return _finding("PRF204", f"warehouse {load.name}", message, remediation, "",
                    {"queries": load.queries, "queued_queries": load.queued_queries,
                     "queued_overload_ms": round(load.queued_overload_ms), "max_queued_ms": round(load.max_queued_ms),
                     "queued_provisioning_ms": round(load.queued_provisioning_ms),
                     "elapsed_ms": round(load.elapsed_ms), "warehouse_size": SIZE_NAMES.get(load.size, "")})


def _cache_finding(runs: list) -> Optional[Finding]:
    executed = [run for run in runs if run.bytes_scanned > 0]
    if len(runs) < CACHE_MIN_RUNS or len(executed) < max(CACHE_MIN_RUNS, CACHE_MISS_SHARE * len(runs)):
        return None
    text = runs[0].text
    execution = sum(run.execution_ms for run in executed)
    credits = sum(estimated_credits(run.execution_ms, run.warehouse_size, run.warehouse_type) for run in executed)
    functions = text_analysis.non_reusable_functions(text)
    message = (f"The same SELECT ran {len(runs)} times and executed {len(executed)} times instead of reusing its "
               f"persisted result: {seconds(execution)} of execution, {gib(sum(r.bytes_scanned for r in executed))} "
               f"scanned, about {credits:,.3f} warehouse credits.")
    if functions:
        message += f" It calls {', '.join(functions)}, which rules out result reuse."
        remediation = (f"Remove {', '.join(functions)} from the query text: have the caller pass the time as a "
                       "literal truncated to the period that matters (e.g. the hour). Then identical runs within "
                       "24 hours are served from the result cache without a warehouse, as long as the tables have "
                       "not changed.")
    else:
        remediation = ("Snowflake reuses a result only for the exact same text, while the tables are unchanged, "
                       "with USE_CACHED_RESULT = TRUE. If the tables change between runs (frequent loads), the "
                       "re-execution is needed: cache the result in the application, or load less often. Otherwise "
                       "check the session's USE_CACHED_RESULT and that the text is not rebuilt with varying "
                       "whitespace, comments or literals.")
    key = runs[0].parameterized_hash or text_analysis.fingerprint(text)  # as in analyse()
    return _finding("PRF205", f"query {key}", message, remediation, short(text),
                    {"runs": len(runs), "executed_runs": len(executed), "execution_ms": round(execution),
                     "estimated_credits": round(credits, 4), "query_hash": runs[0].query_hash,
                     "non_reusable_functions": functions})


def _cortex_finding(group: QueryGroup, functions: list) -> Finding:
    message = (f"Calls {', '.join(functions)} in {_count(group.runs, 'run')}: {seconds(group.elapsed_ms)} elapsed, "
               f"{int(group.rows_produced):,} rows produced, about {group.credits:,.3f} warehouse credits "
               "(Cortex token credits are billed on top: CORTEX_FUNCTIONS_QUERY_USAGE_HISTORY).")
    remediation = ("Cortex functions are billed per token for every row they see: filter rows before the call, "
                   "store the results in a table and process only new or changed rows instead of re-running the "
                   "call over the same data, use the smallest model that is good enough, and estimate with "
                   "AI_COUNT_TOKENS first. Run these queries on an X-Small or Small warehouse: a larger one "
                   "does not make the model faster.")
    return _finding("PRF206", _query_object(group), message, remediation, short(group.text),
                    dict(group.figures(), cortex_functions=functions))
