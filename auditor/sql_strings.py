"""SQL text out of Python expressions: literals, concatenation, f-strings, ``%`` and ``.format``.

Each interpolated value becomes a *hole*: the marker ``__audit_hole_N__`` in the text (a valid
SQL identifier, so the statement still parses) and an entry in :attr:`SqlText.holes` saying
what was interpolated. Fragments that are themselves known text (a module constant, a local
SQL fragment) are inlined instead.
"""

from __future__ import annotations

import re
from typing import Callable, Optional

import libcst as cst

from auditor.cst_nodes import dotted, string_value
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
_PLACEHOLDER = re.compile(r"^\s*(?:%s|\?|%\(\w+\)s|:\w+|\$\d+)\s*,?\s*$")
MAX_SQL_CHARS = 100_000


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
    """Builds :class:`SqlText` for expressions of one scope.

    ``fragment(name)`` returns the SqlText or string a local or module name holds, or None;
    ``is_constant(name)`` says whether a name is a module-level constant.
    """

    def __init__(self, fragment: Callable[[str], Optional[object]], is_constant: Callable[[str], bool]) -> None:
        self.fragment = fragment
        self.is_constant = is_constant

    def build(self, node: cst.BaseExpression, line: int) -> Optional[SqlText]:
        """The SQL text of ``node``, or None when it is not (knowably) a string."""
        parts = self._parts(node, 0)
        if parts is None:
            return None
        text, built, holes = parts
        held = self._held(node)
        if isinstance(held, SqlText):
            line = held.line  # a name for SQL written elsewhere: the SQL's own line
        return SqlText(text=text, line=line, built="" if built == "const" else built, holes=holes)

    def _held(self, node: cst.BaseExpression) -> Optional[object]:
        """What a name (or ``text(name)``) refers to."""
        if isinstance(node, cst.Call) and _is_text_call(node):
            node = node.args[0].value
        name = dotted(node) if isinstance(node, (cst.Name, cst.Attribute)) else None
        return self.fragment(name) if name else None

    # Each _parts returns (text, built, holes) with holes numbered from 1 in the text.
    def _parts(self, node: cst.BaseExpression, depth: int) -> Optional[tuple]:
        if depth > 20:
            return None
        if isinstance(node, cst.SimpleString):
            text = string_value(node)
            return (text, "", []) if text is not None else None
        if isinstance(node, cst.ConcatenatedString):
            left = self._parts(node.left, depth + 1)
            right = self._parts(node.right, depth + 1)
            return _join([left, right], "") if left and right else None
        if isinstance(node, cst.FormattedString):
            return self._fstring(node, depth)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
            left = self._parts(node.left, depth + 1) or self._hole(node.left)
            right = self._parts(node.right, depth + 1) or self._hole(node.right)
            if not (_is_text(left) or _is_text(right)):
                return None
            return _join([left, right], "concat")
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Modulo):
            left = self._parts(node.left, depth + 1)
            return self._percent(left, node.right) if left else None
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "join" \
                and node.args and _joins_placeholders(node):
            return HOLE.format(1), "", [["placeholders", _source(node)]]
        if isinstance(node, cst.Call) and _is_text_call(node):  # SQLAlchemy ``text("...")``
            return self._parts(node.args[0].value, depth + 1)
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "format"
        ):
            base = self._parts(node.func.value, depth + 1)
            return self._format(base, node) if base else None
        if isinstance(node, (cst.Name, cst.Attribute)):
            name = dotted(node)
            held = self.fragment(name) if name else None
            if isinstance(held, SqlText):
                return held.text, held.built or "const", list(held.holes)
            if isinstance(held, str):
                return held, "const", []
        return None

    def hole(self, node: cst.BaseExpression, line: int) -> SqlText:
        """A SqlText that is nothing but the interpolated value ``node``."""
        text, _, holes = self._hole(node)
        return SqlText(text=text, line=line, built="concat", holes=holes)

    def _hole(self, node: cst.BaseExpression) -> tuple:
        return HOLE.format(1), "", [[self.hole_kind(node), _source(node)]]

    def _fstring(self, node: cst.FormattedString, depth: int) -> Optional[tuple]:
        pieces = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                pieces.append((part.value.replace("{{", "{").replace("}}", "}"), "", []))
            elif isinstance(part, cst.FormattedStringExpression):
                pieces.append(self._parts(part.expression, depth + 1) or self._hole(part.expression))
        return _join(pieces, "fstring")

    def _percent(self, left: tuple, right: cst.BaseExpression) -> tuple:
        text, _, holes = left
        if isinstance(right, cst.Tuple):
            values = [el.value for el in right.elements]
        elif isinstance(right, cst.Dict):
            values = {}
            for el in right.elements:
                if isinstance(el, cst.DictElement):
                    key = string_value(el.key)
                    if key is not None:
                        values[key] = el.value
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
                pieces.append((HOLE.format(1), "", [["input", "?"]]))
            else:
                pieces.append(self._parts(value, 1) or self._hole(value))
        pieces.append(_segment(text[position:], holes))
        return _join(pieces, "percent")

    def _format(self, base: tuple, call: cst.Call) -> tuple:
        text, _, holes = base
        positional = [arg.value for arg in call.args if arg.keyword is None and not arg.star]
        keywords = {arg.keyword.value: arg.value for arg in call.args if arg.keyword is not None}
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
                pieces.append((HOLE.format(1), "", [["input", "?"]]))
            else:
                pieces.append(self._parts(value, 1) or self._hole(value))
        pieces.append(_segment(text[position:], holes))
        return _join(pieces, "format")

    def hole_kind(self, node: cst.BaseExpression) -> str:
        """What an interpolated value is: const, number, quoted, placeholders or input."""
        if isinstance(node, (cst.Integer, cst.Float)):
            return "number"
        if string_value(node) is not None and not isinstance(node, cst.FormattedString):
            return "const"
        name = dotted(node)
        if name is not None:
            last = name.rsplit(".", 1)[-1]
            if self.is_constant(name) or (last.isupper() and len(last) > 1):
                return "const"
            return "input"
        if isinstance(node, cst.Call):
            callee = node.func.attr.value if isinstance(node.func, cst.Attribute) else (dotted(node.func) or "")
            if callee in _NUMERIC_CALLS:
                return "number"
            if callee in _QUOTING_CALLS:
                return "quoted"
            if callee == "join" and node.args:
                return "placeholders" if _joins_placeholders(node) else "input"
        if isinstance(node, cst.IfExp):
            kinds = {self.hole_kind(node.body), self.hole_kind(node.orelse)}
            return kinds.pop() if len(kinds) == 1 else "input"
        return "input"


def _is_text_call(node: cst.Call) -> bool:
    return (dotted(node.func) or "").rsplit(".", 1)[-1] == "text" and len(node.args) == 1 and node.args[0].keyword is None


def concat_sql(left: SqlText, right: SqlText) -> SqlText:
    """``left + right`` (``query += ...``), keeping the holes of both."""
    text, built, holes = _join([(left.text, left.built, left.holes), (right.text, right.built, right.holes)],
                               left.built or right.built or "concat")
    return SqlText(text=text, line=left.line, built=built, holes=holes)


def _joins_placeholders(node: cst.Call) -> bool:
    """``", ".join(["%s"] * len(ids))``, ``",".join("?" * n)``, ``", ".join("%s" for _ in ids)``."""
    argument = node.args[0].value
    if isinstance(argument, cst.BinaryOperation) and isinstance(argument.operator, cst.Multiply):
        item = argument.left
        if isinstance(item, cst.List) and len(item.elements) == 1:
            item = item.elements[0].value
        text = string_value(item)
        return text is not None and bool(_PLACEHOLDER.match(text))
    if isinstance(argument, (cst.GeneratorExp, cst.ListComp)):
        text = string_value(argument.elt)
        return text is not None and bool(_PLACEHOLDER.match(text))
    return False


def _is_text(parts: tuple) -> bool:
    return not (parts[0] == HOLE.format(1) and len(parts[2]) == 1)


def _segment(segment: str, holes: list) -> tuple:
    """A piece of already-built text, its holes renumbered from 1."""
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
        offset = len(holes)
        out.append(HOLE_PATTERN.sub(lambda m, offset=offset: HOLE.format(offset + int(m.group(1))), text))
        holes.extend(piece_holes)
    if not kinds:
        return "".join(out), "", holes
    if not built:  # implicit concatenation: how its parts were built, a formatting kind before "const"
        built = next((kind for kind in kinds if kind != "const"), "const")
    return "".join(out), built, holes


def _source(node: cst.CSTNode) -> str:
    return " ".join(cst.Module(body=[]).code_for_node(node).split())[:120]
