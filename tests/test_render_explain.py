"""``audit explain``: the rule's YAML doc with numbered, highlighted bad and good examples and the
reported lines marked."""

from __future__ import annotations

import io
import re

from rich.console import Console
from typer.testing import CliRunner

from auditor.cli import app
from auditor.render.rule_doc import render_rule_doc
from auditor.rules import load_rules

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_explain_shows_examples_with_marked_lines():
    out = CliRunner().invoke(app, ["explain", "DB101"]).stdout
    assert out.startswith("DB101 query-in-loop: Database query inside a loop\n"
                          "severity high, confidence high, category n-plus-one, effort medium\n")
    assert "\nBad example 1 of 5 (reported lines marked ❱): psycopg2 lookup of one row per id\n" in out
    assert '\n❱ 7         cur.execute("SELECT price FROM skus WHERE id = %s", (sku_id,))\n' in out
    assert "\n  6     for sku_id in sku_ids:\n" in out
    assert "\nGood example 1 of 9 (not reported): one query for all ids with = ANY(%s), then a dict lookup\n" in out
    assert "Bad example 3 of 5" not in out
    assert "\n10 more examples: audit explain DB101 --all\n" in out
    assert out.index("Why is this bad?") < out.index("Bad example 1") < out.index("Good example 1") \
        < out.index("\nRemediation\n") < out.index("\nReferences\n")


def test_explain_all_shows_multi_file_examples():
    out = CliRunner().invoke(app, ["explain", "DB101", "--all"]).stdout
    assert "Bad example 5 of 5 (reported lines marked ❱): query hidden two calls deep" in out
    assert "\n# app/service.py\n" in out
    assert "\n❱ 5     return [get_deal(cur, i) for i in ids]\n" in out
    assert "Good example 9 of 9" in out
    assert "more examples" not in out


def test_examples_are_syntax_highlighted_on_a_terminal():
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, color_system="truecolor", width=120, soft_wrap=True)
    render_rule_doc(load_rules()["DB101"], console)
    text = buffer.getvalue()
    line = next(line for line in text.splitlines() if "SELECT price FROM skus" in line)
    assert ANSI.sub("", line).startswith("❱ 7 ")
    # the keyword, the string and the call are coloured differently
    colours = set(re.findall(r"\x1b\[([0-9;]*)m", line))
    assert len(colours) >= 3, colours
