"""Run a scan: discover, extract facts (in parallel), link, check, rank."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from auditor.catalog import load_catalog
from auditor.checks import run_checks
from auditor.config import Config
from auditor.discovery import discover
from auditor.extract import extract_facts
from auditor.facts import ModuleFacts
from auditor.findings import assign_fingerprints, sort_key
from auditor.link import Program, is_cached_function

MAX_FILE_BYTES = 5 * 1024 * 1024


@dataclass
class ScanResult:
    """Findings, notes and the code base metrics of one scan."""

    root: str
    findings: list
    notes: list  # (path, message)
    metrics: dict = field(default_factory=dict)


def _read_and_extract(root: str, rel: str) -> ModuleFacts:
    """Worker: read one file and extract its facts; never raises."""
    path = Path(root) / rel
    try:
        data = path.read_bytes()
    except OSError as exc:
        return ModuleFacts(path=rel, module="", lines=0, error=f"unreadable: {exc.strerror or exc}")
    if b"\x00" in data:
        return ModuleFacts(path=rel, module="", lines=0, error="skipped: binary file (NUL bytes)")
    if len(data) > MAX_FILE_BYTES:
        return ModuleFacts(path=rel, module="", lines=data.count(b"\n") + 1,
                           error=f"skipped: {len(data) // 1024} KiB is over the {MAX_FILE_BYTES // 1024} KiB limit")
    if not data.strip():
        return ModuleFacts(path=rel, module="", lines=0)
    try:
        return extract_facts(rel, data)
    except RecursionError:
        return ModuleFacts(path=rel, module="", lines=data.count(b"\n") + 1,
                           error="skipped: nesting too deep to analyse")
    except Exception as exc:  # noqa: BLE001 - one odd file must not lose the scan
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return ModuleFacts(path=rel, module="", lines=data.count(b"\n") + 1,
                           error=f"could not be parsed: {message[:200]}")


def extract_all(root: Path, files: list, jobs: int, progress: Optional[Callable] = None) -> list:
    """Facts for every file, in the order of ``files``."""
    if jobs <= 1 or len(files) < 8:
        results = []
        for rel in files:
            results.append(_read_and_extract(str(root), rel))
            if progress:
                progress()
        return results
    results = []
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        chunk = max(1, min(32, len(files) // (jobs * 8) or 1))
        for facts in pool.map(_read_and_extract, [str(root)] * len(files), files, chunksize=chunk):
            results.append(facts)
            if progress:
                progress()
    return results


def run_scan(root: Path, config: Config, jobs: Optional[int] = None,
             progress_factory: Optional[Callable] = None) -> ScanResult:
    """Scan the tree under ``root``."""
    root = root.resolve()
    found = discover(root, tuple(config.exclude))
    jobs = jobs or os.cpu_count() or 1
    progress = progress_factory(len(found.files)) if progress_factory else None
    all_facts = extract_all(root, found.files, jobs, progress)
    catalog = load_catalog(config.queries, config.connections)
    program = Program(all_facts, catalog)
    findings = run_checks(program)
    findings.sort(key=sort_key)
    assign_fingerprints(findings)
    notes = list(found.notes) + [(f.path, f.error) for f in all_facts if f.error]
    notes.sort()
    return ScanResult(root=str(root), findings=findings, notes=notes,
                      metrics=_metrics(all_facts, found.sql_files, program))


def _metrics(all_facts: list, sql_files: list, program: Program) -> dict:
    functions = [f for facts in all_facts for f in facts.functions if f.name != "<module>"]
    db_sites = 0
    connect_files = set()
    for infos in program.calls.values():
        for info in infos:
            if info.effect in {"read", "write", "batch"} and not info.synthetic:
                db_sites += 1
            if info.effect in {"connect", "engine"}:
                connect_files.add(info.path)
    return {
        "files": len(all_facts),
        "lines": sum(f.lines for f in all_facts),
        "sql_files": len(sql_files),
        "functions": len(functions),
        "async_functions": sum(1 for f in functions if f.is_async),
        "cached_functions": sum(1 for f in functions if is_cached_function(f)),
        "db_call_sites": db_sites,
        "files_opening_connections": len(connect_files),
        "request_handlers": len(program.handlers),
        "unparsed_files": sum(1 for f in all_facts if f.error),
    }
