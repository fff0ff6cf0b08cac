"""Facts extracted from one module: imports, definitions, calls, loops, receiver types."""

from __future__ import annotations

import textwrap

from auditor.catalog import load_catalog
from auditor.config import Config
from auditor.extract import extract_facts, module_name_for
from auditor.link import Program
from auditor.scan import run_scan

SOURCE = textwrap.dedent('''
    import psycopg2 as pg
    from sqlalchemy.orm import Session
    from . import repo
    from .models import Order as O


    class Service:
        def __init__(self, dsn):
            self.conn = pg.connect(dsn)

        @staticmethod
        def helper(x):
            return x

        async def run(self, ids, db: Session):
            cur = self.conn.cursor()
            for i in ids:
                cur.execute("SELECT 1 WHERE id = %s", (i,))
            rows = [repo.fetch(cur, j) for j in ids if j]
            return rows
''')


def facts():
    return extract_facts("app/service.py", SOURCE)


def test_module_name_from_path():
    assert module_name_for("app/service.py") == "app.service"
    assert module_name_for("app/__init__.py") == "app"


def test_imports_and_aliases_are_resolved():
    imports = facts().imports
    assert imports["pg"] == "psycopg2"
    assert imports["Session"] == "sqlalchemy.orm.Session"
    assert imports["repo"] == "app.repo"
    assert imports["O"] == "app.models.Order"


def test_functions_have_qualified_names_async_flag_and_decorators():
    by_name = {f.qualname: f for f in facts().functions}
    assert set(by_name) == {"app.service.<module>", "app.service.Service.__init__",
                            "app.service.Service.helper", "app.service.Service.run"}
    assert by_name["app.service.Service.run"].is_async
    assert by_name["app.service.Service.helper"].decorators[0][0] == "staticmethod"
    assert by_name["app.service.Service.run"].params == [("self", ""), ("ids", ""), ("db", "sqlalchemy.orm.Session")]


def test_calls_know_their_loop_and_arguments():
    run = {f.name: f for f in facts().functions}["run"]
    calls = {c.text: c for c in run.calls}
    assert calls["self.conn.cursor"].loop is None
    execute = calls["cur.execute"]
    assert execute.line == 19 and execute.loop == 0 and execute.sql == "SELECT 1 WHERE id = %s"
    assert execute.names == ["cur", "i"]
    fetch = calls["repo.fetch"]
    assert fetch.loop == 1 and run.loops[1].kind == "comprehension"
    assert [loop.iter_text for loop in run.loops] == ["ids", "ids"]


def test_self_attribute_types_come_from_init():
    service = facts().classes[0]
    assert service.attrs["conn"][0] == "g:psycopg2"


def test_receiver_types_resolve_through_self_attributes():
    program = Program([facts()], load_catalog())
    infos = {i.call.text: i for i in program.calls["app.service.Service.run"]}
    assert infos["cur.execute"].effect == "read"
    assert infos["cur.execute"].detail == "dbapi.Cursor.execute"
    init = {i.call.text: i for i in program.calls["app.service.Service.__init__"]}
    assert init["pg.connect"].effect == "connect"


def test_syntax_error_is_recorded_not_raised():
    broken = extract_facts("bad.py", "def f(:\n    pass\n")
    assert broken.error == "syntax error at line 1: invalid syntax (not analysed)"
    assert broken.functions == []


def test_python_312_syntax_parses_whatever_the_interpreter():
    source = "type Point = tuple[float, float]\n\ndef first[T](xs: list[T]) -> T:\n    return xs[0]\n"
    parsed = extract_facts("new.py", source)
    assert parsed.error == ""
    assert [f.name for f in parsed.functions] == ["<module>", "first"]


def test_calls_in_yield_from_are_seen():
    parsed = extract_facts("gen.py", "def rows(cur):\n    yield from cur.execute('SELECT 1')\n")
    calls = [c.text for f in parsed.functions for c in f.calls]
    assert calls == ["cur.execute"]


def test_positions_count_characters_after_a_bom_and_non_ascii_text():
    source = "\ufeff# é\n\n@dec\ndef f():\n    x = 'é'; g(1)\n    return h(\n      2)\n".encode("utf-8")
    parsed = extract_facts("pos.py", source)
    f = parsed.functions[1]
    assert f.line == 4
    assert [(c.text, c.line, c.col, c.end_line) for c in f.calls] == [("g", 5, 13, 5), ("h", 6, 11, 7)]
    assert [c.excerpt for c in f.calls] == ["x = 'é'; g(1)", "return h("]


def test_async_context_of_calls_and_loops():
    source = textwrap.dedent('''
        async def pump(conn, queue):
            async for item in queue:
                await conn.execute("INSERT INTO t VALUES ($1)", item)
                log(item)
            return [await conn.fetchval("SELECT 1") async for _ in queue]
    ''')
    pump = extract_facts("pump.py", source).functions[1]
    assert pump.is_async
    assert [(loop.kind, loop.is_async) for loop in pump.loops] == [("for", True), ("comprehension", True)]
    assert [(c.text, c.awaited, c.loop) for c in pump.calls] == [
        ("conn.execute", True, 0), ("log", False, 0), ("conn.fetchval", True, 1)]


def test_syntax_newer_than_the_interpreter_is_analysed(tmp_path):
    """PEP 695 and PEP 701 (3.12) parse on any interpreter: lowered when CPython's ast rejects them."""
    (tmp_path / "new.py").write_text(
        "type Rows = list[int]\n\n"
        "def load[T](cur, ids: T):\n"
        "    for i in ids:\n"
        "        cur.execute(f\"SELECT {d[\"x\"]} FROM t WHERE id = %s\", (i,))\n")
    result = run_scan(tmp_path, Config(), jobs=1)
    assert result.notes == []
    assert sorted((f.rule, f.path, f.line) for f in result.findings) == [("DB101", "new.py", 5),
                                                                         ("SQL106", "new.py", 5)]
