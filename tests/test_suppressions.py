"""Inline suppressions: ``# audit: ignore[...]`` in Python, ``-- audit: ignore[...]`` in SQL."""

from __future__ import annotations

import json

from auditor.cli import app
from auditor.config import Config
from auditor.suppressions import python_suppressions, sql_suppressions
from tests.conftest import found
from tests.test_cli import cli_runner

# One line, two findings: DB101 (query in a loop) and SQL103 (SELECT *).
LOOP = """\
    def load(cur, ids):
        for i in ids:
            cur.execute("SELECT * FROM items WHERE id = %s", (i,)){comment}
    """


def loop(comment: str = "", above: str = "") -> str:
    text = LOOP.format(comment=comment)
    if above:
        lines = text.splitlines(keepends=True)
        lines.insert(2, f"        {above}\n")
        text = "".join(lines)
    return text


def test_without_suppression_both_findings_are_reported(scan):
    result = scan({"jobs.py": loop()})
    assert found(result) == [("DB101", "jobs.py", 3), ("SQL103", "jobs.py", 3)]
    assert result.metrics["suppressed"] == 0
    assert result.metrics["suppressed_by_rule"] == {}


def test_code_on_the_same_line_hides_only_that_rule(scan):
    result = scan({"jobs.py": loop("  # audit: ignore[DB101]")})
    assert found(result) == [("SQL103", "jobs.py", 3)]
    assert result.metrics["suppressed"] == 1
    assert result.metrics["suppressed_by_rule"] == {"DB101": 1}
    assert result.notes == []


def test_several_codes_with_a_reason(scan):
    result = scan({"jobs.py": loop("  # audit: ignore[DB101, SQL103] -- loop over 3 tenants")})
    assert found(result) == []
    assert result.metrics["suppressed"] == 2
    assert result.metrics["suppressed_by_rule"] == {"DB101": 1, "SQL103": 1}


def test_bare_ignore_hides_every_finding_on_the_line(scan):
    result = scan({"jobs.py": loop("  # audit: ignore")})
    assert found(result) == []
    assert result.metrics["suppressed"] == 2


def test_comment_alone_on_the_line_above(scan):
    result = scan({"jobs.py": loop(above="# audit: ignore[SQL103] -- legacy table, 3 columns")})
    assert found(result) == [("DB101", "jobs.py", 4)]
    assert result.metrics["suppressed_by_rule"] == {"SQL103": 1}


def test_a_trailing_comment_on_the_line_above_covers_only_its_own_line(scan):
    result = scan({"jobs.py": """\
        def load(cur, ids):
            for i in ids:  # audit: ignore[DB101]
                cur.execute("SELECT id FROM items WHERE id = %s", (i,))
        """})
    assert found(result) == [("DB101", "jobs.py", 3)]
    assert result.notes == [("jobs.py", "line 2: unused suppression # audit: ignore[DB101] "
                                        "(no DB101 finding on this line)")]


def test_a_trailing_comment_on_any_line_of_a_multi_line_call(scan):
    result = scan({"jobs.py": """\
        def load(cur, ids):
            for i in ids:
                cur.execute(
                    "SELECT * FROM items WHERE id = %s",
                    (i,),
                )  # audit: ignore[DB101, SQL103]
        """})
    # DB101 spans the call (lines 3-6); SQL103 is the string on line 4 only.
    assert found(result) == [("SQL103", "jobs.py", 4)]
    assert result.notes == [("jobs.py", "line 6: unused suppression # audit: ignore[SQL103] "
                                        "(no SQL103 finding on this line)")]


def test_a_comment_two_lines_above_does_not_count(scan):
    result = scan({"jobs.py": """\
        def load(cur, ids):
            # audit: ignore[DB101]
            for i in ids:
                cur.execute("SELECT id FROM items WHERE id = %s", (i,))
        """})
    assert found(result) == [("DB101", "jobs.py", 4)]
    assert result.notes == [("jobs.py", "line 2: unused suppression # audit: ignore[DB101] "
                                        "(no DB101 finding on this line or the next)")]


def test_text_in_a_string_is_not_a_suppression(scan):
    result = scan({"jobs.py": """\
        def load(cur, ids):
            for i in ids:
                cur.execute("SELECT id FROM items WHERE id = %s -- # audit: ignore[DB101]", (i,))
                note = '''
        # audit: ignore
        '''
                cur.execute("SELECT id FROM items WHERE id = %s", (i,))
        """})
    assert found(result) == [("DB101", "jobs.py", 3), ("DB101", "jobs.py", 7)]
    assert result.metrics["suppressed"] == 0
    assert result.notes == []


def test_a_prefix_code_hides_the_family(scan):
    result = scan({"jobs.py": loop("  # audit: ignore[SQL]")})
    assert found(result) == [("DB101", "jobs.py", 3)]


def test_unused_and_unknown_codes_are_noted(scan):
    result = scan({"jobs.py": loop("  # audit: ignore[DB101, DB203, XYZ9]"),
                   "other.py": "X = 1  # audit: ignore\n"})
    assert found(result) == [("SQL103", "jobs.py", 3)]
    assert result.notes == [
        ("jobs.py", "line 3: unknown rule in suppression # audit: ignore[XYZ9]"),
        ("jobs.py", "line 3: unused suppression # audit: ignore[DB203] (no DB203 finding on this line)"),
        ("other.py", "line 1: unused suppression # audit: ignore (no finding on this line)"),
    ]


def test_a_suppression_for_a_rule_the_configuration_turns_off_is_not_unused(scan):
    result = scan({"jobs.py": loop("  # audit: ignore[DB101]")}, Config(ignore=["DB"]))
    assert found(result) == [("SQL103", "jobs.py", 3)]
    assert result.metrics["suppressed"] == 0
    assert result.metrics["ignored_by_config"] == 1
    assert result.notes == []


def test_suppressions_in_hidden_test_code_are_not_called_unused(scan):
    files = {"tests/test_jobs.py": loop("  # audit: ignore[DB101]")}
    assert scan(files).notes == []
    result = scan(files, Config(include_tests=True))
    assert found(result) == [("SQL103", "tests/test_jobs.py", 3)]
    assert result.metrics["suppressed"] == 1


def test_sql_file_comment_above_a_statement(scan):
    files = {"reports.sql": """\
        SELECT id FROM customers WHERE name LIKE '%son';
        -- audit: ignore[SQL102] -- search page, 200 rows
        SELECT id FROM customers WHERE email LIKE '%@example.com';
        SELECT '-- audit: ignore[SQL102]' FROM customers WHERE name LIKE '%x';
        """}
    result = scan(files)
    assert found(result) == [("SQL102", "reports.sql", 1), ("SQL102", "reports.sql", 4)]
    assert result.metrics["suppressed_by_rule"] == {"SQL102": 1}
    assert result.notes == []


def test_python_comment_parser():
    data = (b"x = 1  # audit: ignore[db101 , SQL103] -- three tenants\n"
            b"    # audit: ignore\n"
            b"s = '# audit: ignore[DB101]'\n"
            b"# noqa: E501  # audit:ignore[DB102]\n")
    parsed = [(s.line, s.codes, s.reason, s.standalone) for s in python_suppressions("a.py", data)]
    assert parsed == [(1, ("DB101", "SQL103"), "three tenants", False), (2, (), "", True),
                      (4, ("DB102",), "", True)]


def test_python_comment_parser_keeps_what_precedes_a_tokenize_error():
    data = b"x = 1  # audit: ignore[DB101]\ny = (\n"
    assert [(s.line, s.codes) for s in python_suppressions("a.py", data)] == [(1, ("DB101",))]


def test_sql_comment_parser_skips_strings_block_comments_and_dollar_quotes():
    text = ("SELECT 1; -- audit: ignore[SQL103]\n"
            "/* -- audit: ignore[SQL101]\n*/ SELECT 'it''s -- audit: ignore';\n"
            "DO $$ BEGIN -- audit: ignore[SQL104]\nEND $$;\n"
            "  -- audit: ignore -- reason\n")
    parsed = [(s.line, s.codes, s.reason, s.standalone) for s in sql_suppressions("a.sql", text)]
    assert parsed == [(1, ("SQL103",), "", False), (6, (), "reason", True)]


def test_strict_does_not_fail_on_suppression_notes(tmp_path):
    (tmp_path / "main.py").write_text("X = 1  # audit: ignore[DB101]\n", encoding="utf-8")
    result = cli_runner().invoke(app, ["scan", str(tmp_path), "--format", "json", "--strict"])
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["notes"] == [{"path": "main.py", "message": "line 1: unused suppression # audit: ignore[DB101] "
                                                                "(no DB101 finding on this line)"}]
    assert document["summary"]["suppressed"] == 0
