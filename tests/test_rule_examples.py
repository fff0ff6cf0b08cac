"""Every example in every rule's YAML is a test: bad examples fire exactly where they say."""

from __future__ import annotations

import pytest

from auditor.config import Config
from auditor.rules import load_rules
from tests.conftest import found, scan_files

RULES = load_rules()
SEVERITIES = {"critical", "high", "medium", "low", "info"}


def _cases(kind: str) -> list:
    cases = []
    for rule in RULES.values():
        if rule.live:  # live rules' examples are workloads, checked by tests/test_profile_*.py
            continue
        for number, example in enumerate(rule.examples.get(kind) or [], start=1):
            cases.append(pytest.param(rule.id, example, id=f"{rule.id}-{kind}-{number}"))
    return cases


def _files(example: dict) -> dict:
    return example["files"] if "files" in example else {"example.py": example["code"]}


def _expected(rule_id: str, example: dict) -> list:
    expected = []
    for item in example.get("expect") or []:
        if isinstance(item, int):
            expected.append((rule_id, "example.py", item))
        else:
            path, line = str(item).rsplit(":", 1)
            expected.append((rule_id, path, int(line)))
    return sorted(expected)


def _config(example: dict) -> Config:
    """An example may set the dialect: ``config: {dialect: redshift}``."""
    return Config(**(example.get("config") or {}))


@pytest.mark.parametrize("rule_id,example", _cases("bad"))
def test_bad_example_is_reported_exactly(tmp_path, rule_id, example):
    result = scan_files(tmp_path, _files(example), _config(example))
    assert found(result, rule_id) == _expected(rule_id, example), example.get("description")
    assert _expected(rule_id, example), "a bad example must say where it is reported"


@pytest.mark.parametrize("rule_id,example", _cases("good"))
def test_good_example_is_not_reported(tmp_path, rule_id, example):
    result = scan_files(tmp_path, _files(example), _config(example))
    assert found(result, rule_id) == [], example.get("description")


@pytest.mark.parametrize("rule", list(RULES.values()), ids=lambda r: r.id)
def test_rule_yaml_is_complete(rule):
    assert rule.severity in SEVERITIES
    assert rule.confidence in {"high", "medium", "low"}
    assert len(rule.examples.get("bad") or []) >= 3
    assert len(rule.examples.get("good") or []) >= 4
    assert rule.references and all(url.startswith("https://") for _, url in rule.references)
    assert rule.path.endswith(f"{rule.id}-{rule.name}.yaml")


def test_every_db_rule_exists():
    assert {"DB101", "DB102", "DB103", "DB104", "DB105", "DB201", "DB202", "DB203"} <= set(RULES)
