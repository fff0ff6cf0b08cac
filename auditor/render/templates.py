"""Jinja2 environments for the report templates in ``reports/``, with the renderers' filters."""

from __future__ import annotations

import jinja2

from auditor.resources import reports_dir


def load_template(name: str, filters: dict, html: bool = False) -> jinja2.Template:
    """The template ``name`` with ``filters``; HTML templates escape every value, text ones do not.
    Undefined variables are errors in both."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(reports_dir())),
        autoescape=html,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters.update(filters)
    return environment.get_template(name)
