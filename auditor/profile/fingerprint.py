"""One fingerprint for a statement as the code writes it and as pg_stat_statements records it.

``SELECT ... WHERE id = %s AND status = 'paid' LIMIT 20`` in Python and ``SELECT ... WHERE id =
$1 AND status = $2 LIMIT $3`` in pg_stat_statements must meet. Both texts are tokenized with
sqlglot (PostgreSQL) and reduced to the same token stream: every value (string, number,
boolean, NULL, ``$n``, ``%s``, ``?``, ``:name``) becomes ``?``; a typed literal keyword before
a value (``INTERVAL '2 days'`` / ``INTERVAL $2``) and a unary minus go; a parenthesised list of
values is one ``?`` (``IN %s`` with a tuple arrives as ``IN ($1, $2, $3)``); keywords are
upper-cased, unquoted identifiers lower-cased, comments and whitespace dropped.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

import sqlglot
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

from auditor.sql.parse import normalize_placeholders

_VALUE_TOKENS = {TokenType.STRING, TokenType.NUMBER, TokenType.PLACEHOLDER, TokenType.PARAMETER,
                 TokenType.NATIONAL_STRING, TokenType.BIT_STRING, TokenType.HEX_STRING, TokenType.BYTE_STRING,
                 TokenType.RAW_STRING, TokenType.HEREDOC_STRING, TokenType.UNICODE_STRING, TokenType.TRUE,
                 TokenType.FALSE, TokenType.NULL}
_TYPED_LITERALS = {"INTERVAL", "DATE", "TIMESTAMP", "TIMESTAMPTZ", "TIME"}
_PARAMETERS = re.compile(r"\$\d+\b|\?|(?<![:\w]):[A-Za-z_]\w*")
_PARAMETER_NAME = "__audit_param__"
_FALLBACK_TOKEN = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|\?|\d+(?:\.\d+)?|[A-Za-z_][A-Za-z0-9_$]*|::|[^\sA-Za-z0-9_]")


def _tokens(text: str) -> list:
    """Normalised tokens of one statement."""
    text = _PARAMETERS.sub(f" {_PARAMETER_NAME} ", normalize_placeholders(text)).strip().rstrip(";")
    try:
        raw = sqlglot.Dialect.get_or_raise("postgres").tokenize(text)
    except (SqlglotError, ValueError, RecursionError):
        return _fallback_tokens(text)
    out = []
    for token in raw:
        kind = token.token_type
        if kind in _VALUE_TOKENS or token.text == _PARAMETER_NAME:
            out.append("?")
        elif kind == TokenType.IDENTIFIER:
            out.append(f'"{token.text}"')
        elif kind == TokenType.VAR:
            out.append(token.text.lower())
        elif kind == TokenType.SEMICOLON:
            continue
        else:
            out.append(token.text.upper())
    return out


def _fallback_tokens(text: str) -> list:
    out = []
    for token in _FALLBACK_TOKEN.findall(text):
        if token.startswith("'") or token in {"?", _PARAMETER_NAME} or token[0].isdigit() or token.upper() in {"TRUE", "FALSE", "NULL"}:
            out.append("?")
        elif token.startswith('"'):
            out.append(token)
        elif token[0].isalpha() or token[0] == "_":
            out.append(token.upper() if token.upper() in _KEYWORDS else token.lower())
        elif token != ";":
            out.append(token)
    return out


_KEYWORDS = {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "IS", "LIMIT", "OFFSET", "ORDER", "BY", "GROUP",
             "HAVING", "JOIN", "LEFT", "RIGHT", "INNER", "OUTER", "ON", "AS", "INSERT", "INTO", "VALUES", "UPDATE",
             "SET", "DELETE", "RETURNING", "DESC", "ASC", "LIKE", "ILIKE", "BETWEEN", "WITH", "DISTINCT", "UNION",
             "ALL", "CASE", "WHEN", "THEN", "ELSE", "END", "INTERVAL", "DATE", "TIMESTAMP", "EXISTS", "USING"}


def _reduce(tokens: list) -> list:
    """Typed literals, unary minus and value lists to a single ``?``."""
    out: list = []
    for token in tokens:
        if token == "?" and out and out[-1] in _TYPED_LITERALS:
            out[-1] = "?"
            continue
        if token == "?" and out and out[-1] == "-" and (len(out) == 1 or out[-2] not in {"?", ")"}
                                                         and not _is_name(out[-2])):
            out[-1] = "?"
            continue
        out.append(token)
        if token == ")":
            _collapse_value_list(out)
    return out


def _is_name(token: str) -> bool:
    return bool(token) and (token[0].islower() or token[0] == "_" or token.startswith('"'))


def _collapse_value_list(out: list) -> None:
    """``( ? , ? , ? )`` at the end of ``out`` -> ``?``."""
    depth_start = None
    for position in range(len(out) - 2, -1, -1):
        if out[position] == "(":
            depth_start = position
            break
        if out[position] not in {"?", ","}:
            return
    if depth_start is None:
        return
    inner = out[depth_start + 1:-1]
    if inner and all(t == "?" for t in inner[::2]) and all(t == "," for t in inner[1::2]) and len(inner) % 2 == 1:
        del out[depth_start:]
        out.append("?")


@lru_cache(maxsize=16384)
def normalized_text(text: str) -> str:
    """The statement as the fingerprint sees it (for evidence and debugging)."""
    return " ".join(_reduce(_tokens(text)))


def fingerprint(text: str) -> str:
    """A 16-hex-digit fingerprint shared by a statement's code text and its pg_stat_statements text."""
    return hashlib.sha1(normalized_text(text).encode("utf-8")).hexdigest()[:16]
