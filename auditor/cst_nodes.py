"""Pure helpers over libcst nodes: names, string and literal values, annotation targets."""

from __future__ import annotations

from typing import Optional

import libcst as cst


def dotted(node: cst.BaseExpression) -> Optional[str]:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def string_value(node: cst.BaseExpression) -> Optional[str]:
    """The text of a string literal, concatenation or f-string (holes become ``?``)."""
    if isinstance(node, cst.SimpleString):
        try:
            value = node.evaluated_value
        except Exception:  # noqa: BLE001 - odd escapes: fall back to raw text
            return node.value.strip("'\"")
        return value if isinstance(value, str) else value.decode("latin-1")
    if isinstance(node, cst.ConcatenatedString):
        left, right = string_value(node.left), string_value(node.right)
        return left + right if left is not None and right is not None else None
    if isinstance(node, cst.FormattedString):
        out = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                out.append(part.value)
            else:
                out.append("?")
        return "".join(out)
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        left, right = string_value(node.left), string_value(node.right)
        return left + right if left is not None and right is not None else None
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Modulo):
        return string_value(node.left)
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        if node.func.attr.value == "format":
            return string_value(node.func.value)
    return None


def literal_size(node: cst.BaseExpression) -> Optional[int]:
    """Item count of a list/tuple/set/dict literal of constants, or of ``range(<= const)``."""
    if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        if not any(isinstance(el, cst.StarredElement) for el in node.elements):
            return len(node.elements)
        return None
    if isinstance(node, cst.Dict):
        if all(isinstance(el, cst.DictElement) for el in node.elements):
            return len(node.elements)
        return None
    if (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value in {"items", "keys", "values"}
        and not node.args
    ):
        return literal_size(node.func.value)
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in {
        "enumerate", "sorted", "reversed", "list", "tuple", "set"
    } and len(node.args) == 1:
        return literal_size(node.args[0].value)
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "range":
        ints = [_int_value(a.value) for a in node.args]
        if ints and all(i is not None for i in ints):
            if len(ints) == 1:
                return max(ints[0], 0)
            return max(ints[1] - ints[0], 0)
    return None


def _int_value(node: cst.BaseExpression) -> Optional[int]:
    if isinstance(node, cst.Integer):
        try:
            return int(node.value.replace("_", ""), 0)
        except ValueError:
            return None
    return None


def _is_constant(node: cst.BaseExpression) -> bool:
    if isinstance(node, (cst.SimpleString, cst.Integer, cst.Float, cst.ConcatenatedString)):
        return True
    if isinstance(node, cst.Name) and node.value in {"None", "True", "False"}:
        return True
    if isinstance(node, cst.Tuple):
        return all(_is_constant(el.value) for el in node.elements)
    if isinstance(node, cst.UnaryOperation):
        return _is_constant(node.expression)
    return False


def target_names(node: cst.BaseExpression) -> list:
    """Names bound by an assignment or loop target."""
    if isinstance(node, cst.Name):
        return [node.value]
    if isinstance(node, (cst.Tuple, cst.List)):
        names: list = []
        for el in node.elements:
            names.extend(target_names(el.value))
        return names
    if isinstance(node, cst.StarredElement):
        return target_names(node.value)
    return []


def names_read(node: cst.CSTNode) -> set:
    """Every Name read anywhere inside ``node`` (attribute names excluded)."""
    found: set = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name):
            found.add(current.value)
            continue
        if isinstance(current, cst.Attribute):
            stack.append(current.value)
            continue
        stack.extend(current.children)
    return found


_COLLECTIONS = {"list", "List", "set", "Set", "Sequence", "Collection", "Iterable", "WriteOnlyMapped",
                "DynamicMapped", "AppenderQuery"}
_WRAPPERS = {"Mapped", "Optional", "Annotated"}


def annotated_class(node: cst.BaseExpression, many: bool = False) -> tuple:
    """``Mapped[list["Item"]]`` -> ("Item", True); ``Mapped[Optional[User]]`` -> ("User", False)."""
    if isinstance(node, cst.Subscript):
        head = (dotted(node.value) or "").split(".")[-1]
        if node.slice and isinstance(node.slice[0].slice, cst.Index):
            inner = node.slice[0].slice.value
            if head in _COLLECTIONS:
                return annotated_class(inner, True)
            if head in _WRAPPERS:
                return annotated_class(inner, many)
        return "", many
    if isinstance(node, cst.BinaryOperation):
        return annotated_class(node.left, many)
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        text = (string_value(node) or "").strip()
        if "[" in text:
            try:
                return annotated_class(cst.parse_expression(text), many)
            except cst.ParserSyntaxError:
                return "", many
        return text, many
    return (dotted(node) or ""), many


def callee_text(node: cst.BaseExpression, depth: int = 0) -> str:
    """A one-line label of a callee: ``Order.objects.filter(...).first``."""
    if depth > 8:
        return "…"
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{callee_text(node.value, depth + 1)}.{node.attr.value}"
    if isinstance(node, cst.Call):
        return f"{callee_text(node.func, depth + 1)}(...)"
    if isinstance(node, cst.Subscript):
        return f"{callee_text(node.value, depth + 1)}[...]"
    if isinstance(node, cst.Await):
        return callee_text(node.expression, depth + 1)
    return "(…)"


def argument_kind(node: cst.BaseExpression) -> str:
    """A coarse kind of an argument: str, fstring, name, call, other."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        return "str"
    if isinstance(node, cst.FormattedString):
        return "fstring"
    if isinstance(node, (cst.Name, cst.Attribute)):
        return "name"
    if isinstance(node, cst.Call):
        return "call"
    return "other"


def handed_out(node: cst.BaseExpression) -> list:
    """Names a return/yield hands to the caller: ``conn``, ``(conn, cur)``, ``Wrapper(conn)``."""
    if isinstance(node, cst.Name):
        return [node.value]
    if isinstance(node, (cst.Tuple, cst.List)):
        return [n for el in node.elements for n in handed_out(el.value)]
    if isinstance(node, cst.Call):
        return [arg.value.value for arg in node.args if isinstance(arg.value, cst.Name)]
    return []


_LITERAL_DEPTH = 8
_LITERAL_ITEMS = 200
_NAMED_CONSTANTS = {"True": True, "False": False, "None": None}


def literal_tree(node: cst.BaseExpression, qualify, depth: int = 0):
    """A plain-data description of an expression, for declarations read as data.

    Constants become Python values, lists/tuples/sets lists, a dict ``{"dict": [[k, v], ...]}``,
    a call ``{"call": qualified callee, "args": [...], "kw": {name: ...}}``, a name or attribute
    chain ``{"name": qualified}``, anything else ``{"expr": source text}``. ``qualify`` maps a
    dotted name to its qualified name through the module's imports.
    """
    if depth > _LITERAL_DEPTH:
        return {"expr": "…"}
    formatting = isinstance(node, cst.Call) or (
        isinstance(node, cst.BinaryOperation) and not isinstance(node.operator, cst.Add))
    text = None if formatting else string_value(node)
    if text is not None:
        return text
    if isinstance(node, cst.Integer):
        value = _int_value(node)
        return value if value is not None else {"expr": node.value}
    if isinstance(node, cst.Float):
        try:
            return float(node.value.replace("_", ""))
        except ValueError:
            return {"expr": node.value}
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        inner = literal_tree(node.expression, qualify, depth + 1)
        if isinstance(inner, (int, float)) and not isinstance(inner, bool):
            return -inner
    if isinstance(node, cst.Name) and node.value in _NAMED_CONSTANTS:
        return _NAMED_CONSTANTS[node.value]
    if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        return [literal_tree(el.value, qualify, depth + 1) for el in node.elements[:_LITERAL_ITEMS]]
    if isinstance(node, cst.Dict):
        pairs = []
        for el in node.elements[:_LITERAL_ITEMS]:
            if isinstance(el, cst.DictElement):
                pairs.append([literal_tree(el.key, qualify, depth + 1), literal_tree(el.value, qualify, depth + 1)])
        return {"dict": pairs}
    if isinstance(node, cst.Call):
        callee = dotted(node.func)
        tree: dict = {"call": qualify(callee) if callee else _source(node.func), "args": [], "kw": {}}
        if callee is None and isinstance(node.func, cst.Attribute):
            # ``sa.Column("x").desc()``, ``User.email.desc()`` after a call: keep the receiver
            tree["call"] = node.func.attr.value
            tree["on"] = literal_tree(node.func.value, qualify, depth + 1)
        for arg in node.args[:_LITERAL_ITEMS]:
            value = literal_tree(arg.value, qualify, depth + 1)
            if arg.keyword is not None:
                tree["kw"][arg.keyword.value] = value
            elif not arg.star:
                tree["args"].append(value)
        return tree
    if isinstance(node, cst.Comparison):
        return {"cmp": [literal_tree(node.left, qualify, depth + 1),
                        [[_COMPARISONS.get(type(target.operator), "?"), literal_tree(target.comparator, qualify, depth + 1)]
                         for target in node.comparisons]]}
    if isinstance(node, cst.BooleanOperation):
        return {"bool": "and" if isinstance(node.operator, cst.And) else "or",
                "args": [literal_tree(node.left, qualify, depth + 1), literal_tree(node.right, qualify, depth + 1)]}
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.BitAnd, cst.BitOr)):
        return {"bool": "and" if isinstance(node.operator, cst.BitAnd) else "or",
                "args": [literal_tree(node.left, qualify, depth + 1), literal_tree(node.right, qualify, depth + 1)]}
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Not, cst.BitInvert)):
        return {"not": literal_tree(node.expression, qualify, depth + 1)}
    name = dotted(node)
    if name is not None:
        return {"name": qualify(name)}
    return {"expr": _source(node)}


_COMPARISONS = {cst.Equal: "==", cst.NotEqual: "!=", cst.LessThan: "<", cst.LessThanEqual: "<=",
                cst.GreaterThan: ">", cst.GreaterThanEqual: ">=", cst.In: "in", cst.NotIn: "not in",
                cst.Is: "is", cst.IsNot: "is not"}


def _source(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node).strip()[:300]
