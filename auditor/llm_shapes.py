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

import ast
import re
from dataclasses import dataclass, field
from typing import Callable, Optional

from auditor.ast_nodes import call_arguments, callee_text, dotted, is_text, source, string_value

# Words (lower case) of a file that builds prompts or calls an LLM SDK; substring tests on the lowered
# bytes are ~10x faster than one case-insensitive regex alternation.
_PROMPT_HINTS = (b"prompt", b"system", b"instruction", b"openai", b"anthropic", b"langchain", b"litellm", b"ollama",
                 b"genai", b"mistral", b"cohere", b"bedrock", b"cache_control")
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

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_FOR = (ast.For, ast.AsyncFor)
_WITH = (ast.With, ast.AsyncWith)
_TRY_STAR = getattr(ast, "TryStar", ())
_PROMPT_STATEMENTS = (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Return, ast.Expr)
_EXITS = (ast.Return, ast.Break)
_FAILURE_EXITS = (ast.Raise, ast.Break, ast.Return)
_NOT_INSIDE = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_BOM = b"\xef\xbb\xbf"


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


def collect_shapes(tree: ast.Module, code: bytes, line_of: Callable) -> tuple:
    """``(retry loops, prompt prefixes)`` of a module (``line_of(node)`` gives a node's first line).

    ``code`` is the UTF-8 text the tree was parsed from: excerpts are sliced from it by node positions."""
    lowered = code.lower()
    collector = _Collector(code, line_of, prompts=any(word in lowered for word in _PROMPT_HINTS))
    if b"try" in code or collector.prompts:
        collector.statements(tree.body, depth=0)
    return collector.retry_loops, collector.prompt_texts


class _Collector:
    def __init__(self, code: bytes, line_of: Callable, prompts: bool) -> None:
        self.code = code
        self.line_of = line_of
        self.prompts = prompts
        self.retry_loops: list = []
        self.prompt_texts: list = []
        self._lines: Optional[list] = None

    # ------------------------------------------------------------ statements
    def statements(self, body: list, depth: int) -> None:
        """Walk statements; ``depth`` counts enclosing functions (prompts are only kept inside one)."""
        for statement in body:
            self.statement(statement, depth)

    def statement(self, node: ast.stmt, depth: int) -> None:
        if isinstance(node, _FUNCTIONS):
            self.statements(node.body, depth + 1)
            return
        if isinstance(node, ast.ClassDef):
            self.statements(node.body, depth)
            return
        if isinstance(node, _PROMPT_STATEMENTS):
            if self.prompts and depth > 0:
                self.prompt_statement(node)
            return
        if isinstance(node, _LOOPS):
            self.retry_loop(node)
        if self.prompts and depth > 0:
            for expression in _header_expressions(node):
                self.expressions(expression, sink="")
        for block in _child_blocks(node):
            self.statements(block, depth)

    # ------------------------------------------------------------ retry loops
    def retry_loop(self, node) -> None:
        tries = [s for s in _loop_statements(node.body) if isinstance(s, ast.Try)]
        for attempt in tries:
            if not _leaves_on_success(attempt):
                continue
            swallowing = [h for h in attempt.handlers if not _reraises(h.body)]
            if not swallowing:
                continue
            caught: list = []
            for handler in swallowing:
                caught.extend(self.caught(handler))
            is_for = isinstance(node, _FOR)
            self.retry_loops.append(RetryLoop(
                line=self.line_of(node), kind="for" if is_for else "while", bounded=_bounded(node, attempt),
                sleeps=_sleeps(node.body), calls=sorted({self.line_of(call) for call in _calls_in(attempt.body)}),
                caught=caught, broad=any(name.rsplit(".", 1)[-1] in _BROAD for name in caught),
                iter_text=self.code_of(node.iter if is_for else node.test)[:80]))
            return

    def caught(self, handler: ast.ExceptHandler) -> list:
        if handler.type is None:
            return [""]
        if isinstance(handler.type, ast.Tuple):
            return [dotted(el) or self.code_of(el) for el in handler.type.elts]
        return [dotted(handler.type) or self.code_of(handler.type)]

    # ------------------------------------------------------------ prompts
    def prompt_statement(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Assign):
            self.expressions(node.value, sink=dotted(node.targets[0]) or "")
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self.expressions(node.value, sink=dotted(node.target) or "")
        elif isinstance(node, ast.AugAssign):
            self.expressions(node.value, sink=dotted(node.target) or "")
        elif isinstance(node, ast.Return):
            if node.value is not None:
                self.expressions(node.value, sink="return")
        else:
            self.expressions(node.value, sink="")

    def expressions(self, node: ast.expr, sink: str) -> None:
        """Look for prompt text in ``node`` and everything inside it."""
        stack = [(node, sink)]
        while stack:
            current, where = stack.pop()
            if isinstance(current, ast.Lambda):
                continue
            if _is_text(current):
                self.text(current, where)
                continue
            if isinstance(current, ast.List):
                self.cache_marker(current, where)
            if isinstance(current, ast.Call):
                name = callee_text(current.func).rsplit(".", 1)[-1]
                for keyword, _, value in call_arguments(current):
                    stack.append((value, f"{keyword}=" if keyword is not None else name))
                stack.append((current.func, ""))
                continue
            if isinstance(current, ast.Dict):
                for key, value in zip(current.keys, current.values):
                    if key is not None:
                        stack.append((value, (string_value(key) if is_text(key) else None) or where))
                continue
            if isinstance(current, (ast.Tuple, ast.List)) and _is_role_pair(current):
                stack.append((_unstarred(current.elts[1]), string_value(_unstarred(current.elts[0])) or where))
                continue
            for child in ast.iter_child_nodes(current):
                stack.append((child, where))

    def text(self, node: ast.expr, sink: str) -> None:
        parts = _parts(node)
        if parts is None:
            return
        first = next((i for i, part in enumerate(parts) if not isinstance(part, str)), None)
        if first is None or first == len(parts) - 1:
            return  # no value, or nothing after the first one
        self.prompt_texts.append(PromptPrefix(line=self.line_of(node), parts=[self.part(p) for p in parts],
                                              sink=sink, excerpt=self.code_of(node)[:160]))

    def cache_marker(self, node: ast.List, sink: str) -> None:
        """``[{"text": f"...{now}"}, {"text": POLICY, "cache_control": {...}}]``: the marked block's prefix
        changes per call, so the cache entry it writes is never read."""
        blocks = [el for el in map(_unstarred, node.elts) if isinstance(el, ast.Dict)]
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
                parts = [self.part(p) for p in _parts(value) or []]
            elif isinstance(value, (ast.Call, ast.Name, ast.Attribute)):
                parts = [self.part(value)]
            else:
                continue
            if any(part[0] != "text" for part in parts):
                self.prompt_texts.append(PromptPrefix(line=self.line_of(value), parts=parts, sink=sink,
                                                      kind="before-cache-marker", excerpt=self.code_of(value)[:160],
                                                      group=group))

    def part(self, part) -> list:
        """A text part as plain data: ["text", length] or ["name"/"expr", text, volatile]."""
        if isinstance(part, str):
            return ["text", len(part)]
        if isinstance(part, ast.FormattedValue):
            spec = part.format_spec
            spec_text = "".join(p.value for p in spec.values if isinstance(p, ast.Constant)) \
                if isinstance(spec, ast.JoinedStr) else ""
            volatile = _volatile(part.value)
            if volatile == "clock" and spec_text and "%" in spec_text and not _TIME_DIRECTIVES.search(spec_text):
                volatile = "day"  # ``{now:%Y-%m-%d}``: the same text all day
            part = part.value
        else:
            volatile = _volatile(part)
        name = dotted(part)
        return ["name", name, volatile] if name else ["expr", self.code_of(part)[:80], volatile]

    # ------------------------------------------------------------ source text
    def code_of(self, node: ast.AST) -> str:
        """The node's text as written in the file (whitespace collapsed); ``ast.unparse`` when the
        positions cannot be mapped onto the bytes (an encoding other than UTF-8)."""
        line, end_line = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
        if line is None or end_line is None:
            return " ".join(source(node).split())
        if self._lines is None:
            code = self.code[len(_BOM):] if self.code.startswith(_BOM) else self.code
            try:
                code.decode("utf-8")  # the positions are UTF-8 offsets: other encodings cannot be sliced
                self._lines = code.splitlines()
            except UnicodeDecodeError:
                self._lines = []
        lines = self._lines[line - 1:end_line]
        if len(lines) != end_line - line + 1:
            return " ".join(source(node).split())
        lines[-1] = lines[-1][:node.end_col_offset]
        lines[0] = lines[0][node.col_offset:]
        try:
            return " ".join(b"\n".join(lines).decode("utf-8").split())
        except UnicodeDecodeError:  # a position inside a character: the tree and the bytes disagree
            return " ".join(source(node).split())


# ------------------------------------------------------------------ helpers: statements
def _child_blocks(node: ast.stmt) -> list:
    """The statement lists of a compound statement (bodies, ``else``, handlers, ``finally``, cases)."""
    blocks = [getattr(node, name, None) for name in ("body", "orelse", "finalbody")]
    blocks = [block for block in blocks if block]
    if isinstance(node, (ast.Try, _TRY_STAR)):
        blocks.extend(handler.body for handler in node.handlers)
    elif isinstance(node, ast.Match):
        blocks.extend(case.body for case in node.cases)
    return blocks


def _header_expressions(node: ast.stmt) -> list:
    """Expressions in a compound statement's header (``for x in ...``, ``with ... as``, ``if ...``)."""
    if isinstance(node, _FOR):
        return [node.iter]
    if isinstance(node, (ast.If, ast.While)):
        return [node.test]
    if isinstance(node, _WITH):
        return [item.context_expr for item in node.items]
    return []


def _loop_statements(body: list) -> list:
    """Statements of a loop body, looking into if/with blocks but not into nested loops or functions."""
    found = []
    queue = list(body)
    index = 0
    while index < len(queue):
        statement = queue[index]
        index += 1
        found.append(statement)
        if isinstance(statement, (ast.If, *_WITH)):
            queue.extend(statement.body)
    return found


def _leaves_on_success(attempt: ast.Try) -> bool:
    """The ``try`` body (or its ``else``) returns or breaks: success ends the loop."""
    return any(isinstance(statement, _EXITS) for statement in _flat(attempt.body + attempt.orelse))


def _flat(block: list) -> list:
    """Statements of a block and of the if/with/try blocks in it (not of nested loops/functions)."""
    found = []
    stack = list(block)
    while stack:
        current = stack.pop()
        if isinstance(current, (ast.If, ast.Try, *_WITH)):
            stack.extend(current.body)
            stack.extend(getattr(current, "orelse", ()))
        else:
            found.append(current)
    return found


def _reraises(block: list) -> bool:
    """The handler's own statements (not a nested ``if``) end with ``raise``: it does not retry."""
    return any(isinstance(statement, _FAILURE_EXITS) for statement in block)


def _bounded(node, attempt: ast.Try) -> bool:
    """A ``for`` loop, a ``while`` with a real condition, or a ``while True`` with a conditional exit on
    failure (``if attempts > 3: raise``)."""
    if isinstance(node, _FOR):
        return not (isinstance(node.iter, ast.Call) and callee_text(node.iter.func) in {"itertools.count", "count"})
    test = node.test
    if not (isinstance(test, ast.Constant) and (test.value is True or (type(test.value) is int and test.value))):
        return True
    for handler in attempt.handlers:
        if any(_exits_on_condition(statement) for statement in handler.body):
            return True
    return any(_exits_on_condition(statement) for statement in _loop_statements(node.body))


def _exits_on_condition(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.If) and any(isinstance(s, _FAILURE_EXITS) for s in _flat(statement.body))


def _sleeps(body: list) -> bool:
    for call in _calls_in(body):
        name = callee_text(call.func).rsplit(".", 1)[-1].lower()
        if "sleep" in name or "backoff" in name or name in {"wait", "wait_for_retry", "delay"}:
            return True
    return False


def _calls_in(node) -> list:
    """Every call inside ``node`` (a node or a list of statements), not inside nested functions or lambdas."""
    found = []
    stack = list(node) if isinstance(node, list) else [node]
    while stack:
        current = stack.pop()
        if isinstance(current, _NOT_INSIDE):
            continue
        if isinstance(current, ast.Call):
            found.append(current)
        stack.extend(ast.iter_child_nodes(current))
    return found


# ------------------------------------------------------------------ helpers: text
def _is_text(node: ast.AST) -> bool:
    """An f-string, a ``+`` of strings, or ``"...".format(...)``: text with values in it."""
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _has_literal(node)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return is_text(node.func.value)
    return False


def _has_literal(node: ast.AST) -> bool:
    if is_text(node) or isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _has_literal(node.left) or _has_literal(node.right)
    return False


def _parts(node: ast.AST) -> Optional[list]:
    """The text as a list of literal strings and the expressions interpolated between them."""
    if is_text(node):
        return [string_value(node)]
    if isinstance(node, ast.JoinedStr):
        # literal text, and the FormattedValue: its format spec tells the granularity
        return [part.value if isinstance(part, ast.Constant) else part for part in node.values]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = _parts(node.left) if _is_text(node.left) or is_text(node.left) else [node.left]
        right = _parts(node.right) if _is_text(node.right) or is_text(node.right) else [node.right]
        return left + right if left is not None and right is not None else None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        template = string_value(node.func.value)
        if template is None:
            return None
        values = [value for _, _, value in call_arguments(node)]
        out: list = []
        position = 0
        for index, piece in enumerate(re.split(r"\{[^{}]*\}", template)):
            if index:
                out.append(values[position] if position < len(values) else ast.Name(id="_", ctx=ast.Load()))
                position += 1
            out.append(piece)
        return out
    return None


def _volatile(node: ast.AST) -> str:
    """What makes the value change between calls, when that can be seen: clock (finer than a day),
    day (a date: the same text all day), uuid, random, random id, request id."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        method = node.func.attr
        if method == "date":  # ``datetime.now().date()``
            return "day" if _volatile(node.func.value) in {"clock", "day"} else ""
        arguments = call_arguments(node) if method == "strftime" else []
        if arguments:
            inner = _volatile(node.func.value)
            first = arguments[0][2]
            pattern = string_value(first) if is_text(first) else None
            if inner in {"clock", "day"} and pattern is not None and not _TIME_DIRECTIVES.search(pattern):
                return "day"
            return inner or ("clock" if pattern is None or _TIME_DIRECTIVES.search(pattern) else "day")
        if method == "isoformat":
            return _volatile(node.func.value) or "clock"
    for call in _calls_in(node):
        name = callee_text(call.func).rsplit(".", 1)[-1]
        if name in _VOLATILE_CALLS:
            return _VOLATILE_CALLS[name]
    name = (dotted(node) or "").rsplit(".", 1)[-1]
    if name and _VOLATILE_NAMES.search(name):
        if _DAY_NAMES.search(name):
            return "day"
        return "clock" if re.search(r"now|time|ts$", name, re.IGNORECASE) else "request id"
    return ""


def _unstarred(node: ast.expr) -> ast.expr:
    return node.value if isinstance(node, ast.Starred) else node


def _is_role_pair(node) -> bool:
    """``("system", "...")`` in ``ChatPromptTemplate.from_messages([...])``."""
    if len(node.elts) != 2:
        return False
    role = _unstarred(node.elts[0])
    return is_text(role) and string_value(role) in {"system", "human", "user", "ai", "assistant"}


def _dict_get(node: ast.Dict, key: str) -> Optional[ast.expr]:
    for name, value in zip(node.keys, node.values):
        if name is not None and is_text(name) and string_value(name) == key:
            return value
    return None
