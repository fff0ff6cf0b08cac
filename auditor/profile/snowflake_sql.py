"""What the profiler reads from a Snowflake query's text (sqlglot, snowflake dialect): a
normalised fingerprint, the columns it filters each table on, Cortex calls, non-reusable functions."""

from __future__ import annotations

import hashlib
import re
from typing import Optional

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

from auditor.sql.access import access_paths
from auditor.sql.parse import parse_statement

DIALECT = "snowflake"
# Functions whose result differs on every run: a query using one never reuses a persisted result
# (Snowflake's documentation names CURRENT_TIMESTAMP, UUID_STRING, RANDOM and RANDSTR).
NON_REUSABLE = ("CURRENT_TIMESTAMP", "CURRENT_TIME", "LOCALTIMESTAMP", "LOCALTIME", "SYSDATE", "GETDATE",
                "SYSTIMESTAMP", "UUID_STRING", "RANDOM", "RANDSTR")


_LITERAL = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b")


def literal_shape(text: str) -> str:
    """The text with string and number literals replaced and whitespace collapsed: a cheap key under
    which runs that differ only in their literals share one :func:`fingerprint`."""
    return " ".join(_LITERAL.sub("?", text).split())


def fingerprint(text: str) -> str:
    """A stable id of the statement with its literals replaced (``sqlglot:…``), or of its
    whitespace-normalised text when it does not parse (``text:…``)."""
    tree = parse_statement(text, DIALECT).tree
    if tree is not None:
        normalised = tree.copy().transform(
            lambda node: exp.Placeholder() if isinstance(node, exp.Literal) else node)
        return "sqlglot:" + _digest(normalised.sql(dialect=DIALECT))
    return "text:" + _digest(" ".join(text.split()))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def filter_columns(text: str) -> dict:
    """``{table as written: [filter columns]}``: equality columns first, then ranges (with the
    expressions over columns, such as ``to_date(event_ts)``), for every table the query filters."""
    tree = parse_statement(text, DIALECT).tree
    if tree is None:
        return {}
    written = {}
    for table in tree.find_all(exp.Table):
        if table.name:
            written.setdefault(table.name.lower(), exp.table_name(table))
    out: dict = {}
    for path in access_paths(tree, None, DIALECT):
        columns = list(dict.fromkeys(list(path.equality) + list(path.ranges)))
        if columns:
            name = written.get(path.table, path.table)
            out[name] = list(dict.fromkeys(out.get(name, []) + columns))
    return out


def cortex_calls(text: str) -> list:
    """Names of the Cortex functions the query calls, in order of first use:
    ``SNOWFLAKE.CORTEX.COMPLETE``, ``AI_COMPLETE``…"""
    upper = text.upper()
    if "CORTEX" not in upper and "AI_" not in upper:
        return []
    tokens = _tokens(text)
    if tokens is None:
        found = re.findall(r"\b(SNOWFLAKE\s*\.\s*CORTEX\s*\.\s*\w+|AI_\w+)\s*\(", text, flags=re.IGNORECASE)
        return list(dict.fromkeys(re.sub(r"\s+", "", name).upper() for name in found))
    names = []
    for index, token in enumerate(tokens):
        upper = token.text.upper()
        after = tokens[index + 1].token_type if index + 1 < len(tokens) else None
        if upper == "SNOWFLAKE" and _follows(tokens, index, ("CORTEX",)) and index + 5 < len(tokens) \
                and tokens[index + 5].token_type == TokenType.L_PAREN:
            names.append(f"SNOWFLAKE.CORTEX.{tokens[index + 4].text.upper()}")
        elif upper.startswith("AI_") and after == TokenType.L_PAREN and token.token_type != TokenType.STRING \
                and (index == 0 or tokens[index - 1].token_type != TokenType.DOT):
            names.append(upper)
    return list(dict.fromkeys(names))


def _follows(tokens: list, index: int, parts: tuple) -> bool:
    """``tokens[index]`` is followed by ``. part`` for each part and then ``. name``."""
    position = index
    for part in parts:
        if position + 2 >= len(tokens) or tokens[position + 1].token_type != TokenType.DOT \
                or tokens[position + 2].text.upper() != part:
            return False
        position += 2
    return position + 2 < len(tokens) and tokens[position + 1].token_type == TokenType.DOT


def non_reusable_functions(text: str) -> list:
    """The functions in the query that stop Snowflake from reusing a persisted result."""
    tokens = _tokens(text)
    if tokens is None:
        return []
    found = [token.text.upper() for token in tokens
             if token.token_type not in (TokenType.STRING, TokenType.IDENTIFIER) and token.text.upper() in NON_REUSABLE]
    return list(dict.fromkeys(found))


def has_filter(text: str) -> bool:
    """Whether some SELECT, UPDATE or DELETE of the query has a WHERE clause."""
    tree = parse_statement(text, DIALECT).tree
    return tree is not None and any(node.args.get("where") is not None for node in tree.walk()
                                    if isinstance(node, (exp.Select, exp.Update, exp.Delete)))


def _tokens(text: str) -> Optional[list]:
    try:
        return sqlglot.Dialect.get_or_raise(DIALECT).tokenize(text)
    except (SqlglotError, ValueError, RecursionError):
        return None
