"""The analysed result of a whole scan, reused when nothing that decides it has changed.

A re-scan of an unchanged tree (a pre-commit hook on a commit that touches no Python or SQL, a
CI job run again) needs no parsing, linking or checking: the result of the last scan of the same
inputs is read back and only the configuration's policy (select, ignore, baseline, diff) is
applied again. The key covers every input of the analysis: the path and bytes of every scanned
Python and SQL file, the extra schema texts, the discovery notes, the configuration, and every
file of the tool (the ``auditor`` package and its rules and catalogs) with the Python and
sqlglot versions. Entries live in ``<cache dir>/results/``, signed like the facts
(:class:`~auditor.fact_cache.FactCache`); the newest :data:`KEEP` are kept.
"""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

from auditor import __version__
from auditor.fact_cache import FactCache
from auditor.render.index_advice import DeferredSql, saved_sql
from auditor.resources import rules_dir

KEEP = 16


@dataclass
class Checked:
    """What the analysis of a tree produced, before the configuration's policy is applied."""

    findings: list
    notes: list  # (path, message)
    metrics: dict
    sql: object  # the SqlAnalysis (a DeferredSql when reused)


@lru_cache(maxsize=1)
def analysis_key() -> str:
    """A digest of the tool: every source of the ``auditor`` package, the rules and catalogs,
    and the Python and sqlglot versions."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        sqlglot = version("sqlglot")
    except PackageNotFoundError:
        sqlglot = "?"
    digest = hashlib.sha256(f"{__version__}|{sys.version}|{sqlglot}".encode())
    package = Path(__file__).resolve().parent
    rules = rules_dir()
    for base, pattern in ((package, "*.py"), (rules, "*")):
        for path in sorted(base.rglob(pattern)):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.relative_to(base).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def project_key(root: Path, config: object, file_keys: dict, sql_files: list, schema: tuple,
                notes: list) -> str:
    """The key of one scan's inputs: ``file_keys`` maps each scanned Python file to its
    :meth:`FactCache.key`; ``schema`` is what :func:`~auditor.schema_paths.schema_texts` read."""
    digest = hashlib.sha256(f"{analysis_key()}|{root}|{config!r}|{notes!r}|{schema!r}".encode())
    for rel, key in sorted(file_keys.items()):
        digest.update(f"{rel}\0{key}\n".encode("utf-8", "surrogateescape"))
    for rel in sql_files:
        try:
            data = (root / rel).read_bytes()
        except OSError as exc:
            data = f"unreadable: {exc}".encode()
        digest.update(FactCache.key(rel, data).encode())
    return digest.hexdigest()


class ResultCache:
    """Results of whole scans under ``<cache dir>/results/<key>``."""

    def __init__(self, facts: FactCache) -> None:
        self.facts = facts
        self.directory = facts.directory / "results"

    def load(self, key: str) -> Optional[Checked]:
        """The stored result, or None (absent, foreign, tampered with or corrupt). Its SQL analysis
        is a :class:`DeferredSql`: reports read the index script rendered when it was stored, and
        only what needs the analysis itself unpickles it (and imports sqlglot)."""
        checked = self.facts.read_signed(self.directory / key, key)
        if not isinstance(checked, Checked):
            return None
        if checked.sql is not None:
            saved, pickled = checked.sql
            checked.sql = DeferredSql(saved, pickled)
        return checked

    def store(self, key: str, checked: Checked, root: Path) -> None:
        """Store the result of a scan of ``root`` and drop all but the newest :data:`KEEP`."""
        if checked.sql is not None:
            checked = dataclasses.replace(checked, sql=(saved_sql(checked.sql, str(root)),
                                                        pickle.dumps(checked.sql, protocol=pickle.HIGHEST_PROTOCOL)))
        self.facts.write_signed(self.directory / key, key, checked)
        try:
            entries = sorted((entry for entry in self.directory.iterdir() if not entry.name.startswith(".")),
                             key=lambda entry: entry.stat().st_mtime, reverse=True)
            for entry in entries[KEEP:]:
                entry.unlink()
        except OSError:
            pass  # another scan removed it first, or the directory is read-only
