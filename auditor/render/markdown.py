"""The Markdown audit report, rendered from ``reports/markdown.md.j2``."""

from __future__ import annotations

from collections import Counter

from auditor import __version__
from auditor.findings import SEVERITIES, rank_key
from auditor.resources import report_template
from auditor.rules import load_rules
from auditor.scan import ScanResult

ROADMAP = {
    "P0": "Now: fixes for request-path problems with high confidence",
    "P1": "This sprint",
    "P2": "Next sprints",
    "P3": "Backlog",
}


def render_markdown(result: ScanResult) -> str:
    """The full Markdown report."""
    findings = sorted(result.findings, key=rank_key)
    by_priority = {p: [f for f in findings if f.priority == p] for p in ROADMAP}
    rules = load_rules()
    by_rule = Counter(f.rule for f in findings)
    roadmap = []
    for priority, label in ROADMAP.items():
        items = Counter((f.rule, f.path) for f in by_priority[priority])
        roadmap.append({"priority": priority, "label": label,
                        "items": [{"rule": r, "title": rules[r].title, "path": p, "count": n}
                                  for (r, p), n in sorted(items.items())]})
    template = report_template("markdown.md.j2")
    text = template.render(
        version=__version__,
        metrics=result.metrics,
        findings=findings,
        by_priority=by_priority,
        severity_counts={s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES},
        rule_counts=[{"rule": r, "title": rules[r].title, "count": n} for r, n in sorted(by_rule.items())],
        roadmap=roadmap,
        notes=result.notes,
        critical=[f for f in findings if f.priority == "P0"][:10],
    )
    return text.rstrip("\n") + "\n"
