"""Baselines: the findings a project accepts for now, so that CI reports only new ones.

Findings are matched by fingerprint (rule, path, function, code and chain; no line numbers: see
:func:`auditor.findings.assign_fingerprints`) as a multiset: one baseline entry absorbs at most one
current finding, so three new copies of an accepted pattern next to it are still reported (two of
them, when the baseline holds one).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from auditor import __version__
from auditor.output_files import write_text_atomic

BASELINE_FORMAT = 1


class BaselineError(Exception):
    """A baseline file is missing or invalid; the message names the file."""


def baseline_document(findings: list) -> dict:
    """The baseline of ``findings`` as plain data (sorted, no timestamps: the same scan gives the same file)."""
    entries = [{"fingerprint": f.fingerprint, "rule": f.rule, "path": f.path, "line": f.line,
                "function": f.function, "message": f.message} for f in findings]
    entries.sort(key=lambda e: (e["path"], e["line"], e["rule"], e["fingerprint"]))
    return {"audit_baseline": BASELINE_FORMAT, "tool": {"name": "audit", "version": __version__},
            "findings": entries}


def write_baseline(findings: list, path: Path) -> None:
    """Write the baseline file (raises OSError)."""
    text = json.dumps(baseline_document(findings), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    write_text_atomic(path, text)


def read_baseline(path: Path) -> list:
    """``(fingerprint, line)`` of every entry of a baseline file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineError(f"baseline file not found: {path} (create it with: audit baseline create)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"cannot read baseline {path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{path}: not a baseline file: invalid JSON at line {exc.lineno} ({exc.msg})") from None
    if not isinstance(data, dict) or "audit_baseline" not in data:
        raise BaselineError(f"{path}: not an audit baseline file (no 'audit_baseline' key)")
    if data["audit_baseline"] != BASELINE_FORMAT:
        raise BaselineError(f"{path}: baseline format {data['audit_baseline']!r} is not supported "
                            f"(expected {BASELINE_FORMAT}); recreate it with: audit baseline create")
    entries = data.get("findings")
    if not isinstance(entries, list):
        raise BaselineError(f"{path}: 'findings' must be a list")
    result = []
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("fingerprint"), str) \
                or not isinstance(entry.get("line", 0), int):
            raise BaselineError(f"{path}: finding {number} has no valid 'fingerprint'")
        result.append((entry["fingerprint"], entry.get("line", 0)))
    return result


def subtract(findings: list, known: list) -> tuple:
    """``(new findings, matched, gone)``: ``findings`` without those ``known`` absorbs, as a multiset.

    ``known`` are ``(fingerprint, line)`` pairs (a baseline, or the findings of the base revision).
    Fingerprints are compared without their occurrence counter; within one fingerprint a known entry
    at the same line is paired first, then the rest in order, so that the copies reported as new
    are the ones the known entries cannot account for.
    """
    known_lines = defaultdict(list)
    for fingerprint, line in known:
        known_lines[_digest(fingerprint)].append(line)
    groups = defaultdict(list)
    for finding in findings:
        groups[_digest(finding.fingerprint)].append(finding)
    absorbed = set()
    matched = 0
    for digest, group in groups.items():
        lines = known_lines.get(digest, [])
        unpaired = []
        for finding in group:
            if finding.line in lines:
                lines.remove(finding.line)
                absorbed.add(id(finding))
                matched += 1
            else:
                unpaired.append(finding)
        for finding in unpaired[:len(lines)]:
            absorbed.add(id(finding))
            matched += 1
        del lines[:len(unpaired)]
    new = [finding for finding in findings if id(finding) not in absorbed]
    return new, matched, len(known) - matched


def _digest(fingerprint: str) -> str:
    return fingerprint.partition(":")[0]
