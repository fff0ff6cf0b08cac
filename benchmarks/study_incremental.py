#!/usr/bin/env python3
"""How far the change of one file reaches, and whether analysing only that reach gives the findings
of a whole scan: the measurement behind the one-file re-scan target (see ``benchmarks/README.md``).

For a scanned tree it links the whole program once, then builds a graph of the modules whose facts
each module's analysis reads: the modules it imports, those that define the functions its calls
reach, and those that define the bases of its classes. For a random sample of the scanned modules
it takes:

* the reach R of a change to the module: the module and every module that depends on it,
  directly or not (their chains, request paths and findings can change with it);
* the support S of R: R and every module R depends on, directly or not;

then links, analyses (SQL) and checks S alone and compares the findings reported in R's files with
those of the whole program. Nothing is edited: this measures whether a re-analysis of the reach
alone could stand in for a whole one, and what it would cost.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import time
from collections import Counter, deque
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditor.catalog import load_catalog  # noqa: E402
from auditor.checks import run_checks  # noqa: E402
from auditor.config import load_config  # noqa: E402
from auditor.discovery import discover  # noqa: E402
from auditor.link import Program  # noqa: E402
from auditor.repo_index import RepoIndex, plain_name  # noqa: E402
from auditor.scan import _production, extract_all, is_test_code  # noqa: E402
from auditor.sql.analysis import analyse_sql  # noqa: E402


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, help="the tree to scan (e.g. the bench_speed corpus)")
    parser.add_argument("--sample", type=int, default=100, help="modules to try")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--include", nargs="*", default=[], metavar="PATH",
                        help="files (relative to the root) to try besides the sample, e.g. the one bench_speed.py edits")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes for extraction")
    return parser.parse_args(argv)


class Tree:
    """The scanned tree's facts, and an analysis of any subset of its modules."""

    def __init__(self, root: Path, jobs: int) -> None:
        self.root = root.resolve()
        self.config = load_config(self.root)
        self.found = discover(self.root, tuple(self.config.exclude))
        files = [rel for rel in self.found.files if not is_test_code(rel)]
        gc.disable()  # extraction makes no garbage cycles; frozen, the facts are not walked again by
        # the collections the repeated analyses trigger
        self.facts = [facts for facts in extract_all(self.root, files, jobs) if not facts.error]
        gc.freeze()
        gc.enable()
        self.catalog = load_catalog(self.config.queries, self.config.connections, self.config.llm_functions,
                                    self.config.llm_prices, self.config.llm_traffic)

    def analyse(self, facts: list) -> tuple:
        """``(program, findings)`` of the given modules alone."""
        program = Program(facts, self.catalog)
        program.sql = analyse_sql(program, self.root, self.found.sql_files, self.config.dialect,
                                  _production(self.config))
        return program, run_checks(program)


def dependencies(program: Program) -> dict:
    """module -> the modules whose facts its analysis reads (imports, call targets, class bases)."""
    index: RepoIndex = program.index
    owners = _Owners(index)
    graph: dict = {module: set() for module in index.modules}
    for facts in program.facts:
        edges = graph[facts.module]
        for target in list(facts.imports.values()) + list(facts.star_imports):
            edges.add(owners.of(index.canonical(target)))
        for klass in facts.classes:
            for base in klass.bases:
                edges.add(owners.of(index.reexported(index.canonical(plain_name(base)))))
    for qualname, infos in program.calls.items():
        caller = index.function_module[qualname].module
        for info in infos:
            for target in info.targets:
                if target in index.function_module:
                    graph[caller].add(index.function_module[target].module)
    for module, edges in graph.items():
        edges.discard(None)
        edges.discard(module)
    return graph


class _Owners:
    """The module defining a qualified name: its longest prefix that is a module."""

    def __init__(self, index: RepoIndex) -> None:
        self.modules = index.modules
        self._known: dict = {}

    def of(self, qualname: str):
        if qualname not in self._known:
            parts = qualname.split(".")
            self._known[qualname] = next((".".join(parts[:end]) for end in range(len(parts), 0, -1)
                                          if ".".join(parts[:end]) in self.modules), None)
        return self._known[qualname]


def closure(starts: list, graph: dict) -> set:
    """``starts`` and every module reachable from them in ``graph``."""
    seen = set(starts)
    queue = deque(starts)
    while queue:
        for other in graph.get(queue.popleft(), ()):
            if other not in seen:
                seen.add(other)
                queue.append(other)
    return seen


def finding_key(finding) -> tuple:
    """What a re-analysis must reproduce of a finding: where, what, its chain and its context."""
    return (finding.rule, finding.path, finding.line, finding.message, tuple(finding.chain),
            json.dumps(finding.context, sort_keys=True, default=str))


def study(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    tree = Tree(args.root, args.jobs)
    extracted = time.perf_counter() - started
    whole_times = []
    for _ in range(3):
        started = time.perf_counter()
        program, whole = tree.analyse(tree.facts)
        whole_times.append(time.perf_counter() - started)
    whole_s = statistics.median(whole_times)
    graph = dependencies(program)
    dependents: dict = {module: set() for module in graph}
    for module, edges in graph.items():
        for other in edges:
            dependents[other].add(module)
    by_module = {facts.module: facts for facts in tree.facts}
    modules = sorted(by_module)
    sample = random.Random(args.seed).sample(modules, min(args.sample, len(modules)))
    by_path = {facts.path: facts.module for facts in tree.facts}
    for path in args.include:
        if path not in by_path:
            raise SystemExit(f"study_incremental: {path} is not a scanned module of {args.root}")
        sample.append(by_path[path])
    rows, differing_rules = [], Counter()
    for module in sample:
        reach = closure([module], dependents)
        support = closure(sorted(reach), graph)
        started = time.perf_counter()
        _, part = tree.analyse([by_module[name] for name in modules if name in support])
        seconds = time.perf_counter() - started
        paths = {by_module[name].path for name in reach}
        expected = {finding_key(f) for f in whole if f.path in paths}
        got = {finding_key(f) for f in part if f.path in paths}
        differing_rules.update(key[0] for key in expected ^ got)
        rows.append((len(reach), len(support), seconds, expected == got))
        if by_module[module].path in args.include:
            print(f"{by_module[module].path}: reach {len(reach)} modules, support {len(support)}, analysed alone "
                  f"in {seconds:.2f} s, findings {'the same' if expected == got else 'different'}")
    print(f"\ntree: {args.root} ({len(modules)} modules analysed; facts extracted in {extracted:.1f} s)")
    print(f"whole program linked, analysed and checked in {whole_s:.2f} s (median of 3); "
          f"{len(whole)} findings")
    print(f"sample: {len(rows)} modules (seed {args.seed})\n")
    print(f"{'':34} {'median':>8} {'p90':>8} {'max':>8}")
    for label, values in (("reach R (modules)", [r[0] for r in rows]),
                          ("support S (modules)", [r[1] for r in rows]),
                          ("S analysed alone (s)", [r[2] for r in rows]),
                          ("S alone / whole program", [r[2] / whole_s for r in rows])):
        ordered = sorted(values)
        print(f"{label:34} {statistics.median(ordered):8.2f} {ordered[int(len(ordered) * 0.9)]:8.2f} "
              f"{ordered[-1]:8.2f}")
    same = sum(1 for row in rows if row[3])
    print(f"\nfindings in R's files the same as the whole program's: {same} of {len(rows)}")
    small = [row for row in rows if row[0] <= len(modules) // 4]
    print(f"  of the {len(small)} whose reach is at most a quarter of the modules: "
          f"{sum(1 for row in small if row[3])}")
    if differing_rules:
        print("rules of the findings that differ (count over the sample): "
              + ", ".join(f"{rule} {count}" for rule, count in differing_rules.most_common()))
    return 0


def main(argv: Sequence[str] = ()) -> int:
    return study(parse_args(argv or sys.argv[1:]))


if __name__ == "__main__":
    sys.exit(main())
