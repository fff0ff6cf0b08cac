"""Validation of the LLM configuration keys: ``llm-functions``, ``llm-prices``, ``llm-traffic``.

    llm-functions: [myapp.ai.ask]          # in-house wrappers to treat as LLM calls
    llm-prices:                            # add or override rows of rules/llm-prices.yaml
      gpt-4o: {input: 2.5, output: 10}
    llm-traffic:                           # without it findings show no dollars
      calls-per-day: 5000                  # or {default: 5000, app.api.summarize: 20000}
      input-tokens: 1200                   # assumed prompt tokens per call (default 1000)
      output-tokens: 300                   # assumed output tokens (default: the call's cap, else 500)
"""

from __future__ import annotations

TRAFFIC_KEYS = ("calls-per-day", "input-tokens", "output-tokens")
PRICE_FIELDS = ("input", "output", "cached_input", "batch_discount")


class LlmSettingsError(ValueError):
    """An LLM configuration value is invalid (the message names the key)."""


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


def parse_prices(value) -> dict:
    """``llm-prices``: model -> {input, output, ...} with non-negative numbers."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise LlmSettingsError("'llm-prices' must map model names to {input: USD, output: USD} per million tokens")
    rows = {}
    for model, row in value.items():
        if not isinstance(model, str) or not isinstance(row, dict) or not row:
            raise LlmSettingsError(f"'llm-prices' {model!r} must be a mapping such as {{input: 2.5, output: 10}}")
        for key, number in row.items():
            if key not in PRICE_FIELDS or not _number(number):
                raise LlmSettingsError(
                    f"'llm-prices' {model}: '{key}' must be one of {', '.join(PRICE_FIELDS)} with a number >= 0")
        rows[model] = dict(row)
    return rows


def parse_traffic(value) -> dict:
    """``llm-traffic``: calls-per-day (a number, or function qualname/default -> number) and tokens."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise LlmSettingsError(f"'llm-traffic' must be a mapping with {', '.join(TRAFFIC_KEYS)}")
    for key, item in value.items():
        if key not in TRAFFIC_KEYS:
            raise LlmSettingsError(f"'llm-traffic' has unknown key '{key}' (known: {', '.join(TRAFFIC_KEYS)})")
        if key == "calls-per-day" and isinstance(item, dict):
            if not all(isinstance(k, str) and _number(v) for k, v in item.items()):
                raise LlmSettingsError("'llm-traffic' calls-per-day must map function names (or default) to numbers")
        elif not _number(item):
            raise LlmSettingsError(f"'llm-traffic' {key} must be a number >= 0")
    return dict(value)
