"""What a scan reports: rule selection, per-path ignores, severity overrides and inline suppressions,
applied in one step after the checks.

Per-file settings (``select``, ``ignore``, ``per-path-ignores``, ``severity``) come from the nearest
configuration file at or above the file within the scan (monorepos: a subproject's own
``.audit.yml`` or ``pyproject.toml`` governs its files); ``--select`` and ``--ignore`` apply over
all of them. Everything else (``exclude``, ``dialect``, ``schema``, ``queries``, ``connections``,
``fail-on``, ``include-tests``) is global: it comes from the configuration of the scan root.
"""

from __future__ import annotations

import dataclasses
import posixpath
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pathspec

from auditor.config import ALL_RULES, Config, UnreadableConfig, config_in
from auditor.findings import priority_for
from auditor.suppressions import apply_suppressions, read_suppressions, unused_notes


@dataclass
class Scope:
    """The configuration governing the files under ``directory`` (relative to the scan root)."""

    directory: str  # "" for the scan root
    config: Config
    prefix: str = ""  # the scan root relative to a root configuration file above it, with a trailing "/"
    specs: tuple = ()  # (PathSpec, codes) per per-path-ignores entry

    def __post_init__(self) -> None:
        self.specs = tuple((pathspec.GitIgnoreSpec.from_lines([glob]), tuple(codes))
                           for glob, codes in self.config.per_path_ignores.items())

    def local_path(self, path: str) -> str:
        """``path`` relative to the configuration file's directory."""
        return self.prefix + (path[len(self.directory) + 1:] if self.directory else path)


def _specificity(codes, rule: str) -> int:
    """The length of the longest code matching ``rule`` (0 for ``*``/``ALL``), -1 if none does."""
    best = -1
    for code in codes:
        if code in ALL_RULES:
            best = max(best, 0)
        elif rule.startswith(code):
            best = max(best, len(code))
    return best


class Policy:
    """The scopes of one scan and the decisions they make per finding."""

    def __init__(self, root: Path, config: Config, files: list) -> None:
        rules_root = Path(config.rules_root).resolve() if config.rules_root else root
        self.cli_select = config.cli_select
        self.cli_ignore = list(config.cli_ignore)
        self.scopes = {"": Scope("", config, _prefix(rules_root, config))}
        directories = set()
        for rel in files:
            parent = posixpath.dirname(rel)
            while parent and parent not in directories:
                directories.add(parent)
                parent = posixpath.dirname(parent)
        self.notes = []  # (path, message): whole-scan settings in nested configuration files
        for directory in sorted(directories):
            try:
                nested = config_in(rules_root / directory)
            except UnreadableConfig as exc:
                # Another tool's pyproject.toml (or a test fixture) that is not valid TOML: not ours to fail on.
                if not (rules_root / directory / ".audit.yml").is_file() and \
                        not (rules_root / directory / ".audit.yaml").is_file():
                    self.notes.append((f"{directory}/pyproject.toml", "not read as a configuration: "
                                       + str(exc).split(": cannot be read: ", 1)[-1]))
                    continue
                raise
            if nested is not None:
                self.scopes[directory] = Scope(directory, nested)
                self.notes.extend(_ignored_settings(directory, nested))

    def scope_of(self, path: str) -> Scope:
        """The nearest scope at or above ``path``."""
        parent = posixpath.dirname(path)
        while parent:
            scope = self.scopes.get(parent)
            if scope is not None:
                return scope
            parent = posixpath.dirname(parent)
        return self.scopes[""]

    def enabled(self, path: str, rule: str) -> bool:
        """Whether ``rule`` (an id, or a prefix for suppressions) is reported for ``path``."""
        scope = self.scope_of(path)
        select = self.cli_select if self.cli_select is not None else scope.config.select
        chosen = _specificity(select or ALL_RULES, rule)
        if chosen < 0 or _specificity([*scope.config.ignore, *self.cli_ignore], rule) >= chosen:
            return False
        local = scope.local_path(path)
        return not any(_specificity(codes, rule) >= 0 and spec.match_file(local) for spec, codes in scope.specs)

    def severity(self, path: str, rule: str, default: str) -> str:
        """The configured severity of ``rule`` for ``path`` (the most specific override), or ``default``."""
        best, chosen = -1, default
        for code, severity in self.scope_of(path).config.severity.items():
            length = _specificity([code], rule)
            if length > best:
                best, chosen = length, severity
        return chosen


PER_FILE_SETTINGS = {"select", "ignore", "per_path_ignores", "severity"}
NOT_SETTINGS = {"source", "cli_select", "cli_ignore", "rules_root"}


def _ignored_settings(directory: str, nested: Config) -> list:
    """A note per whole-scan setting a nested configuration file sets: only its per-file settings apply."""
    default = Config()
    where = f"{directory}/{Path(nested.source).name}"
    return [(where, f"'{item.name.replace('_', '-')}' applies to the whole scan and is read from the scanned "
                    "directory's configuration; ignored here")
            for item in dataclasses.fields(Config)
            if item.name not in PER_FILE_SETTINGS | NOT_SETTINGS
            and getattr(nested, item.name) != getattr(default, item.name)]


def _prefix(rules_root: Path, config: Config) -> str:
    """Per-path globs of a configuration file above the scan root are relative to its own directory."""
    if not config.source:
        return ""
    directory = Path(config.source).parent
    try:
        offset = rules_root.relative_to(directory).as_posix()
    except ValueError:
        return ""
    return "" if offset == "." else offset + "/"


def apply_policy(root: Path, config: Config, findings: list, files: list,
                 reported: Callable[[str], bool], known_rules) -> tuple:
    """``(findings, notes, metrics)`` after severity overrides, rule selection, per-path ignores and
    inline suppressions. ``files`` are the scanned paths (where suppressions are read);
    ``reported(path)`` says whether findings in a path are shown at all (test code may not be), so
    that suppressions there are not called unused."""
    policy = Policy(root, config, files)
    selected = []
    for finding in findings:
        if not policy.enabled(finding.path, finding.rule):
            continue
        severity = policy.severity(finding.path, finding.rule, finding.severity)
        if severity != finding.severity:
            finding.severity = severity
            finding.priority = priority_for(severity, finding.confidence)
        selected.append(finding)
    suppressions = read_suppressions(root, files)
    kept, suppressed = apply_suppressions(selected, suppressions)
    shown = {path: found for path, found in suppressions.items() if reported(path)}
    notes = policy.notes + unused_notes(shown, policy.enabled, known_rules)
    by_rule = Counter(finding.rule for finding in suppressed)
    metrics = {"suppressed": len(suppressed), "suppressed_by_rule": dict(sorted(by_rule.items())),
               "ignored_by_config": len(findings) - len(selected)}
    return kept, notes, metrics
