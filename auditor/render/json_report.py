"""The JSON report: versioned, deterministic (same input, byte-identical output)."""

from __future__ import annotations

import json

from auditor import __version__
from auditor.findings import SEVERITIES
from auditor.scan import ScanResult

SCHEMA_VERSION = "1.0"


def to_document(result: ScanResult) -> dict:
    """The report as plain data."""
    counts = {severity: 0 for severity in SEVERITIES}
    for finding in result.findings:
        counts[finding.severity] += 1
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "audit", "version": __version__},
        "summary": {"findings": len(result.findings), "by_severity": counts, **result.metrics},
        "findings": [finding.to_dict() for finding in result.findings],
        "notes": [{"path": path, "message": message} for path, message in result.notes],
    }


def render_json(result: ScanResult) -> str:
    """Serialise the report with sorted keys and a trailing newline."""
    return json.dumps(to_document(result), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
