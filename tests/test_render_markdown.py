"""The Markdown report: its sections and counts on a sample project, and exact content for a
hand-built scan (matrix, roadmap, evidence, workload and cost figures, suppressions, index script)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from auditor.config import Config
from auditor.findings import Finding, assign_fingerprints, priority_for
from auditor.render.index_advice import SavedSql
from auditor.render.markdown import render_markdown, table_cell
from auditor.scan import ScanResult, run_scan

REPO_ROOT = Path(__file__).resolve().parent.parent
ANALYTICS = REPO_ROOT / "sample_projects" / "analytics_flask"
SECTIONS = ["# Performance audit: analytics_flask", "## Executive summary", "## Critical issues",
            "## Priority matrix: impact × effort", "## Roadmap", "## Findings by priority and category",
            "## Index script"]


def finding(rule: str, path: str, line: int, severity: str, confidence: str = "high", effort: str = "medium",
            category: str = "n-plus-one", **extra) -> Finding:
    """A finding as a check would report it (priority from severity and confidence)."""
    values = dict(rule=rule, title=f"{rule} title", category=category, severity=severity, confidence=confidence,
                  path=path, line=line, column=4, end_line=line, function="app.mod.handler",
                  message=f"{rule} message", remediation=f"{rule} fix", effort=effort,
                  priority=priority_for(severity, confidence))
    values.update(extra)
    return Finding(**values)


def handmade_result() -> ScanResult:
    findings = [
        finding("DB101", "app/views.py", 12, "critical", excerpt="cur.execute(sql, (item_id,))",
                chain=["app/views.py:11 for item in items", "app/views.py:12 repo.load()", "app/repo.py:5 cur.execute()"],
                context={"request_path": ["app/views.py:9 index() [@app.get]"],
                         "workload": {"calls": 120000, "total_ms": 54321.5, "mean_ms": 0.4527, "rows_per_call": 1}}),
        finding("DB101", "app/views.py", 30, "high", effort="medium"),
        finding("DB202", "scripts/job.py", 7, "high", effort="low", category="connections"),
        finding("LLM101", "app/ai.py", 20, "medium", effort="low", category="llm",
                context={"cost": {"model": "gpt-4o", "max_tokens": 1024,
                                  "prices": {"input_per_mtok": 2.5, "output_per_mtok": 10},
                                  "calls_per_day": 5000, "usd_per_day": 51.2}}),
        finding("IDX101", "app/repo.py", 5, "medium", confidence="medium", effort="low", category="index",
                excerpt="SELECT id FROM items WHERE sku = %s",
                context={"ddl": 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "ix_items_sku" ON "items" ("sku");'}),
        finding("IDX102", "db/schema.sql", 3, "low", effort="high", category="index"),
    ]
    assign_fingerprints(findings)
    metrics = {"files": 4, "lines": 321, "db_call_sites": 6, "recommended_indexes": 1, "suppressed": 3,
               "suppressed_by_rule": {"DB101": 2, "SQL103": 1},
               "baseline": {"entries": 5, "matched": 4, "fixed": 1}}
    script = '-- Index script\nCREATE INDEX CONCURRENTLY IF NOT EXISTS "ix_items_sku" ON "items" ("sku");\n'
    return ScanResult(root="/somewhere/shop", findings=findings, notes=[("bad.py", "syntax error at line 1")],
                      metrics=metrics, sql=SavedSql(dialect="postgres", index_script=script))


@pytest.fixture(scope="module")
def analytics():
    return run_scan(ANALYTICS, Config(), jobs=1)


def test_sample_report_has_every_section_in_order(analytics):
    text = render_markdown(analytics)
    positions = [text.find("\n" + heading + "\n") if i else text.find(heading + "\n")
                 for i, heading in enumerate(SECTIONS)]
    assert -1 not in positions, [h for h, p in zip(SECTIONS, positions) if p == -1]
    assert positions == sorted(positions)
    assert "\n\n\n" not in text and text.endswith("\n") and not text.endswith("\n\n")


def test_sample_report_counts_every_finding(analytics):
    text = render_markdown(analytics)
    findings = analytics.findings
    expected = [line.split()[0] for line in (ANALYTICS / "expected_findings.txt").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert len(findings) == len(expected) == 20
    assert len(re.findall(r"^#### [A-Z]+[0-9]{3} ", text, re.MULTILINE)) == 20
    severity = Counter(f.severity for f in findings)
    summary = ", ".join(f"{severity[s]} {s}" for s in ("critical", "high", "medium", "low", "info") if severity[s])
    assert f"| Findings | 20 ({summary}) |" in text
    for rule, count in Counter(expected).items():
        assert re.search(rf"^\| {rule} \| [a-z-]+ \| [^|]+ \| {count} \|$", text, re.MULTILINE), rule
    # the roadmap holds every finding once: sum of its site counts
    roadmap = text.split("## Roadmap", 1)[1].split("## Findings by priority", 1)[0]
    sites = [int(m) if m else 1 for m in re.findall(r"^- \[ \] .*?(?:\((\d+) sites\))?:", roadmap, re.MULTILINE)]
    assert sum(sites) == 20
    # the index script of the three recommended indexes, in full
    script = text.split("## Index script", 1)[1]
    assert script.count("\nCREATE INDEX CONCURRENTLY IF NOT EXISTS ") == Counter(expected)["IDX101"] == 3


def test_handmade_report_exact_content():
    text = render_markdown(handmade_result())
    assert text.startswith("# Performance audit: shop\n\n_Generated by audit ")
    assert "Workload figures come from the database's own statistics._" in text
    assert ("6 findings, the most severe critical (1). 1 sit on a request path, where users wait for them. "
            "1 are P0: fix them first.") in text
    assert "| findings | 1 | 2 | 2 | 1 | 0 |" in text
    assert "| findings | 1 | 2 | 2 | 1 |" in text  # P0..P3
    assert "| Python files scanned | 4 |" in text
    assert "| Findings | 6 (1 critical, 2 high, 2 medium, 1 low) |" in text
    assert "| Findings suppressed by `audit: ignore` comments | 3 |" in text
    assert "Suppressed by rule: DB101 2, SQL103 1." in text
    assert "Baseline: 5 known findings, 4 still present and not reported, 1 fixed." in text
    # the matrix: rows by severity, columns by effort
    assert "| **critical** | · | 1 (DB101) | · |" in text
    assert "| **high** | 1 (DB202) | 1 (DB101) | · |" in text
    assert "| **medium** | 2 (IDX101, LLM101) | · | · |" in text
    assert "| **low** | · | · | 1 (IDX102) |" in text
    assert "Quick wins: 3 · Major projects: 0 · Fill-ins: 2 · Later: 1." in text
    # roadmap
    assert ("### P0: Now: fixes for request-path problems with high confidence\n\n"
            "- [ ] DB101 Database query inside a loop in `app/views.py`: line 12; effort medium\n") in text
    assert "- [ ] DB202 Database connection not closed on every path in `scripts/job.py`: line 7; effort low" in text
    # a finding with everything
    assert ("### P0 · n-plus-one (1)\n\n#### DB101 DB101 title: `app/views.py:12`\n\n"
            "- severity **critical**, confidence high, effort medium (quick wins); in `app.mod.handler`\n"
            "- DB101 message\n"
            "- reached from a request handler: app/views.py:9 index() [@app.get]\n"
            "- measured workload: 120,000 calls, 54,321.5 ms in total, 0.45 ms per call, 1 rows per call\n\n"
            "```python\n12: cur.execute(sql, (item_id,))\n```\n\n"
            "Evidence: app/views.py:11 for item in items → app/views.py:12 repo.load() → app/repo.py:5 cur.execute()\n\n"
            "**Fix:** DB101 fix\n") in text
    assert ("- LLM cost: model gpt-4o, max_tokens 1024, prices input_per_mtok 2.5, output_per_mtok 10, "
            "5,000 calls/day, ≈ $51.20/day\n") in text
    # SQL excerpts are fenced as SQL; the index finding carries its DDL
    assert "```sql\n5: SELECT id FROM items WHERE sku = %s\n```" in text
    assert '```sql\nCREATE INDEX CONCURRENTLY IF NOT EXISTS "ix_items_sku" ON "items" ("sku");\n```' in text
    assert text.count("### P2 · ") == 2  # index and llm
    assert ("## Index script\n\nThe reviewed postgres script for every index recommended above (also "
            "`audit indexes`):\n\n```sql\n-- Index script\n") in text
    assert text.endswith("## Notes\n\nFiles that were skipped or could not be analysed (the rest of the scan is "
                         "unaffected):\n\n- `bad.py`: syntax error at line 1\n")


def test_markdown_is_deterministic(analytics):
    assert render_markdown(analytics) == render_markdown(analytics)
    assert render_markdown(handmade_result()) == render_markdown(handmade_result())


def test_table_cells_escape_pipes_and_line_breaks():
    assert table_cell("a | b\n  c") == "a \\| b c"


def live_result() -> ScanResult:
    """A scan with one finding of the live profiler: about a database object, on no line of code."""
    live = Finding(rule="PRF101", title="Expensive statement", category="live", severity="high", confidence="high",
                   path="db:shop", line=0, column=0, end_line=0, function="statement 42",
                   message="statement 42 takes 38% of the database's time", remediation="index it",
                   effort="medium", excerpt="SELECT * FROM orders WHERE status = $1",
                   context={"object": "statement 42", "live": {"calls": 9000, "total_ms": 1234.5}},
                   priority="P1")
    assign_fingerprints([live])
    return ScanResult(root="shop", findings=[live], notes=[], metrics={})


def test_a_live_finding_has_no_line():
    text = render_markdown(live_result())
    assert "#### PRF101 Expensive statement: `db:shop`\n" in text
    assert "- live figures: calls 9000, total_ms 1234.5\n" in text
    assert "```sql\nSELECT * FROM orders WHERE status = $1\n```" in text


def test_cost_as_the_llm_rules_record_it():
    from auditor.render.report_model import format_cost

    assert format_cost({"max_tokens": None, "model": "gpt-4o-mini", "price_as_of": "2026-05-27",
                        "price_per_million": {"input": 0.15, "output": 0.6}, "price_source": "the price list",
                        "priced": True, "provider": "openai"}) == (
        "model gpt-4o-mini (openai), no max_tokens, $0.15 / $0.60 per 1M input / output tokens "
        "(prices as of 2026-05-27; source: the price list)")
    assert format_cost({"max_tokens": 300, "model": "llama3.1", "priced": False, "provider": "ollama",
                        "reason": "not billed per token (local model or endpoint)"}) == (
        "model llama3.1 (ollama), max_tokens 300, not priced: not billed per token (local model or endpoint)")
