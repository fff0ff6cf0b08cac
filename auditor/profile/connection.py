"""The profiler's database session: read-only, time-limited, identified, and never echoing a password.

``connect(dsn)`` opens a psycopg2 connection whose session runs with
``default_transaction_read_only = on``, a ``statement_timeout`` and ``application_name =
'audit-profile'`` (set as startup options, so they hold from the first statement on), in
autocommit mode (a failed EXPLAIN does not abort the rest). Every failure becomes a
:class:`ProfileError` with one line of text in which no password appears.
"""

from __future__ import annotations

import os
import re
from typing import Optional

APPLICATION_NAME = "audit-profile"
DEFAULT_STATEMENT_TIMEOUT_MS = 15_000
CONNECT_TIMEOUT_S = 10
DSN_ENVIRONMENT = ("AUDIT_DSN", "DATABASE_URL")

_URL_USERINFO = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<password>[^@\s]*)@", re.I)
_KEYWORD_PASSWORD = re.compile(r"(?P<key>(?<![?&])\bpassword\s*=\s*)(?P<value>'(?:[^'\\]|\\.)*'|\S+)", re.I)
_QUERY_PASSWORD = re.compile(r"(?P<key>[?&]password=)(?P<value>[^&\s]*)", re.I)


class ProfileError(Exception):
    """A failure the user can act on; ``str()`` is one line without secrets."""


def redact(text: str, secrets: tuple = ()) -> str:
    """``text`` with every password removed: URL userinfo (``user:pw@``), ``password=...`` keywords
    and query parameters, and any of ``secrets`` wherever they appear."""
    text = _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{m.group('user')}:***@", text)
    text = _KEYWORD_PASSWORD.sub(lambda m: f"{m.group('key')}***", text)
    text = _QUERY_PASSWORD.sub(lambda m: f"{m.group('key')}***", text)
    for secret in secrets:
        if secret and len(secret) >= 3:
            text = text.replace(secret, "***")
    return text


def password_of(dsn: str) -> str:
    """The password a DSN carries (URL or keyword form), or ''."""
    try:
        from psycopg2.extensions import parse_dsn

        return parse_dsn(dsn).get("password", "") or ""
    except Exception:  # noqa: BLE001 - an unparsable DSN: fall back to the patterns
        match = _URL_USERINFO.search(dsn) or _KEYWORD_PASSWORD.search(dsn)
        if not match:
            return ""
        value = match.groupdict().get("password") or match.groupdict().get("value") or ""
        return value.strip("'")


def resolve_dsn(explicit: Optional[str]) -> Optional[str]:
    """The DSN to profile: ``--dsn``, else ``$AUDIT_DSN``, else ``$DATABASE_URL``."""
    if explicit:
        return explicit
    for name in DSN_ENVIRONMENT:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def describe_target(dsn: str) -> str:
    """``user@host:port/dbname`` (no password) for messages."""
    try:
        from psycopg2.extensions import parse_dsn

        parts = parse_dsn(dsn)
    except Exception:  # noqa: BLE001
        return redact(dsn)
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    user = parts.get("user") or os.environ.get("PGUSER") or ""
    target = f"{host}:{port}/{parts.get('dbname', '')}"
    return f"{user}@{target}" if user else target


def _first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def explain_connect_error(exc: Exception, dsn: str) -> str:
    """One line for a failed connection: unreachable server, bad credentials, unknown database..."""
    secrets = (password_of(dsn),)
    raw = redact(str(exc), secrets)
    lowered = raw.lower()
    target = describe_target(dsn)
    if "password authentication failed" in lowered or "authentication failed" in lowered:
        return f"cannot connect to {target}: authentication failed (wrong user name or password)"
    if "no password supplied" in lowered or "fe_sendauth" in lowered:
        return f"cannot connect to {target}: the server asks for a password and none was given"
    if re.search(r'database "[^"]*" does not exist', raw):
        return f"cannot connect to {target}: {_first_line(raw.split('FATAL:')[-1])}"
    if re.search(r'role "[^"]*" does not exist', raw):
        return f"cannot connect to {target}: {_first_line(raw.split('FATAL:')[-1])}"
    if "connection refused" in lowered or "could not connect" in lowered or "timeout expired" in lowered \
            or "could not translate host name" in lowered or "no route to host" in lowered:
        return f"cannot connect to {target}: server unreachable ({_reason(raw)})"
    if "invalid dsn" in lowered or "missing \"=\"" in lowered or "invalid connection option" in lowered:
        return f"invalid DSN {redact(dsn, secrets)}: {_first_line(raw)}"
    return f"cannot connect to {target}: {_first_line(raw.replace('FATAL:', ''))}"


def _reason(raw: str) -> str:
    for needle in ("Connection refused", "timeout expired", "could not translate host name", "No route to host",
                   "No such file or directory"):
        if needle.lower() in raw.lower():
            return needle[0].lower() + needle[1:]
    return _first_line(raw)


def connect(dsn: str, statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS):
    """A read-only, time-limited psycopg2 connection (autocommit) identified as ``audit-profile``.

    Raises :class:`ProfileError` (one line, no password) when psycopg2 is missing or the
    connection fails.
    """
    try:
        import psycopg2
        from psycopg2.extensions import parse_dsn
    except ImportError:
        raise ProfileError("psycopg2 is not installed: pip install 'audit[postgres]' (or psycopg2-binary)") from None
    try:
        existing = parse_dsn(dsn).get("options", "")
    except psycopg2.Error as exc:
        raise ProfileError(f"invalid DSN {redact(dsn, (password_of(dsn),))}: "
                           f"{_first_line(redact(str(exc), (password_of(dsn),)))}") from None
    options = " ".join(part for part in (
        existing,
        "-c default_transaction_read_only=on",
        f"-c statement_timeout={int(statement_timeout_ms)}",
        "-c idle_in_transaction_session_timeout=60000",
    ) if part)
    try:
        conn = psycopg2.connect(dsn, options=options, application_name=APPLICATION_NAME,
                                connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg2.Error as exc:
        raise ProfileError(explain_connect_error(exc, dsn)) from None
    conn.autocommit = True
    conn.set_session(readonly=True, autocommit=True)
    return conn


def error_line(exc: Exception, dsn: str = "") -> str:
    """The first line of a database error, without a password."""
    return _first_line(redact(str(exc), (password_of(dsn),) if dsn else ()))
