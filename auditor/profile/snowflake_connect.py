"""Connect to Snowflake for ``audit profile --snowflake``: parameters from the environment or the
connector's own ``connections.toml``; secrets never appear in messages."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional

# connect() keyword -> environment variable (the names the Snowflake CLI and connector docs use)
ENV_PARAMETERS = {
    "account": "SNOWFLAKE_ACCOUNT",
    "user": "SNOWFLAKE_USER",
    "password": "SNOWFLAKE_PASSWORD",
    "private_key_file": "SNOWFLAKE_PRIVATE_KEY_FILE",
    "private_key_file_pwd": "SNOWFLAKE_PRIVATE_KEY_FILE_PWD",
    "authenticator": "SNOWFLAKE_AUTHENTICATOR",
    "token": "SNOWFLAKE_TOKEN",
    "warehouse": "SNOWFLAKE_WAREHOUSE",
    "database": "SNOWFLAKE_DATABASE",
    "role": "SNOWFLAKE_ROLE",
    "host": "SNOWFLAKE_HOST",
    "port": "SNOWFLAKE_PORT",
    "protocol": "SNOWFLAKE_PROTOCOL",
}
SECRET_PARAMETERS = ("password", "private_key_file_pwd", "token")
CREDENTIAL_PARAMETERS = ("password", "private_key_file", "authenticator", "token")
QUERY_TAG = "audit profile"
LOGIN_TIMEOUT_SECONDS = 30
STATEMENT_TIMEOUT_SECONDS = 300


class SnowflakeSetupError(Exception):
    """A one-line reason why the profiler cannot read the account (exit code 2)."""


def connection_parameters(environ: Mapping[str, str]) -> dict:
    """The ``snowflake.connector.connect`` keywords the environment asks for.

    ``SNOWFLAKE_CONNECTION_NAME`` (or a default connection in ``connections.toml`` when no
    account is set) hands the connection to the connector's own configuration; the other
    variables then override single parameters.
    """
    params = {key: environ[name] for key, name in ENV_PARAMETERS.items() if environ.get(name)}
    if "port" in params:
        try:
            params["port"] = int(params["port"])
        except ValueError:
            raise SnowflakeSetupError(f"SNOWFLAKE_PORT is not a number: {params['port']!r}") from None
    name = environ.get("SNOWFLAKE_CONNECTION_NAME") or (
        None if "account" in params else _default_toml_connection(environ))
    if name:
        params["connection_name"] = name
        if environ.get("SNOWFLAKE_HOME"):  # the connector reads it once, at import: name the file
            params["connections_file_path"] = Path(environ["SNOWFLAKE_HOME"]) / "connections.toml"
        return params
    if "account" not in params:
        raise SnowflakeSetupError(
            "no Snowflake account: set SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER and SNOWFLAKE_PASSWORD "
            "(or SNOWFLAKE_PRIVATE_KEY_FILE or SNOWFLAKE_AUTHENTICATOR), or SNOWFLAKE_CONNECTION_NAME "
            "for a connection in connections.toml")
    if "user" not in params:
        raise SnowflakeSetupError("no Snowflake user: set SNOWFLAKE_USER")
    if not any(key in params for key in CREDENTIAL_PARAMETERS):
        raise SnowflakeSetupError(
            "no Snowflake credentials: set SNOWFLAKE_PASSWORD, SNOWFLAKE_PRIVATE_KEY_FILE or "
            "SNOWFLAKE_AUTHENTICATOR (e.g. externalbrowser)")
    return params


def _default_toml_connection(environ: Mapping[str, str]) -> Optional[str]:
    """The default connection's name when a ``connections.toml`` exists where the connector looks."""
    home = Path(environ["SNOWFLAKE_HOME"]) if environ.get("SNOWFLAKE_HOME") else Path.home() / ".snowflake"
    if not (home / "connections.toml").is_file():
        return None
    return environ.get("SNOWFLAKE_DEFAULT_CONNECTION_NAME") or "default"


def describe(params: Mapping) -> str:
    """``account ACME as user AUDITOR (password)``: what is used, never a secret."""
    if "connection_name" in params and "account" not in params:
        return f"connection {params['connection_name']!r} from connections.toml"
    method = next((key for key in CREDENTIAL_PARAMETERS if key in params), "configured credentials")
    method = params.get("authenticator", method) if method == "authenticator" else method.replace("_", " ")
    return f"account {params.get('account', '?')} as user {params.get('user', '?')} ({method})"


def redact(text: str, params: Mapping) -> str:
    """``text`` with every secret value of ``params`` replaced by ``***``."""
    for key in SECRET_PARAMETERS:
        value = params.get(key)
        if value:
            text = text.replace(str(value), "***")
    return text


def one_line(exc: BaseException, params: Mapping) -> str:
    """The first line of an error message, secrets removed."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return redact(lines[0] if lines else type(exc).__name__, params)[:300]


def connect(params: dict):
    """An open connector connection that tags its queries and times them out.

    Only SELECTs are sent through it: the profiler never writes to the account.
    """
    try:
        import snowflake.connector
    except ImportError:
        raise SnowflakeSetupError(
            "snowflake-connector-python is not installed: pip install 'audit[snowflake]'") from None
    session = {"QUERY_TAG": QUERY_TAG, "STATEMENT_TIMEOUT_IN_SECONDS": STATEMENT_TIMEOUT_SECONDS}
    try:
        return snowflake.connector.connect(**params, session_parameters=session,
                                           login_timeout=LOGIN_TIMEOUT_SECONDS)
    except snowflake.connector.errors.Error as exc:
        raise SnowflakeSetupError(f"cannot connect to Snowflake ({describe(params)}): "
                                  f"{one_line(exc, params)}") from None
    except (OSError, ValueError, TypeError, KeyError) as exc:  # unreadable key file, bad toml entry
        raise SnowflakeSetupError(f"cannot connect to Snowflake ({describe(params)}): "
                                  f"{type(exc).__name__}: {one_line(exc, params)}") from None

