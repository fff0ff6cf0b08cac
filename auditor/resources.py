"""Locate the data shipped with the package: the rule catalog and report templates."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import jinja2

_PACKAGE_DIR = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    """Return the installed copy (wheel) or, in a source checkout, the top-level directory."""
    installed = _PACKAGE_DIR / "_data" / name
    if installed.is_dir():
        return installed
    return _PACKAGE_DIR.parent / name


def load_yaml(handle):
    """Parse a shipped YAML file, with libyaml when PyYAML has it (ten times the pure-Python speed)."""
    import yaml

    return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def rules_dir() -> Path:
    """Directory of rule YAML files (and ``catalog/`` with the API catalogs)."""
    return _data_dir("rules")


def reports_dir() -> Path:
    """Directory of the Jinja2 report templates."""
    return _data_dir("reports")


def report_template(name: str, filters: Optional[dict] = None, html: bool = False) -> jinja2.Template:
    """A report template with the renderer's ``filters``; HTML templates escape every value, text
    ones (Markdown, SQL script...) do not. Undefined variables are errors in both."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(reports_dir())),
        autoescape=html,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters.update(filters or {})
    return environment.get_template(name)
