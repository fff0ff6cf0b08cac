"""Project configuration: ``[tool.audit]`` in pyproject.toml or ``.audit.yml``."""

from __future__ import annotations

import difflib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import yaml

from auditor.llm.settings import LlmSettingsError, parse_prices, parse_traffic

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

KNOWN_KEYS = {"cache-dir", "exclude", "queries", "connections", "fail-on", "include-tests", "dialect", "select", "ignore",
              "per-path-ignores", "severity", "schema", "llm-functions", "llm-prices", "llm-traffic"}
CONFIG_NAMES = (".audit.yml", ".audit.yaml", "pyproject.toml")
ALL_RULES = ("*", "ALL")  # rule selectors that mean every rule
DIALECTS = ("postgres", "redshift", "snowflake", "mysql", "sqlite")
SEVERITY_NAMES = ("critical", "high", "medium", "low", "info", "none")


class ConfigError(Exception):
    """A configuration file is invalid; the message names the file and key."""


class UnreadableConfig(ConfigError):
    """A configuration file is not valid TOML/YAML (or cannot be read at all)."""


@dataclass
class Config:
    """Settings read from the project's configuration file."""

    exclude: list = field(default_factory=list)
    queries: list = field(default_factory=list)  # extra functions that run a query
    connections: list = field(default_factory=list)  # extra functions that open a connection
    fail_on: str = ""
    include_tests: bool = False  # report findings in test code too
    dialect: str = "postgres"  # the SQL dialect of the target database
    select: list = field(default_factory=list)  # rule ids or prefixes to report (empty: every rule)
    ignore: list = field(default_factory=list)  # rule ids or prefixes not to report
    per_path_ignores: dict = field(default_factory=dict)  # glob relative to the config file -> rule ids
    severity: dict = field(default_factory=dict)  # rule id or prefix -> severity
    schema: list = field(default_factory=list)  # absolute paths of extra DDL files or directories
    llm_functions: list = field(default_factory=list)  # in-house functions that make an LLM call
    llm_prices: dict = field(default_factory=dict)  # model -> price row (auditor.llm.settings)
    llm_traffic: dict = field(default_factory=dict)  # traffic assumptions: dollars only with these
    cache_dir: str = ""  # where the facts cache lives (absolute; default: the user's cache directory)
    source: str = ""
    # Set by the command line, applied over every (also nested) configuration of the scan.
    cli_select: Optional[list] = None  # --select: replaces ``select``
    cli_ignore: list = field(default_factory=list)  # --ignore: extends ``ignore``
    # Where nested configuration files are looked up (default: the scan root). Diff mode scans the
    # base revision with the working tree's configuration by pointing this at the working tree.
    rules_root: str = ""


def _read(path: Path) -> dict:
    try:
        if path.name == "pyproject.toml":
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            tool = data.get("tool", {})
            data = tool.get("audit", {}) if isinstance(tool, dict) else {}
            if not isinstance(data, dict):
                raise ConfigError(f"{path}: [tool.audit] must be a table of settings")
            return data
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise UnreadableConfig(f"{path}: cannot be read: {exc.problem or exc.context}{where}") from None
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise UnreadableConfig(f"{path}: cannot be read: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings")
    return data


def load_config(root: Path) -> Config:
    """The nearest configuration at or above ``root`` (``.audit.yml`` wins over pyproject)."""
    directory = root.resolve()
    if directory.is_file():
        directory = directory.parent
    for candidate_dir in [directory, *directory.parents]:
        config = config_in(candidate_dir)
        if config is not None:
            return config
    return Config()


def config_in(directory: Path) -> Optional[Config]:
    """The configuration file of ``directory`` itself, or None (a pyproject.toml without
    ``[tool.audit]`` is not one)."""
    for name in CONFIG_NAMES:
        path = directory / name
        if path.is_file():
            data = _read(path)
            if name == "pyproject.toml" and not data:
                continue
            return _build(data, path)
    return None


def _unknown_key_message(path: Path, key: str) -> str:
    close = difflib.get_close_matches(key.replace("_", "-").lower(), sorted(KNOWN_KEYS), n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"{path}: unknown key '{key}' ({hint}known: {', '.join(sorted(KNOWN_KEYS))})"


def _string_list(path: Path, key: str, value) -> list:
    if value is None:  # absent, or "exclude:" with nothing after it
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: '{key}' must be a list of strings")
    return value


def rule_codes(where: str, codes: list) -> list:
    """Upper-cased rule ids or prefixes (``DB101``, ``DB1``, ``LLM``, ``*``); a code that names no rule
    is an error naming it."""
    from auditor.rules import load_rules

    known = sorted(load_rules())
    result = []
    for code in codes:
        code = code.strip().upper()
        if code not in ALL_RULES and not any(rule.startswith(code) for rule in known):
            close = difflib.get_close_matches(code, known, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ConfigError(f"{where}: '{code}' matches no rule{hint}")
        result.append(code)
    return result


def _build(data: dict, path: Path) -> Config:
    unknown = sorted(str(key) for key in set(data) - KNOWN_KEYS)
    if unknown:
        raise ConfigError(_unknown_key_message(path, unknown[0]))
    config = Config(source=str(path))
    for key in ("exclude", "queries", "connections"):
        setattr(config, key, _string_list(path, key, data.get(key)))
    for key in ("select", "ignore"):
        setattr(config, key, rule_codes(f"{path}: '{key}'", _string_list(path, key, data.get(key))))
    config.per_path_ignores = _per_path_ignores(path, data.get("per-path-ignores"))
    config.severity = _severity_overrides(path, data.get("severity"))
    config.schema = [str((path.parent / entry).resolve()) for entry in _string_list(path, "schema", data.get("schema"))]
    fail_on = data.get("fail-on")
    if fail_on is None:
        fail_on = ""
    # YAML reads a bare no/off/false as a boolean: refuse it rather than silently keep the default.
    if not isinstance(fail_on, str) or (fail_on and fail_on.lower() not in SEVERITY_NAMES):
        raise ConfigError(f"{path}: 'fail-on' must be one of {', '.join(SEVERITY_NAMES)}")
    config.fail_on = fail_on.lower()
    include_tests = data.get("include-tests", False)
    if not isinstance(include_tests, bool):
        raise ConfigError(f"{path}: 'include-tests' must be true or false")
    config.include_tests = include_tests
    dialect = data.get("dialect", "postgres")
    if not isinstance(dialect, str) or dialect.lower() not in DIALECTS:
        raise ConfigError(f"{path}: 'dialect' must be one of {', '.join(DIALECTS)}")
    config.dialect = dialect.lower()
    cache_dir = data.get("cache-dir", "")
    if not isinstance(cache_dir, str):
        raise ConfigError(f"{path}: 'cache-dir' must be a directory path")
    config.cache_dir = str((path.parent / os.path.expanduser(cache_dir)).resolve()) if cache_dir else ""
    config.llm_functions = _string_list(path, "llm-functions", data.get("llm-functions"))
    try:
        config.llm_prices = parse_prices(data.get("llm-prices"))
        config.llm_traffic = parse_traffic(data.get("llm-traffic"))
    except LlmSettingsError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return config


def _per_path_ignores(path: Path, value) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: 'per-path-ignores' must map path globs to lists of rule ids")
    result = {}
    for glob, codes in value.items():
        if isinstance(codes, str):
            codes = [codes]
        if not isinstance(glob, str) or not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise ConfigError(f"{path}: 'per-path-ignores' must map path globs to lists of rule ids")
        result[glob] = rule_codes(f"{path}: 'per-path-ignores' {glob!r}", codes)
    return result


def _severity_overrides(path: Path, value) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: 'severity' must map rule ids to severities")
    allowed = SEVERITY_NAMES[:-1]  # "none" is a fail-on threshold, not a severity
    result = {}
    for code, severity in value.items():
        if not isinstance(code, str) or not isinstance(severity, str) or severity.lower() not in allowed:
            raise ConfigError(f"{path}: 'severity' values must be one of {', '.join(allowed)} (got {code}: {severity})")
        (key,) = rule_codes(f"{path}: 'severity'", [code])
        result[key] = severity.lower()
    return result
