"""Syntax newer than the running interpreter is lowered so that ``ast`` reads it with every line kept."""

import ast
import sys
import textwrap

import pytest

from auditor.syntax_lowering import PLACEHOLDER, _lowered_source, lower

# Ordinary code after the construct: the loop's call must stay at the line written here.
TAIL = """\
for row in rows:
    cursor.execute("SELECT 1", row)
"""


def source(construct: str) -> bytes:
    return (textwrap.dedent(construct) + TAIL).encode()


def interpreter_accepts(data: bytes) -> bool:
    try:
        ast.parse(data)
    except SyntaxError:
        return False
    return True


def lowered(data: bytes) -> ast.Module:
    """``lower(data)``, after checking that this interpreter cannot parse ``data`` itself."""
    if interpreter_accepts(data):
        pytest.skip(f"Python {sys.version_info[:2]} parses this syntax itself")
    module = lower(data)
    assert module is not None
    return module


def call_lines(module: ast.AST, name: str) -> list:
    return [node.lineno for node in ast.walk(module)
            if isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute))
            and (getattr(node.func, "attr", None) or getattr(node.func, "id", None)) == name]


def nodes(module: ast.AST, kind: type) -> list:
    return [node for node in ast.walk(module) if isinstance(node, kind)]


def only_expression(text: str) -> ast.expr:
    return ast.parse(text, mode="eval").body


def test_type_parameters_are_dropped_and_lines_kept():
    module = lowered(source("""\
        def first[T](items: list[T]) -> T:
            return pick(items)

        class Box[T, *Ts, **P](Base):
            def get[U: int = str](self,
                                  key: U):
                return load(key)

        def multi[
            T,  # a comment in the parameters
            U,
        ](a: T, b: U):
            return combine(a, b)
        """))
    functions = {node.name: node for node in nodes(module, ast.FunctionDef)}
    assert {name: node.lineno for name, node in functions.items()} == {"first": 1, "get": 5, "multi": 9}
    assert [node.lineno for node in nodes(module, ast.ClassDef)] == [4]
    assert [arg.arg for arg in functions["multi"].args.args] == ["a", "b"]
    assert (functions["multi"].args.args[0].lineno, functions["multi"].args.args[0].col_offset) == (12, 2)
    assert functions["get"].args.args[1].lineno == 6
    assert call_lines(module, "pick") == [2]
    assert call_lines(module, "load") == [7]
    assert call_lines(module, "combine") == [13]
    assert call_lines(module, "execute") == [15]


def test_one_line_type_parameters_keep_the_columns_after_them():
    module = lowered(source("def first[T](items: list[T]) -> T: return pick(items)\n"))
    function = nodes(module, ast.FunctionDef)[0]
    assert function.args.args[0].col_offset == len("def first[T](")
    assert nodes(module, ast.Call)[0].col_offset == len("def first[T](items: list[T]) -> T: return ")


def test_type_alias_becomes_an_assignment():
    module = lowered(source("""\
        type Rows = list[dict[str, int]]
        type Pair[T: int = str] = tuple[T, T]; count = len(rows)
        """))
    assigns = nodes(module, ast.Assign)
    assert [(node.targets[0].id, node.lineno) for node in assigns] == [("Rows", 1), ("Pair", 2), ("count", 2)]
    assert assigns[1].value.col_offset == len("type Pair[T: int = str] = ")
    assert call_lines(module, "len") == [2]
    assert call_lines(module, "execute") == [4]


def test_fstring_reusing_its_quotes_is_requoted():
    data = source("""\
        label = f"{row["name"]}: {row['id']!r:>{width["id"]}}"
        nested = f"{f"{f"{deep}"}"}"
        query = f\"\"\"SELECT {cols["a"]}
          FROM t\"\"\"
        """)
    module = lowered(data)
    label, nested, query = (node.value for node in nodes(module, ast.Assign))
    expected_label = only_expression("""f'''{row["name"]}: {row['id']!r:>{width["id"]}}'''""")
    assert ast.dump(label) == ast.dump(expected_label)
    assert ast.dump(nested) == ast.dump(only_expression("""f'''{f'{f"{deep}"}'}'''"""))
    assert (query.lineno, query.end_lineno) == (3, 4)  # valid before 3.12: untouched
    assert call_lines(module, "execute") == [6]


def test_fstring_requoting_chooses_the_narrowest_free_quote():
    written = r"""a = f"{d["k"]}"
b = rf"\d{d["k"]}'"
c = f"{d['k']}"
e = f"{a +
 b}"
"""
    expected = [
        """a = f'{d["k"]}'""",
        'b = rf"""\\d{d["k"]}\'"""',  # both one-character quotes are taken
        "c = f\"{d['k']}\"",  # valid before 3.12: untouched
        "e = f'''{a +",
        " b}'''",
        "",
    ]
    assert _lowered_source(written.encode(), (3, 11)).split("\n") == expected


def test_fstring_expressions_no_quote_can_hold_become_placeholders():
    module = lowered(source("""\
        joined = f"it's \\"{"\\n".join(names)}\\" done"
        commented = f"{total  # the sum
        }"
        """))
    joined, commented = (node.value for node in nodes(module, ast.Assign))
    assert [part.value for part in joined.values if isinstance(part, ast.Constant)] == ["it's \"", '" done']
    assert [part.value.id for part in joined.values if isinstance(part, ast.FormattedValue)] == [PLACEHOLDER]
    assert (commented.lineno, commented.end_lineno) == (2, 3)
    assert [part.value.id for part in commented.values] == [PLACEHOLDER]
    assert call_lines(module, "execute") == [5]


def _libcst_parses(code: str) -> bool:
    import libcst

    try:
        libcst.parse_module(code)
    except libcst.ParserSyntaxError:
        return False
    return True


@pytest.mark.skipif(not _libcst_parses('t"{x}"\n'), reason="the installed libcst does not parse t-strings")
def test_tstrings_become_fstrings():
    module = lowered(source("""\
        greeting = t"hello {name!r:>{width}}"
        other = T'{row["id"]}'
        """))
    greeting, other = (node.value for node in nodes(module, ast.Assign))
    assert ast.dump(greeting) == ast.dump(only_expression('f"hello {name!r:>{width}}"'))
    assert ast.dump(other) == ast.dump(only_expression("""F'{row["id"]}'"""))
    assert call_lines(module, "execute") == [4]


@pytest.mark.skipif(not _libcst_parses("try:\n    pass\nexcept A, B:\n    pass\n"),
                    reason="the installed libcst does not parse unparenthesised except")
def test_unparenthesised_except_is_parenthesised():
    module = lowered(source("""\
        try:
            connect()
        except TimeoutError, ConnectionError:
            retry()
        """))
    handler = nodes(module, ast.ExceptHandler)[0]
    assert [name.id for name in handler.type.elts] == ["TimeoutError", "ConnectionError"]
    assert [(name.lineno, name.col_offset) for name in handler.type.elts] == [(3, 7), (3, 21)]
    assert call_lines(module, "retry") == [4]
    assert call_lines(module, "execute") == [6]


def test_except_star_is_lowered_before_python_311():
    data = source("""\
        try:
            connect()
        except* TimeoutError, ConnectionError:
            retry()
        except* ValueError as problem:
            report(problem)
        """)
    module = ast.parse(_lowered_source(data, (3, 10)))
    assert not nodes(module, getattr(ast, "TryStar", ()))
    handlers = nodes(module, ast.ExceptHandler)
    assert [(handler.lineno, handler.name) for handler in handlers] == [(3, None), (5, "problem")]
    assert handlers[1].type.col_offset == len("except* ")
    assert call_lines(module, "retry") == [4]
    assert call_lines(module, "report") == [6]
    assert call_lines(module, "execute") == [8]


MATCH = """\
match command.split():
    case ["go", direction]:
        move(direction)
    # a comment between the cases
    case (
        "look" | "see"
    ) if visible():
        look()
    case _: complain()
match a, *rest:
    case _:
        match inner:
            case 1:
                nested()
"""


def test_match_is_lowered_before_python_310():
    module = ast.parse(_lowered_source(source(MATCH), (3, 9)))
    assert not nodes(module, getattr(ast, "Match", ()))
    outer = module.body[0]
    assert (outer.lineno, ast.unparse(outer.test)) == (1, "command.split()")
    first = outer.body[0]
    assert (first.lineno, first.orelse[0].lineno, first.orelse[0].orelse[0].lineno) == (2, 5, 9)
    assert ast.unparse(first.orelse[0].test) == "visible()"
    assert call_lines(module, "split") == [1]
    assert call_lines(module, "move") == [3]
    assert call_lines(module, "visible") == [7]
    assert call_lines(module, "look") == [8]
    assert call_lines(module, "complain") == [9]
    assert call_lines(module, "nested") == [14]
    assert ast.unparse(module.body[1].test) == "(a, *rest)"
    assert call_lines(module, "execute") == [16]


@pytest.mark.skipif(sys.version_info < (3, 10), reason="this interpreter lowers match itself")
def test_match_is_kept_when_the_interpreter_knows_it():
    text = _lowered_source(source(MATCH), sys.version_info[:2])
    assert text == source(MATCH).decode()


def test_lowering_keeps_the_declared_encoding():
    module = lowered(b"# -*- coding: latin-1 -*-\ntype Name = str\ngreeting = '\xe9t\xe9'\n")
    assert nodes(module, ast.Constant)[-1].value == "\u00e9t\u00e9"


@pytest.mark.parametrize("data", [
    b"def broken(:\n    pass\n",
    b"type X = list[int\n",
    b"x = \xff\xfe\n",
])
def test_invalid_code_is_none(data):
    assert lower(data) is None


@pytest.mark.parametrize("data", [
    b"type X = int\nvalue = " + b"(" * 300 + b"1" + b")" * 300 + b"\n",  # more brackets than CPython allows
    b"type X = int\nvalue = " + b"1 + " * 1500 + b"1\n",  # deeper than libcst's visitor recurses
    b"type X = int\nvalue = " + b"lambda: " * 1000 + b"1\n",
])
def test_deep_nesting_is_none(data):
    assert lower(data) is None
