"""The Snowflake profiler's pure parts: query text analysis (sqlglot), warehouse credits, and the
connection parameters taken from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.profile.snowflake_analysis import estimated_credits, size_key
from auditor.profile.snowflake_connect import SnowflakeSetupError, connection_parameters, describe, redact
from auditor.profile.snowflake_sql import cortex_calls, filter_columns, fingerprint, has_filter, non_reusable_functions
from auditor.rules import load_rules

RULES = load_rules()


def _codes(rule_id: str, kind: str) -> list:
    return [example["code"] for example in RULES[rule_id].examples[kind]]


@pytest.mark.parametrize("code", _codes("PRF206", "bad"))
def test_cortex_calls_in_the_bad_examples(code):
    assert cortex_calls(code)


@pytest.mark.parametrize("code", _codes("PRF206", "good"))
def test_no_cortex_calls_in_strings_comments_or_schema_functions(code):
    assert cortex_calls(code) == []


def test_cortex_call_names():
    text = ("SELECT snowflake.cortex.COMPLETE('mistral-large2', 'Summarize: ' || body), AI_CLASSIFY(body, ['a', 'b']),"
            " SNOWFLAKE.CORTEX.SENTIMENT(body), ai_filter(prompt('Is {0} urgent?', body)) FROM tickets")
    assert cortex_calls(text) == ["SNOWFLAKE.CORTEX.COMPLETE", "AI_CLASSIFY", "SNOWFLAKE.CORTEX.SENTIMENT", "AI_FILTER"]


def test_non_reusable_functions_of_the_result_cache_examples():
    bad = [non_reusable_functions(code) for code in _codes("PRF205", "bad")]
    assert bad == [["CURRENT_TIMESTAMP"], ["RANDOM"], []]  # the third misses because its table is reloaded
    assert [non_reusable_functions(code) for code in _codes("PRF205", "good")] == [[], [], [], []]
    assert non_reusable_functions("SELECT 'current_timestamp' AS label, \"RANDOM\" FROM t") == []


def test_filter_columns_per_table_with_equality_first():
    text = ("SELECT o.order_id FROM analytics.sales.orders o JOIN crm.customers c ON c.id = o.customer_id "
            "WHERE o.order_date >= '2026-01-01' AND o.region = 'EMEA' AND c.segment IN ('smb', 'mid')")
    assert filter_columns(text) == {"analytics.sales.orders": ["region", "order_date"], "crm.customers": ["segment"]}
    assert filter_columns("SELECT * FROM t WHERE a = 1 OR b = 2") == {}
    assert has_filter("SELECT * FROM t WHERE a = 1 OR b = 2") and not has_filter("SELECT region FROM t GROUP BY 1")
    assert filter_columns("not sql at all (") == {}


def test_fingerprint_ignores_literals_and_layout():
    first = fingerprint("SELECT amount FROM orders WHERE region = 'EMEA' AND id = 1")
    assert first.startswith("sqlglot:")
    assert fingerprint("select amount\n  from orders where region = 'APAC' and id = 42") == first
    assert fingerprint("SELECT amount FROM orders WHERE country = 'DE' AND id = 1") != first
    assert fingerprint("this is ( not sql").startswith("text:")


@pytest.mark.parametrize("size,key", [("X-Small", "XSMALL"), ("XSMALL", "XSMALL"), ("Medium", "MEDIUM"),
                                      ("2X-Large", "2XLARGE"), ("XXLARGE", "2XLARGE"), ("X4LARGE", "4XLARGE"),
                                      ("6X-Large", "6XLARGE"), ("", ""), ("Huge", "")])
def test_warehouse_sizes(size, key):
    assert size_key(size) == key


def test_estimated_credits_from_size_and_execution_time():
    assert estimated_credits(3_600_000, "Large") == 8.0
    assert estimated_credits(1_800_000, "X-Small") == 0.5
    assert estimated_credits(3_600_000, "Medium", "SNOWPARK-OPTIMIZED") == 6.0
    assert estimated_credits(3_600_000, "") == 0.0  # no warehouse: served from the result cache


def test_environment_parameters_and_redaction(tmp_path):
    params = connection_parameters({"SNOWFLAKE_ACCOUNT": "acme-prod", "SNOWFLAKE_USER": "auditor",
                                    "SNOWFLAKE_PASSWORD": "pw-123", "SNOWFLAKE_WAREHOUSE": "AUDIT_WH",
                                    "SNOWFLAKE_PORT": "8443", "SNOWFLAKE_HOME": str(tmp_path)})
    assert params == {"account": "acme-prod", "user": "auditor", "password": "pw-123", "warehouse": "AUDIT_WH",
                      "port": 8443}
    assert describe(params) == "account acme-prod as user auditor (password)"
    assert redact("login failed for pw-123", params) == "login failed for ***"
    key = {"SNOWFLAKE_ACCOUNT": "acme", "SNOWFLAKE_USER": "etl", "SNOWFLAKE_PRIVATE_KEY_FILE": "/keys/etl.p8",
           "SNOWFLAKE_HOME": str(tmp_path)}
    assert describe(connection_parameters(key)) == "account acme as user etl (private key file)"
    sso = {"SNOWFLAKE_ACCOUNT": "acme", "SNOWFLAKE_USER": "jo", "SNOWFLAKE_AUTHENTICATOR": "externalbrowser"}
    assert describe(connection_parameters(sso)) == "account acme as user jo (externalbrowser)"


def test_connections_toml_is_used_when_no_account_is_set(tmp_path):
    with pytest.raises(SnowflakeSetupError, match="^no Snowflake account"):
        connection_parameters({"SNOWFLAKE_HOME": str(tmp_path)})
    (tmp_path / "connections.toml").write_text('[default]\naccount = "acme"\n', encoding="utf-8")
    params = connection_parameters({"SNOWFLAKE_HOME": str(tmp_path), "SNOWFLAKE_ROLE": "AUDITOR"})
    assert params == {"role": "AUDITOR", "connection_name": "default",
                      "connections_file_path": Path(tmp_path) / "connections.toml"}
    assert describe(params) == "connection 'default' from connections.toml"
    named = connection_parameters({"SNOWFLAKE_HOME": str(tmp_path), "SNOWFLAKE_DEFAULT_CONNECTION_NAME": "prod"})
    assert named["connection_name"] == "prod"


def test_an_empty_history_reports_nothing_in_every_format():
    from rich.console import Console

    from auditor.profile.snowflake_analysis import analyse
    from auditor.profile.snowflake_history import History
    from auditor.profile.snowflake_report import render_json, render_markdown, render_terminal

    profile = analyse(History(runs=[], source="SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY"))
    assert (profile.findings, profile.groups, profile.total_credits) == ([], [], 0)
    assert '"findings": []' in render_json(profile, 10)
    assert "## Findings\n\nNone." in render_markdown(profile, 10)
    console = Console(record=True, width=100)
    render_terminal(profile, console, 10)
    assert console.export_text().startswith("audit read 0 queries (0 distinct) of the last 7 days")
