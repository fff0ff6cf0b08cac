#!/usr/bin/env python3
"""Speed benchmark for ``audit scan`` against parse-only floors.

The benchmark installs pinned releases of large third-party Python packages
(Django and SQLAlchemy by default) into a cached corpus directory, then times,
in the same run and interleaved repetition by repetition:

* ``audit scan CORPUS --format json -o OUT --jobs J`` (a full scan; there is no cache yet),
* the *ast floor*: ``ast.parse`` of every ``.py`` file of the corpus with J
  processes, run as a child process of this script,
* optionally the *libcst floor*: ``libcst.parse_module`` of every file with J
  processes, run the same way (``--libcst-floor``).

Every measurement is a child process reaped with ``os.wait4``, which gives its
wall time, CPU time and peak RSS (``ru_maxrss``) measured identically for all
three.  The figures to quote are the ratios scan/floor; absolute times depend
on the (shared, noisy) machine.  See ``benchmarks/README.md``.

Only the standard library is used (libcst only inside the optional libcst
floor child).  Run ``python benchmarks/bench_scan.py --help`` for options.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import platform
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

DEFAULT_PACKAGES: tuple[str, ...] = ("django==5.1.4", "sqlalchemy==2.0.36")
DEFAULT_CORPUS_DIR = Path("~/.cache/audit-bench/corpus")
REPO_ROOT = Path(__file__).resolve().parent.parent
FLOOR_SUBCOMMAND = "_floor"
FLOOR_KINDS: tuple[str, ...] = ("ast", "libcst")
SCAN_OK_EXIT_CODES = frozenset({0, 1})
STDERR_TAIL_LINES = 40
KIB_PER_MIB = 1024.0
PIN_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9][A-Za-z0-9.+!_-]*)$")


class BenchError(Exception):
    """A fatal, already-explained benchmark failure (printed, then exit 2)."""


# --------------------------------------------------------------------------
# Floor child: runs in its own process, parses every file with J processes.
# --------------------------------------------------------------------------


def _parse_one_ast(path: str) -> str | None:
    """Parse one file with ``ast``; return None on success, else an error line."""
    import ast

    try:
        with open(path, "rb") as fh:
            source = fh.read()
        ast.parse(source, filename=path)
    except Exception as exc:  # SyntaxError, ValueError (NUL bytes), RecursionError...
        return f"{path}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None


def _parse_one_libcst(path: str) -> str | None:
    """Parse one file with ``libcst.parse_module``; None on success, else an error line."""
    import libcst

    try:
        with open(path, "rb") as fh:
            source = fh.read()
        libcst.parse_module(source)
    except Exception as exc:  # libcst.ParserSyntaxError and anything odd
        first = str(exc).splitlines()[0] if str(exc) else ""
        return f"{path}: {type(exc).__name__}: {first}"
    return None


def _floor_parser(kind: str):  # type: ignore[no-untyped-def]
    """Return the per-file parse function for a floor kind."""
    return _parse_one_ast if kind == "ast" else _parse_one_libcst


def floor_child_main(argv: Sequence[str]) -> int:
    """Entry point of the floor child: parse all listed files, print a JSON summary."""
    parser = argparse.ArgumentParser(prog=f"bench_scan.py {FLOOR_SUBCOMMAND}")
    parser.add_argument("kind", choices=FLOOR_KINDS)
    parser.add_argument("--jobs", type=int, required=True)
    parser.add_argument("--file-list", type=Path, required=True)
    args = parser.parse_args(argv)

    paths = [line for line in args.file_list.read_text("utf-8").splitlines() if line]
    parse_one = _floor_parser(args.kind)
    if args.kind == "libcst":
        import libcst  # noqa: F401  (import once in the parent, inherited by forked workers)

    start = time.perf_counter()
    errors = _parse_all(parse_one, paths, args.jobs)
    inner_s = time.perf_counter() - start

    summary = {"kind": args.kind, "files": len(paths), "failed": len(errors),
               "errors": errors[:20], "inner_s": inner_s}
    print(json.dumps(summary))
    return 0


def _parse_all(parse_one, paths: list[str], jobs: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Parse ``paths`` in-process (jobs == 1) or with a Pool of ``jobs`` workers."""
    if jobs <= 1:
        results: Iterable[str | None] = map(parse_one, paths)
        return sorted(r for r in results if r is not None)
    import multiprocessing

    chunksize = max(1, min(8, len(paths) // (jobs * 16)))
    with multiprocessing.Pool(processes=jobs) as pool:
        results = list(pool.imap_unordered(parse_one, paths, chunksize=chunksize))
        pool.close()
        pool.join()
    return sorted(r for r in results if r is not None)


# --------------------------------------------------------------------------
# Corpus: pinned packages installed with `pip install --target`, cached.
# --------------------------------------------------------------------------


@dataclass
class Corpus:
    """The scanned tree and its size."""

    root: str
    packages: list[str]
    py_files: int
    lines: int
    bytes: int
    by_top_level: dict[str, dict[str, int]] = field(default_factory=dict)


def validate_specs(specs: Sequence[str]) -> list[str]:
    """Require ``name==version`` pins (the cache is keyed by them); return them sorted."""
    bad = [s for s in specs if not PIN_RE.match(s)]
    if bad:
        raise BenchError(f"--packages must be pinned as name==version, got: {' '.join(bad)}")
    return sorted(specs, key=str.lower)


def corpus_slug(specs: Sequence[str]) -> str:
    """Directory name for a package set, readable and bounded in length."""
    readable = "_".join(s.lower().replace("==", "-") for s in specs)
    if len(readable) <= 80:
        return readable
    digest = hashlib.sha256("\n".join(specs).encode()).hexdigest()[:12]
    return f"{readable[:60]}_{digest}"


def ensure_corpus(specs: list[str], corpus_dir: Path, python: str, rebuild: bool) -> Path:
    """Return the installed corpus tree, installing it with pip if not cached."""
    corpus_dir.mkdir(parents=True, exist_ok=True)
    slug = corpus_slug(specs)
    target = corpus_dir / slug
    marker = corpus_dir / f"{slug}.complete.json"
    if not rebuild and target.is_dir() and _marker_matches(marker, specs):
        log(f"corpus: reusing cached {target}")
        return target
    log(f"corpus: installing {' '.join(specs)} into {target} (pip --target, --no-deps)")
    marker.unlink(missing_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{slug}-", dir=corpus_dir))
    try:
        _pip_install(specs, staging, python)
        if target.exists():
            _rmtree(target)
        os.replace(staging, target)
    finally:
        if staging.exists():
            _rmtree(staging)
    marker.write_text(json.dumps({"packages": specs, "python": platform.python_version(),
                                  "created": _now()}, indent=2) + "\n", "utf-8")
    return target


def _marker_matches(marker: Path, specs: list[str]) -> bool:
    """True when the completion marker exists and records exactly ``specs``."""
    try:
        return json.loads(marker.read_text("utf-8")).get("packages") == specs
    except (OSError, ValueError):
        return False


def _pip_install(specs: list[str], dest: Path, python: str) -> None:
    """``pip install --target dest --no-deps`` the specs; raise BenchError on failure."""
    cmd = [python, "-m", "pip", "install", "--target", str(dest), "--no-deps",
           "--no-compile", "--disable-pip-version-check", "--no-input", "--quiet", *specs]
    proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise BenchError(f"pip install failed (exit {proc.returncode}): {shlex.join(cmd)}\n"
                         + tail(proc.stdout + proc.stderr))


def _rmtree(path: Path) -> None:
    """Remove a directory tree (imported lazily to keep the module import light)."""
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def list_py_files(root: Path) -> list[Path]:
    """All ``.py`` files under root, sorted, skipping ``__pycache__``."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        found.extend(Path(dirpath, f) for f in sorted(filenames) if f.endswith(".py"))
    return found


def count_lines(data: bytes) -> int:
    """Physical lines in a file's bytes (a last line without newline counts)."""
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def measure_corpus(root: Path, specs: list[str], files: list[Path]) -> Corpus:
    """Count files, lines and bytes (this also warms the page cache)."""
    corpus = Corpus(root=str(root), packages=specs, py_files=len(files), lines=0, bytes=0)
    for path in files:
        data = path.read_bytes()
        lines = count_lines(data)
        corpus.lines += lines
        corpus.bytes += len(data)
        top = path.relative_to(root).parts[0] if len(path.relative_to(root).parts) > 1 else "."
        entry = corpus.by_top_level.setdefault(top, {"py_files": 0, "lines": 0})
        entry["py_files"] += 1
        entry["lines"] += lines
    return corpus


# --------------------------------------------------------------------------
# Measuring a child process: wall time, CPU time and peak RSS via os.wait4.
# --------------------------------------------------------------------------


@dataclass
class Run:
    """One measured child process."""

    wall_s: float
    cpu_s: float
    maxrss_kib: int
    exit_code: int
    timed_out: bool
    stdout: str = field(repr=False, default="")
    stderr: str = field(repr=False, default="")


def run_measured(cmd: Sequence[str], cwd: Path, timeout: float) -> Run:
    """Run ``cmd`` as a new session, reap it with ``os.wait4`` and return its usage.

    ``ru_maxrss`` from wait4 covers the child and every descendant it reaped
    (e.g. pool workers): it is the largest single process's peak, not a sum.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(list(cmd), cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=err, start_new_session=True)
        except OSError as exc:
            raise BenchError(f"cannot start {shlex.join(cmd)}: {exc}") from None
        timed_out = threading.Event()
        timer = threading.Timer(timeout, _timeout_kill, (proc.pid, timed_out))
        timer.daemon = True
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            _kill_group(proc.pid)
            os.wait4(proc.pid, 0)
            proc.returncode = -signal.SIGKILL
            raise
        finally:
            timer.cancel()
        wall_s = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        _reap_stragglers(proc.pid, cmd)
        return Run(wall_s=wall_s, cpu_s=usage.ru_utime + usage.ru_stime,
                   maxrss_kib=usage.ru_maxrss, exit_code=proc.returncode,
                   timed_out=timed_out.is_set(), stdout=_read_all(out), stderr=_read_all(err))


def _timeout_kill(pid: int, flag: threading.Event) -> None:
    """Timer callback: mark the run as timed out and kill its process group."""
    flag.set()
    _kill_group(pid)


def _kill_group(pgid: int) -> None:
    """SIGKILL a process group started by us, ignoring one that is already gone."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _reap_stragglers(pgid: int, cmd: Sequence[str]) -> None:
    """Kill workers the child left running in its group so they cannot skew later runs."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return
    log(f"warning: processes left running after {shlex.join(cmd)[:80]}...; killing them")
    _kill_group(pgid)


def _read_all(fh: Any) -> str:
    """Read a temporary output file from the start as text."""
    fh.seek(0)
    return fh.read().decode("utf-8", "replace")


def tail(text: str, lines: int = STDERR_TAIL_LINES) -> str:
    """Last ``lines`` lines of text, indented for display."""
    kept = text.rstrip().splitlines()[-lines:]
    return "\n".join("    " + line for line in kept) if kept else "    (empty)"


# --------------------------------------------------------------------------
# The three measurements.
# --------------------------------------------------------------------------


@dataclass
class Measurement:
    """All runs of one kind of measurement and their summary."""

    name: str
    command: list[str]
    runs: list[Run] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def wall(self) -> list[float]:
        """Wall seconds of every run."""
        return [r.wall_s for r in self.runs]

    def summary(self, lines: int) -> dict[str, Any]:
        """Median/min/max seconds, lines/s on the median, peak RSS and per-run data."""
        wall = self.wall()
        median = statistics.median(wall)
        return {
            "command": self.command,
            "median_s": median, "min_s": min(wall), "max_s": max(wall),
            "lines_per_s": lines / median if median > 0 else None,
            "median_cpu_s": statistics.median(r.cpu_s for r in self.runs),
            "peak_rss_mib": max(r.maxrss_kib for r in self.runs) / KIB_PER_MIB,
            "runs": [{"wall_s": r.wall_s, "cpu_s": r.cpu_s, "maxrss_kib": r.maxrss_kib,
                      "exit_code": r.exit_code} for r in self.runs],
            "notes": self.notes,
        }


def scan_command(audit_cmd: list[str], corpus: Path, out_json: Path, jobs: int) -> list[str]:
    """The full ``audit scan`` command line."""
    return [*audit_cmd, "scan", str(corpus), "--format", "json", "-o", str(out_json),
            "--jobs", str(jobs)]


def run_scan_once(m: Measurement, out_json: Path, timeout: float) -> None:
    """Run the scan once, check it, and append the run; raise BenchError on failure."""
    out_json.unlink(missing_ok=True)
    run = run_measured(m.command, REPO_ROOT, timeout)
    problem = _scan_problem(run, out_json)
    if problem:
        raise BenchError(f"audit scan failed: {problem}\n  command: {shlex.join(m.command)}\n"
                         f"  stderr tail:\n{tail(run.stderr)}")
    if not m.notes:
        m.notes.append(f"exit code {run.exit_code}; report {out_json.stat().st_size} bytes"
                       f"{'' if _is_json(out_json) else ' (NOT valid JSON)'}")
    m.runs.append(run)


def _scan_problem(run: Run, out_json: Path) -> str | None:
    """Describe why a scan run is not a success, or return None."""
    if run.timed_out:
        return f"timed out after {run.wall_s:.0f}s (killed)"
    if run.exit_code not in SCAN_OK_EXIT_CODES:
        how = f"killed by signal {-run.exit_code}" if run.exit_code < 0 else f"exit code {run.exit_code}"
        return how + " (0 and 1 are success, 2 is an error)"
    if not out_json.is_file():
        return f"exit code {run.exit_code} but no report was written to {out_json}"
    return None


def _is_json(path: Path) -> bool:
    """True when the file parses as JSON."""
    try:
        json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    return True


def floor_command(python: str, kind: str, jobs: int, file_list: Path) -> list[str]:
    """Command line of a floor child (this script, in floor mode)."""
    return [python, str(Path(__file__).resolve()), FLOOR_SUBCOMMAND, kind,
            "--jobs", str(jobs), "--file-list", str(file_list)]


def run_floor_once(m: Measurement, timeout: float) -> None:
    """Run one floor child, check it, record parse failures; raise BenchError if it broke."""
    run = run_measured(m.command, REPO_ROOT, timeout)
    try:
        if run.exit_code != 0 or run.timed_out:
            raise ValueError
        report = json.loads(run.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        state = "timed out" if run.timed_out else f"exit code {run.exit_code}"
        raise BenchError(f"{m.name} child failed ({state})\n  command: {shlex.join(m.command)}\n"
                         f"  stderr tail:\n{tail(run.stderr)}") from None
    if not m.notes:
        m.notes.append(f"{report['failed']} of {report['files']} files failed to parse")
        m.notes.extend(report["errors"][:5])
    m.runs.append(run)


def check_libcst(python: str) -> None:
    """Fail early when the floor interpreter cannot import libcst."""
    proc = subprocess.run([python, "-c", "import libcst"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise BenchError(f"--libcst-floor: {python} cannot import libcst\n{tail(proc.stderr, 5)}")


# --------------------------------------------------------------------------
# Reporting.
# --------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    """CPU count, Python version, platform and load, recorded with the results."""
    info: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_executable": sys.executable,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "hostname": platform.node(),
    }
    if hasattr(os, "sched_getaffinity"):
        info["usable_cpus"] = len(os.sched_getaffinity(0))
    if hasattr(os, "getloadavg"):
        info["loadavg_at_start"] = list(os.getloadavg())
    return info


def compute_ratios(summaries: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Median-time and peak-RSS ratios of the scan (and libcst) to the floors."""
    ratios: dict[str, float] = {}
    pairs = [("scan", "ast_floor"), ("scan", "libcst_floor"), ("libcst_floor", "ast_floor")]
    for num, den in pairs:
        if num in summaries and den in summaries:
            a, b = summaries[num], summaries[den]
            ratios[f"{num}/{den}"] = a["median_s"] / b["median_s"]
            ratios[f"{num}/{den} (min)"] = a["min_s"] / b["min_s"]
            ratios[f"{num}/{den} (peak RSS)"] = a["peak_rss_mib"] / b["peak_rss_mib"]
    return ratios


LABELS = {"scan": "audit scan", "ast_floor": "ast floor", "libcst_floor": "libcst floor"}


def format_table(summaries: dict[str, dict[str, Any]]) -> str:
    """The human-readable results table."""
    header = (f"{'measurement':<14}{'median s':>10}{'min s':>9}{'max s':>9}"
              f"{'lines/s':>11}{'cpu s':>9}{'peak RSS MiB':>14}{'x ast':>8}{'x libcst':>10}")
    rows = [header, "-" * len(header)]
    for key, s in summaries.items():
        rows.append(f"{LABELS[key]:<14}{s['median_s']:>10.2f}{s['min_s']:>9.2f}{s['max_s']:>9.2f}"
                    f"{s['lines_per_s']:>11,.0f}{s['median_cpu_s']:>9.2f}{s['peak_rss_mib']:>14.1f}"
                    f"{_ratio_cell(summaries, key, 'ast_floor'):>8}"
                    f"{_ratio_cell(summaries, key, 'libcst_floor'):>10}")
    return "\n".join(rows)


def _ratio_cell(summaries: dict[str, dict[str, Any]], key: str, floor: str) -> str:
    """Median-time ratio of a row to a floor, formatted, or '-' when not measured."""
    if floor not in summaries:
        return "-"
    return f"{summaries[key]['median_s'] / summaries[floor]['median_s']:.2f}"


def print_report(result: dict[str, Any]) -> None:
    """Print corpus, machine, table, ratios and notes."""
    c, m, cfg = result["corpus"], result["machine"], result["config"]
    print()
    print(f"corpus   {c['root']}")
    print(f"         {' '.join(c['packages'])}: {c['py_files']:,} .py files, "
          f"{c['lines']:,} lines, {c['bytes'] / 2**20:.1f} MiB")
    print(f"machine  cpu_count={m['cpu_count']} usable={m.get('usable_cpus', '?')} "
          f"python {m['python_version']} ({m['python_implementation']}) {m['platform']}")
    print(f"         loadavg start={_fmt_load(m.get('loadavg_at_start'))} "
          f"end={_fmt_load(m.get('loadavg_at_end'))}")
    print(f"config   jobs={cfg['jobs']} repeat={cfg['repeat']} (interleaved)")
    print()
    print(format_table(result["measurements"]))
    if result["ratios"]:
        print()
        for name, value in result["ratios"].items():
            print(f"  {name:<36} {value:6.2f}x")
    for key, s in result["measurements"].items():
        for note in s["notes"]:
            print(f"  note [{LABELS[key]}]: {note}")
    for warning in sanity_warnings(result):
        print(f"  WARNING: {warning}")


def sanity_warnings(result: dict[str, Any]) -> list[str]:
    """Suspicious results worth a second look before quoting them."""
    ratio = result["ratios"].get("scan/ast_floor")
    warnings = []
    if ratio is not None and ratio < 1.0:
        warnings.append("the scan was faster than the ast floor: check that it really scanned "
                        "every file of the corpus (see its report)")
    return warnings


def _fmt_load(load: list[float] | None) -> str:
    """Load averages as a short string."""
    return "/".join(f"{x:.2f}" for x in load) if load else "?"


def log(message: str) -> None:
    """Progress message on stderr (stdout carries the report)."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _now() -> str:
    """Current UTC time, ISO 8601."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


# --------------------------------------------------------------------------
# Driver.
# --------------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Command-line options of the benchmark."""
    p = argparse.ArgumentParser(
        description="Time `audit scan` on a corpus of pinned third-party packages against "
                    "ast.parse (and optionally libcst.parse_module) floors with the same "
                    "number of processes. Quote the ratios, not the absolute times.")
    p.add_argument("--packages", nargs="+", metavar="NAME==VER", default=list(DEFAULT_PACKAGES),
                   help="pinned PyPI packages forming the corpus; REPLACES the default list, so "
                        "repeat the defaults to extend it (default: %(default)s)")
    p.add_argument("--corpus-dir", type=Path, default=DEFAULT_CORPUS_DIR,
                   help="where installed corpora are cached (default: %(default)s)")
    p.add_argument("--rebuild-corpus", action="store_true", help="reinstall even if cached")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="processes for the scan and the floors (default: os.cpu_count() = %(default)s)")
    p.add_argument("--repeat", type=int, default=3, help="repetitions of each measurement (default: 3)")
    p.add_argument("--audit-cmd", default=None,
                   help="command that runs the CLI, split with shlex, e.g. 'audit' "
                        "(default: '<this python> -m auditor', run from the repo root)")
    p.add_argument("--floor-python", default=sys.executable,
                   help="interpreter for the floor children and pip (default: this python)")
    p.add_argument("--libcst-floor", action="store_true", help="also time bare libcst.parse_module")
    p.add_argument("--skip-scan", action="store_true",
                   help="do not run audit scan (check corpus building and floors only)")
    p.add_argument("--timeout", type=float, default=3600.0,
                   help="seconds before a single run is killed (default: %(default)s)")
    p.add_argument("--json", type=Path, metavar="OUT", help="also write the results as JSON to OUT")
    args = p.parse_args(argv)
    if args.jobs < 1 or args.repeat < 1:
        p.error("--jobs and --repeat must be >= 1")
    return args


def compile_bytecode() -> None:
    """Write the bytecode of this checkout's ``auditor`` package, as ``pip install`` does for an
    installed ``audit``. With ``PYTHONDONTWRITEBYTECODE`` set (it is on the development machine),
    every ``python -m auditor`` run from the checkout would otherwise compile all of its modules
    again (0.1-0.15 s a run), which no installed copy does."""
    import compileall

    compileall.compile_dir(str(REPO_ROOT / "auditor"), quiet=1)


def build_measurements(args: argparse.Namespace, corpus: Path, file_list: Path,
                       out_json: Path) -> list[Measurement]:
    """The measurements requested by the options, in run order."""
    ms: list[Measurement] = []
    if not args.skip_scan:
        if not args.audit_cmd:
            compile_bytecode()
        audit_cmd = shlex.split(args.audit_cmd) if args.audit_cmd else [sys.executable, "-m", "auditor"]
        ms.append(Measurement("scan", scan_command(audit_cmd, corpus, out_json, args.jobs)))
    ms.append(Measurement("ast_floor", floor_command(args.floor_python, "ast", args.jobs, file_list)))
    if args.libcst_floor:
        ms.append(Measurement("libcst_floor",
                              floor_command(args.floor_python, "libcst", args.jobs, file_list)))
    return ms


def run_all(ms: list[Measurement], repeat: int, out_json: Path, timeout: float) -> None:
    """Run every measurement ``repeat`` times, interleaved so drift hits all alike."""
    for rep in range(1, repeat + 1):
        for m in ms:
            if m.name == "scan":
                run_scan_once(m, out_json, timeout)
            else:
                run_floor_once(m, timeout)
            last = m.runs[-1]
            log(f"rep {rep}/{repeat} {LABELS[m.name]:<12} {last.wall_s:8.2f}s wall "
                f"{last.cpu_s:8.2f}s cpu {last.maxrss_kib / KIB_PER_MIB:8.1f} MiB")


def bench(args: argparse.Namespace) -> dict[str, Any]:
    """Build/reuse the corpus, run the measurements and return the result document."""
    machine = machine_info()
    specs = validate_specs(args.packages)
    if args.libcst_floor:
        check_libcst(args.floor_python)
    root = ensure_corpus(specs, args.corpus_dir.expanduser().resolve(), args.floor_python,
                         args.rebuild_corpus)
    files = list_py_files(root)
    if not files:
        raise BenchError(f"no .py files under {root}")
    corpus = measure_corpus(root, specs, files)
    log(f"corpus: {corpus.py_files} .py files, {corpus.lines} lines")
    with tempfile.TemporaryDirectory(prefix="audit-bench-") as tmp:
        file_list = Path(tmp, "files.txt")
        file_list.write_text("".join(f"{f}\n" for f in files), "utf-8")
        ms = build_measurements(args, root, file_list, Path(tmp, "scan-report.json"))
        run_all(ms, args.repeat, Path(tmp, "scan-report.json"), args.timeout)
    if hasattr(os, "getloadavg"):
        machine["loadavg_at_end"] = list(os.getloadavg())
    summaries = {m.name: m.summary(corpus.lines) for m in ms}
    return {"schema": 1, "timestamp": _now(), "machine": machine, "corpus": asdict(corpus),
            "config": {"jobs": args.jobs, "repeat": args.repeat, "skip_scan": args.skip_scan,
                       "libcst_floor": args.libcst_floor},
            "measurements": summaries, "ratios": compute_ratios(summaries)}


def main(argv: Sequence[str] | None = None) -> int:
    """Benchmark entry point; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == [FLOOR_SUBCOMMAND]:
        return floor_child_main(argv[1:])
    args = parse_args(argv)
    try:
        result = bench(args)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print_report(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", "utf-8")
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
