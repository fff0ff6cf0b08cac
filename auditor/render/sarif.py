"""SARIF 2.1.0 for GitHub code scanning and other SARIF viewers: rule metadata from the rule YAMLs,
one result per finding with its region, fingerprint and evidence chain (as a code flow).

Deterministic: no timestamps, no absolute paths; URIs are relative to the scanned root
(``%SRCROOT%``), so upload from a scan of the repository's root.
"""

from __future__ import annotations

import json

from auditor import __version__
from auditor.render.report_model import split_hop
from auditor.rules import load_rules
from auditor.scan import ScanResult

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FINGERPRINT_KEY = "auditFingerprint/v1"
SRCROOT = "%SRCROOT%"

LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub reads security-severity as a CVSS-like score: >= 9.0 critical, 7.0-8.9 high, 4.0-6.9
# medium, 0.1-3.9 low.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}
PRECISION = {"high": "high", "medium": "medium", "low": "low"}
SECURITY_RULES = {"SQL106"}  # SQL built by string formatting: an injection risk, not only a slow query


def _rule_descriptor(rule) -> dict:
    tags = sorted({"performance", rule.category} | ({"security"} if rule.id in SECURITY_RULES else set()))
    references = "\n".join(f"- [{title}]({url})" for title, url in rule.references if url)
    help_markdown = rule.remediation + (f"\n\n**References**\n\n{references}" if references else "")
    descriptor = {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.rationale},
        "help": {"text": rule.remediation, "markdown": help_markdown},
        "defaultConfiguration": {"level": LEVELS.get(rule.severity, "warning")},
        "properties": {
            "tags": tags,
            "precision": PRECISION.get(rule.confidence, "medium"),
            "problem.severity": _problem_severity(rule.severity),
            "security-severity": SECURITY_SEVERITY.get(rule.severity, "5.5"),
        },
    }
    return descriptor


def _problem_severity(severity: str) -> str:
    """GitHub's ``problem.severity`` (error, warning, recommendation) for non-security rules."""
    return {"error": "error", "warning": "warning"}.get(LEVELS.get(severity, "warning"), "recommendation")


def _location(path: str, line: int, end_line: int = 0, column: int = 0, snippet: str = "", message: str = "") -> dict:
    """A physical location; without a region when ``line`` is 0 (a live finding about a database object)."""
    if line <= 0:
        location = {"physicalLocation": {"artifactLocation": {"uri": path}}}
        if message:
            location["message"] = {"text": message}
        return location
    region = {"startLine": line}
    if column:
        region["startColumn"] = column + 1
    if end_line and end_line >= line:
        region["endLine"] = end_line
    if snippet:
        region["snippet"] = {"text": snippet}
    location = {"physicalLocation": {"artifactLocation": {"uri": path, "uriBaseId": SRCROOT}, "region": region}}
    if message:
        location["message"] = {"text": message}
    return location


def _code_flow(chain: list) -> list:
    """The evidence chain as one thread flow, outermost call first; hops without a location are skipped."""
    steps = []
    for hop in chain:
        parts = split_hop(hop)
        if not parts["where"]:
            continue
        path, _, line = parts["where"].rpartition(":")
        steps.append({"location": _location(path, int(line), message=parts["label"])})
    if len(steps) < 2:
        return []
    return [{"message": {"text": "evidence: " + " -> ".join(chain)}, "threadFlows": [{"locations": steps}]}]


def _result(finding, rule_index: dict) -> dict:
    message = finding.message.rstrip()
    if not message.endswith("."):
        message += "."
    result = {
        "ruleId": finding.rule,
        "level": LEVELS.get(finding.severity, "warning"),
        "message": {"text": f"{message} Fix: {finding.remediation}"},
        "locations": [_location(finding.path, finding.line, finding.end_line, finding.column, finding.excerpt)],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": {
            "severity": finding.severity,
            "confidence": finding.confidence,
            "precision": PRECISION.get(finding.confidence, "medium"),
            "priority": finding.priority,
            "category": finding.category,
            "effort": finding.effort,
        },
    }
    if finding.rule in rule_index:
        result["ruleIndex"] = rule_index[finding.rule]
    flows = _code_flow(finding.chain)
    if flows:
        result["codeFlows"] = flows
    for key in ("request_path", "workload", "cost"):
        if finding.context.get(key):
            result["properties"][key] = finding.context[key]
    return result


def to_sarif(result: ScanResult) -> dict:
    """The SARIF log as plain data: one run, every rule of the catalog, one result per finding."""
    rules = load_rules()
    descriptors = [_rule_descriptor(rule) for _, rule in sorted(rules.items())]
    rule_index = {descriptor["id"]: number for number, descriptor in enumerate(descriptors)}
    notifications = []
    for path, message in result.notes:
        notification = {"level": "warning", "message": {"text": message}}
        if path:
            notification["locations"] = [{"physicalLocation": {"artifactLocation": {"uri": path, "uriBaseId": SRCROOT}}}]
        notifications.append(notification)
    run = {
        "tool": {"driver": {
            "name": "audit",
            "version": __version__,
            "semanticVersion": __version__,
            "rules": descriptors,
        }},
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
        "columnKind": "unicodeCodePoints",
        "results": [_result(finding, rule_index) for finding in result.findings],
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def render_sarif(result: ScanResult) -> str:
    """The SARIF log as JSON with a trailing newline."""
    return json.dumps(to_sarif(result), indent=2, ensure_ascii=False) + "\n"
