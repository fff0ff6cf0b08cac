"""Property-based tests: generated Python and SQL fragments never make the scanner raise, and each
file is done within a time bound. Examples are derandomised (the same on every run, so CI is
stable) and few, to keep the suite fast; failures print the shrunk fragment."""

from __future__ import annotations

import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.config import Config
from auditor.facts import ModuleFacts
from auditor.scan import _read_and_extract, run_scan
from auditor.sql.parse import parse_statement

PER_FILE_SECONDS = 10.0  # generous: two shared cores; a pathological file takes minutes, not seconds
SETTINGS = dict(deadline=None, derandomize=True, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

SQL_TOKENS = ["SELECT", "FROM", "WHERE", "JOIN", "LEFT JOIN", "ON", "GROUP BY", "ORDER BY", "LIMIT", "INSERT INTO",
              "VALUES", "UPDATE", "SET", "DELETE FROM", "WITH", "AS", "UNION ALL", "(", ")", ",", ";", "*", "=", "<",
              "AND", "OR", "NOT", "IN", "LIKE", "'%x%'", "1", "NULL", "orders", "customers", "id", "o.customer_id",
              "count(*)", "{{ ref('orders') }}", "{% if x %}", "{% endif %}", "%s", "$1", ":name", "?", "--", "/*",
              "*/", "'", '"', "$$", "::int", "CASE WHEN", "THEN", "END", "DISTINCT", "HAVING", "OVER (PARTITION BY",
              "RETURNING", "ILIKE", "ANY(", "ARRAY[", "]", "\n"]
sql_fragments = st.one_of(
    st.lists(st.sampled_from(SQL_TOKENS), max_size=40).map(" ".join),
    st.text(max_size=200),
)

SQL_LITERALS = ['"SELECT id FROM orders WHERE customer_id = %s"', "'UPDATE orders SET total = 0'", 'f"SELECT {x}"',
                '"SELECT " + name', "sql", '"""SELECT *\nFROM t"""']
PY_LINES = [
    "x = 1", "for item in items:", "while True:", "def handler(request, cur):", "async def fetch(session):",
    "class Model(Base):", "with engine.connect() as conn:", "if item:", "else:", "try:", "except Exception:",
    "finally:", "return rows", "yield item", "await session.execute(q)", "cur.execute({sql}, (item,))",
    "conn.execute(text({sql}))", "session.query(Order).filter(Order.id == item).all()",
    "Order.objects.filter(id=item).first()", "rows = cur.fetchall()", "import psycopg2",
    "conn = psycopg2.connect(dsn)", "@functools.lru_cache", "@app.get('/orders')",
    "client.chat.completions.create(model='gpt-4o', messages=m)", "lambda: cur.execute({sql})", "pass",
    "items = [f(i) for i in range(10)]", "global x", "nonlocal y", "del x[0]", "raise ValueError(x)",
    "match item:", "case {{'id': i}}:", "print >>sys.stderr, 'x'", "x = (", ")", "'''", "\\", "# coding: latin-1",
    "async for row in cursor:", "async with pool.acquire() as conn:", "requests.get(url, timeout=None)",
]


@st.composite
def python_fragments(draw) -> str:
    """Lines of Python-like code, indented at random: valid and invalid programs alike."""
    lines = []
    for _ in range(draw(st.integers(0, 25))):
        template = draw(st.sampled_from(PY_LINES))
        line = template.format(sql=draw(st.sampled_from(SQL_LITERALS))) if "{sql}" in template else template
        lines.append("    " * draw(st.integers(0, 4)) + line)
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), draw(st.text(max_size=40)))
    return "\n".join(lines) + "\n"


def _scan_one(root: Path, files: dict):
    for rel in list(root.iterdir()):
        rel.unlink()
    for rel, data in files.items():
        (root / rel).write_bytes(data)
    started = time.monotonic()
    result = run_scan(root, Config(include_tests=True), jobs=1)
    return result, time.monotonic() - started


@settings(max_examples=60, **SETTINGS)
@given(source=python_fragments())
def test_python_fragments_scan_without_an_exception_in_bounded_time(tmp_path, source):
    result, elapsed = _scan_one(tmp_path, {"module.py": source.encode("utf-8", "surrogatepass")})
    assert elapsed < PER_FILE_SECONDS
    assert all(path == "module.py" for path, _ in result.notes)
    assert all(f.path == "module.py" and f.line >= 1 for f in result.findings)


@settings(max_examples=40, **SETTINGS)
@given(sql=sql_fragments, source=python_fragments())
def test_sql_files_and_sql_strings_scan_without_an_exception(tmp_path, sql, source):
    embedded = f"def run(cur, items):\n    for item in items:\n        cur.execute({sql!r}, (item,))\n"
    files = {name: text.encode("utf-8", "surrogatepass")
             for name, text in (("queries.sql", sql), ("embedded.py", embedded), ("other.py", source))}
    result, elapsed = _scan_one(tmp_path, files)
    assert elapsed < PER_FILE_SECONDS * len(files)
    assert {path for path, _ in result.notes} <= set(files)


@settings(max_examples=200, **SETTINGS)
@given(data=st.one_of(st.binary(max_size=400), python_fragments().map(lambda s: s.encode("utf-8", "surrogatepass"))))
def test_the_worker_returns_facts_for_any_bytes(tmp_path, data):
    (tmp_path / "any.py").write_bytes(data)
    started = time.monotonic()
    facts = _read_and_extract(str(tmp_path), "any.py")
    assert time.monotonic() - started < PER_FILE_SECONDS
    assert isinstance(facts, ModuleFacts) and facts.path == "any.py"
    assert facts.error is None or facts.error == "" or "\n" not in facts.error


@settings(max_examples=300, **SETTINGS)
@given(sql=sql_fragments, dialect=st.sampled_from(["postgres", "redshift", "snowflake", "mysql", "sqlite"]))
def test_sql_parsing_never_raises(sql, dialect):
    started = time.monotonic()
    parsed = parse_statement(sql, dialect)
    assert time.monotonic() - started < PER_FILE_SECONDS
    assert "\n" not in parsed.error  # a note is one line (no tree and no error: a command such as SET)
