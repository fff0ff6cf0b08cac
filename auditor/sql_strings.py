"""SQL text out of Python expressions: literals, concatenation, f-strings, ``%`` and ``.format``.

Each interpolated value becomes a *hole*: the marker ``__audit_hole_N__`` in the text (a valid
SQL identifier, so the statement still parses) and an entry in :attr:`SqlText.holes` saying
what was interpolated. Fragments that are themselves known text (a module constant, a local
SQL fragment) are inlined instead.

Nodes are :mod:`ast` expressions. The text of a literal is the string Python makes of it
(escapes processed, f-string text included), which is what reaches the database.
"""

from __future__ import annotations

import ast
import re
from typing import Callable, Optional, Sequence

from auditor.ast_nodes import call_arguments, dotted, source, string_value
from auditor.facts import SqlText

HOLE = "__audit_hole_{}__"
HOLE_PATTERN = re.compile(r"__audit_hole_(\d+)__")

_SQL_SHAPES = re.compile(
    r"""^\s*(?:\(\s*)*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*(?:
        select\s.*?\bfrom\b | select\s+(?:\d|\*|'|[\w.]+\s*\(|distinct\b|count\b)
      | insert\s+(?:ignore\s+)?into\b | update\s+\S+.*?\bset\b | delete\s+from\b
      | with\s+(?:recursive\s+)?\w+\s*(?:\([^)]*\)\s*)?as\s*(?:not\s+)?(?:materialized\s+)?\(
      | create\s+(?:or\s+replace\s+|unique\s+|temp(?:orary)?\s+|materialized\s+)*(?:table|index|view|schema|extension|sequence|type|function|trigger)\b
      | alter\s+(?:table|index|view|schema|sequence)\b | drop\s+(?:table|index|view|schema|extension|sequence|type)\b
      | merge\s+into\b | copy\s+\S+\s+(?:from|to)\b | truncate\b | explain\b | upsert\s+into\b | replace\s+into\b
    )""",
    re.IGNORECASE | re.DOTALL | re.VERBOSE,
)
_PERCENT_SPEC = re.compile(r"%(?:\((\w+)\))?[-#0 +]*\d*(?:\.\d+)?[sdirfgexXc]|%%")
_FORMAT_FIELD = re.compile(r"\{\{|\}\}|\{([^{}!:]*)(?:![rsa])?(?::[^{}]*)?\}")
_QUOTING_CALLS = {"Identifier", "Literal", "quote_ident", "quote_literal", "quote", "escape", "escape_string",
                  "literal", "adapt", "mogrify", "quote_name", "quote_identifier"}
_NUMERIC_CALLS = {"int", "float", "len", "abs", "round", "Decimal"}
_NAMED_CONSTANTS = {True: "True", False: "False", None: "None"}
_PLACEHOLDER = re.compile(r"^\s*(?:%s|\?|%\(\w+\)s|:\w+|\$\d+)\s*,?\s*$")
MAX_SQL_CHARS = 100_000
_ONE_HOLE = HOLE.format(1)


def show_holes(text: str, holes: Optional[list] = None) -> str:
    """The SQL as a reader wants it: each hole as ``{expression}`` (``{…}`` when unknown)."""
    def source(match: re.Match) -> str:
        number = int(match.group(1)) - 1
        return "{" + (holes[number][1] if holes and number < len(holes) else "…") + "}"
    return HOLE_PATTERN.sub(source, text)


def starts_with_wildcard(text: str) -> bool:
    """A LIKE pattern that starts with ``%`` or ``_`` (a hole marker is a value, not a wildcard)."""
    return text.startswith("%") or (text.startswith("_") and not text.startswith("__audit_hole_"))


def looks_like_sql(text: str) -> bool:
    """A statement's shape: ``SELECT … FROM``, ``INSERT INTO``, ``UPDATE … SET``, DDL…"""
    return bool(text) and len(text) <= MAX_SQL_CHARS and bool(_SQL_SHAPES.match(text[:2000]))


class SqlBuilder:
    """Builds :class:`SqlText` for :mod:`ast` expressions of one scope.

    ``fragment(name)`` returns the SqlText or string a local or module name holds, or None;
    ``is_constant(name)`` says whether a name is a module-level constant. ``lines``, the module's
    source split at ``"\\n"``, lets a hole show the expression as written (with its own
    parentheses); without it a hole shows ``ast.unparse`` text.
    """

    def __init__(self, fragment: Callable[[str], Optional[object]], is_constant: Callable[[str], bool],
                 lines: Optional[Sequence[str]] = None) -> None:
        self.fragment = fragment
        self.is_constant = is_constant
        self.lines = lines

    def build(self, node: ast.expr, line: int) -> Optional[SqlText]:
        """The SQL text of ``node``, or None when it is not (knowably) a string."""
        parts = self._parts(node, 0)
        if parts is None:
            return None
        text, built, holes = parts
        held = self._held(node)
        if isinstance(held, SqlText):
            line = held.line  # a name for SQL written elsewhere: the SQL's own line
        return SqlText(text=text, line=line, built="" if built == "const" else built, holes=holes)

    def _held(self, node: ast.expr) -> Optional[object]:
        """What a name (or ``text(name)``) refers to."""
        if isinstance(node, ast.Call):
            argument = _text_argument(node)
            if argument is None:
                return None
            node = argument
        name = dotted(node) if isinstance(node, (ast.Name, ast.Attribute)) else None
        return self.fragment(name) if name else None

    # Each _parts returns (text, built, holes) with holes numbered from 1 in the text.
    # ``own``: parentheses right around ``node`` are its own (an operand's, an f-string field's).
    def _parts(self, node: ast.expr, depth: int, own: bool = False) -> Optional[tuple]:
        if depth > 20:
            return None
        kind = type(node)
        if kind is ast.Constant:
            value = node.value
            if isinstance(value, str):
                return value, "", []
            if isinstance(value, bytes):
                return value.decode("latin-1"), "", []
            return None
        if kind is ast.JoinedStr:
            return self._fstring(node, depth)
        if kind is ast.BinOp:
            operator = type(node.op)
            if operator is ast.Add:
                left = self._parts(node.left, depth + 1, True)
                right = self._parts(node.right, depth + 1, True)
                if not ((left and _is_text(left)) or (right and _is_text(right))):
                    return None  # ``a + 1``: no text on either side
                return _join([left or self._hole(node.left, True), right or self._hole(node.right, True)], "concat")
            if operator is ast.Mod:
                left = self._parts(node.left, depth + 1)
                return self._percent(left, node.right) if left else None
            return None
        if kind is ast.Call:
            func = node.func
            if isinstance(func, ast.Attribute):
                if func.attr == "join":
                    if (node.args or node.keywords) and _joins_placeholders(node):
                        return _ONE_HOLE, "", [["placeholders", self._source(node, own)]]
                elif func.attr == "format":
                    base = self._parts(func.value, depth + 1)
                    return self._format(base, node) if base else None
            argument = _text_argument(node)  # SQLAlchemy ``text("...")``
            return self._parts(argument, depth + 1) if argument is not None else None
        if kind is ast.Name or kind is ast.Attribute:
            name = dotted(node)
            held = self.fragment(name) if name else None
            if isinstance(held, SqlText):
                return held.text, held.built or "const", list(held.holes)
            if isinstance(held, str):
                return held, "const", []
        return None

    def hole(self, node: ast.expr, line: int) -> SqlText:
        """A SqlText that is nothing but the interpolated value ``node``."""
        text, _, holes = self._hole(node, True)
        return SqlText(text=text, line=line, built="concat", holes=holes)

    def _hole(self, node: ast.expr, parenthesised: bool = False) -> tuple:
        return _ONE_HOLE, "", [[self.hole_kind(node), self._source(node, parenthesised)]]

    def _fstring(self, node: ast.JoinedStr, depth: int) -> Optional[tuple]:
        pieces = []
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                pieces.append(self._parts(part.value, depth + 1, True) or self._hole(part.value, True))
            elif isinstance(part, ast.Constant):
                pieces.append((part.value, "", []))
        return _join(pieces, "fstring")

    def _percent(self, left: tuple, right: ast.expr) -> tuple:
        text, _, holes = left
        if isinstance(right, ast.Tuple):
            values = [el.value if isinstance(el, ast.Starred) else el for el in right.elts]
        elif isinstance(right, ast.Dict):
            values = {}
            for key_node, value_node in zip(right.keys, right.values):
                key = string_value(key_node) if key_node is not None else None
                if key is not None:
                    values[key] = value_node
        else:
            values = None
        pieces = []
        position = 0
        index = 0
        for match in _PERCENT_SPEC.finditer(text):
            pieces.append(_segment(text[position:match.start()], holes))
            position = match.end()
            if match.group(0) == "%%":
                pieces.append(("%", "", []))
                continue
            if isinstance(values, list):
                value = values[index] if index < len(values) else None
            elif isinstance(values, dict):
                value = values.get(match.group(1) or "")
            else:
                value = right
            index += 1
            if value is None:
                pieces.append((_ONE_HOLE, "", [["input", "?"]]))
            else:
                pieces.append(self._parts(value, 1, True) or self._hole(value, True))
        pieces.append(_segment(text[position:], holes))
        return _join(pieces, "percent")

    def _format(self, base: tuple, call: ast.Call) -> tuple:
        text, _, holes = base
        positional = [arg for arg in call.args if not isinstance(arg, ast.Starred)]
        keywords = {keyword.arg: keyword.value for keyword in call.keywords if keyword.arg is not None}
        pieces = []
        position = 0
        auto = 0
        for match in _FORMAT_FIELD.finditer(text):
            pieces.append(_segment(text[position:match.start()], holes))
            position = match.end()
            if match.group(0) in {"{{", "}}"}:
                pieces.append((match.group(0)[0], "", []))
                continue
            field_name = (match.group(1) or "").split(".")[0].split("[")[0]
            if field_name == "":
                value = positional[auto] if auto < len(positional) else None
                auto += 1
            elif field_name.isdigit():
                value = positional[int(field_name)] if int(field_name) < len(positional) else None
            else:
                value = keywords.get(field_name)
            if value is None:
                pieces.append((_ONE_HOLE, "", [["input", "?"]]))
            else:
                pieces.append(self._parts(value, 1) or self._hole(value))
        pieces.append(_segment(text[position:], holes))
        return _join(pieces, "format")

    def hole_kind(self, node: ast.expr) -> str:
        """What an interpolated value is: const, number, quoted, placeholders or input."""
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, (str, bytes)):
                return "const"
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return "number"
            name = _NAMED_CONSTANTS.get(value) if isinstance(value, (bool, type(None))) else None
            if name is not None and self.is_constant(name):
                return "const"
            return "input"
        if not isinstance(node, ast.JoinedStr) and string_value(node) is not None:
            return "const"
        name = dotted(node)
        if name is not None:
            last = name.rsplit(".", 1)[-1]
            if self.is_constant(name) or (last.isupper() and len(last) > 1):
                return "const"
            return "input"
        if isinstance(node, ast.Call):
            callee = node.func.attr if isinstance(node.func, ast.Attribute) else (dotted(node.func) or "")
            if callee in _NUMERIC_CALLS:
                return "number"
            if callee in _QUOTING_CALLS:
                return "quoted"
            if callee == "join" and (node.args or node.keywords):
                return "placeholders" if _joins_placeholders(node) else "input"
        if isinstance(node, ast.IfExp):
            kinds = {self.hole_kind(node.body), self.hole_kind(node.orelse)}
            return kinds.pop() if len(kinds) == 1 else "input"
        return "input"

    def _source(self, node: ast.expr, parenthesised: bool = False) -> str:
        """``node`` as one line of at most 120 characters: its text as written when the lines are
        known (``parenthesised``: with the parentheses of its own around it), else ``ast.unparse``."""
        text = _written(self.lines, node, parenthesised) if self.lines is not None else None
        if text is None:
            text = source(node)
        return " ".join(text.split())[:120]


def _text_argument(node: ast.Call) -> Optional[ast.expr]:
    """The argument of SQLAlchemy's ``text(...)`` (one argument, not a keyword), else None."""
    if len(node.args) + len(node.keywords) != 1 or (node.keywords and node.keywords[0].arg is not None):
        return None
    if (dotted(node.func) or "").rsplit(".", 1)[-1] != "text":
        return None
    argument = node.args[0] if node.args else node.keywords[0].value
    return argument.value if isinstance(argument, ast.Starred) else argument


def concat_sql(left: SqlText, right: SqlText) -> SqlText:
    """``left + right`` (``query += ...``), keeping the holes of both."""
    text, built, holes = _join([(left.text, left.built, left.holes), (right.text, right.built, right.holes)],
                               left.built or right.built or "concat")
    return SqlText(text=text, line=left.line, built=built, holes=holes)


def _joins_placeholders(node: ast.Call) -> bool:
    """``", ".join(["%s"] * len(ids))``, ``",".join("?" * n)``, ``", ".join("%s" for _ in ids)``."""
    argument = call_arguments(node)[0][2]
    if isinstance(argument, ast.BinOp) and isinstance(argument.op, ast.Mult):
        item = argument.left
        if isinstance(item, ast.List) and len(item.elts) == 1:
            item = item.elts[0]
        text = _literal_text(item)
        return text is not None and bool(_PLACEHOLDER.match(text))
    if isinstance(argument, (ast.GeneratorExp, ast.ListComp)):
        text = _literal_text(argument.elt)
        return text is not None and bool(_PLACEHOLDER.match(text))
    return False


def _literal_text(node: ast.expr) -> Optional[str]:
    """The text of a string literal without interpolation (``f"{x}"`` is not the placeholder ``?``)."""
    if isinstance(node, ast.JoinedStr):
        if all(isinstance(part, ast.Constant) for part in node.values):
            return "".join(part.value for part in node.values)
        return None
    return string_value(node) if isinstance(node, ast.Constant) else None


def _is_text(parts: tuple) -> bool:
    return not (parts[0] == _ONE_HOLE and len(parts[2]) == 1)


def _segment(segment: str, holes: list) -> tuple:
    """A piece of already-built text, its holes renumbered from 1."""
    if "__audit_hole_" not in segment:
        return segment, "", []
    found: list = []

    def renumber(match: re.Match) -> str:
        number = int(match.group(1))
        found.append(holes[number - 1] if number - 1 < len(holes) else ["input", "?"])
        return HOLE.format(len(found))

    return HOLE_PATTERN.sub(renumber, segment), "", found


def _join(pieces: list, built: str) -> tuple:
    """Concatenate (text, built, holes) pieces, renumbering the holes in order.

    ``built`` names how the text was formatted; it is kept only when something was interpolated
    (a hole, or an inlined constant: piece ``built`` "const").
    """
    out = []
    holes: list = []
    kinds = []
    for text, piece_built, piece_holes in pieces:
        if piece_built or piece_holes:
            kinds.append(piece_built or "concat")
        if holes and "__audit_hole_" in text:
            offset = len(holes)
            text = HOLE_PATTERN.sub(lambda m: HOLE.format(offset + int(m.group(1))), text)
        out.append(text)
        holes.extend(piece_holes)
    if not kinds:
        return "".join(out), "", holes
    if not built:  # implicit concatenation: how its parts were built, a formatting kind before "const"
        built = next((kind for kind in kinds if kind != "const"), "const")
    return "".join(out), built, holes


def _written(lines: Sequence[str], node: ast.expr, parenthesised: bool) -> Optional[str]:
    """The source text of ``node`` (positions are UTF-8 byte offsets), with the parentheses
    around it that are its own when ``parenthesised``; None when the positions do not fit."""
    first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
    if not 0 <= first <= last < len(lines):
        return None
    for row in range(first, last + 1):
        if "\r" in lines[row][:-1]:
            return None  # a lone carriage return ends a line for Python, not in ``lines``
    start, end = _column(lines[first], node.col_offset), _column(lines[last], node.end_col_offset)
    if start is None or end is None:
        return None
    if parenthesised:
        first, start, last, end = _own_parentheses(lines, first, start, last, end)
    if first == last:
        return lines[first][start:end]
    return "\n".join([lines[first][start:], *lines[first + 1:last], lines[last][:end]])


def _column(line: str, offset: Optional[int]) -> Optional[int]:
    """The character index of UTF-8 byte ``offset`` of ``line``."""
    if offset is None:
        return None
    if line.isascii():
        return offset if offset <= len(line) else None
    encoded = line.encode("utf-8")
    if offset > len(encoded):
        return None
    try:
        return len(encoded[:offset].decode("utf-8"))
    except UnicodeDecodeError:
        return None


def _own_parentheses(lines: Sequence[str], first: int, start: int, last: int, end: int) -> tuple:
    """Widen a span over the parentheses that enclose it on both sides: ``(x)``, ``(\\n x\\n)``."""
    opening = []  # (line, column) of each "(" before the span, nearest first
    row, column = first, start
    while row >= 0:
        text = lines[row][:column] if row == first else lines[row].split("#", 1)[0]
        stripped = text.rstrip()
        while stripped.endswith("("):
            opening.append((row, len(stripped) - 1))
            stripped = stripped[:-1].rstrip()
        if stripped or len(opening) > 8:
            break
        row -= 1
    closing = []  # (line, column after) of each ")" after the span, nearest first
    row, column = last, end
    while row < len(lines) and len(closing) < len(opening):
        text = lines[row][column:] if row == last else lines[row]
        position = 0
        while True:
            while position < len(text) and text[position] in " \t\r\f":
                position += 1
            if position < len(text) and text[position] == ")" and len(closing) < len(opening):
                closing.append((row, (column if row == last else 0) + position + 1))
                position += 1
                continue
            break
        if position < len(text) and text[position] != "#" or len(closing) == len(opening):
            break
        row += 1
    count = min(len(opening), len(closing))
    if count:
        first, start = opening[count - 1]
        last, end = closing[count - 1]
    return first, start, last, end
