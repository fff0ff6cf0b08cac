"""The finding model: what a rule reports, how it is ranked and fingerprinted."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field

SEVERITIES = ("critical", "high", "medium", "low", "info")
CONFIDENCES = ("high", "medium", "low")


@dataclass
class Finding:
    """One reported problem, with the evidence and the fix."""

    rule: str
    title: str
    category: str
    severity: str
    confidence: str
    path: str
    line: int
    column: int
    end_line: int
    function: str
    message: str
    remediation: str
    effort: str = "medium"
    impact: str = ""
    excerpt: str = ""
    chain: list = field(default_factory=list)  # rendered hops, outermost first
    context: dict = field(default_factory=dict)  # loop, handler, iterable...
    priority: str = ""
    fingerprint: str = ""

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)


def severity_rank(severity: str) -> int:
    """0 for critical, 4 for info."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def raise_severity(severity: str, steps: int = 1) -> str:
    """Raise a severity by ``steps`` levels, capped at critical."""
    return SEVERITIES[max(severity_rank(severity) - steps, 0)]


def lower_severity(severity: str, steps: int = 1) -> str:
    """Lower a severity by ``steps`` levels, floored at info."""
    return SEVERITIES[min(severity_rank(severity) + steps, len(SEVERITIES) - 1)]


def priority_for(severity: str, confidence: str) -> str:
    """P0 (fix now) to P3 (backlog) from severity and confidence."""
    rank = severity_rank(severity)
    if confidence == "low":
        rank += 1
    if rank <= 0:
        return "P0"
    if rank == 1:
        return "P1"
    if rank == 2:
        return "P2"
    return "P3"


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def assign_fingerprints(findings: list) -> None:
    """Fingerprints from rule, path, function, code and chain (no line numbers).

    Identical findings in one function are told apart by their order of occurrence, so a
    baseline entry can never absorb several new identical findings.
    """
    seen: dict = {}
    for finding in sorted(findings, key=sort_key):
        chain = [re.sub(r":\d+ ", " ", hop) for hop in finding.chain]
        basis = "\x1f".join([finding.rule, finding.path, finding.function.rsplit(".", 1)[-1],
                             _normalise(finding.excerpt), *chain])
        digest = hashlib.sha256(basis.encode("utf-8")).hexdigest()[:16]
        count = seen.get(digest, 0)
        seen[digest] = count + 1
        finding.fingerprint = f"{digest}:{count}"


def sort_key(finding: Finding) -> tuple:
    """Deterministic order: path, line, column, rule."""
    return (finding.path, finding.line, finding.column, finding.rule)


def rank_key(finding: Finding) -> tuple:
    """Most important first."""
    return (finding.priority, severity_rank(finding.severity), CONFIDENCES.index(finding.confidence)) + sort_key(finding)
