"""``--format github``: one workflow command per finding and note, with GitHub's escaping."""

from __future__ import annotations

from auditor.findings import Finding
from auditor.render.github import escape_data, escape_property, render_github
from auditor.scan import ScanResult
from tests.test_render_markdown import handmade_result


def test_escaping():
    assert escape_data("50% done\r\nnext: a, b") == "50%25 done%0D%0Anext: a, b"
    assert escape_property("a:b, 50%\n") == "a%3Ab%2C 50%25%0A"


def test_exact_lines_for_a_handmade_scan():
    lines = render_github(handmade_result()).splitlines()
    assert len(lines) == 7  # 6 findings and 1 note
    assert lines[0] == (
        "::error file=app/views.py,line=12,col=5,title=DB101 DB101 title (critical%2C P0)::DB101 message%0A%0A"
        "Fix: DB101 fix%0A%0AEvidence: app/views.py:11 for item in items → app/views.py:12 repo.load() → "
        "app/repo.py:5 cur.execute()")
    assert lines[2] == "::error file=scripts/job.py,line=7,col=5,title=DB202 DB202 title (high%2C P1)::DB202 message%0A%0AFix: DB202 fix"
    assert lines[3].startswith("::warning file=app/ai.py,line=20,col=5,title=LLM101 LLM101 title (medium%2C P2)::")
    assert lines[5].startswith("::notice file=db/schema.sql,line=3,col=5,title=IDX102 IDX102 title (low%2C P3)::")
    assert lines[6] == "::warning file=bad.py,title=audit note::syntax error at line 1"


def test_properties_and_message_are_escaped():
    finding = Finding(rule="SQL106", title="SQL built by formatting", category="sql", severity="high",
                      confidence="medium", path="app/a,b:c.py", line=3, column=0, end_line=5, function="f",
                      message="100% of `f\"{x}\"`\nsecond line", remediation="use params, not %s", priority="P2")
    text = render_github(ScanResult(root="r", findings=[finding], notes=[]))
    assert text == ("::error file=app/a%2Cb%3Ac.py,line=3,endLine=5,title=SQL106 SQL built by formatting "
                    "(high%2C P2)::100%25 of `f\"{x}\"`%0Asecond line%0A%0AFix: use params, not %25s\n")


def test_nothing_to_report_is_empty_and_deterministic():
    assert render_github(ScanResult(root="r", findings=[], notes=[])) == ""
    assert render_github(handmade_result()) == render_github(handmade_result())


def test_a_live_finding_is_annotated_without_a_file():
    from tests.test_render_markdown import live_result

    assert render_github(live_result()) == (
        "::error title=PRF101 Expensive statement (high%2C P1)::db:shop statement 42: statement 42 takes 38%25 "
        "of the database's time%0A%0AFix: index it\n")
