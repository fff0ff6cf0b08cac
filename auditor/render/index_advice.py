"""The index advice a report carries: the reviewed index script of a scan, or of a saved scan."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from auditor.sql.index_script import render_index_script


@dataclass(frozen=True)
class SavedSql:
    """The SQL analysis as a saved JSON report keeps it: the dialect and the rendered index script."""

    dialect: str
    index_script: str


def index_section(result) -> Optional[SavedSql]:
    """The dialect and index script of ``result`` (a fresh scan or a re-loaded report), or None
    when the scan had no SQL analysis."""
    analysis = result.sql
    if analysis is None:
        return None
    if isinstance(analysis, SavedSql):
        return analysis
    notes = list(analysis.advice.notes) + [f"{path}: {message}" for path, message in analysis.notes]
    script = render_index_script(analysis.advice.recommendations, analysis.schema, analysis.dialect,
                                 notes=notes, redundant=analysis.redundant, source=Path(result.root).name,
                                 access_paths=len(analysis.paths))
    return SavedSql(dialect=analysis.dialect, index_script=script)
