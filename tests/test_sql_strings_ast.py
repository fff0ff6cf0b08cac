"""SqlBuilder on stdlib ``ast`` expressions: exact text, holes, hole kinds and how the SQL was built."""

from __future__ import annotations

import ast
import textwrap

from auditor.facts import SqlText
from auditor.sql_strings import SqlBuilder, concat_sql, show_holes

HELD = {
    "BASE": SqlText(text="SELECT id FROM orders WHERE shop = __audit_hole_1__", line=4, built="fstring",
                    holes=[["input", "shop"]]),
    "TABLE": "orders",
}


def builder(code: str = "", constants: frozenset = frozenset({"LIMIT"})) -> SqlBuilder:
    lines = textwrap.dedent(code).split("\n") if code else None
    return SqlBuilder(HELD.get, lambda name: name in constants, lines)


def expression(code: str) -> ast.expr:
    """The value of the first statement of ``code`` (an assignment or an expression)."""
    statement = ast.parse(textwrap.dedent(code)).body[0]
    return statement.value


def built(code: str) -> tuple:
    text = builder(code).build(expression(code), 9)
    return None if text is None else (text.text, text.line, text.built, text.holes)


def test_concatenation_with_a_value_and_a_constant():
    assert built('q = "SELECT * FROM t WHERE id = " + user_id + " LIMIT " + str(LIMIT)') == (
        "SELECT * FROM t WHERE id = __audit_hole_1__ LIMIT __audit_hole_2__", 9, "concat",
        [["input", "user_id"], ["input", "str(LIMIT)"]])
    assert built('q = "SELECT * FROM t LIMIT " + LIMIT') == (
        "SELECT * FROM t LIMIT __audit_hole_1__", 9, "concat", [["const", "LIMIT"]])
    assert built("q = a + b") is None  # no text on either side: not a string


def test_percent_formatting_with_a_tuple_a_dict_and_one_value():
    assert built('q = "SELECT * FROM t WHERE a = %s AND b = %d AND c LIKE \'x%%\'" % (name, len(ids))') == (
        "SELECT * FROM t WHERE a = __audit_hole_1__ AND b = __audit_hole_2__ AND c LIKE 'x%'", 9, "percent",
        [["input", "name"], ["number", "len(ids)"]])
    assert built('q = "DELETE FROM %(table)s WHERE id = %(id)s" % {"table": TABLE, "id": 3}') == (
        "DELETE FROM orders WHERE id = __audit_hole_1__", 9, "percent", [["number", "3"]])
    # a parenthesised single value keeps its parentheses in the hole, as written
    assert built('q = "SELECT * FROM t WHERE id = %s" % (\n    user_id\n)') == (
        "SELECT * FROM t WHERE id = __audit_hole_1__", 9, "percent", [["input", "( user_id )"]])
    assert built('q = "SELECT %s, %s FROM t" % (a,)') == (
        "SELECT __audit_hole_1__, __audit_hole_2__ FROM t", 9, "percent", [["input", "a"], ["input", "?"]])


def test_format_with_positional_numbered_and_keyword_fields():
    assert built('q = "SELECT {} FROM {table} WHERE id = {0} {{x}}".format(col, table=quote_ident(t))') == (
        "SELECT __audit_hole_1__ FROM __audit_hole_2__ WHERE id = __audit_hole_3__ {x}", 9, "format",
        [["input", "col"], ["quoted", "quote_ident(t)"], ["input", "col"]])
    assert built('q = "SELECT * FROM t WHERE id IN ({})".format(", ".join(["%s"] * len(ids)))') == (
        "SELECT * FROM t WHERE id IN (__audit_hole_1__)", 9, "format",
        [["placeholders", '", ".join(["%s"] * len(ids))']])


def test_fstring_holes_escapes_and_a_held_fragment():
    assert built('q = f"SELECT * FROM {TABLE}\\nWHERE a = {user.name!r:>10} AND b = {(x)} {{literal}}"') == (
        "SELECT * FROM orders\nWHERE a = __audit_hole_1__ AND b = __audit_hole_2__ {literal}", 9, "fstring",
        [["input", "user.name"], ["input", "(x)"]])
    assert built('q = f"{BASE} AND status = {\'open\' if o else \'closed\'}"') == (
        "SELECT id FROM orders WHERE shop = __audit_hole_1__ AND status = __audit_hole_2__", 9, "fstring",
        [["input", "shop"], ["const", "'open' if o else 'closed'"]])


def test_a_name_held_by_the_fragment_callback():
    text = builder().build(expression("BASE"), 9)
    assert (text.text, text.line, text.built, text.holes) == (HELD["BASE"].text, 4, "fstring", [["input", "shop"]])
    text = builder().build(expression('text(TABLE + " WHERE x = 1")'), 9)
    assert (text.text, text.line, text.built, text.holes) == ("orders WHERE x = 1", 9, "concat", [])
    assert builder().build(expression("unknown"), 9) is None


def test_implicit_concatenation_merges_plain_and_fstring_parts():
    code = '''
    q = (
        "SELECT id "
        "FROM orders "
        f"WHERE id = {order_id} "
        "AND a = '{{b}}'"
    )
    '''
    assert built(code) == ("SELECT id FROM orders WHERE id = __audit_hole_1__ AND a = '{{b}}'", 9, "fstring",
                           [["input", "order_id"]])
    many = "q = (\n" + "".join(f'    "c{i} "\n' for i in range(40)) + ")"
    assert built(many) == ("".join(f"c{i} " for i in range(40)), 9, "", [])
    assert built('q = b"SELECT 1 " b"FROM t"') == ("SELECT 1 FROM t", 9, "", [])


def test_hole_and_concat_sql_for_augmented_assignment():
    code = 'q += (\n    where_clause  # built elsewhere\n)'
    statement = ast.parse(code).body[0]
    hole = builder(code).hole(statement.value, 2)
    assert (hole.text, hole.line, hole.built, hole.holes) == (
        "__audit_hole_1__", 2, "concat", [["input", "( where_clause # built elsewhere )"]])
    joined = concat_sql(HELD["BASE"], hole)
    assert (joined.text, joined.line, joined.built, joined.holes) == (
        "SELECT id FROM orders WHERE shop = __audit_hole_1____audit_hole_2__", 4, "fstring",
        [["input", "shop"], ["input", "( where_clause # built elsewhere )"]])
    assert show_holes(joined.text, joined.holes) == \
        "SELECT id FROM orders WHERE shop = {shop}{( where_clause # built elsewhere )}"


def test_hole_kinds_and_sources_without_the_lines():
    kinds = SqlBuilder(lambda name: None, lambda name: name == "PAGE")
    cases = {"3": "number", "2.5": "number", "True": "input", "None": "input", "'x'": "const", "b'x'": "const",
             "PAGE": "const", "settings.DB_NAME": "const", "int(x)": "number", "quote_ident(x)": "quoted",
             "', '.join('%s' for _ in ids)": "placeholders", "', '.join(names)": "input",
             "', '.join(f'{v}' for v in values)": "input", "','.join([f'?'] * n)": "placeholders",
             "1 if a else 2": "number", "1 if a else b": "input", "f'{x}'": "input", "x[0]": "input"}
    assert {code: kinds.hole_kind(ast.parse(code, mode="eval").body) for code in cases} == cases
    # without the module's lines a hole shows the ast.unparse text
    text = kinds.build(ast.parse('"SELECT %s" % (request.GET["q"])', mode="eval").body, 1)
    assert text.holes == [["input", "request.GET['q']"]]
