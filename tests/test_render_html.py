"""The HTML report's content without a browser: self-contained, escaped, every finding as a
filterable card, the matrix as SVG, copy buttons for DDL; deterministic.
(tests/test_html_browser.py runs it in chromium.)"""

from __future__ import annotations

import re

from auditor.render.html import inline_code, render_html
from tests.test_render_markdown import handmade_result


def test_self_contained():
    html = render_html(handmade_result())
    assert html.startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link" not in html and "@import" not in html
    assert html.count("<style>") == 1 and html.count("<script>") == 1


def test_cards_filters_and_counts():
    html = render_html(handmade_result())
    cards = re.findall(r'<article class="finding" id="finding-(\d+)" data-severity="(\w+)" '
                       r'data-category="([\w-]+)" data-rule="(\w+)" data-effort="(\w+)" data-path="([^"]+)">', html)
    assert [card[1:] for card in cards] == [
        ("critical", "n-plus-one", "DB101", "medium", "app/views.py"),
        ("high", "connections", "DB202", "low", "scripts/job.py"),
        ("high", "n-plus-one", "DB101", "medium", "app/views.py"),
        ("medium", "index", "IDX101", "low", "app/repo.py"),
        ("medium", "llm", "LLM101", "low", "app/ai.py"),
        ("low", "index", "IDX102", "high", "db/schema.sql")]
    assert '<span id="visible-count" aria-live="polite">6 of 6 findings</span>' in html
    assert re.findall(r'<option value="(\w+)">\w+ \((\d+)\)</option>', html.split('id="filter-severity"')[1]
                      .split("</select>")[0]) == [("critical", "1"), ("high", "2"), ("medium", "2"), ("low", "1")]
    assert '<option value="DB101">DB101 Database query inside a loop (2)</option>' in html
    assert '<option value="llm">llm (1)</option>' in html


def test_matrix_evidence_figures_and_copy_buttons():
    html = render_html(handmade_result())
    bubbles = re.findall(r'<g class="bubble" data-severity="(\w+)" data-effort="(\w+)"><title>([^<]+)</title>', html)
    assert bubbles == [
        ("critical", "medium", "1 critical finding, medium effort: DB101"),
        ("high", "low", "1 high finding, low effort: DB202"),
        ("high", "medium", "1 high finding, medium effort: DB101"),
        ("medium", "low", "2 medium findings, low effort: IDX101, LLM101"),
        ("low", "high", "1 low finding, high effort: IDX102")]
    assert "<dt>measured workload</dt><dd>120,000 calls, 54,321.5 ms in total, 0.45 ms per call, 1 rows per call</dd>" in html
    assert "<dt>LLM cost</dt><dd>model gpt-4o, max_tokens 1024" in html
    assert ('<li><span class="where">app/repo.py:5</span><code>cur.execute()</code></li>') in html
    assert html.count('<button type="button" class="copy"') == 2  # the IDX101 DDL and the index script
    assert 'data-copy="index-script-text">Copy script</button>' in html
    assert '<pre class="code"><span class="ln">12</span>' in html  # the excerpt, highlighted
    assert '<span class="k">CREATE</span>' in html  # SQL highlighted too


def test_untrusted_text_is_escaped():
    result = handmade_result()
    result.findings[0].message = "<script>alert(1)</script> in `<b>`"
    result.findings[0].excerpt = "x = '</pre><script>alert(2)</script>'"
    html = render_html(result)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; in <code>&lt;b&gt;</code>" in html


def test_inline_code():
    assert inline_code("use `a < b` here") == "use <code>a &lt; b</code> here"
    assert inline_code("an odd ` backtick") == "an odd ` backtick"


def test_deterministic():
    assert render_html(handmade_result()) == render_html(handmade_result())
