"""Narrow a scan to its new findings: those not in a baseline file and/or not in a git revision."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from auditor.baseline import read_baseline, subtract
from auditor.config import Config
from auditor.diff_mode import base_findings


def keep_new_findings(result, config: Config, baseline: Optional[Path], diff_ref: Optional[str],
                      jobs: Optional[int] = None) -> list:
    """Remove the findings ``baseline`` or the ``diff_ref`` revision already has from ``result``; record
    the counts in ``result.metrics`` and return one line per subtraction for the user.

    Raises :class:`~auditor.baseline.BaselineError` or :class:`~auditor.diff_mode.DiffError`. The
    baseline goes first, so that its "fixed" count sees every current finding.
    """
    messages = []
    if baseline is not None:
        known = read_baseline(baseline)
        result.findings, matched, fixed = subtract(result.findings, known)
        result.metrics["baseline"] = {"entries": len(known), "matched": matched, "fixed": fixed}
        messages.append(f"baseline {baseline}: {matched} of {len(known)} baseline findings still present "
                        f"(not reported), {fixed} fixed")
    if diff_ref is not None:
        commit, base = base_findings(Path(result.root), diff_ref, config, jobs)
        known = [(finding.fingerprint, finding.line) for finding in base]
        result.findings, matched, _ = subtract(result.findings, known)
        result.metrics["diff"] = {"ref": diff_ref, "commit": commit, "base_findings": len(base), "matched": matched}
        messages.append(f"diff against {diff_ref} ({commit[:12]}): {len(base)} findings there, "
                        f"{matched} of them still present (not reported)")
    if messages:
        count = len(result.findings)
        messages.append(f"{count} new finding{'' if count == 1 else 's'}")
    return messages
