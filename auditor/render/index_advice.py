"""The index advice a report carries: the reviewed index script of a scan, or of a saved scan."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional


@dataclass(frozen=True)
class SavedSql:
    """The SQL analysis as a saved JSON report keeps it: the dialect and the rendered index script."""

    dialect: str
    index_script: str


def index_section(result) -> Optional[SavedSql]:
    """The dialect and index script of ``result`` (a fresh scan, a reused result or a re-loaded
    report), or None when the scan had no SQL analysis."""
    analysis = result.sql
    if analysis is None:
        return None
    if isinstance(analysis, SavedSql):
        return analysis
    if isinstance(analysis, DeferredSql):
        return analysis.saved
    return saved_sql(analysis, result.root)


def saved_sql(analysis, root: str) -> SavedSql:
    """The dialect and reviewed index script of a SQL analysis of the tree at ``root``."""
    from auditor.sql.index_script import render_index_script  # sqlglot: only when there is SQL to render

    notes = list(analysis.advice.notes) + [f"{path}: {message}" for path, message in analysis.notes]
    script = render_index_script(analysis.advice.recommendations, analysis.schema, analysis.dialect,
                                 notes=notes, redundant=analysis.redundant, source=Path(root).name,
                                 access_paths=len(analysis.paths))
    return SavedSql(dialect=analysis.dialect, index_script=script)


class DeferredSql:
    """The SQL analysis of a reused scan result (:mod:`auditor.result_cache`): its index advice as
    rendered when the result was stored, and the analysis itself unpickled (with sqlglot imported)
    only when something reads it, such as ``audit indexes``."""

    def __init__(self, saved: SavedSql, pickled: bytes) -> None:
        self.saved = saved
        self._pickled = pickled
        self._analysis = None

    @property
    def analysis(self):
        """The SqlAnalysis."""
        if self._analysis is None:
            import pickle

            self._analysis = pickle.loads(self._pickled)  # from an entry whose signature was checked
        return self._analysis

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.analysis, name)

