"""Run a scan: discover, extract facts (in parallel), link, check, rank."""

from __future__ import annotations

import gc
import io
import os
import re
import tokenize
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from auditor.config import Config
from auditor.discovery import discover
from auditor.fact_cache import FactCache, load_all
from auditor.facts import ModuleFacts
from auditor.findings import assign_fingerprints, sort_key
from auditor.limits import FileTimeLimit, file_time_limit, limited_time, time_limit_note
from auditor.policy import apply_policy
from auditor.result_cache import Checked, ResultCache, project_key
from auditor.rules import load_rules
from auditor.schema_paths import schema_texts

# The parser, the linker, the checks and the SQL analysis (sqlglot) are imported when a scan
# needs them: a re-scan that reuses the last result (a pre-commit hook) never does.

MAX_FILE_BYTES = 5 * 1024 * 1024
TEST_DIRECTORIES = {"tests", "test", "testing"}

# libcst's native parser (used only to lower syntax newer than this interpreter's) recurses on
# nesting until the process runs out of stack and dies (at about 1,500 nested brackets), so
# deeper files are never handed to it.
MAX_BRACKET_DEPTH = 200  # CPython's own limit
# CPython's parser refuses these cleanly.
_TOO_DEEP = ("too many nested parentheses", "too many levels of indentation", "too complex",
             "too many statically nested blocks")
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*[-\w.]+")


@dataclass
class ScanResult:
    """Findings, notes and the code base metrics of one scan."""

    root: str
    findings: list
    notes: list  # (path, message)
    metrics: dict = field(default_factory=dict)
    sql: object = None  # the SqlAnalysis (statements, schema, access paths, index advice)
    cache: dict = field(default_factory=dict)  # the facts cache: dir, reused, parsed (or error)


def _read_and_extract(root: str, rel: str) -> ModuleFacts:
    """Worker: read one file and extract its facts; never raises."""
    path = Path(root) / rel
    try:
        data = path.read_bytes()
    except OSError as exc:
        return ModuleFacts(path=rel, module="", lines=0, error=f"unreadable: {exc.strerror or exc}")
    if b"\x00" in data:
        return ModuleFacts(path=rel, module="", lines=0, error="skipped: binary file (NUL bytes)")
    lines = data.count(b"\n") + 1
    if len(data) > MAX_FILE_BYTES:
        return ModuleFacts(path=rel, module="", lines=lines,
                           error=f"skipped: {len(data) // 1024} KiB is over the {MAX_FILE_BYTES // 1024} KiB limit")
    if not data.strip():
        return ModuleFacts(path=rel, module="", lines=0)
    problem = _undecodable(data)
    if problem:
        return ModuleFacts(path=rel, module="", lines=lines, error=problem)
    limit = file_time_limit()
    try:
        with limited_time(limit):
            return _parse_and_extract(rel, data, lines)
    except FileTimeLimit:
        return ModuleFacts(path=rel, module="", lines=lines, error=time_limit_note(limit))
    except RecursionError:
        return ModuleFacts(path=rel, module="", lines=lines, error="skipped: nesting too deep to analyse")
    except Exception as exc:  # noqa: BLE001 - one odd file must not lose the scan
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return ModuleFacts(path=rel, module="", lines=lines, error=f"could not be parsed: {message[:200]}")


def _parse_and_extract(rel: str, data: bytes, lines: int) -> ModuleFacts:
    """Facts of a file CPython parses; otherwise of its lowered syntax (newer than this
    interpreter's), with CPython's diagnostic when that fails too."""
    from auditor.extract import extract_facts, parse

    try:
        tree = parse(data, rel)
    except (RecursionError, MemoryError):
        return ModuleFacts(path=rel, module="", lines=lines, error="skipped: nesting too deep to analyse")
    except SyntaxError as exc:
        if any(text in str(exc.msg) for text in _TOO_DEEP) or _bracket_depth(data) > MAX_BRACKET_DEPTH:
            # libcst, which lowers newer syntax, would recurse until the process dies
            return ModuleFacts(path=rel, module="", lines=lines, error="skipped: nesting too deep to analyse")
        facts = extract_facts(rel, data)
        if facts.error and exc.lineno:
            # CPython's diagnostic is the more precise one (right line, "Missing parentheses in call to 'print'").
            facts.error = f"syntax error at line {exc.lineno}: {exc.msg} (not analysed)"
        return facts
    except (ValueError, TypeError, OverflowError, LookupError) as exc:
        return ModuleFacts(path=rel, module="", lines=lines, error=f"syntax error at line 1: {exc} (not analysed)")
    return extract_facts(rel, data, tree)


def _bracket_depth(data: bytes) -> int:
    """The deepest bracket nesting of a file CPython could not parse (0 if it cannot be tokenised)."""
    depth = deepest = 0
    try:
        for token in tokenize.tokenize(io.BytesIO(data).readline):
            if token.type == tokenize.OP:
                if token.string in "([{":
                    depth += 1
                    deepest = max(deepest, depth)
                elif token.string in ")]}":
                    depth = max(depth - 1, 0)
    except (tokenize.TokenError, SyntaxError, ValueError):
        pass
    return deepest


def _undecodable(data: bytes) -> str:
    """Why the bytes are not text in their declared (or the default UTF-8) encoding, or ''."""
    declared = any(_CODING.match(head) for head in data.splitlines()[:2])
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        if declared:  # an unknown codec in the coding cookie, or a cookie contradicting a BOM
            return f"skipped: {exc.msg if hasattr(exc, 'msg') else exc}"
        encoding = "utf-8"  # the first lines are not UTF-8: find the offending byte below
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        name = "utf-8" if encoding.startswith("utf-8") else encoding
        hint = "" if declared else " and no coding declaration"
        return f"skipped: invalid {name} (byte 0x{data[exc.start]:02x} at line {line}){hint}"
    except LookupError:  # a codec that does not decode bytes to text, such as rot13
        return f"skipped: {encoding} is not a text encoding"
    return ""


def extract_all(root: Path, files: list, jobs: int, progress: Optional[Callable] = None) -> list:
    """Facts for every file, in the order of ``files``. While worker processes parse, the parent
    imports what the analysis needs (it would otherwise wait for their results idle)."""
    import auditor.extract  # noqa: F401 - once, before the workers are forked
    if jobs <= 1 or len(files) < 8:
        results = []
        for rel in files:
            results.append(_read_and_extract(str(root), rel))
            if progress:
                progress()
        return results
    results: list = []
    while len(results) < len(files):
        remaining = files[len(results):]
        try:
            with ProcessPoolExecutor(max_workers=jobs, initializer=gc.disable) as pool:
                chunk = max(1, min(32, len(remaining) // (jobs * 8) or 1))
                extracted = pool.map(_read_and_extract, [str(root)] * len(remaining), remaining, chunksize=chunk)
                _import_analysis()
                for facts in extracted:
                    results.append(facts)
                    if progress:
                        progress()
        except BrokenProcessPool:
            # A worker died (the native parser crashed on some file). The next file in order is the
            # first one without a result: run it alone, then go on with a fresh pool.
            results.append(_isolated(str(root), files[len(results)]))
            if progress:
                progress()
    return results


def _import_analysis() -> None:
    """Import the linker, the checks and the SQL analysis, and read the rules."""
    import auditor.checks  # noqa: F401
    import auditor.sql.analysis  # noqa: F401

    load_rules()


def file_keys(root: Path, files: list) -> dict:
    """``{rel: FactCache.key}`` of every readable file."""
    keys = {}
    for rel in files:
        try:
            keys[rel] = FactCache.key(rel, (root / rel).read_bytes())
        except OSError:
            pass  # extraction reports it
    return keys


def extract_cached(root: Path, files: list, jobs: int, cache: FactCache, keys: dict,
                   progress: Optional[Callable] = None) -> list:
    """``extract_all`` that parses only the files whose path and bytes (``keys``, see
    :func:`file_keys`) the cache has not seen."""
    cached = load_all(cache, keys)
    if progress:
        for _ in cached:
            progress()
    missing = [rel for rel in files if rel not in cached]
    cache.misses += len(missing)
    for rel, facts in zip(missing, extract_all(root, missing, jobs, progress)):
        cached[rel] = facts
        # A file that failed (or hit a limit) is tried again next time; one that changed while
        # it was read is stored under the bytes it had when it was hashed, and parsed again later.
        if not facts.error and rel in keys:
            cache.store(keys[rel], facts)
    return [cached[rel] for rel in files]


def _isolated(root: str, rel: str) -> ModuleFacts:
    """``_read_and_extract`` in a process of its own, so that a crash loses only this file."""
    try:
        with ProcessPoolExecutor(max_workers=1) as pool:
            return pool.submit(_read_and_extract, root, rel).result()
    except BrokenProcessPool:
        return ModuleFacts(path=rel, module="", lines=0, error="skipped: the parser crashed on this file")


def run_scan(root: Path, config: Config, jobs: Optional[int] = None,
             progress_factory: Optional[Callable] = None, cache_dir: Optional[Path] = None) -> ScanResult:
    """Scan the tree under ``root``; with ``cache_dir``, reuse the facts of files seen before and
    the whole result when no input changed."""
    root = root.resolve()
    found = discover(root, tuple(config.exclude))
    files = found.files if config.include_tests else [rel for rel in found.files if not is_test_code(rel)]
    jobs = jobs or os.cpu_count() or 1
    schema = schema_texts(root, config.schema, found.sql_files)
    cache, cache_info = _open_cache(cache_dir)
    if cache is not None:
        keys = file_keys(root, files)
        results = ResultCache(cache)
        result_key = project_key(root, config, keys, found.sql_files, schema, found.notes)
        checked = results.load(result_key)
        if checked is not None:
            cache_info.update(reused=len(files), parsed=0, result="reused")
            return _finish(root, config, found, checked, cache_info)
    progress = progress_factory(len(files)) if progress_factory else None
    # Extraction and the analysis make millions of objects and few garbage cycles (extract_facts
    # breaks its one; the SQL analysis keeps the statement trees it parses): the collector, here
    # and in the workers, would only walk them again and again (a third of the extraction's time,
    # and 0.3 s of the 1.8 s the analysis of 600k lines takes). It is back on once the result is
    # made, with what the scan made moved to the oldest generation without a pass over it (the
    # first young collection would otherwise walk all of it).
    collecting = gc.isenabled()
    gc.disable()
    try:
        if cache is None:
            all_facts = extract_all(root, files, jobs, progress)
        else:
            all_facts = extract_cached(root, files, jobs, cache, keys, progress)
            cache_info.update(reused=cache.hits, parsed=cache.misses)
        checked = _analyse(root, config, found, all_facts, schema)
    finally:
        gc.freeze()
        gc.unfreeze()
        if collecting:
            gc.enable()
    if cache is not None:
        results.store(result_key, checked, root)
    return _finish(root, config, found, checked, cache_info)


def _analyse(root: Path, config: Config, found, all_facts: list, schema: tuple) -> Checked:
    """Link the facts and check them."""
    from auditor.catalog import load_catalog
    from auditor.checks import run_checks
    from auditor.link import Program
    from auditor.sql.analysis import analyse_sql

    catalog = load_catalog(config.queries, config.connections, config.llm_functions, config.llm_prices,
                           config.llm_traffic)
    program = Program(all_facts, catalog)
    production = _production(config)
    extra_ddl, schema_notes = schema
    program.sql = analyse_sql(program, root, found.sql_files, config.dialect, production, extra_ddl)
    findings = run_checks(program)
    hidden = 0
    if not config.include_tests:
        kept = [f for f in findings if not is_test_path(f.path) or _is_schema_finding(f)]
        hidden = len(findings) - len(kept)
        findings = kept
    findings.sort(key=sort_key)
    assign_fingerprints(findings)
    notes = list(found.notes) + [(f.path, f.error) for f in all_facts if f.error] + list(program.sql.notes)
    metrics = _metrics(all_facts, found.sql_files, program)
    metrics.update(_sql_metrics(program.sql))
    metrics["test_findings_hidden"] = hidden
    metrics["test_files_skipped"] = len(found.files) - len(all_facts)
    return Checked(findings=findings, notes=notes + list(schema_notes), metrics=metrics, sql=program.sql)


def _finish(root: Path, config: Config, found, checked: Checked, cache_info: dict) -> ScanResult:
    """Apply the configuration's policy (select, ignore, severities, suppressions) to the result."""
    findings, policy_notes, policy_metrics = apply_policy(root, config, checked.findings,
                                                          found.files + found.sql_files, _production(config),
                                                          load_rules())
    metrics = {**checked.metrics, **policy_metrics}
    return ScanResult(root=str(root), findings=findings, notes=sorted(checked.notes + policy_notes),
                      metrics=metrics, sql=checked.sql, cache=cache_info)


def _production(config: Config) -> Callable:
    """Whether a path is production code (everything, when tests are included)."""
    return (lambda path: True) if config.include_tests else (lambda path: not is_test_path(path))


def _open_cache(cache_dir: Optional[Path]) -> tuple:
    """``(FactCache or None, {"dir": ..., "error": ...})``; a cache that cannot be used is skipped."""
    if cache_dir is None:
        return None, {}
    try:
        cache = FactCache.open(cache_dir)
    except OSError as exc:
        return None, {"dir": str(cache_dir), "error": f"{exc.strerror or exc}"}
    return cache, {"dir": str(cache.directory)}


def _is_schema_finding(finding) -> bool:
    """An index declared in a migration is production schema, not test code."""
    return finding.rule.startswith("IDX") and is_migration_path(finding.path)


def is_migration_path(path: str) -> bool:
    """Django's ``migrations/0001_*.py``, Alembic's ``versions/`` under ``alembic``/``migrations``."""
    parts = path.split("/")
    directories = parts[:-1]
    return (directories[-1:] == ["migrations"] and parts[-1][:1].isdigit()) or (
        "versions" in directories and any(d in {"alembic", "migrations", "migration"} for d in directories))


def is_test_code(path: str) -> bool:
    """Test code proper (not a migration): not scanned unless tests are included."""
    return is_test_path(path) and not is_migration_path(path)


def is_test_path(path: str) -> bool:
    """Test and migration code: under ``tests/``/``test/``, ``test_*.py``, ``*_test.py``,
    ``conftest.py``, ``tests.py``, or a migration (Django's ``migrations/0001_*.py``, Alembic's
    ``versions/`` under an ``alembic``/``migrations`` directory). It runs once or never in
    production; ``utils/migrations/__init__.py`` is ordinary code."""
    parts = path.split("/")
    name = parts[-1]
    return (
        any(part in TEST_DIRECTORIES for part in parts[:-1])
        or is_migration_path(path)
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name in {"conftest.py", "tests.py"}
    )


def _sql_metrics(analysis) -> dict:
    return {
        "sql_statements": len(analysis.statements),
        "sql_unparsed": sum(1 for s in analysis.statements
                            if s.parsed.tree is None and s.parsed.error and not s.parsed.templated),
        "schema_tables": len(analysis.schema.tables),
        "access_paths": len(analysis.paths),
        "recommended_indexes": len(analysis.advice.recommendations),
    }


def _metrics(all_facts: list, sql_files: list, program) -> dict:
    from auditor.link import is_cached_function

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
