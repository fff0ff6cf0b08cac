"""The JSON report of every sample project validates against the published schema."""

from __future__ import annotations

import json

import jsonschema
import pytest

from auditor.config import Config
from auditor.render.json_report import SCHEMA_VERSION, render_json
from auditor.resources import reports_dir
from auditor.scan import run_scan
from tests.test_sample_projects import SAMPLES

SCHEMA = json.loads((reports_dir() / f"report-{SCHEMA_VERSION}.schema.json").read_text(encoding="utf-8"))


def test_the_schema_is_itself_valid():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("project", SAMPLES, ids=lambda p: p.name)
def test_sample_reports_validate(project):
    document = json.loads(render_json(run_scan(project, Config(), jobs=1)))
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    assert document["findings"], "the sample projects all have findings"


def test_a_report_with_notes_validates(scan):
    result = scan({"bad.py": "def f(:\n", "ok.py": "x = 1\n"})
    document = json.loads(render_json(result))
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    assert document["notes"][0]["path"] == "bad.py"
