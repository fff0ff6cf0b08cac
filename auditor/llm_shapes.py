"""Code shapes the LLM retry and prompt-cache rules read, collected from the parsed module.

Two kinds of plain data, located by line (the checks find the enclosing function themselves):

- :class:`RetryLoop`: a loop that runs calls in a ``try`` and leaves the loop when they succeed,
  swallowing (some) failures to go round again: a hand-rolled retry;
- :class:`PromptPrefix`: text built inside a function whose leading part changes from call to
  call (an interpolated value) while static text follows it, and Anthropic content blocks where
  such text comes before the block marked with ``cache_control``.

Both are collected only where they can matter: retry loops in any file with ``try`` inside a
loop, prompt shapes in files that mention prompts or an LLM SDK.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Optional

import libcst as cst

from auditor.cst_nodes import callee_text, dotted, string_value

_PROMPT_HINT = re.compile(rb"prompt|system|instruction|openai|anthropic|langchain|litellm|ollama|genai|"
                          rb"mistral|cohere|bedrock|cache_control", re.IGNORECASE)
_BROAD = {"Exception", "BaseException", ""}
# Callees whose result changes on every call: the clock, random ids.
_VOLATILE_CALLS = {
    "now": "clock", "utcnow": "clock", "today": "day", "time": "clock", "time_ns": "clock",
    "monotonic": "clock", "ctime": "clock", "asctime": "clock",
    "uuid1": "uuid", "uuid4": "uuid", "token_hex": "random id", "token_urlsafe": "random id",
    "random": "random", "randint": "random", "choice": "random", "getrandbits": "random",
}
_VOLATILE_NAMES = re.compile(r"(^|_)(now|timestamp|ts|time|today|date|datetime|request_id|req_id|trace_id|"
                             r"span_id|correlation_id|uuid|nonce)$", re.IGNORECASE)
_DAY_NAMES = re.compile(r"(^|_)(today|date)$", re.IGNORECASE)
# strftime directives finer than a day: a text formatted with one of these changes within the day.
_TIME_DIRECTIVES = re.compile(r"%[-#]?[HIMSfpXcTrRsLlkz]")


@dataclass
class RetryLoop:
    """A loop that retries the calls of its ``try`` block until they succeed."""

    line: int
    kind: str  # for | while
    bounded: bool  # a ``for`` loop, a ``while`` with a condition, or a ``while True`` with an exit on failure
    sleeps: bool  # something in the loop waits between attempts (``sleep``, ``backoff``, ``wait``)
    calls: list = field(default_factory=list)  # the line of each call in the ``try`` body
    caught: list = field(default_factory=list)  # exceptions caught by handlers that go round again
    broad: bool = False  # one of those handlers catches everything (bare, Exception, BaseException)
    iter_text: str = ""


@dataclass
class PromptPrefix:
    """Prompt text built from literal text and interpolated values, in order."""

    line: int
    parts: list  # ["text", characters] | ["name", dotted name, volatile] | ["expr", code, volatile]; volatile: clock
    # | day | uuid | random | random id | request id | "" (nothing seen); names may be constants (the check resolves them)
    sink: str = ""  # where the text goes: a keyword (``system=``), dict key, callee, or assigned name
    kind: str = "prefix"  # prefix | before-cache-marker
    excerpt: str = ""  # the text expression as written (shortened)
    group: int = 0  # before-cache-marker: the line of the list of blocks it belongs to


def collect_shapes(tree: cst.Module, code: bytes, line_of: Callable) -> tuple:
    """``(retry loops, prompt prefixes)`` of a module (``line_of(node)`` gives a node's first line)."""
    collector = _Collector(line_of, prompts=bool(_PROMPT_HINT.search(code)))
    if b"try" in code or collector.prompts:
        collector.statements(tree.body, depth=0)
    return collector.retry_loops, collector.prompt_texts


class _Collector:
    def __init__(self, line_of: Callable, prompts: bool) -> None:
        self.line_of = line_of
        self.prompts = prompts
        self.retry_loops: list = []
        self.prompt_texts: list = []

    # ------------------------------------------------------------ statements
    def statements(self, body, depth: int) -> None:
        """Walk statements; ``depth`` counts enclosing functions (prompts are only kept inside one)."""
        for statement in body:
            self.statement(statement, depth)

    def statement(self, node: cst.CSTNode, depth: int) -> None:
        if isinstance(node, cst.FunctionDef):
            self.block(node.body, depth + 1)
            return
        if isinstance(node, cst.ClassDef):
            self.block(node.body, depth)
            return
        if isinstance(node, (cst.For, cst.While)):
            self.retry_loop(node)
        if isinstance(node, cst.SimpleStatementLine):
            if self.prompts and depth > 0:
                for small in node.body:
                    self.prompt_statement(small)
            return
        if self.prompts and depth > 0:
            for expression in _header_expressions(node):
                self.expressions(expression, sink="")
        for child in _child_blocks(node):
            self.block(child, depth)

    def block(self, node, depth: int) -> None:
        if isinstance(node, cst.IndentedBlock):
            self.statements(node.body, depth)
        elif isinstance(node, cst.SimpleStatementSuite):
            for small in node.body:
                if self.prompts and depth > 0:
                    self.prompt_statement(small)
        elif isinstance(node, (list, tuple)):
            self.statements(node, depth)
        elif isinstance(node, cst.CSTNode):
            self.statement(node, depth)

    # ------------------------------------------------------------ retry loops
    def retry_loop(self, node) -> None:
        tries = [s for s in _loop_statements(node.body) if isinstance(s, cst.Try)]
        for attempt in tries:
            if not _leaves_on_success(attempt):
                continue
            swallowing = [h for h in attempt.handlers if not _reraises(h.body)]
            if not swallowing:
                continue
            caught: list = []
            for handler in swallowing:
                caught.extend(_caught(handler))
            kind = "for" if isinstance(node, cst.For) else "while"
            self.retry_loops.append(RetryLoop(
                line=self.line_of(node), kind=kind, bounded=_bounded(node, attempt), sleeps=_sleeps(node.body),
                calls=sorted({self.line_of(call) for call in _calls_in(attempt.body)}),
                caught=caught, broad=any(name.rsplit(".", 1)[-1] in _BROAD for name in caught),
                iter_text=_code(node.iter)[:80] if isinstance(node, cst.For) else _code(node.test)[:80]))
            return

    # ------------------------------------------------------------ prompts
    def prompt_statement(self, node: cst.CSTNode) -> None:
        if isinstance(node, (cst.Assign, cst.AnnAssign)):
            targets = node.targets if isinstance(node, cst.Assign) else [node]
            names = [dotted(t.target) or "" for t in targets]
            if node.value is not None:
                self.expressions(node.value, sink=names[0] if names else "")
        elif isinstance(node, cst.AugAssign):
            self.expressions(node.value, sink=dotted(node.target) or "")
        elif isinstance(node, cst.Return) and node.value is not None:
            self.expressions(node.value, sink="return")
        elif isinstance(node, cst.Expr):
            self.expressions(node.value, sink="")

    def expressions(self, node: cst.CSTNode, sink: str) -> None:
        """Look for prompt text in ``node`` and everything inside it."""
        stack = [(node, sink)]
        while stack:
            current, where = stack.pop()
            if isinstance(current, (cst.Lambda, cst.FunctionDef)):
                continue
            if _is_text(current):
                self.text(current, where)
                continue
            if isinstance(current, cst.List):
                self.cache_marker(current, where)
            if isinstance(current, cst.Call):
                name = callee_text(current.func).rsplit(".", 1)[-1]
                for arg in current.args:
                    label = f"{arg.keyword.value}=" if arg.keyword is not None else name
                    stack.append((arg.value, label))
                stack.append((current.func, ""))
                continue
            if isinstance(current, cst.Dict):
                for element in current.elements:
                    if isinstance(element, cst.DictElement):
                        key = string_value(element.key) if isinstance(element.key, cst.SimpleString) else None
                        stack.append((element.value, key or where))
                continue
            if isinstance(current, (cst.Tuple, cst.List)) and _is_role_pair(current):
                stack.append((current.elements[1].value, string_value(current.elements[0].value) or where))
                continue
            for child in current.children:
                stack.append((child, where))

    def text(self, node: cst.BaseExpression, sink: str) -> None:
        parts = _parts(node)
        if parts is None:
            return
        first = next((i for i, part in enumerate(parts) if not isinstance(part, str)), None)
        if first is None or first == len(parts) - 1:
            return  # no value, or nothing after the first one
        self.prompt_texts.append(PromptPrefix(line=self.line_of(node), parts=[_part(p) for p in parts], sink=sink,
                                              excerpt=_code(node)[:160]))

    def cache_marker(self, node: cst.List, sink: str) -> None:
        """``[{"text": f"...{now}"}, {"text": POLICY, "cache_control": {...}}]``: the marked block's prefix
        changes per call, so the cache entry it writes is never read."""
        blocks = [el.value for el in node.elements if isinstance(el.value, cst.Dict)]
        marked = next((i for i, block in enumerate(blocks) if _dict_get(block, "cache_control") is not None), None)
        if not marked:
            return
        group = self.line_of(node)
        for block in blocks[:marked]:
            value = _dict_get(block, "text")
            if value is None:
                value = _dict_get(block, "content")
            if value is None:
                continue
            if _is_text(value):
                parts = [_part(p) for p in _parts(value) or []]
            elif isinstance(value, (cst.Call, cst.Name, cst.Attribute)):
                parts = [_part(value)]
            else:
                continue
            if any(part[0] != "text" for part in parts):
                self.prompt_texts.append(PromptPrefix(line=self.line_of(value), parts=parts, sink=sink,
                                                      kind="before-cache-marker", excerpt=_code(value)[:160],
                                                      group=group))


# ------------------------------------------------------------------ helpers: statements
def _child_blocks(node: cst.CSTNode) -> list:
    blocks = []
    for name in ("body", "orelse", "finalbody"):
        value = getattr(node, name, None)
        if isinstance(value, (cst.IndentedBlock, cst.SimpleStatementSuite)):
            blocks.append(value)
        elif isinstance(value, (cst.Else, cst.Finally, cst.If)):
            blocks.append(value.body if not isinstance(value, cst.If) else value)
    if isinstance(node, (cst.Try, cst.TryStar)):
        blocks.extend(handler.body for handler in node.handlers)
    if isinstance(node, cst.Match):
        blocks.extend(case.body for case in node.cases)
    return blocks


def _header_expressions(node: cst.CSTNode) -> list:
    """Expressions in a compound statement's header (``for x in ...``, ``with ... as``, ``if ...``)."""
    if isinstance(node, cst.For):
        return [node.iter]
    if isinstance(node, (cst.If, cst.While)):
        return [node.test]
    if isinstance(node, cst.With):
        return [item.item for item in node.items]
    return []


def _loop_statements(body) -> list:
    """Statements of a loop body, looking into if/with blocks but not into nested loops or functions."""
    found = []
    stack = list(body.body) if isinstance(body, cst.IndentedBlock) else []
    while stack:
        statement = stack.pop(0)
        found.append(statement)
        if isinstance(statement, (cst.If, cst.With)):
            inner = statement.body
            stack.extend(inner.body if isinstance(inner, cst.IndentedBlock) else [])
    return found


def _leaves_on_success(attempt: cst.Try) -> bool:
    """The ``try`` body (or its ``else``) returns or breaks: success ends the loop."""
    blocks = [attempt.body] + ([attempt.orelse.body] if attempt.orelse is not None else [])
    for block in blocks:
        for statement in _flat(block):
            if isinstance(statement, (cst.Return, cst.Break)):
                return True
    return False


def _flat(block) -> list:
    """Small statements of a block and of the if/with blocks in it (not of nested loops/functions)."""
    found = []
    stack = [block]
    while stack:
        current = stack.pop()
        if isinstance(current, (cst.IndentedBlock, cst.SimpleStatementSuite)):
            stack.extend(current.body)
        elif isinstance(current, cst.SimpleStatementLine):
            found.extend(current.body)
        elif isinstance(current, (cst.If, cst.With, cst.Try)):
            stack.append(current.body)
            orelse = getattr(current, "orelse", None)
            if orelse is not None:
                stack.append(orelse if isinstance(orelse, cst.If) else orelse.body)
    return found


def _reraises(block) -> bool:
    """The handler's own statements (not a nested ``if``) end with ``raise``: it does not retry."""
    statements = block.body if isinstance(block, (cst.IndentedBlock, cst.SimpleStatementSuite)) else []
    for statement in statements:
        smalls = statement.body if isinstance(statement, cst.SimpleStatementLine) else \
            ([statement] if isinstance(statement, cst.BaseSmallStatement) else [])
        if any(isinstance(small, (cst.Raise, cst.Return, cst.Break)) for small in smalls):
            return True
    return False


def _caught(handler: cst.ExceptHandler) -> list:
    if handler.type is None:
        return [""]
    if isinstance(handler.type, cst.Tuple):
        return [dotted(el.value) or _code(el.value) for el in handler.type.elements]
    return [dotted(handler.type) or _code(handler.type)]


def _bounded(node, attempt: cst.Try) -> bool:
    """A ``for`` loop, a ``while`` with a real condition, or a ``while True`` with a conditional exit on
    failure (``if attempts > 3: raise``)."""
    if isinstance(node, cst.For):
        return not (isinstance(node.iter, cst.Call) and callee_text(node.iter.func) in {"itertools.count", "count"})
    test = node.test
    if not (isinstance(test, cst.Name) and test.value == "True") and not (
            isinstance(test, cst.Integer) and test.value != "0"):
        return True
    for handler in attempt.handlers:
        for statement in handler.body.body if isinstance(handler.body, cst.IndentedBlock) else []:
            if isinstance(statement, cst.If) and any(isinstance(s, (cst.Raise, cst.Break, cst.Return))
                                                     for s in _flat(statement.body)):
                return True
    for statement in _loop_statements(node.body):
        if isinstance(statement, cst.If) and any(isinstance(s, (cst.Raise, cst.Break, cst.Return))
                                                 for s in _flat(statement.body)):
            return True
    return False


def _sleeps(body) -> bool:
    for call in _calls_in(body):
        name = callee_text(call.func).rsplit(".", 1)[-1].lower()
        if "sleep" in name or "backoff" in name or name in {"wait", "wait_for_retry", "delay"}:
            return True
    return False


def _calls_in(node: cst.CSTNode) -> list:
    """Every call inside ``node``, not inside nested functions or lambdas."""
    found = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            continue
        if isinstance(current, cst.Call):
            found.append(current)
        stack.extend(current.children)
    return found


# ------------------------------------------------------------------ helpers: text
def _is_text(node: cst.CSTNode) -> bool:
    if isinstance(node, (cst.FormattedString, cst.ConcatenatedString)):
        return True
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        return _has_literal(node)
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "format":
        return isinstance(node.func.value, (cst.SimpleString, cst.ConcatenatedString))
    return False


def _has_literal(node: cst.BaseExpression) -> bool:
    if isinstance(node, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString)):
        return True
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        return _has_literal(node.left) or _has_literal(node.right)
    return False


def _parts(node: cst.BaseExpression) -> Optional[list]:
    """The text as a list of literal strings and the expressions interpolated between them."""
    if isinstance(node, cst.SimpleString):
        value = string_value(node)
        return [value] if value is not None else None
    if isinstance(node, cst.ConcatenatedString):
        left, right = _parts(node.left), _parts(node.right)
        return left + right if left is not None and right is not None else None
    if isinstance(node, cst.FormattedString):
        out: list = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                out.append(part.value)
            else:
                out.append(part)  # the FormattedStringExpression: its format spec tells the granularity
        return out
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        left = _parts(node.left) if _is_text(node.left) or isinstance(node.left, cst.SimpleString) else [node.left]
        right = _parts(node.right) if _is_text(node.right) or isinstance(node.right, cst.SimpleString) else [node.right]
        return left + right if left is not None and right is not None else None
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "format":
        template = string_value(node.func.value)
        if template is None:
            return None
        values = [arg.value for arg in node.args]
        out = []
        position = 0
        for index, piece in enumerate(re.split(r"\{[^{}]*\}", template)):
            if index:
                out.append(values[position] if position < len(values) else cst.Name("_"))
                position += 1
            out.append(piece)
        return out
    return None


def _part(part) -> list:
    """A text part as plain data: ["text", length] or ["name"/"expr", text, volatile]."""
    if isinstance(part, str):
        return ["text", len(part)]
    if isinstance(part, cst.FormattedStringExpression):
        spec = "".join(p.value for p in part.format_spec or () if isinstance(p, cst.FormattedStringText))
        volatile = _volatile(part.expression)
        if volatile == "clock" and spec and "%" in spec and not _TIME_DIRECTIVES.search(spec):
            volatile = "day"  # ``{now:%Y-%m-%d}``: the same text all day
        name = dotted(part.expression)
        return ["name", name, volatile] if name else ["expr", _code(part.expression)[:80], volatile]
    name = dotted(part)
    if name:
        return ["name", name, _volatile(part)]
    return ["expr", _code(part)[:80], _volatile(part)]


def _volatile(node: cst.CSTNode) -> str:
    """What makes the value change between calls, when that can be seen: clock (finer than a day),
    day (a date: the same text all day), uuid, random, random id, request id."""
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        method = node.func.attr.value
        if method == "date":  # ``datetime.now().date()``
            return "day" if _volatile(node.func.value) in {"clock", "day"} else ""
        if method == "strftime" and node.args:
            inner = _volatile(node.func.value)
            pattern = string_value(node.args[0].value) if isinstance(node.args[0].value, cst.SimpleString) else None
            if inner in {"clock", "day"} and pattern is not None and not _TIME_DIRECTIVES.search(pattern):
                return "day"
            return inner or ("clock" if pattern is None or _TIME_DIRECTIVES.search(pattern) else "day")
        if method == "isoformat":
            return _volatile(node.func.value) or "clock"
    calls = _calls_in(node) if not isinstance(node, cst.Call) else [node] + _calls_in(node)
    for call in calls:
        name = callee_text(call.func).rsplit(".", 1)[-1]
        if name in _VOLATILE_CALLS:
            return _VOLATILE_CALLS[name]
    name = (dotted(node) or "").rsplit(".", 1)[-1]
    if name and _VOLATILE_NAMES.search(name):
        if _DAY_NAMES.search(name):
            return "day"
        return "clock" if re.search(r"now|time|ts$", name, re.IGNORECASE) else "request id"
    return ""


def _is_role_pair(node) -> bool:
    """``("system", "...")`` in ``ChatPromptTemplate.from_messages([...])``."""
    elements = node.elements
    return len(elements) == 2 and string_value(elements[0].value) in {"system", "human", "user", "ai", "assistant"} \
        and isinstance(elements[0].value, cst.SimpleString)


def _dict_get(node: cst.Dict, key: str) -> Optional[cst.BaseExpression]:
    for element in node.elements:
        if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString) \
                and string_value(element.key) == key:
            return element.value
    return None


def _code(node: cst.CSTNode) -> str:
    return " ".join(cst.Module(body=[]).code_for_node(node).split())
