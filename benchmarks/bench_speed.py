#!/usr/bin/env python3
"""Speed and scale benchmark of ``audit scan`` against bandit and the ``ast.parse`` floor.

In one run, on a corpus of real third-party code installed from PyPI (Django, SQLAlchemy and
wagtail by default), it times: the full scan without the cache (default mode and
``--include-tests``), a re-scan with nothing changed (warm cache), a re-scan after changing one
file, ``ast.parse`` of every file with the same number of processes, bandit on the same tree
(installed into the benchmark's own virtualenv) and ``audit --version``; then the full scan of
1x, 2x and 4x copies of the corpus. Medians over ``--runs`` runs, peak RSS, the ratios and the
targets of issue 7 are printed as a table. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_scan as base  # noqa: E402  (corpus install, measured child processes, the ast floor)

DEFAULT_PACKAGES = ("django==5.1.4", "sqlalchemy==2.0.36", "wagtail==6.3.1")
QUICK_PACKAGES = ("sqlalchemy==2.0.36",)
BANDIT = "bandit==1.8.0"
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
TOUCHED = "\n# touched by bench_speed {n}\n"
DEFAULT_AUDIT_CMD = f"{sys.executable} -m auditor"


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", nargs="+", default=list(DEFAULT_PACKAGES),
                        help="pinned name==version packages making up the corpus")
    parser.add_argument("--quick", action="store_true",
                        help=f"small run: {' '.join(QUICK_PACKAGES)}, 1 run, growth 1x and 2x")
    parser.add_argument("--corpus-dir", type=Path, default=None,
                        help="keep the installed corpus and bandit's venv here (default: a temporary "
                             "directory removed at the end)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each measurement (median)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes for audit and ast")
    parser.add_argument("--growth", default="1,2,4", help="corpus copies to scan for growth")
    parser.add_argument("--no-bandit", action="store_true", help="leave bandit out")
    parser.add_argument("--audit-cmd", default=DEFAULT_AUDIT_CMD,
                        help="how to run audit (the default runs this checkout, with its bytecode written first)")
    parser.add_argument("--timeout", type=float, default=3600, help="kill a run after this many seconds")
    parser.add_argument("--json", type=Path, help="also write every figure as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.packages = list(QUICK_PACKAGES) if args.packages == list(DEFAULT_PACKAGES) else args.packages
        args.runs, args.growth = 1, "1,2"
    args.growth = [int(n) for n in args.growth.split(",")]
    return args


class TreeRss:
    """Samples the summed RSS of every process in a process group (the scan and its workers)."""

    def __init__(self, pgid: int) -> None:
        self.pgid, self.peak_kib = pgid, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            total = 0
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    with open(f"/proc/{entry}/stat", "rb") as handle:
                        fields = handle.read().rsplit(b")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[2]) == self.pgid:  # field 5 of stat: the process group
                    total += int(fields[21]) * PAGE_KIB  # field 24: rss in pages
            self.peak_kib = max(self.peak_kib, total)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak_kib


def measured(cmd: list, timeout: float, ok: frozenset = frozenset({0, 1})) -> dict:
    """Run ``cmd`` once: wall and CPU seconds, largest process's peak RSS, sampled tree peak."""
    sampler: list = []
    original_popen = subprocess.Popen

    def popen(*a, **k):  # start the sampler on the child's process group as soon as it exists
        proc = original_popen(*a, **k)
        sampler.append(TreeRss(proc.pid))
        return proc

    subprocess.Popen = popen
    try:
        run = base.run_measured(cmd, base.REPO_ROOT, timeout)
    finally:
        subprocess.Popen = original_popen
    tree = sampler[0].stop() if sampler else 0
    if run.timed_out or run.exit_code not in ok:
        raise base.BenchError(f"{' '.join(cmd)} failed (exit {run.exit_code})\n{base.tail(run.stderr)}")
    return {"s": run.wall_s, "cpu": run.cpu_s, "rss": run.maxrss_kib, "tree": max(tree, run.maxrss_kib)}


def ensure_bandit(home: Path) -> Path:
    """bandit in a virtualenv of its own under ``home`` (not the project's dependencies)."""
    venv = home / f"venv-{BANDIT.replace('==', '-')}"
    exe = venv / "bin" / "bandit"
    if not exe.exists():
        base.log(f"bandit: installing {BANDIT} into {venv}")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", BANDIT],
                       check=True)
    return exe


def copies(corpus: Path, work: Path, n: int) -> Path:
    """A tree holding ``n`` hard-linked (else copied) copies of the corpus."""
    if n == 1:
        return corpus
    tree = work / f"x{n}"
    if not tree.exists():
        for i in range(n):
            shutil.copytree(corpus, tree / f"copy{i}", copy_function=_link_or_copy,
                            ignore=shutil.ignore_patterns("__pycache__", "*.dist-info", "bin"))
    return tree


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def pick_touched_file(corpus: Path, files: list) -> Path:
    """The file changed for the one-file re-scan: a mid-sized one of the code the default scan
    reads (not test code), the same for a given corpus."""
    sys.path.insert(0, str(base.REPO_ROOT))
    from auditor.scan import is_test_code

    scanned = [p for p in files if not is_test_code(p.relative_to(corpus).as_posix())]
    by_size = sorted(scanned, key=lambda p: (p.stat().st_size, str(p)))
    return by_size[len(by_size) * 3 // 4]


def bench(args: argparse.Namespace, home: Path) -> dict:
    specs = base.validate_specs(args.packages)
    corpus = base.ensure_corpus(specs, home / "corpus", sys.executable, rebuild=False)
    files = base.list_py_files(corpus)
    size = base.measure_corpus(corpus, specs, files)
    base.log(f"corpus: {size.py_files} files, {size.lines:,} lines ({' '.join(specs)})")
    work = Path(tempfile.mkdtemp(prefix="bench-speed-", dir=home))
    file_list = work / "files.txt"
    file_list.write_text("\n".join(str(p) for p in files) + "\n", "utf-8")
    audit = args.audit_cmd.split()
    if args.audit_cmd == DEFAULT_AUDIT_CMD:
        base.compile_bytecode()
    out = str(work / "out.json")
    cache = str(work / "cache")
    scan = [*audit, "scan", str(corpus), "--format", "json", "-o", out, "--jobs", str(args.jobs)]
    commands = {
        "full scan": scan + ["--no-cache"],
        "full scan, tests included": scan + ["--no-cache", "--include-tests"],
        "ast.parse floor": base.floor_command(sys.executable, "ast", args.jobs, file_list),
        "unchanged re-scan": scan + ["--cache-dir", cache],
        "one-file re-scan": scan + ["--cache-dir", cache],
        "audit --version": [*audit, "--version"],
    }
    if not args.no_bandit:
        bandit = ensure_bandit(home)
        commands["bandit"] = [str(bandit), "-r", str(corpus), "-q", "-f", "json", "-o", str(work / "bandit.json")]
    touched = pick_touched_file(corpus, files)
    original = touched.read_bytes()
    runs: dict = {name: [] for name in commands}
    try:
        base.log("warming the cache")
        measured(commands["unchanged re-scan"], args.timeout)
        for n in range(args.runs):
            for name, cmd in commands.items():
                if name == "one-file re-scan":
                    touched.write_bytes(original + TOUCHED.format(n=n).encode())
                base.log(f"run {n + 1}/{args.runs}: {name}")
                runs[name].append(measured(cmd, args.timeout))
                if name == "one-file re-scan":
                    touched.write_bytes(original)
            for name in ("audit --version",):  # short: more samples
                runs[name].extend(measured(commands[name], args.timeout) for _ in range(4))
        growth = []
        for k in args.growth:
            tree = copies(corpus, work, k)
            base.log(f"growth: {k}x")
            cmd = [*audit, "scan", str(tree), "--format", "json", "-o", out, "--jobs", str(args.jobs), "--no-cache"]
            samples = [measured(cmd, args.timeout) for _ in range(1 if k > 1 else max(1, min(args.runs, 1)))]
            growth.append({"copies": k, "lines": size.lines * k, **_median(samples)})
    finally:
        touched.write_bytes(original)
        shutil.rmtree(work, ignore_errors=True)
    summary = {name: _median(samples) for name, samples in runs.items()}
    return {"corpus": {"packages": specs, "files": size.py_files, "lines": size.lines},
            "jobs": args.jobs, "runs": args.runs, "touched": str(touched.relative_to(corpus)),
            "machine": base.machine_info(), "measurements": summary, "growth": growth,
            "targets": targets(summary, growth)}


def _median(samples: list) -> dict:
    return {"s": statistics.median(s["s"] for s in samples), "cpu": statistics.median(s["cpu"] for s in samples),
            "rss_mib": max(s["rss"] for s in samples) / 1024, "tree_mib": max(s["tree"] for s in samples) / 1024,
            "samples": [round(s["s"], 3) for s in samples]}


def targets(m: dict, growth: list) -> list:
    """``(what, value, goal, met)`` for each target of issue 7 that this run measured."""
    full = m["full scan"]["s"]
    rows = []

    def row(what: str, value: Optional[float], goal: str, met: Optional[bool]) -> None:
        if value is not None:
            rows.append([what, round(value, 3), goal, met])

    bandit = m.get("bandit", {}).get("s")
    row("full scan / bandit", full / bandit if bandit else None, "<= 0.2", bandit and full / bandit <= 0.2)
    ast_floor = m["ast.parse floor"]["s"]
    row("full scan / ast.parse floor", full / ast_floor, "<= 4", full / ast_floor <= 4)
    tests = m["full scan, tests included"]["s"]
    row("bandit / full scan with tests", bandit / tests if bandit else None, ">= 3", bandit and bandit / tests >= 3)
    row("unchanged re-scan / full scan", m["unchanged re-scan"]["s"] / full, "<= 0.10",
        m["unchanged re-scan"]["s"] / full <= 0.10)
    row("one-file re-scan / full scan", m["one-file re-scan"]["s"] / full, "<= 0.15",
        m["one-file re-scan"]["s"] / full <= 0.15)
    if growth:
        largest = growth[-1]
        row(f"tree peak RSS at {largest['copies']}x (MiB)", largest["tree_mib"], "<= 1024", largest["tree_mib"] <= 1024)
        per_line = [g["s"] / g["lines"] for g in growth]
        row(f"time per line {largest['copies']}x / 1x", per_line[-1] / per_line[0], "<= 1.1 (linear)",
            per_line[-1] / per_line[0] <= 1.1)
    row("audit --version (s)", m["audit --version"]["s"], "< 0.3", m["audit --version"]["s"] < 0.3)
    return rows


def report(result: dict) -> str:
    c = result["corpus"]
    lines = [f"corpus: {' '.join(c['packages'])}: {c['files']:,} files, {c['lines']:,} lines; "
             f"jobs {result['jobs']}, median of {result['runs']} run(s); one-file re-scan changes {result['touched']}",
             "", f"{'measurement':30} {'median s':>9} {'cpu s':>8} {'max proc RSS MiB':>17} {'tree RSS MiB':>13}"]
    for name, m in result["measurements"].items():
        lines.append(f"{name:30} {m['s']:9.2f} {m['cpu']:8.2f} {m['rss_mib']:17.0f} {m['tree_mib']:13.0f}")
    if result["growth"]:
        lines += ["", f"{'copies':>6} {'lines':>11} {'s':>8} {'s per 100k lines':>17} {'tree RSS MiB':>13}"]
        for g in result["growth"]:
            lines.append(f"{g['copies']:>5}x {g['lines']:>11,} {g['s']:8.2f} {g['s'] / g['lines'] * 1e5:17.2f} "
                         f"{g['tree_mib']:13.0f}")
    lines += ["", f"{'target':40} {'value':>9}  {'goal':16} met"]
    for what, value, goal, met in result["targets"]:
        lines.append(f"{what:40} {value:9.3f}  {goal:16} {'yes' if met else 'NO'}")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    home = args.corpus_dir or Path(tempfile.mkdtemp(prefix="audit-bench-speed-"))
    home.mkdir(parents=True, exist_ok=True)
    try:
        result = bench(args, home.resolve())
    except base.BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if args.corpus_dir is None:
            shutil.rmtree(home, ignore_errors=True)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
