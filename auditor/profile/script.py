"""``audit profile --indexes -o indexes.sql``: the reviewed index script of the static side
(``auditor/sql/index_script.py``), with the figures HypoPG measured in each index's comments."""

from __future__ import annotations

from auditor.profile.live_findings import size
from auditor.profile.run import ProfileReport
from auditor.sql.index_script import render_index_script
from auditor.sql.redundant import redundant_indexes

LIVE_REVIEW = ("Review every statement before running it: the figures are the planner's cost estimates",
               "(EXPLAIN of generic plans, with HypoPG's hypothetical indexes), not measured run times.")


def _measured_lines(verified, report: ProfileReport) -> list:
    if not verified.verified:
        return ["not verified: HypoPG is not installed in the database"]
    by_id = {s.queryid: s for s in report.workload.statements}
    lines = [f"weighted cost (calls x cost) of the statements it serves: {verified.weighted_before:,.1f} -> "
             f"{verified.weighted_after:,.1f} (-{verified.gain:.1%}); estimated size {size(verified.size_bytes)}"]
    for queryid, before, after in verified.statements:
        stats = by_id.get(queryid)
        calls = f"{stats.calls:,} calls, {stats.total_ms:,.0f} ms" if stats else "?"
        code = ", ".join(report.links.get(queryid, [])[:2])
        lines.append(f"statement {queryid} ({calls}): cost {before:,.2f} -> {after:,.2f}"
                     + (f"; sent from {code}" if code else ""))
    return lines


def render_profile_script(report: ProfileReport) -> str:
    """The index script for the profiler's chosen set (empty advice gives a script saying so)."""
    advice = report.advice
    chosen = advice.chosen if advice else []
    recommendations = [v.recommendation for v in chosen]
    measured = {id(v.recommendation): _measured_lines(v, report) for v in chosen}
    notes = []
    if advice is not None:
        totals = advice.totals()
        if advice.verified:
            notes.append(f"workload: {totals['planned']} statements planned, {totals['unplanned']} could not be; "
                         f"weighted cost {totals['weighted_before']:,.1f} -> {totals['weighted_after']:,.1f} with "
                         f"these indexes (sum of costs {totals['cost_before']:,.1f} -> {totals['cost_after']:,.1f})")
        else:
            notes.append(advice.note)
    else:
        notes.append("no workload: pg_stat_statements gave no statements to advise on")
    return render_index_script(recommendations, report.catalog.schema, "postgres", notes=notes,
                               redundant=redundant_indexes(report.catalog.schema), source=report.target,
                               paths=advice.paths if advice else [],
                               origin="the live workload (pg_stat_statements, HypoPG)",
                               review=LIVE_REVIEW, measured=measured)
