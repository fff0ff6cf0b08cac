"""The JSON report: versioned, deterministic (same input, byte-identical output).

Schema 1.1 adds ``project`` (the scanned directory's name) and ``sql`` (the dialect and the
index script) so that a saved scan can be rendered
again in every format (``audit report``); 1.0 reports still load, without the index script.
"""

from __future__ import annotations

import json
from pathlib import Path

from auditor import __version__
from auditor.findings import SEVERITIES
from auditor.render.index_advice import index_section
from auditor.scan import ScanResult

SCHEMA_VERSION = "1.1"


def to_document(result: ScanResult) -> dict:
    """The report as plain data."""
    counts = {severity: 0 for severity in SEVERITIES}
    for finding in result.findings:
        counts[finding.severity] += 1
    sql = index_section(result)
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "audit", "version": __version__},
        "project": Path(result.root).name,
        "summary": {"findings": len(result.findings), "by_severity": counts, **result.metrics},
        "findings": [finding.to_dict() for finding in result.findings],
        "notes": [{"path": path, "message": message} for path, message in result.notes],
        "sql": None if sql is None else {"dialect": sql.dialect, "index_script": sql.index_script},
    }


def render_json(result: ScanResult) -> str:
    """Serialise the report with sorted keys and a trailing newline."""
    return json.dumps(to_document(result), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
