"""Project configuration: ``[tool.audit]`` in pyproject.toml or ``.audit.yml``."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

KNOWN_KEYS = {"exclude", "queries", "connections", "fail-on", "include-tests", "dialect"}
DIALECTS = ("postgres", "redshift", "snowflake", "mysql", "sqlite")
SEVERITY_NAMES = ("critical", "high", "medium", "low", "info", "none")


class ConfigError(Exception):
    """A configuration file is invalid; the message names the file and key."""


@dataclass
class Config:
    """Settings read from the project's configuration file."""

    exclude: list = field(default_factory=list)
    queries: list = field(default_factory=list)  # extra functions that run a query
    connections: list = field(default_factory=list)  # extra functions that open a connection
    fail_on: str = ""
    include_tests: bool = False  # report findings in test code too
    dialect: str = "postgres"  # the SQL dialect of the target database
    source: str = ""


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
        raise ConfigError(f"{path}: cannot be read: {exc.problem or exc.context}{where}") from None
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot be read: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings")
    return data


def load_config(root: Path) -> Config:
    """The nearest configuration at or above ``root`` (``.audit.yml`` wins over pyproject)."""
    directory = root.resolve()
    if directory.is_file():
        directory = directory.parent
    for candidate_dir in [directory, *directory.parents]:
        for name in (".audit.yml", ".audit.yaml", "pyproject.toml"):
            path = candidate_dir / name
            if path.is_file():
                data = _read(path)
                if name == "pyproject.toml" and not data:
                    continue
                return _build(data, path)
    return Config()


def _build(data: dict, path: Path) -> Config:
    unknown = sorted(str(key) for key in set(data) - KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key '{unknown[0]}' (known: {', '.join(sorted(KNOWN_KEYS))})")
    config = Config(source=str(path))
    for key in ("exclude", "queries", "connections"):
        value = data.get(key)
        if value is None:  # absent, or "exclude:" with nothing after it
            value = []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{path}: '{key}' must be a list of strings")
        setattr(config, key, value)
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
    return config
