"""Index advice from the live workload, verified with HypoPG.

The statements of pg_stat_statements go through the static side's access-path model
(``auditor/sql/access.py``) and recommender (``auditor/sql/recommend.py``) against the live
schema; each access path carries a :class:`WorkloadSite` whose weight is the statement's total
execution time. When the statement is linked to the code (``--repo``), the code's text is used
for the access paths, since it keeps the constants pg_stat_statements replaces with ``$n``
(``status = 'pending'``: a partial-index candidate).

Verification (HypoPG, session-local hypothetical indexes): every statement is EXPLAINed (generic
plan) without new indexes; then, greedily, the candidate that lowers the calls-weighted total
cost of the workload most is added to the set, as long as one lowers it by at least
``MIN_GAIN`` and is used by a plan. The figures per index and per statement are kept for the
report and the index script. Without HypoPG the recommender's set is reported unverified.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from auditor.profile.plans import Planner, index_names, plan_summary, rewrite_typed_literals
from auditor.sql.access import access_paths
from auditor.sql.index_script import create_index_sql
from auditor.sql.model import Schema, Site
from auditor.sql.parse import parse_statement
from auditor.sql.recommend import advise

MIN_GAIN = 0.001  # a candidate must lower the weighted workload cost by 0.1%
MIN_STATEMENT_GAIN = 0.10  # ... and one statement's cost by 10%
MAX_CANDIDATES = 40  # the recommender's best-scored candidates verified (each round EXPLAINs each one)
_CREATE_PREFIX = re.compile(r"^CREATE INDEX CONCURRENTLY IF NOT EXISTS \S+ ON ", re.I)


@dataclass
class WorkloadSite(Site):
    """A statement of pg_stat_statements as a site: weighted by its execution time."""

    workload_weight: float = 1.0
    queryid: int = 0
    code: str = ""  # the code locations that send it (``--repo``), for the index script

    @property
    def weight(self) -> float:
        return self.workload_weight

    def render(self) -> str:
        return self.code or f"pg_stat_statements {self.queryid}"


@dataclass
class StatementPlan:
    """Costs of one statement: without new indexes and with the chosen set."""

    queryid: int
    query: str
    calls: int
    before: Optional[float] = None
    after: Optional[float] = None
    indexes_after: list = field(default_factory=list)  # index names the plan uses with the set
    error: str = ""
    text: str = ""  # what was planned: the code's text with $n parameters (``--repo``), else ``query``
    rewritten: bool = False  # planned only after typed literals / untyped parameters became casts
    summary: str = ""  # the plan's nodes without new indexes (plan_summary)


@dataclass
class VerifiedIndex:
    """A recommendation with what HypoPG measured for it."""

    recommendation: object  # auditor.sql.model.Recommendation
    ddl: str
    statements: list = field(default_factory=list)  # (queryid, before, after) for the plans that use it
    weighted_before: float = 0.0  # calls x cost of those statements, without it (with the earlier picks)
    weighted_after: float = 0.0
    size_bytes: int = 0
    verified: bool = False

    @property
    def gain(self) -> float:
        return 1 - self.weighted_after / self.weighted_before if self.weighted_before else 0.0


@dataclass
class IndexAdvice:
    """The chosen indexes, the plans before and after, and what could not be planned."""

    chosen: list = field(default_factory=list)  # VerifiedIndex, in the order chosen
    rejected: list = field(default_factory=list)  # (Recommendation, why)
    plans: list = field(default_factory=list)  # StatementPlan
    verified: bool = False
    note: str = ""
    unparsed: int = 0  # statements sqlglot could not read (no access paths)
    advice: object = None  # the recommender's Advice
    paths: list = field(default_factory=list)

    @property
    def unplanned(self) -> list:
        return [plan for plan in self.plans if plan.before is None]

    def totals(self) -> dict:
        """Summed and calls-weighted costs of the planned statements, without and with the set."""
        planned = [p for p in self.plans if p.before is not None and p.after is not None]
        return {
            "statements": len(self.plans),
            "planned": len(planned),
            "unplanned": len(self.plans) - len(planned),
            "rewritten": sum(1 for p in planned if p.rewritten),
            "cost_before": round(sum(p.before for p in planned), 2),
            "cost_after": round(sum(p.after for p in planned), 2),
            "weighted_before": round(sum(p.before * p.calls for p in planned), 2),
            "weighted_after": round(sum(p.after * p.calls for p in planned), 2),
        }


def parseable_text(query: str) -> str:
    """pg_stat_statements text that sqlglot reads: typed literals become casts, ``$n`` ``:pn``."""
    return re.sub(r"\$(\d+)\b", r":p\1", rewrite_typed_literals(query))


def workload_paths(statements: list, schema: Schema, code_texts: dict) -> tuple:
    """``(paths, unparsed)``: access paths of every statement, each with one :class:`WorkloadSite`.

    ``code_texts`` maps a query id to the code's own text of the statement (from ``--repo``)."""
    paths, unparsed = [], 0
    for stats in statements:
        text = code_texts.get(stats.queryid) or parseable_text(stats.query)
        parsed = parse_statement(text, "postgres")
        if parsed.tree is None:
            parsed = parse_statement(parseable_text(stats.query), "postgres")
        if parsed.tree is None:
            unparsed += 1
            continue
        site = WorkloadSite(path="pg_stat_statements", line=0, function="", excerpt=stats.query[:200],
                            workload_weight=max(stats.total_ms, 0.001), queryid=stats.queryid)
        for path in access_paths(parsed.tree, schema, "postgres"):
            path.sites = [site]
            path.statement = " ".join(stats.query.split())[:300]
            paths.append(path)
    return paths, unparsed


_CODE_PARAMETER = re.compile(r"'(?:[^']|'')*'|%%|%\((\w+)\)s|%s(?![\w])")


def dollar_parameters(code: str) -> str:
    """A DB-API statement (``%s``, ``%(name)s``) with PostgreSQL's ``$n`` parameters, literals kept."""
    numbers: dict = {}

    def replace(match: re.Match) -> str:
        text = match.group(0)
        if text.startswith("'"):
            return text.replace("%%", "%")  # the driver's format string: '%%' is a literal '%'
        if text == "%%":
            return "%"
        key = match.group(1) or len(numbers)
        if key not in numbers:
            numbers[key] = len(numbers) + 1
        return f"${numbers[key]}"

    return _CODE_PARAMETER.sub(replace, code)


def _first_plan(planner: Planner, stats, code_text: str) -> tuple:
    """``(PlanResult, text planned)``: the code's text when it plans (its constants let partial and
    pattern indexes be used, as the custom plans of the application's literal values do), else the
    pg_stat_statements text."""
    if code_text:
        text = dollar_parameters(code_text)
        plan = planner.explain(text)
        if plan.ok:
            return plan, text
        planner.failures.pop(text, None)
    return planner.explain(stats.query), stats.query


def hypothetical_ddl(index, schema: Schema) -> Optional[str]:
    """``CREATE INDEX ON ...`` for ``hypopg_create_index`` (no name, no CONCURRENTLY)."""
    text = create_index_sql(index, schema, "postgres")
    if text is None:
        return None
    return _CREATE_PREFIX.sub("CREATE INDEX ON ", text).rstrip(";")


def build_advice(conn, planner: Planner, statements: list, schema: Schema, code_texts: dict,
                 hypopg: bool) -> IndexAdvice:
    """Recommend indexes for ``statements`` and verify them with HypoPG when ``hypopg``."""
    paths, unparsed = workload_paths(statements, schema, code_texts)
    advice = advise(schema, paths, "postgres")
    result = IndexAdvice(unparsed=unparsed, advice=advice, paths=paths)
    by_id = {s.queryid: s for s in statements}
    texts = {}  # queryid -> the text planned: the code's (constants as written) when it plans, else pgss's
    for stats in statements:
        plan, texts[stats.queryid] = _first_plan(planner, stats, code_texts.get(stats.queryid, ""))
        result.plans.append(StatementPlan(stats.queryid, stats.query, stats.calls, plan.cost, plan.cost,
                                          index_names(plan.plan), plan.error, text=texts[stats.queryid],
                                          rewritten=plan.rewritten, summary=plan_summary(plan.plan)))
    if not hypopg:
        result.note = ("HypoPG is not installed in this database: the index advice is not verified "
                       "(an administrator can run CREATE EXTENSION hypopg; it only creates hypothetical, "
                       "session-local indexes)")
        result.chosen = [VerifiedIndex(rec, hypothetical_ddl(rec.index, schema) or "") for rec in advice.recommendations]
        return result
    result.verified = True
    tables_of = _statement_tables(paths, by_id)
    current = {p.queryid: p.before for p in result.plans if p.before is not None}
    candidates = []
    for rec in advice.recommendations[MAX_CANDIDATES:]:
        result.rejected.append((rec, f"not verified: only the {MAX_CANDIDATES} best-scored candidates are"))
    for rec in advice.recommendations[:MAX_CANDIDATES]:
        ddl = hypothetical_ddl(rec.index, schema)
        if ddl is None:
            result.rejected.append((rec, "cannot be rendered as SQL"))
            continue
        candidates.append((rec, ddl))
    cur = conn.cursor()
    oids: dict = {}  # id(recommendation) -> the hypothetical index's oid
    while candidates:
        best = None
        for rec, ddl in candidates:
            trial = _try(cur, planner, ddl, rec, tables_of, by_id, texts, current, schema)
            if trial is not None and (best is None or trial[0] > best[0][0]):
                best = (trial, rec, ddl)
        if best is None:
            break
        (gain_abs, costs, used_by, statement_gain, size_bytes), rec, ddl = best
        total_now = sum(current[q] * by_id[q].calls for q in current)
        if gain_abs <= 0 or gain_abs < MIN_GAIN * total_now or statement_gain < MIN_STATEMENT_GAIN or not used_by:
            break
        cur.execute("SELECT indexrelid FROM hypopg_create_index(%s)", (ddl,))  # kept for the next rounds
        oids[id(rec)] = cur.fetchone()[0]
        current.update(costs)
        result.chosen.append(VerifiedIndex(rec, ddl, size_bytes=size_bytes, verified=True))
        candidates = [(r, d) for r, d in candidates if r is not rec]
    for rec, _ in candidates:
        result.rejected.append((rec, "HypoPG: no plan of the workload uses it, or it lowers the cost too little"))
    _leave_one_out(cur, planner, result, oids, tables_of, by_id, texts, schema)
    for plan in result.plans:
        if plan.before is not None:
            after = planner.explain(plan.text)
            plan.after = after.cost if after.ok else plan.before
            plan.indexes_after = index_names(after.plan)
    cur.execute("SELECT hypopg_reset()")
    _rename_used(result)
    return result


def _leave_one_out(cur, planner: Planner, result: IndexAdvice, oids: dict, tables_of: dict, by_id: dict,
                   texts: dict, schema: Schema) -> None:
    """Each chosen index's own figures, with the rest of the set in place: the statements whose plan
    uses it, their cost without it and with it. An index a later pick made useless leaves the set."""
    for verified in list(result.chosen):
        rec = verified.recommendation
        queryids = _queryids_of(rec, tables_of, schema)
        with_set = {}
        for queryid in queryids:
            plan = planner.explain(texts[queryid])
            if plan.ok:
                with_set[queryid] = (plan.cost, index_names(plan.plan))
        _drop(cur, oids[id(rec)])
        verified.statements, verified.weighted_before, verified.weighted_after = [], 0.0, 0.0
        for queryid, (cost, used) in sorted(with_set.items()):
            if not any(u.startswith(f"<{oids[id(rec)]}>") for u in used):
                continue
            plan = planner.explain(texts[queryid])
            before = plan.cost if plan.ok else cost
            calls = by_id[queryid].calls
            verified.statements.append((queryid, round(before, 2), round(cost, 2)))
            verified.weighted_before += before * calls
            verified.weighted_after += cost * calls
        if not verified.statements or verified.gain < MIN_STATEMENT_GAIN:
            result.chosen.remove(verified)
            result.rejected.append((rec, "HypoPG: the other indexes of the set serve its statements as well"))
            continue
        cur.execute("SELECT indexrelid FROM hypopg_create_index(%s)", (verified.ddl,))
        oids[id(rec)] = cur.fetchone()[0]


def _queryids_of(rec, tables_of: dict, schema: Schema) -> list:
    table = schema.table(rec.index.table)
    queryids = set()
    for key in (rec.index.table, table.name if table else ""):
        queryids |= tables_of.get(key, set())
    return sorted(queryids)


def _statement_tables(paths: list, by_id: dict) -> dict:
    """table -> query ids of the statements that read it."""
    tables: dict = {}
    for path in paths:
        for site in path.sites:
            if site.queryid in by_id:
                tables.setdefault(path.table, set()).add(site.queryid)
    return tables


def _try(cur, planner: Planner, ddl: str, rec, tables_of: dict, by_id: dict, texts: dict, current: dict,
         schema: Schema):
    """Create ``ddl`` hypothetically, EXPLAIN the statements on its table, drop it again:
    ``(weighted gain, costs, [(queryid, cost before)] of the plans using it, best relative gain of
    one statement, estimated size)``, or None."""
    import psycopg2

    try:
        cur.execute("SELECT indexrelid, indexname FROM hypopg_create_index(%s)", (ddl,))
        oid, name = cur.fetchone()
        cur.execute("SELECT hypopg_relation_size(%s)", (oid,))
        size_bytes = int(cur.fetchone()[0] or 0)
    except psycopg2.Error:
        return None
    costs, used_by = {}, []
    statement_gain = 0.0
    for queryid in _queryids_of(rec, tables_of, schema):
        if queryid not in current:
            continue
        plan = planner.explain(texts[queryid])
        if not plan.ok:
            continue
        costs[queryid] = plan.cost
        if name in index_names(plan.plan):
            used_by.append((queryid, current[queryid]))
            if current[queryid] > 0:
                statement_gain = max(statement_gain, 1 - plan.cost / current[queryid])
    gain = sum((current[q] - costs[q]) * by_id[q].calls for q in costs)
    _drop(cur, oid)
    return gain, costs, used_by, statement_gain, size_bytes


def _drop(cur, oid: int) -> None:
    import psycopg2

    try:
        cur.execute("SELECT hypopg_drop_index(%s)", (oid,))
    except psycopg2.Error:
        pass


def _rename_used(result: IndexAdvice) -> None:
    """Plans name hypothetical indexes ``<oid>btree_...``: show ours as 'hypothetical'."""
    for plan in result.plans:
        plan.indexes_after = [("(hypothetical) " + name.split(">", 1)[1]) if name.startswith("<") else name
                              for name in plan.indexes_after]
