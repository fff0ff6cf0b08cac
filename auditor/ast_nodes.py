"""Pure helpers over stdlib :mod:`ast` nodes: names, string and literal values, annotation targets."""

from __future__ import annotations

import ast
from typing import Callable, Optional

_NAMED_CONSTANTS = {"True": True, "False": False, "None": None}


def dotted(node: ast.AST) -> Optional[str]:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def is_text(node: ast.AST) -> bool:
    """A string or bytes literal (implicit concatenations included)."""
    return isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes))


def string_value(node: ast.AST) -> Optional[str]:
    """The text of a string literal, concatenation or f-string (holes become ``?``)."""
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, str):
            return value
        return value.decode("latin-1") if isinstance(value, bytes) else None
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value if isinstance(part, ast.Constant) else "?" for part in node.values)
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Add):
            left, right = string_value(node.left), string_value(node.right)
            return left + right if left is not None and right is not None else None
        if isinstance(node.op, ast.Mod):
            return string_value(node.left)
        return None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return string_value(node.func.value)
    return None


def int_value(node: Optional[ast.AST]) -> Optional[int]:
    """The value of an integer literal (not a bool), else None."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    return None


def literal_size(node: ast.AST) -> Optional[int]:
    """Item count of a list/tuple/set/dict literal of constants, or of ``range(<= const)``."""
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        if not any(isinstance(el, ast.Starred) for el in node.elts):
            return len(node.elts)
        return None
    if isinstance(node, ast.Dict):
        return len(node.keys) if all(key is not None for key in node.keys) else None
    if not isinstance(node, ast.Call) or node.keywords:
        return None
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr in {"items", "keys", "values"} and not node.args:
        return literal_size(func.value)
    if isinstance(func, ast.Name) and func.id in {"enumerate", "sorted", "reversed", "list", "tuple", "set"} \
            and len(node.args) == 1:
        return literal_size(node.args[0])
    if isinstance(func, ast.Name) and func.id == "range":
        ints = [int_value(a) for a in node.args]
        if ints and all(i is not None for i in ints):
            if len(ints) == 1:
                return max(ints[0], 0)
            return max(ints[1] - ints[0], 0)
    return None


def target_names(node: ast.AST) -> list:
    """Names bound by an assignment or loop target."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, (ast.Tuple, ast.List)):
        names: list = []
        for el in node.elts:
            names.extend(target_names(el))
        return names
    if isinstance(node, ast.Starred):
        return target_names(node.value)
    return []


def names_read(node: ast.AST) -> set:
    """Every Name inside ``node`` (attribute names excluded)."""
    return {child.id for child in ast.walk(node) if isinstance(child, ast.Name)}


_COLLECTIONS = {"list", "List", "set", "Set", "Sequence", "Collection", "Iterable", "WriteOnlyMapped",
                "DynamicMapped", "AppenderQuery"}
_WRAPPERS = {"Mapped", "Optional", "Annotated"}


def first_subscript(node: ast.Subscript) -> ast.AST:
    """The first element of a subscript: ``X`` of ``Dict[X, Y]`` and of ``List[X]``."""
    inner = node.slice
    if isinstance(inner, ast.Tuple) and inner.elts:
        return inner.elts[0]
    return inner


def annotated_class(node: ast.AST, many: bool = False) -> tuple:
    """``Mapped[list["Item"]]`` -> ("Item", True); ``Mapped[Optional[User]]`` -> ("User", False)."""
    if isinstance(node, ast.Subscript):
        head = (dotted(node.value) or "").split(".")[-1]
        inner = first_subscript(node)
        if not isinstance(inner, ast.Slice):
            if head in _COLLECTIONS:
                return annotated_class(inner, True)
            if head in _WRAPPERS:
                return annotated_class(inner, many)
        return "", many
    if isinstance(node, ast.BinOp):
        return annotated_class(node.left, many)
    if is_text(node):
        text = (string_value(node) or "").strip()
        if "[" in text:
            parsed = parse_expression(text)
            return annotated_class(parsed, many) if parsed is not None else ("", many)
        return text, many
    return (dotted(node) or ""), many


def parse_expression(text: str) -> Optional[ast.AST]:
    """``text`` parsed as one expression, or None."""
    try:
        return ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def callee_text(node: ast.AST, depth: int = 0) -> str:
    """A one-line label of a callee: ``Order.objects.filter(...).first``."""
    if depth > 8:
        return "…"
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{callee_text(node.value, depth + 1)}.{node.attr}"
    if isinstance(node, ast.Call):
        return f"{callee_text(node.func, depth + 1)}(...)"
    if isinstance(node, ast.Subscript):
        return f"{callee_text(node.value, depth + 1)}[...]"
    if isinstance(node, ast.Await):
        return callee_text(node.value, depth + 1)
    return "(…)"


def argument_kind(node: ast.AST) -> str:
    """A coarse kind of an argument: str, fstring, name, call, other."""
    if is_text(node):
        return "str"
    if isinstance(node, ast.JoinedStr):
        return "fstring"
    if isinstance(node, (ast.Name, ast.Attribute)):
        return "name"
    if isinstance(node, ast.Call):
        return "call"
    return "other"


def call_arguments(node: ast.Call) -> list:
    """``(keyword or None, star, value)`` of every argument of a call in source order; star is
    ``""``, ``"*"`` or ``"**"`` (``**kw`` has no keyword)."""
    arguments = [(None, "*", arg.value) if isinstance(arg, ast.Starred) else (None, "", arg) for arg in node.args]
    arguments += [(kw.arg, "" if kw.arg else "**", kw.value) for kw in node.keywords]
    if node.keywords and node.args and _position(node.keywords[0]) < _position(node.args[-1]):
        arguments.sort(key=lambda argument: _position(argument[2]))
    return arguments


def _position(node: ast.AST) -> tuple:
    return getattr(node, "lineno", 0), getattr(node, "col_offset", 0)


def handed_out(node: ast.AST) -> list:
    """Names a return/yield hands to the caller: ``conn``, ``(conn, cur)``, ``Wrapper(conn)``."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [n for el in node.elts for n in handed_out(el.value if isinstance(el, ast.Starred) else el)]
    if isinstance(node, ast.Call):
        return [value.id for _, _, value in call_arguments(node) if isinstance(value, ast.Name)]
    return []


def source(node: ast.AST) -> str:
    """The expression's text (normalised by ``ast.unparse``), at most 300 characters."""
    try:
        return ast.unparse(node).strip()[:300]
    except (ValueError, RecursionError, AttributeError):
        return "…"


_LITERAL_DEPTH = 8
_LITERAL_ITEMS = 200
_COMPARISONS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
                ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not"}


def comparison_text(op: ast.cmpop) -> str:
    """``==``, ``<=``, ``not in``... of a comparison operator."""
    return _COMPARISONS.get(type(op), "?")


def literal_tree(node: ast.AST, qualify: Callable[[str], str], depth: int = 0,
                 source_of: Callable[[ast.AST], str] = source):
    """A plain-data description of an expression, for declarations read as data.

    Constants become Python values, lists/tuples/sets lists, a dict ``{"dict": [[k, v], ...]}``,
    a call ``{"call": qualified callee, "args": [...], "kw": {name: ...}}``, a name or attribute
    chain ``{"name": qualified}``, anything else ``{"expr": source text}``. ``qualify`` maps a
    dotted name to its qualified name through the module's imports; ``source_of`` gives the source text
    of a node (``ast.unparse`` by default).
    """
    if depth > _LITERAL_DEPTH:
        return {"expr": "…"}
    formatting = isinstance(node, ast.Call) or (isinstance(node, ast.BinOp) and not isinstance(node.op, ast.Add))
    text = None if formatting else string_value(node)
    if text is not None:
        return text
    if isinstance(node, ast.Constant):
        value = node.value
        if value is None or isinstance(value, (bool, int, float)):
            return value
        return {"expr": source_of(node)}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = literal_tree(node.operand, qualify, depth + 1, source_of)
        if isinstance(inner, (int, float)) and not isinstance(inner, bool):
            return -inner
    if isinstance(node, ast.Name) and node.id in _NAMED_CONSTANTS:
        return _NAMED_CONSTANTS[node.id]
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [literal_tree(el.value if isinstance(el, ast.Starred) else el, qualify, depth + 1, source_of)
                for el in node.elts[:_LITERAL_ITEMS]]
    if isinstance(node, ast.Dict):
        return {"dict": [[literal_tree(key, qualify, depth + 1, source_of), literal_tree(value, qualify, depth + 1, source_of)]
                         for key, value in list(zip(node.keys, node.values))[:_LITERAL_ITEMS] if key is not None]}
    if isinstance(node, ast.Call):
        callee = dotted(node.func)
        tree: dict = {"call": qualify(callee) if callee else source_of(node.func), "args": [], "kw": {}}
        if callee is None and isinstance(node.func, ast.Attribute):
            # ``sa.Column("x").desc()``, ``User.email.desc()`` after a call: keep the receiver
            tree["call"] = node.func.attr
            tree["on"] = literal_tree(node.func.value, qualify, depth + 1, source_of)
        for keyword, star, value in call_arguments(node)[:_LITERAL_ITEMS]:
            if keyword is not None:
                tree["kw"][keyword] = literal_tree(value, qualify, depth + 1, source_of)
            elif not star:
                tree["args"].append(literal_tree(value, qualify, depth + 1, source_of))
        return tree
    if isinstance(node, ast.Compare):
        return {"cmp": [literal_tree(node.left, qualify, depth + 1, source_of),
                        [[comparison_text(op), literal_tree(right, qualify, depth + 1, source_of)]
                         for op, right in zip(node.ops, node.comparators)]]}
    if isinstance(node, ast.BoolOp):
        return _boolean("and" if isinstance(node.op, ast.And) else "or",
                        [literal_tree(value, qualify, depth + 1, source_of) for value in node.values])
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr)):
        return {"bool": "and" if isinstance(node.op, ast.BitAnd) else "or",
                "args": [literal_tree(node.left, qualify, depth + 1, source_of), literal_tree(node.right, qualify, depth + 1, source_of)]}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.Invert)):
        return {"not": literal_tree(node.operand, qualify, depth + 1, source_of)}
    name = dotted(node)
    if name is not None:
        return {"name": qualify(name)}
    return {"expr": source_of(node)}


def _boolean(operator: str, operands: list) -> dict:
    """``a and b and c`` as nested pairs, ``((a and b) and c)``, the shape the readers expect."""
    tree = {"bool": operator, "args": operands[:2]}
    for operand in operands[2:]:
        tree = {"bool": operator, "args": [tree, operand]}
    return tree
