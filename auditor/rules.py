"""The rule catalog: one YAML file per rule in ``rules/`` (documentation and examples)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from auditor.resources import load_yaml, rules_dir

RULE_FILE = re.compile(r"^[A-Z]+[0-9]+-")  # DB101-query-in-loop.yaml
REQUIRED_KEYS = ("id", "name", "title", "category", "severity", "confidence", "rationale",
                 "remediation", "references", "examples")


@dataclass(frozen=True)
class Rule:
    """A rule's metadata as written in its YAML file."""

    id: str
    name: str
    title: str
    category: str
    severity: str
    confidence: str
    effort: str
    rationale: str
    remediation: str
    references: tuple
    examples: dict = field(hash=False, compare=False, default_factory=dict)
    path: str = ""
    live: bool = False  # found by the live profiler: its examples describe workloads, not code to scan


def _load(path: Path) -> Rule:
    with open(path, encoding="utf-8") as handle:
        data = load_yaml(handle)
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise ValueError(f"{path.name}: missing keys {', '.join(missing)}")
    return Rule(
        id=data["id"],
        name=data["name"],
        title=data["title"],
        category=data["category"],
        severity=data["severity"],
        confidence=data["confidence"],
        effort=data.get("effort", "medium"),
        rationale=data["rationale"].strip(),
        remediation=data["remediation"].strip(),
        references=tuple((ref.get("title", ""), ref.get("url", "")) for ref in data["references"]),
        examples=data["examples"],
        path=str(path),
        live=bool(data.get("live", False)),
    )


@lru_cache(maxsize=1)
def load_rules() -> dict:
    """Every rule by id."""
    rules = {}
    for path in sorted(rules_dir().glob("*.yaml")):
        if not RULE_FILE.match(path.name):
            continue  # data shipped next to the rules (llm-prices.yaml)
        rule = _load(path)
        rules[rule.id] = rule
    return rules
