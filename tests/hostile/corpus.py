"""A corpus of hostile inputs for the scanner, generated (nothing large is committed).

``hostile_files()`` maps a repository-relative path to its bytes and to what the scan must say
about it: ``NOTE`` (the file is named in a note: skipped or not analysed) or ``QUIET`` (odd but
valid: analysed, no note, no finding). ``make_tree(root)`` writes them next to ``GOOD_FILES``
(whose findings are ``GOOD_FINDINGS``) and adds what cannot be plain bytes: symlinks, a FIFO,
an unreadable file, the 10 MB single line. Nothing here is ever imported or executed by the
scanner; ``MARKER`` is the file the import-time payloads would create if they ran.
"""

from __future__ import annotations

import ast
import os
import random
from pathlib import Path

NOTE, QUIET = "note", "quiet"
MARKER_NAME = "hostile-import-ran"

GOOD_SOURCE = '''\
def load_orders_{n}(cur, customer_ids):
    orders = []
    for customer_id in customer_ids:
        cur.execute("SELECT id FROM orders WHERE customer_id = %s", (customer_id,))
        orders.extend(cur.fetchall())
    return orders
'''
GOOD_FILES = {f"good/orders_{n}.py": GOOD_SOURCE.format(n=n).encode() for n in range(5)}
GOOD_FILES["good/queries.sql"] = b"SELECT id, total FROM orders WHERE customer_id = 42;\n"
GOOD_FINDINGS = [("DB101", f"good/orders_{n}.py", 4) for n in range(5)]

SYNTAX_ERRORS = [
    "def broken(:\n    pass\n",
    "x = (1, 2\n",
    "x = [1, 2\ny = 3\n",
    "x = {1: 2\n",
    "x = 1)\n",
    "x = ]\n",
    "def f():\nreturn 1\n",
    "if True:\n    x = 1\n   y = 2\n",
    "  x = 1\n",
    "x = 'unterminated\n",
    'x = """never closed\n\n\n',
    "x = = 1\n",
    "class\n",
    "lambda\n",
    "for x in:\n    pass\n",
    "while:\n    pass\n",
    "else:\n    pass\n",
    "try:\n    pass\n",
    "import\n",
    "from . import\n",
    "@decorator\nx = 1\n",
    "f(**)\n",
    "f(a=1, 2)\n",
    "def f(a=1, b):\n    pass\n",
    "x := 1\n",
    "x = 1 +\n",
    "x = 1 if True\n",
    "return = 5\n",
    "def f():\n    yield from\n",
    "async = await\n",
    "x = f\"{\"\n",
    "x = f'{x!z}'\n",
    "x = 0777\n",
    "x = 1__0\n",
    "x = 1e\n",
    "x = $y\n",
    "x = a ? b : c\n",
    "x++\n",
    "def f()\n    pass\n",
    "class C(:\n    pass\n",
    "with open('f') as:\n    pass\n",
    "match x:\n    case:\n        pass\n",
    "x = [i for i in]\n",
    "del\n",
    "global\n",
    "assert\n",
    "raise from e\n",
    "x = 1\n\\\n",
    "if x:\n\tpass\n        pass\n",
    "x = {**}\n",
    "print(1,, 2)\n",
    "def f(*, **k):\n    pass\n",
    "x = (yield) = 1\n",
    "None = 1\n",
    "def def():\n    pass\n",
    "x = '''\\\n",
    "x = b'\\xff' 'str' u'no' rb\"\" Ur''\n",
    "}{)(][\n",
    "\x0c\x0c\x0c)\n",
    "x = 1\n" * 50 + "def tail(:\n",
]

PYTHON2 = [
    'print "hello"\n',
    'import sys\nprint >>sys.stderr, "oops"\n',
    'exec "x = 1"\n',
    "x = `42`\n",
    "if 1 <> 2:\n    pass\n",
    "try:\n    pass\nexcept Exception, e:\n    pass\n",
    'raise ValueError, "bad"\n',
    "x = 123L\n",
    "x = ur'text'\n",
    "def f((a, b)):\n    return a\n",
    "print\n",  # valid in both: a bare name
    "class Old:\n    def m(self):\n        print 'm'\n",
    "import urllib2\nd = {}\nif d.has_key('x'):\n    print d['x']\n",
    "x = 0777L\n",
    "def f():\n\tif 1:\n        return 1\n",
]
# Python 2 that is also Python 3 (or that libcst parses all the same): analysed, no note.
PYTHON2_ACCEPTED = {"print\n", 'import sys\nprint >>sys.stderr, "oops"\n',
                    "try:\n    pass\nexcept Exception, e:\n    pass\n"}

ENCODINGS = {
    "enc_latin1.py": (b"# -*- coding: latin-1 -*-\nNAME = 'caf\xe9'\n", QUIET),
    "enc_cp1252.py": (b"# coding: cp1252\nQUOTE = '\x93quoted\x94'\n", QUIET),
    "enc_second_line.py": (b"#!/usr/bin/env python\n# vim: set fileencoding=iso-8859-15 :\nX = '\xa4'\n", QUIET),
    "enc_third_line.py": (b"#!/usr/bin/env python\n\n# coding: latin-1\nX = '\xe9'\n", NOTE),  # cookie too late
    "enc_euc_jp.py": ("# coding: euc-jp\nNAME = '日本語'\n".encode("euc-jp"), QUIET),
    "enc_shift_jis.py": ("# coding: shift_jis\nNAME = 'テスト'\n".encode("shift_jis"), QUIET),
    "enc_koi8.py": ("# coding: koi8-r\nNAME = 'привет'\n".encode("koi8-r"), QUIET),
    "enc_utf8_sig_cookie.py": (b"\xef\xbb\xbf# coding: utf-8\nX = 1\n", QUIET),
    "enc_unknown.py": (b"# coding: klingon\nX = 1\n", NOTE),
    "enc_rot13.py": (b"# coding: rot13\nK = 1\n", NOTE),
    "enc_hex.py": (b"# coding: hex\nX = 1\n", NOTE),
    "enc_base64.py": (b"# coding: base64\nX = 1\n", NOTE),
    "enc_utf16_cookie.py": (b"# coding: utf-16\nX = 1\n", NOTE),
    "enc_cookie_vs_bom.py": (b"\xef\xbb\xbf# coding: latin-1\nX = 1\n", NOTE),
    "enc_wrong_cookie.py": (b"# coding: ascii\nX = '\xc3\xa9'\n", NOTE),
    "enc_empty_cookie_value.py": (b"# coding:\nX = 1\n", QUIET),
    "enc_long_cookie.py": (b"# coding: " + b"x" * 5000 + b"\nX = 1\n", NOTE),
}

BOMS = {
    "bom_utf8.py": (b"\xef\xbb\xbfX = 1\n", QUIET),
    "bom_utf8_only.py": (b"\xef\xbb\xbf", QUIET),
    "bom_double.py": (b"\xef\xbb\xbf\xef\xbb\xbfX = 1\n", QUIET),  # U+FEFF, then code
    "bom_utf16_le.py": (b"\xff\xfe" + "X = 1\n".encode("utf-16-le"), NOTE),
    "bom_utf16_be.py": (b"\xfe\xff" + "X = 1\n".encode("utf-16-be"), NOTE),
    "bom_utf32_le.py": (b"\xff\xfe\x00\x00" + "X = 1\n".encode("utf-32-le"), NOTE),
    "bom_mid_file.py": (b"X = 1\n\xef\xbb\xbfY = 2\n", NOTE),
}

INVALID_UTF8 = {
    "utf8_lone_continuation.py": b"X = '\x80'\n",
    "utf8_overlong.py": b"X = '\xc0\xaf'\n",
    "utf8_surrogate.py": b"X = '\xed\xa0\x80'\n",
    "utf8_truncated_at_eof.py": b"X = 1\n# \xe2\x82",
    "utf8_ff.py": b"\xff\xfe\xfd = 1\n",
    "utf8_in_comment.py": b"X = 1\n# caf\xe9\n",
    "utf8_in_identifier.py": b"caf\xe9 = 1\n",
    "utf8_beyond_unicode.py": b"X = '\xf4\x90\x80\x80'\n",
    "utf8_on_line_1000.py": b"X = 1\n" * 999 + b"Y = '\xe9'\n",
    "utf8_cp1252_quotes.py": b"X = \x93smart\x94\n",
}

NUL_BYTES = {
    "nul_middle.py": b"X = 1\n\x00\nY = 2\n",
    "nul_at_end.py": b"X = 1\n\x00",
    "nul_in_string.py": b"X = 'a\x00b'\n",
    "nul_utf16_without_bom.py": "X = 1\n".encode("utf-16-le"),
    "nul_only.py": b"\x00" * 4096,
}

BINARY_PREFIXES = [
    b"\x7fELF\x02\x01\x01\x00",  # ELF executable
    b"\x89PNG\r\n\x1a\n",  # PNG image
    b"\x1f\x8b\x08\x00",  # gzip
    b"PK\x03\x04",  # zip
    b"\xa7\x0d\x0d\x0a\x00\x00\x00\x00",  # a .pyc header
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",  # PDF
    b"\xca\xfe\xba\xbe",  # Java class / Mach-O fat binary
    b"SQLite format 3\x00",  # SQLite database
]

SQL_REJECTED = [
    "SELEC id FROM orders;\n",
    "SELECT FROM WHERE;\n",
    "SELECT (((id FROM orders;\n",
    "SELECT * FROM orders WHERE id = ;\n",
    "CREATE TABLE (id int);\n",
    "SELECT 'unterminated FROM orders;\n",
    "SELECT * FROM orders WHERE name = \"x;\n",
    "UPDATE SET x = 1;\n",
    "DELETE orders WHERE;\n",
    "SELECT * FROM orders ORDER BY;\n",
    "WITH AS (SELECT 1) SELECT * FROM x;\n",
    "SELECT CASE WHEN THEN END FROM t;\n",
    "$$ unbalanced dollar quote\n",
    "SELECT * FROM orders WHERE id IN (1, 2,;\n",
    "/* never closed comment SELECT 1;\n",
    "SELECT " + "(" * 3000 + "1" + ")" * 3000 + ";\n",
]

# Odd SQL that sqlglot accepts all the same (analysed without a note).
SQL_ODD_ACCEPTED = [
    "INSERT INTO VALUES (1, 2);\n",
    "SELECT \x01\x02\x03 FROM t;\n",
    ";;;;;;;\n",
    "SELECT 1 " + "UNION ALL SELECT 1 " * 5000 + ";\n",
]

SQL_TEMPLATED = [
    "SELECT * FROM {{ ref('orders') }} WHERE id = {{ var('id') }};\n",
    "{% for col in cols %}SELECT {{ col }} FROM t;{% endfor %}\n",
    "{{ config(materialized='table') }}\nSELECT id FROM {{ source('shop', 'orders') }}\n",
    "SELECT * FROM orders WHERE created_at > '{{ ds }}';\n",
    "{% if is_incremental() %}SELECT * FROM t WHERE x > (SELECT max(x) FROM {{ this }}){% endif %}\n",
    "SELECT * FROM orders WHERE id = :id AND name = ${name};\n",
    "{# a jinja comment #}\nSELECT 1;\n",
    "{% macro m(x) %}{{ x }}{% endmacro %}\n",
    "SELECT * FROM {{ ref('a' }};\n",  # broken template
    "{%- set x = [ -%}\n",
]

IMPORT_TIME_PAYLOADS = [
    "import os\nopen(os.path.join({root!r}, {marker!r}), 'w').write('ran')\n",
    "import sys\nopen({root!r} + '/' + {marker!r}, 'w').close()\nsys.exit(3)\n",
    "import os\nos.system('touch ' + {root!r} + '/' + {marker!r})\nos._exit(7)\n",
    "import pathlib\npathlib.Path({root!r}, {marker!r}).touch()\nwhile True:\n    pass\n",
    "class Meta(type):\n    def __new__(mcs, *a):\n        open({root!r} + '/' + {marker!r}, 'w').close()\n"
    "        return super().__new__(mcs, *a)\n\n\nclass Order(metaclass=Meta):\n    pass\n",
    "__import__('subprocess').run(['touch', {root!r} + '/' + {marker!r}])\n",
    "import builtins\nbuiltins.open({root!r} + '/' + {marker!r}, 'w').close()\n"
    "def __getattr__(name):\n    raise SystemExit(name)\n",
    "import signal, os\nopen({root!r} + '/' + {marker!r}, 'w').close()\nos.kill(os.getpid(), signal.SIGKILL)\n",
]


def _nested(depth: int, open_: str, close: str, inner: str = "1") -> bytes:
    return ("X = " + open_ * depth + inner + close * depth + "\n").encode()


def deep_files() -> dict:
    """Nesting at and around every limit: brackets, operators, lambdas, blocks, calls."""
    files = {}
    for depth in (50, 201, 1000, 5000, 100_000):
        files[f"deep/parens_{depth}.py"] = (_nested(depth, "(", ")"), QUIET if depth < 100 else NOTE)
        files[f"deep/lists_{depth}.py"] = (_nested(depth, "[", "]"), QUIET if depth < 100 else NOTE)
    for depth in (60, 201, 3000):
        files[f"deep/dicts_{depth}.py"] = (("X = " + "{1: " * depth + "1" + "}" * depth + "\n").encode(),
                                           QUIET if depth < 100 else NOTE)
        files[f"deep/mixed_{depth}.py"] = (("X = " + "([{" * (depth // 3) + "1" + "}])" * (depth // 3)
                                            + "\n").encode(), QUIET if depth < 100 else NOTE)
    for depth in (50, 5000):
        files[f"deep/calls_{depth}.py"] = (("X = " + "f(" * depth + "1" + ")" * depth + "\n").encode(),
                                           QUIET if depth < 100 else NOTE)
    for count in (100, 50_000):
        expect = QUIET if count < 1000 else NOTE
        files[f"deep/sum_{count}.py"] = (("X = " + " + ".join(["1"] * count) + "\n").encode(), expect)
        files[f"deep/lambda_{count}.py"] = (("X = " + "lambda: " * count + "1\n").encode(), expect)
        files[f"deep/unary_{count}.py"] = (("X = " + "-" * count + "1\n").encode(), expect)
        files[f"deep/not_{count}.py"] = (("X = " + "not " * count + "True\n").encode(), expect)
        files[f"deep/attr_{count}.py"] = (("X = a" + ".b" * count + "\n").encode(), expect)
        files[f"deep/subscript_{count}.py"] = (("X = a" + "[0]" * count + "\n").encode(), expect)
        files[f"deep/callchain_{count}.py"] = (("X = f" + "()" * count + "\n").encode(), expect)
        # comparison and boolean chains are one flat node in CPython's tree
        files[f"deep/compare_{count}.py"] = (("X = " + " < ".join(["1"] * count) + "\n").encode(), QUIET)
        files[f"deep/and_{count}.py"] = (("X = " + " and ".join(["a"] * count) + "\n").encode(), QUIET)
    for depth in (20, 99, 101, 500):
        body = "".join("    " * i + "if x:\n" for i in range(depth)) + "    " * depth + "pass\n"
        files[f"deep/blocks_{depth}.py"] = (body.encode(), QUIET if depth < 100 else NOTE)
    for depth in (10, 300):
        body = "".join("    " * i + f"def f{i}():\n" for i in range(depth)) + "    " * depth + "return 1\n"
        files[f"deep/defs_{depth}.py"] = (body.encode(), QUIET if depth < 100 else NOTE)
    return files


HUGE_INT = b"X = " + b"7" * 6000 + b"\n"


def refused_by_cpython(source: bytes) -> bool:
    """CPython's parser (of the interpreter running the tests) rejects ``source``."""
    try:
        compile(source, "<hostile>", "exec", ast.PyCF_ONLY_AST)
    except (SyntaxError, ValueError):
        return True
    return False


def big_files() -> dict:
    """Huge string concatenations, long lines and many definitions (all under the size limit)."""
    return {
        # CPython merges an implicit concatenation into one constant
        "big/implicit_concat.py": (("X = (\n" + '    "abc"\n' * 100_000 + ")\n").encode(), QUIET),
        "big/plus_concat_short.py": (("X = " + " + ".join(['"a"'] * 100) + "\n").encode(), QUIET),
        "big/plus_concat_long.py": (("X = " + " + ".join(['"a"'] * 50_000) + "\n").encode(), NOTE),
        "big/long_string_line.py": (b"X = '" + b"a" * 2_000_000 + b"'\n", QUIET),
        "big/many_functions.py": ("".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(1000)).encode(),
                                  QUIET),
        "big/long_identifier.py": (("v" * 100_000 + " = 1\n").encode(), QUIET),
        "big/many_sql_strings.py": ("".join(f'Q{i} = "SELECT c{i} FROM t{i} WHERE id = %s"\n'
                                            for i in range(500)).encode(), QUIET),
        "big/huge_list_literal.py": (("X = [" + ", ".join(str(i) for i in range(20_000)) + "]\n").encode(), QUIET),
        # over CPython's limit on the digits of an int literal (3.11, and 3.9.14/3.10.7 on): Python
        # itself cannot run the file, and it is noted as a syntax error
        "big/huge_int.py": (HUGE_INT, NOTE if refused_by_cpython(HUGE_INT) else QUIET),
        "big/huge_fstring.py": (("X = f'" + "{a}" * 2_000 + "'\n").encode(), QUIET),
    }


def odd_but_valid() -> dict:
    """Valid Python that looks strange: the scanner analyses it without a note."""
    sources = {
        "cr_only.py": b"X = 1\rY = 2\r",
        "mixed_newlines.py": b"X = 1\r\nY = 2\nZ = 3\r",
        "no_trailing_newline.py": b"X = 1",
        "only_comments.py": b"# nothing here\n# at all\n",
        "form_feeds.py": b"\x0cX = 1\n\x0c\ndef f():\n    return 1\n",
        "unicode_identifiers.py": "π = 3.14\nnaïve = 'ok'\n名前 = 1\n".encode(),
        "tabs.py": b"def f():\n\treturn 1\n",
        "backslash_continuation.py": b"X = 1 + \\\n    2\n",
        "semicolons.py": b"import os; X = 1; Y = 2\n",
        "walrus_match.py": (b"if (n := 10) > 5:\n    pass\n"
                            b"match n:\n    case 1:\n        pass\n    case _:\n        pass\n"),
        "async_everything.py": (b"async def f():\n    async with a as b:\n"
                                b"        async for x in b:\n            await x\n"),
        "star_exprs.py": b"a, *b = [1, 2, 3]\nprint(*b, **{})\n",
        "type_comments.py": b"def f(a):\n    # type: (int) -> int\n    return a  # type: ignore\n",
        "future_import.py": b"from __future__ import annotations, barry_as_FLUFL\n",
        "empty.py": b"",
        "whitespace_only.py": b"  \n\t\n\n",
        "dunder_all.py": b"__all__ = ['a' for _ in range(3)]\n",
        "emoji.py": "X = '🐍💥'\n# 🔥\n".encode(),
        "rtl_override.py": "X = 'abc\u202edcba'\n".encode(),
        "zero_width.py": "X\u200b = 1\n".encode(),  # a zero-width space in a name: CPython refuses it
        "execute_in_string.py": b'DOC = """cur.execute("SELECT 1") for x in y"""\n',
        "sql_injection_text.py": b'Q = "SELECT * FROM t WHERE x = \'" + "\'; DROP TABLE t; --"\n',
        "redefined_builtins.py": b"open = print\nexec = eval = None\n__import__ = None\n",
        "soft_keywords.py": b"match = 1\ncase = 2\ntype = 3\n_ = match + case\n",
        "deep_but_fine_data.py": ("CONFIG = " + repr({f"k{i}": {"a": [i, {"b": i}]} for i in range(300)})
                                  + "\n").encode(),
    }
    expected = {name: QUIET for name in sources}
    expected["zero_width.py"] = NOTE
    return {f"odd/{name}": (data, expected[name]) for name, data in sources.items()}


MALFORMED_AUDIT_YML = {  # our own configuration file, malformed: exit 2 with one line (tests/test_hostile_inputs.py)
    "unclosed": b"exclude: [unclosed\n  - : :\n",
    "tabs": b"exclude:\n\t- x\n",
    "binary": b"\x00\x01\x02\xff",
    "not_a_mapping": b"- just\n- a list\n",
    "wrong_types": b"exclude: 3\nfail-on: sometimes\n",
    "unknown_key": b"exclued: [x]\n",
    "huge_alias_bomb": b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                       b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nexclude: *c\n",
}


def config_files() -> dict:
    """Malformed pyproject.toml files in sub-directories (another tool's, maybe): noted, the scan goes on."""
    files = {
        "cfg_toml/pyproject.toml": (b"[tool.audit\nexclude = [\n", NOTE),
        "cfg_toml_dup/pyproject.toml": (b"[tool.audit]\nexclude = []\nexclude = []\n", NOTE),
        "cfg_toml_utf8/pyproject.toml": (b"[tool.audit]\nexclude = ['\xff']\n", NOTE),
        "cfg_toml_other_tool/pyproject.toml": (b"[tool.black]\nline-length = 'x'\n[project\n", NOTE),
        "cfg_toml_binary/pyproject.toml": (b"\x00\x01\x02\xff\xfe", NOTE),
        "cfg_toml_bad_bom/pyproject.toml": (b"\xff\xfe[\x00t\x00", NOTE),
    }
    # each with a Python file next to it, so that its directory is part of the scan
    files.update({f"{rel.split('/')[0]}/app.py": (b"X = 1\n", QUIET) for rel in list(files)})
    return files


def hostile_files(root: Path) -> dict:
    """``{path: (bytes, NOTE or QUIET)}`` of every generated hostile file (``root`` names the
    import-time payloads' marker directory)."""
    files: dict = {}
    for i, source in enumerate(SYNTAX_ERRORS):
        files[f"syntax/error_{i:02d}.py"] = (source.encode("utf-8"), NOTE)
    for i, source in enumerate(PYTHON2):
        files[f"py2/legacy_{i:02d}.py"] = (source.encode(), QUIET if source in PYTHON2_ACCEPTED else NOTE)
    for group, prefix in ((ENCODINGS, "encoding"), (BOMS, "bom")):
        for name, (data, expect) in group.items():
            files[f"{prefix}/{name}"] = (data, expect)
    for name, data in INVALID_UTF8.items():
        files[f"utf8/{name}"] = (data, NOTE)
    for name, data in NUL_BYTES.items():
        files[f"nul/{name}"] = (data, NOTE)
    rng = random.Random(20261121)
    for i, prefix in enumerate(BINARY_PREFIXES):
        files[f"binary/blob_{i}.py"] = (prefix + bytes(rng.randrange(256) for _ in range(2048)), NOTE)
    for i in range(8):  # random bytes with no NUL at all
        blob = bytes(rng.choice(range(1, 256)) for _ in range(4096))
        files[f"binary/noise_{i}.py"] = (blob, NOTE)
    files.update(deep_files())
    files.update(big_files())
    files.update(odd_but_valid())
    for i, sql in enumerate(SQL_REJECTED):
        files[f"sql/rejected_{i:02d}.sql"] = (sql.encode(), NOTE)
    for i, sql in enumerate(SQL_TEMPLATED):
        files[f"sql/templated_{i:02d}.sql"] = (sql.encode(), NOTE)
    for i, sql in enumerate(SQL_ODD_ACCEPTED):
        files[f"sql/accepted_{i:02d}.sql"] = (sql.encode(), QUIET)
    files["sql/binary.sql"] = (b"\x00\x01SQLite format 3\x00", NOTE)
    files["sql/latin1.sql"] = (b"SELECT 'caf\xe9' FROM t;\n", QUIET)
    files["sql/empty.sql"] = (b"", QUIET)
    files["sql/huge_over_limit.sql"] = (b"SELECT 1;\n" * 300_000, NOTE)
    files["sql/huge_under_limit.sql"] = ("".join(f"INSERT INTO t VALUES ({i}, 'x');\n" for i in range(2_000))
                                         .encode(), QUIET)
    files.update(config_files())
    for i, payload in enumerate(IMPORT_TIME_PAYLOADS):
        source = payload.format(root=str(root), marker=MARKER_NAME)
        files[f"evil_{i}/models.py"] = (source.encode(), QUIET)
        files[f"evil_{i}/__init__.py"] = (source.encode(), QUIET)
    return files


def make_tree(root: Path, marker_dir: Path) -> dict:
    """Write the corpus and the good files under ``root``; return ``{path: NOTE or QUIET}`` for every
    hostile entry, the special ones (symlinks, FIFO, unreadable, 10 MB line) included."""
    expected = {}
    for rel, data in GOOD_FILES.items():
        _write(root / rel, data)
    for rel, (data, expect) in hostile_files(marker_dir).items():
        _write(root / rel, data)
        expected[rel] = expect
    special = root / "special"
    special.mkdir()
    with open(special / "ten_mb_line.py", "wb") as handle:  # over the size limit: skipped unread
        handle.write(b"X = '" + b"x" * (10 * 1024 * 1024) + b"'\n")
    expected["special/ten_mb_line.py"] = NOTE
    os.symlink("loop_b.py", special / "loop_a.py")
    os.symlink("loop_a.py", special / "loop_b.py")
    expected["special/loop_a.py"] = expected["special/loop_b.py"] = NOTE
    os.symlink("/etc/passwd", special / "outside.py")
    os.symlink("/etc", special / "outside_dir")  # a directory symlink: not followed, not noted
    os.symlink("/dev/zero", special / "zero.py")
    os.symlink("missing.py", special / "broken.py")
    os.symlink("../../..", special / "up_loop")  # a directory loop upwards: not followed
    expected["special/outside.py"] = expected["special/zero.py"] = expected["special/broken.py"] = NOTE
    os.symlink("loop.sql", special / "loop.sql")
    expected["special/loop.sql"] = NOTE
    os.mkfifo(special / "fifo.py")
    expected["special/fifo.py"] = NOTE
    _write(special / "unreadable.py", b"X = 1\n")
    (special / "unreadable.py").chmod(0)
    # root reads a mode-000 file anyway: then it is analysed like any other
    expected["special/unreadable.py"] = QUIET if os.geteuid() == 0 else NOTE
    return expected


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
