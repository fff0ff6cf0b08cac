"""The shipped LLM price table, its overrides, and the llm-* configuration keys."""

from __future__ import annotations

import pytest

from auditor.config import ConfigError, load_config
from auditor.llm.prices import load_prices
from auditor.rules import load_rules


def test_price_table_ships_dated_rows_with_sources():
    table = load_prices()
    assert table.as_of == "2026-11-21"
    for row in table.rows.values():
        assert row["input"] >= 0 and row["output"] >= 0
        assert row["as_of"] and row["source"]
    assert "llm-prices" not in " ".join(rule.path for rule in load_rules().values())


@pytest.mark.parametrize("model, row", [
    ("gpt-4o", "gpt-4o"),
    ("gpt-4o-mini", "gpt-4o-mini"),
    ("gpt-4o-2024-08-06", "gpt-4o"),
    ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
    ("openai/gpt-4o-mini", "gpt-4o-mini"),
    ("claude-sonnet-4.5", "claude-sonnet-4-5"),
    ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
    ("claude-haiku-4-5@20251001", "claude-haiku-4-5"),
    ("models/gemini-2.5-flash", "gemini-2.5-flash"),
    ("gemini-2.5-flash-lite", "gemini-2.5-flash-lite"),
])
def test_model_names_match_their_row(model, row):
    assert load_prices().lookup(model)["model"] == row


@pytest.mark.parametrize("model", ["gpt-4", "gpt-4omni", "llama3.1", "my-azure-deployment", "", None])
def test_unknown_models_have_no_price(model):
    assert load_prices().lookup(model) is None


def test_overrides_change_and_add_rows():
    table = load_prices({"gpt-4o": {"input": 2.0}, "mistral-large-latest": {"input": 2.0, "output": 6.0}})
    assert (table.lookup("gpt-4o")["input"], table.lookup("gpt-4o")["output"]) == (2.0, 10.0)
    assert table.lookup("gpt-4o")["source"] == "project configuration (llm-prices)"
    assert table.lookup("mistral-large-latest")["output"] == 6.0
    assert load_prices().lookup("gpt-4o")["input"] == 2.5  # the shipped table is untouched


def _config(tmp_path, text: str):
    (tmp_path / ".audit.yml").write_text(text, encoding="utf-8")
    return load_config(tmp_path)


def test_llm_config_keys_are_read(tmp_path):
    config = _config(tmp_path, """
llm-functions: [myco.ai.ask, myco.ai.embed]
llm-prices:
  gpt-4o: {input: 2.0, output: 8.0}
llm-traffic:
  calls-per-day: {default: 100, app.api.summarize: 5000}
  input-tokens: 1500
""")
    assert config.llm_functions == ["myco.ai.ask", "myco.ai.embed"]
    assert config.llm_prices == {"gpt-4o": {"input": 2.0, "output": 8.0}}
    assert config.llm_traffic == {"calls-per-day": {"default": 100, "app.api.summarize": 5000},
                                  "input-tokens": 1500}


def test_llm_config_defaults(tmp_path):
    config = _config(tmp_path, "dialect: postgres\n")
    assert (config.llm_functions, config.llm_prices, config.llm_traffic) == ([], {}, {})


@pytest.mark.parametrize("text, message", [
    ("llm-functions: myco.ai.ask\n", "'llm-functions' must be a list of strings"),
    ("llm-prices: [gpt-4o]\n", "'llm-prices' must map model names"),
    ("llm-prices:\n  gpt-4o: {input: cheap}\n", "'llm-prices' gpt-4o: 'input' must be one of"),
    ("llm-prices:\n  gpt-4o: {inptu: 2}\n", "'llm-prices' gpt-4o: 'inptu' must be one of"),
    ("llm-traffic: 1000\n", "'llm-traffic' must be a mapping"),
    ("llm-traffic:\n  calls: 1000\n", "'llm-traffic' has unknown key 'calls'"),
    ("llm-traffic:\n  calls-per-day: -5\n", "'llm-traffic' calls-per-day must be a number >= 0"),
    ("llm-traffic:\n  calls-per-day: {default: lots}\n", "calls-per-day must map function names"),
])
def test_invalid_llm_config_is_a_clear_error(tmp_path, text, message):
    with pytest.raises(ConfigError) as error:
        _config(tmp_path, text)
    assert message in str(error.value)
    assert str(error.value).startswith(str(tmp_path / ".audit.yml"))
