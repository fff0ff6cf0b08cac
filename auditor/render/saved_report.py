"""Load a saved JSON report (``audit scan --format json``) back into a ScanResult to render it again."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

from auditor.findings import CONFIDENCES, SEVERITIES, Finding, priority_for
from auditor.render.index_advice import SavedSql
from auditor.scan import ScanResult

READABLE_VERSIONS = ("1.0", "1.1")
_TYPES = {"line": int, "column": int, "end_line": int, "chain": list, "context": dict}


class ReportFileError(Exception):
    """The file is not a readable audit JSON report; the message is one line for the user."""


def load_report(path: Path) -> ScanResult:
    """The scan saved in ``path``; raises ReportFileError with a one-line reason."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportFileError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise ReportFileError(f"{path} is a directory, not a JSON report") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportFileError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportFileError(f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    return result_from_document(document, str(path))


def result_from_document(document, source: str = "the report") -> ScanResult:
    """A ScanResult from a parsed JSON report; raises ReportFileError when it is not one."""
    if not isinstance(document, dict) or "schema_version" not in document:
        raise ReportFileError(f"{source} is not an audit JSON report (no schema_version)")
    version = document["schema_version"]
    if version not in READABLE_VERSIONS:
        raise ReportFileError(f"{source} has schema version {version!r}; this audit reads "
                              f"{', '.join(READABLE_VERSIONS)}")
    summary = document.get("summary")
    findings = document.get("findings")
    notes = document.get("notes", [])
    if not isinstance(summary, dict) or not isinstance(findings, list) or not isinstance(notes, list):
        raise ReportFileError(f"{source} is not an audit JSON report (summary, findings or notes missing)")
    metrics = {key: value for key, value in summary.items() if key not in ("findings", "by_severity")}
    for key, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, (int, dict)):
            raise ReportFileError(f"{source}: summary {key} is not a count")
    loaded = [_finding(item, number, source) for number, item in enumerate(findings, 1)]
    try:
        kept_notes = [(note["path"], note["message"]) for note in notes]
    except (TypeError, KeyError):
        raise ReportFileError(f"{source}: a note lacks its path or message") from None
    sql = document.get("sql")
    saved = None
    if isinstance(sql, dict) and isinstance(sql.get("index_script"), str):
        saved = SavedSql(dialect=str(sql.get("dialect", "")), index_script=sql["index_script"])
    root = document.get("project") or Path(source).stem
    return ScanResult(root=str(root), findings=loaded, notes=kept_notes, metrics=metrics, sql=saved)


def _finding(item, number: int, source: str) -> Finding:
    if not isinstance(item, dict):
        raise ReportFileError(f"{source}: finding {number} is not an object")
    known = {field.name for field in fields(Finding)}
    missing = sorted(name for name in ("rule", "title", "category", "severity", "confidence", "path", "line",
                                       "column", "end_line", "function", "message", "remediation")
                     if name not in item)
    if missing:
        raise ReportFileError(f"{source}: finding {number} lacks {', '.join(missing)}")
    values = {key: value for key, value in item.items() if key in known}
    for key, kind in _TYPES.items():
        if key in values and not isinstance(values[key], kind):
            raise ReportFileError(f"{source}: finding {number} has a {key} that is not a{'n' if kind is int else ''} "
                                  f"{kind.__name__}")
    if values["severity"] not in SEVERITIES or values["confidence"] not in CONFIDENCES:
        raise ReportFileError(f"{source}: finding {number} has an unknown severity or confidence")
    if values.get("priority") not in ("P0", "P1", "P2", "P3"):
        values["priority"] = priority_for(values["severity"], values["confidence"])
    if values.get("effort") not in ("low", "medium", "high"):
        values["effort"] = "medium"
    return Finding(**values)
