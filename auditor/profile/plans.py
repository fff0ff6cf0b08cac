"""EXPLAIN for normalised statements (``$1`` parameters), never executing them.

PostgreSQL 16+ plans such text directly with ``EXPLAIN (GENERIC_PLAN)``. Older servers get the
fallback: ``PREPARE`` the statement, ``EXPLAIN EXECUTE`` it with NULL arguments under
``plan_cache_mode = force_generic_plan`` (the argument values do not shape a generic plan), and
``DEALLOCATE``. A fresh PREPARE per EXPLAIN keeps hypothetical indexes (HypoPG) visible.

pg_stat_statements replaces typed literals' strings too: ``INTERVAL '2 days'`` becomes
``INTERVAL $2``, which neither PREPARE nor GENERIC_PLAN accepts. Such forms are rewritten to casts
(``$2::interval``) before planning; a parameter whose type cannot be inferred (``SELECT $1``)
is cast to text. What still cannot be planned is counted with the reason.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Optional

_TYPED_LITERAL = re.compile(
    r"\b(?P<type>interval|date|timestamptz|timestamp(?:\s+with(?:out)?\s+time\s+zone)?|time(?:\s+with(?:out)?\s+time\s+zone)?"
    r"|numeric|uuid|json|jsonb|inet|cidr|bool|boolean|int[248]?|bigint|smallint|integer|text|varchar|char|bytea|money)"
    r"\s+(?P<param>\$\d+)", re.I)
_UNTYPED = re.compile(r"could not determine data type of parameter \$(\d+)")
_PARAM = re.compile(r"\$(\d+)\b")


@dataclass
class PlanResult:
    """A statement's plan, or why there is none."""

    cost: Optional[float] = None  # the top-level Total Cost
    plan: Optional[dict] = None  # the JSON plan's root node
    error: str = ""
    rewritten: bool = False  # typed literals or untyped parameters were rewritten to casts

    @property
    def ok(self) -> bool:
        return self.cost is not None


def rewrite_typed_literals(query: str) -> str:
    """``INTERVAL $2`` -> ``$2::interval`` (likewise DATE, TIMESTAMP, ... ``$n``)."""
    def cast(match: re.Match) -> str:
        type_name = re.sub(r"\s+", " ", match.group("type").lower())
        return f"{match.group('param')}::{type_name}"

    return _TYPED_LITERAL.sub(cast, query)


def parameter_count(query: str) -> int:
    numbers = [int(n) for n in _PARAM.findall(_strip_strings(query))]
    return max(numbers) if numbers else 0


def _strip_strings(query: str) -> str:
    return re.sub(r"'(?:[^']|'')*'", "''", query)


def plan_summary(plan: Optional[dict], limit: int = 4) -> str:
    """``Limit > Seq Scan on books``: the plan's nodes in order (joins list both sides), at most ``limit``."""
    if not plan:
        return ""
    parts, stack = [], [plan]
    while stack and len(parts) < limit:
        node = stack.pop(0)
        text = node.get("Node Type", "?")
        if node.get("Index Name"):
            text += f" using {node['Index Name']}"
        if node.get("Relation Name"):
            text += f" on {node['Relation Name']}"
        if node.get("Node Type") not in ("Hash", "Materialize", "Memoize"):
            parts.append(text)
        stack = list(node.get("Plans", ())) + stack
    more = " …" if stack else ""
    return " > ".join(parts) + more


def index_names(plan: Optional[dict]) -> list:
    """Names of the indexes a plan uses (hypothetical ones included)."""
    names, stack = [], [plan] if plan else []
    while stack:
        node = stack.pop()
        if node.get("Index Name"):
            names.append(node["Index Name"])
        stack.extend(node.get("Plans", ()))
    return sorted(set(names))


@dataclass
class Planner:
    """EXPLAINs statements on one connection; counts what could not be planned."""

    conn: object
    server_version: int  # server_version_num, e.g. 150004
    failures: dict = field(default_factory=dict)  # query -> reason
    _counter: int = 0
    _generic_ready: bool = False

    @property
    def generic_plan(self) -> bool:
        """``EXPLAIN (GENERIC_PLAN)`` exists (PostgreSQL 16+)."""
        return self.server_version >= 160000

    def explain(self, query: str) -> PlanResult:
        """The generic plan of a normalised statement (never executed)."""
        text = query.strip().rstrip(";")
        rewritten = rewrite_typed_literals(text)
        result = self._explain(rewritten)
        casts: dict = {}
        while not result.ok and len(casts) < 20:
            match = _UNTYPED.search(result.error)
            if not match or match.group(1) in casts:
                break
            number = match.group(1)
            casts[number] = True
            rewritten = re.sub(rf"\${number}\b(?!::)", f"${number}::text", rewritten)
            result = self._explain(rewritten)
        result.rewritten = rewritten != text
        if not result.ok:
            self.failures[query] = result.error
        else:
            self.failures.pop(query, None)
        return result

    def _explain(self, text: str) -> PlanResult:
        import psycopg2

        cur = self.conn.cursor()
        try:
            if self.generic_plan:
                cur.execute("EXPLAIN (GENERIC_PLAN, FORMAT JSON) " + text)  # no parameters: % is not special
                return _plan_result(cur.fetchone()[0])
            if not self._generic_ready:
                cur.execute("SET plan_cache_mode = force_generic_plan")
                self._generic_ready = True
            self._counter += 1
            name = f"audit_profile_{self._counter}"
            cur.execute(f"PREPARE {name} AS " + text)
            try:
                params = parameter_count(text)
                arguments = f"({', '.join(['NULL'] * params)})" if params else ""
                cur.execute(f"EXPLAIN (FORMAT JSON) EXECUTE {name}{arguments}")
                return _plan_result(cur.fetchone()[0])
            finally:
                cur.execute(f"DEALLOCATE {name}")
        except psycopg2.Error as exc:
            return PlanResult(error=_one_line(exc))
        finally:
            cur.close()


def _plan_result(document) -> PlanResult:
    if isinstance(document, str):
        document = json.loads(document)
    plan = document[0]["Plan"]
    return PlanResult(cost=float(plan["Total Cost"]), plan=plan)


def _one_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
