"""Parse SQL with sqlglot in the configured dialect: statements split with their lines, placeholders
normalised, failures returned as messages (never raised)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "unsupported syntax" warnings are ours to report

MAX_STATEMENT_CHARS = 100_000
_PYFORMAT = re.compile(r"%\((\w+)\)s")
_TEMPLATED = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)


@dataclass
class Parsed:
    """One statement: its tree, or why it has none."""

    tree: Optional[exp.Expression]
    error: str = ""  # one line
    templated: bool = False  # Jinja/dbt template: not SQL until rendered


def normalize_placeholders(text: str) -> str:
    """DB-API ``%s``/``%(name)s`` become ``?``/``:name`` (every dialect parses those); ``%%`` -> ``%``."""
    if "%" not in text:
        return text
    text = _PYFORMAT.sub(lambda m: f":{m.group(1)}", text)
    return re.sub(r"%%|%s(?![\w])", lambda m: "%" if m.group(0) == "%%" else "?", text)


@lru_cache(maxsize=8192)
def parse_statement(text: str, dialect: str) -> Parsed:
    """Parse one statement (shared: callers must not modify the tree)."""
    if len(text) > MAX_STATEMENT_CHARS:
        return Parsed(None, f"statement of {len(text)} characters is over the {MAX_STATEMENT_CHARS} limit")
    if _TEMPLATED.search(text):
        return Parsed(None, "templated SQL (Jinja/dbt) is not analysed", templated=True)
    try:
        trees = [t for t in sqlglot.parse(normalize_placeholders(text), read=dialect) if t is not None]
    except (SqlglotError, RecursionError, ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        return Parsed(None, _first_line(exc))
    if not trees:
        return Parsed(None, "empty statement")
    if len(trees) > 1:
        return Parsed(trees[0], "")
    if isinstance(trees[0], exp.Command):
        # sqlglot's fallback for statements it does not model (VACUUM, GRANT...): nothing to check.
        return Parsed(None)
    return Parsed(trees[0])


def split_statements(text: str, dialect: str) -> list:
    """``[(first line, statement text)]`` of a SQL script, split on ``;`` outside strings and comments."""
    try:
        tokens = sqlglot.Dialect.get_or_raise(dialect).tokenize(text)
    except (SqlglotError, ValueError, RecursionError):
        return _naive_split(text)
    statements = []
    start: Optional[int] = None
    start_line = 1
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            if start is not None:
                statements.append((start_line, text[start:token.start]))
            start = None
            continue
        if start is None:
            start, start_line = token.start, token.line
    if start is not None:
        statements.append((start_line, text[start:]))
    return [(line, statement.strip()) for line, statement in statements if statement.strip()]


def _naive_split(text: str) -> list:
    out = []
    line = 1
    for chunk in text.split(";"):
        stripped = chunk.strip()
        if stripped:
            leading = chunk[: len(chunk) - len(chunk.lstrip())]
            out.append((line + leading.count("\n"), stripped))
        line += chunk.count("\n")
    return out


def _first_line(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()
    text = message[0] if message else type(exc).__name__
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # sqlglot underlines the error with ANSI codes
    return text[:160]
