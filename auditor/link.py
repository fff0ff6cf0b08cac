"""Link module facts into a program: call classification, call graph, effect summaries.

Each call site is classified once against the catalog (a query, a write, a batch, a
connection being opened, a pool...) or linked to the repository functions it calls. Effect
summaries ("runs a query", "writes", "opens a connection") then flow backwards along the
call graph to a fixed point, each keeping the chain of call sites that explains it.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from typing import Optional

from auditor.catalog import Catalog
from auditor.facts import COMPACT, Call, Function, Loop
from auditor.io_calls import io_of
from auditor.llm.endpoints import llm_endpoint
from auditor.repo_index import RepoIndex, plain_name
from auditor.values import Resolver

_WRITE_SQL = re.compile(r"^\s*(?:/\*.*?\*/\s*|--[^\n]*\n\s*)*(insert|update|delete|merge|upsert|replace)\b",
                        re.IGNORECASE | re.DOTALL)
ROUTE_METHODS = {"route", "get", "post", "put", "patch", "delete", "api_route", "websocket", "head", "options"}
VIEW_DECORATORS = {"api_view", "require_http_methods", "require_GET", "require_POST", "require_safe",
                   "login_required", "permission_required", "csrf_exempt"}
VIEW_METHODS = {"get", "post", "put", "patch", "delete", "head", "list", "retrieve", "create", "update",
                "partial_update", "destroy", "get_queryset", "get_object", "get_context_data",
                "dispatch", "form_valid", "perform_create", "perform_update"}
VIEW_BASE_SUFFIXES = ("View", "ViewSet", "APIView", "Resource", "Handler")
CACHE_DECORATORS = {"lru_cache", "cache", "cached_property", "cached", "memoize", "once"}


@dataclass(**COMPACT)
class Hop:
    """One call site of an evidence chain."""

    path: str
    line: int
    label: str

    def render(self) -> str:
        """``repo.py:40 fetch_deal()``"""
        return f"{self.path}:{self.line} {self.label}"


@dataclass(**COMPACT)
class CallInfo:
    """A classified call site."""

    function: str
    call: Call
    path: str
    effect: str = ""  # read | write | batch | connect | engine | pool | checkout | llm | llm-client | ""
    orm: bool = False
    local: bool = False  # an in-process database (SQLite): no network round trip
    targets: tuple = ()  # repository functions it calls
    detail: str = ""
    synthetic: bool = False  # a QuerySet evaluated by iteration, not a call
    io: str = ""  # the I/O it does (auditor.io_calls): db, http, redis, cache, llm, sleep, process, wait
    io_async: bool = False  # through an asynchronous client: it returns an awaitable, never blocks


@dataclass(**COMPACT)
class Summary:
    """Effects of a function, each with the chain that shows it."""

    chains: dict = field(default_factory=dict)  # effect -> list[Hop]
    terminal: dict = field(default_factory=dict)  # effect -> the CallInfo at the chain's end
    returns_connection: bool = False


class Program:
    """The linked repository."""

    def __init__(self, all_facts: list, catalog: Catalog) -> None:
        self.facts = [f for f in all_facts if not f.error]
        self.catalog = catalog
        self.index = RepoIndex.build(self.facts)
        self.resolver = Resolver(self.index, catalog)
        self.calls: dict = {}
        self.callers: dict = {}  # qualname -> set of caller qualnames
        self.cached = {q for q, f in self.index.functions.items() if is_cached_function(f)}
        self.summaries: dict = {}
        self.sql = None  # the SqlAnalysis, attached by the scan when SQL is analysed
        self._classify_all()
        self._summarise()
        self.handlers = self._find_handlers()
        admin = {q for q in self.handlers if self._is_admin_handler(q)}
        # Paths from public handlers; code that only admin pages reach is kept apart: it runs on
        # an operator's click, not on every visitor's request.
        self.handler_paths = self._reach_from(sorted(set(self.handlers) - admin))
        self.admin_paths = {q: p for q, p in self._reach_from(sorted(admin)).items()
                            if q not in self.handler_paths}

    # ------------------------------------------------------------ classification
    def _classify_all(self) -> None:
        for facts in self.facts:
            for func in facts.functions:
                infos = [self.classify(func, call, facts.path) for call in func.calls]
                for info in infos:
                    info.io, info.io_async = io_of(self.catalog, info.effect, info.detail)
                infos.extend(self._iterated_querysets(func, facts.path))
                self.calls[func.qualname] = infos
                for info in infos:
                    for target in info.targets:
                        self.callers.setdefault(target, set()).add(func.qualname)

    def classify(self, func: Function, call: Call, path: str) -> CallInfo:
        """Classify one call site."""
        info = CallInfo(function=func.qualname, call=call, path=path)
        callee = self.resolver.eval(call.func)
        if callee is None:
            return info
        tag = callee[0]
        if tag == "factory":
            name = callee[1]
            if name in self.catalog.custom_queries:
                info.effect, info.detail = "read", name
                if _WRITE_SQL.match(call.sql or ""):
                    info.effect = "write"
                return info
            entry = self.catalog.factory(name, call.args)
            info.effect = entry.get("effect", "")
            info.detail = name
            returns = entry.get("returns", "")
            if info.effect == "connect" and not self.catalog.flag(returns, "network", True):
                info.effect = "connect-local"
        elif tag == "method":
            self._classify_method(info, callee[1], callee[2], call)
        elif tag == "func":
            info.targets = (callee[1],)
        elif tag == "class":
            init = self.index.method_of(callee[1], "__init__")
            if init:
                info.targets = (init,)
        elif tag == "bound":
            self._classify_orm(info, callee[1], callee[2])
        elif tag == "cat" and (self.catalog.method(callee[1], "__call__") or {}).get("effect") == "llm":
            info.effect, info.detail = "llm", f"{callee[1]}.__call__"  # legacy ``llm("...")``
        elif tag == "name":
            short = callee[1].rsplit(".", 1)[-1]
            if short in (self.catalog.django.get("evaluating_builtins") or []) and call.args:
                argument = self.resolver.eval(call.args[0])
                if argument and argument[0] in {"djqs", "djrel"}:
                    info.effect, info.orm, info.detail = "read", True, f"{short}(QuerySet)"
        name = info.detail or (callee[1] if tag == "name" else "")
        if name in ((self.catalog.llm.get("http") or {}).get("functions") or {}) \
                and llm_endpoint(self.catalog, call) is not None:
            info.effect, info.detail = "llm", name  # raw HTTP to an LLM endpoint
        return info

    def _classify_method(self, info: CallInfo, type_name: str, method: str, call: Call) -> None:
        entry = self.catalog.method(type_name, method) or {}
        effect = entry.get("effect", "")
        info.detail = f"{type_name}.{method}"
        info.local = not self.catalog.flag(type_name, "network", True)
        if effect == "query":
            info.effect = "read"
            info.orm = bool(entry.get("orm"))
            if _WRITE_SQL.match(call.sql or "") or (call.args and _builds_core_write(call.args[0])):
                info.effect = "write"
            if type_name.startswith("sqlalchemy.") and call.args:
                statement = self.resolver.eval(call.args[0])
                if statement and statement[0] == "sastmt":
                    if statement[3] == "write":
                        info.effect = "write"
                    elif statement[3] == "read" and statement[1]:
                        info.orm = True
        elif effect in {"batch", "checkout", "close", "llm"}:
            info.effect = effect
        elif "by_arg" in entry and call.args and call.args[0][0].startswith("s:"):
            info.effect = (entry["by_arg"].get(call.args[0][0][2:]) or {}).get("effect", "")

    def _classify_orm(self, info: CallInfo, base: tuple, method: str) -> None:
        django = self.catalog.django
        sqlalchemy = self.catalog.sqlalchemy
        tag = base[0]
        info.detail = f"{tag}.{method}"
        info.orm = True
        if tag in {"djm", "djqs", "djrel"}:
            if method in (django.get("batch") or []):
                info.effect = "batch"
            elif method in (django.get("write") or []):
                info.effect = "write"
            elif method in (django.get("evaluate") or []):
                info.effect = "read"
        elif tag == "djobj":
            if method in (django.get("instance_write") or []):
                info.effect = "write"
            elif method in (django.get("instance_query") or []):
                info.effect = "read"
        elif tag == "saq":
            if method in (sqlalchemy.get("write") or []):
                info.effect = "write"
            elif method in (sqlalchemy.get("evaluate") or []):
                info.effect = "read"

    def _iterated_querysets(self, func: Function, path: str) -> list:
        """A ``for`` over a lazy QuerySet/Query runs it: a query at the loop's line."""
        found = []
        for loop in func.loops:
            if loop.iter_val is None:
                continue
            if _reads_loop_target(func, loop):
                continue  # ``for item in order.items.all()``: a relation of the outer row, DB102's case
            evaluated = self.resolver.eval(loop.iter_val)
            if evaluated and evaluated[0] in {"djqs", "saq", "djrel"}:
                parent = loop.parent
                call = Call(line=loop.line, col=0, end_line=loop.line, text=loop.iter_text,
                            func=loop.iter_val, args=(), loop=parent, role="iter", bound_to="",
                            names=sorted(_names_of_loop_iter(func, loop)), excerpt=loop.iter_text)
                found.append(CallInfo(function=func.qualname, call=call, path=path, effect="read",
                                      orm=True, detail="iterating a QuerySet", synthetic=True))
        return found

    # ------------------------------------------------------------ summaries
    def _summarise(self) -> None:
        for qualname, infos in self.calls.items():
            summary = Summary()
            function = self.index.functions[qualname]
            in_async = function.is_async
            for info in infos:
                effects = io_effects(info, in_async)
                for effect in effects if effects and not in_install_guard(function, info.call) else ():
                    if effect not in summary.chains:
                        summary.chains[effect] = [Hop(info.path, info.call.line, _label(info))]
                        summary.terminal[effect] = info
                effect = "connect" if info.effect in {"connect", "engine"} else info.effect
                if effect == "llm-client" and (not _builds_transient_client(info) or self.keeps_result(info)):
                    continue
                if effect == "connect" and self.keeps_result(info):
                    continue  # a lazy singleton: connects once, not per call
                if effect in {"read", "write", "connect", "llm", "llm-client"} and effect not in summary.chains:
                    summary.chains[effect] = [Hop(info.path, info.call.line, _label(info))]
                    summary.terminal[effect] = info
            self.summaries[qualname] = summary
        # Sweeps in a fixed order until nothing changes (the first chain found for an effect is
        # the one kept); only call sites with a repository target can add anything.
        edges = []
        for qualname, infos in self.calls.items():
            linked = [(info, target, self.summaries[target]) for info in infos for target in info.targets
                      if target != qualname and target in self.summaries]
            if linked:
                edges.append((qualname, self.summaries[qualname], linked))
        changed = True
        while changed:
            changed = False
            for qualname, summary, linked in edges:
                for info, target, callee in linked:
                    if callee.chains.keys() <= summary.chains.keys():
                        continue  # nothing new to learn from this callee
                    for effect, chain in callee.chains.items():
                        if effect in summary.chains:
                            continue
                        if target in self.cached and effect != "blocks":
                            continue  # a cached function runs its queries once per key, not per call
                        if effect in {"connect", "llm-client"} and self.keeps_result(info):
                            continue  # the connection or client it returns is kept and reused
                        if effect == "blocks" and not blocks_caller(info, self.index.functions[qualname]):
                            continue  # (but each miss still blocks its caller)
                        summary.chains[effect] = [Hop(info.path, info.call.line, _label(info))] + chain
                        summary.terminal[effect] = callee.terminal[effect]
                        changed = True
        for qualname, summary in self.summaries.items():
            if "connect" in summary.chains:
                returned = self.resolver.returns(qualname)
                if returned and returned[0] == "cat" and self.catalog.is_connection(returned[1]):
                    summary.returns_connection = not self.catalog.flag(returned[1], "pooled")

    def keeps_result(self, info: CallInfo) -> bool:
        """Is the result of the call kept for later calls (a lazy singleton) rather than made per
        call: stored in a declared global (``global _conn; _conn = connect()``) or memoised per key
        in a module-level or instance dict (``c = _clients.get(k); if not c: c = make(k);
        _clients[k] = c``)?"""
        function = self.index.functions.get(info.function)
        if function is None:
            return False
        facts = self.index.function_module.get(info.function)
        return stored_in_global(function, info.call) or (
            facts is not None and memoised_per_key(function, info.call, set(facts.globals)))

    def _callee_summary(self, info: CallInfo, effect: str) -> Optional[Summary]:
        """The summary of the first repository function ``info`` calls that has ``effect``.

        A cached function is skipped: it runs its queries once per key, not once per call.
        """
        for target in info.targets:
            summary = self.summaries.get(target)
            if summary and effect in summary.chains and target not in self.cached:
                return summary
        return None

    def effect_chain(self, info: CallInfo, effect: str) -> Optional[list]:
        """The chain showing ``info`` has ``effect`` (directly or through its targets)."""
        direct = "connect" if info.effect in {"connect", "engine"} else info.effect
        if direct == effect:
            return [Hop(info.path, info.call.line, _label(info))]
        if not info.targets:
            return None
        summary = self._callee_summary(info, effect)
        return [Hop(info.path, info.call.line, _label(info))] + summary.chains[effect] if summary else None

    def terminal(self, info: CallInfo, effect: str) -> CallInfo:
        """The call at the end of the chain that gives ``info`` its ``effect``."""
        if info.effect == effect:
            return info
        summary = self._callee_summary(info, effect)
        return summary.terminal[effect] if summary else info

    # ------------------------------------------------------------ request handlers
    def _find_handlers(self) -> dict:
        """Request handlers: qualname -> why we think so."""
        handlers: dict = {}
        for facts in self.facts:
            is_views_module = facts.path.endswith("views.py") or "/views/" in facts.path
            for func in facts.functions:
                for text, decorator in func.decorators:
                    steps = decorator[1]
                    name = text.split("(")[0].split(".")[-1]
                    if len(steps) >= 2 and steps[-1][0] == "call" and steps[-2][0] == "attr" \
                            and steps[-2][1] in ROUTE_METHODS:
                        handlers[func.qualname] = f"@{text.split('(')[0]}"
                    elif name in VIEW_DECORATORS:
                        handlers[func.qualname] = f"@{name}"
                if func.qualname in handlers:
                    continue
                if is_views_module and func.params and func.params[0][0] == "request" and not func.cls:
                    handlers[func.qualname] = "Django view"
            for value in facts.routes:
                target = self.resolver.eval(value)
                if target and target[0] == "func":
                    handlers.setdefault(target[1], "URL conf")
                elif target and target[0] == "class":
                    for method in VIEW_METHODS:
                        found = self.index.method_of(target[1], method)
                        if found:
                            handlers.setdefault(found, "URL conf")
            for klass in facts.classes:
                base_names = [plain_name(b) for b in klass.bases]
                if any(b.endswith(VIEW_BASE_SUFFIXES) for b in base_names):
                    for method in VIEW_METHODS:
                        qualname = f"{klass.qualname}.{method}"
                        if qualname in self.index.functions:
                            handlers.setdefault(qualname, "class-based view")
        return handlers

    def _is_admin_handler(self, qualname: str) -> bool:
        """A handler behind an admin decorator or route (``@admins_only``, ``"/admin/..."``)."""
        func = self.index.functions[qualname]
        if any("admin" in text.lower() for text, _ in func.decorators):
            return True
        facts = self.index.function_module[qualname]
        return "/admin/" in f"/{facts.path}" or "admin" in func.name.lower()

    def _reach_from(self, handlers: list) -> dict:
        """Every function reachable from ``handlers`` -> the path of call sites from one."""
        paths: dict = {}
        queue: deque = deque()
        for handler in handlers:
            facts = self.index.function_module.get(handler)
            func = self.index.functions.get(handler)
            if facts is None or func is None:
                continue
            paths[handler] = [Hop(facts.path, func.line, f"{func.name}() [{self.handlers[handler]}]")]
            queue.append(handler)
        while queue:
            current = queue.popleft()
            for info in self.calls.get(current, []):
                for target in info.targets:
                    if target not in paths:
                        paths[target] = paths[current] + [Hop(info.path, info.call.line, _label(info))]
                        queue.append(target)
        return paths


def _builds_transient_client(info: CallInfo) -> bool:
    """An LLM client built for this call only: not kept in a global or on ``self`` outside
    ``__init__`` (a lazy singleton), where the object it belongs to is built per call."""
    return info.call.role != "store" or info.function.rsplit(".", 1)[-1] == "__init__"


def stored_in_global(function: Function, call: Call) -> bool:
    """``global _conn; _conn = connect(...)`` (or ``_conns[k] = ...`` under a ``global``)."""
    return call.role == "store" and bool(function.globals_declared) and (
        call.bound_to in function.globals_declared or not call.bound_to)


def memoised_per_key(function: Function, call: Call, module_names: set) -> bool:
    """A get-or-create into a long-lived dict: ``client = _clients.get(key)``, then, when missing,
    ``client = make(key)`` (this call) and ``_clients[key] = client``. The dict is a module-level
    name or an attribute of ``self``/``cls``; a dict local to the function memoises nothing."""
    name = call.bound_to
    if call.role != "assign" or not name:
        return False
    for container, line, _ in function.item_stores:
        root = container.split(".")[0]
        if line < call.line or not (root in module_names or (root in {"self", "cls"} and "." in container)):
            continue
        if any(other.text == f"{container}.get" and other.bound_to == name and other.line < call.line
               for other in function.calls):
            return True
    return False


# ``if not importlib.util.find_spec(pkg)``, ``if find_spec(pkg) is None``, ``except ImportError``
_INSTALL_GUARD = re.compile(r"^(?:if\s+not\b.*\bfind_(?:spec|loader)\(|if\b.*\bfind_(?:spec|loader)\(.*\)\s+is\s+None"
                            r"|except\b.*\b(?:ImportError|ModuleNotFoundError)\b)")


def in_install_guard(function: Function, call: Call) -> bool:
    """Under ``if not importlib.util.find_spec(pkg):`` or in an ``except ImportError:`` handler:
    a one-off installation or fallback (``pip install`` in a child process), not per-call work."""
    block = call.stmt[0] if call.stmt else -1
    while 0 <= block < len(function.blocks):
        parent, _, header = function.blocks[block]
        if header and _INSTALL_GUARD.match(header):
            return True
        block = parent
    return False


def io_effects(info: CallInfo, in_async: bool) -> tuple:
    """Summary effects of one call site: ``blocks`` for a synchronous I/O call made by a sync
    function (an ``async def`` reports its own), ``io`` for network I/O other than a database's."""
    effects = []
    if info.io and not info.io_async and not in_async and not info.call.deferred:
        effects.append("blocks")
    if info.io in {"http", "redis", "cache"}:
        effects.append("io")
    return tuple(effects)


def blocks_caller(info: CallInfo, caller: Function) -> bool:
    """Does a callee that blocks block ``caller`` too? Not an ``async def`` (it reports its own
    blocking calls), nor a call inside a lambda (run later, often in a thread)."""
    return not caller.is_async and not info.call.deferred


def _builds_core_write(value: tuple) -> bool:
    """``table.update().where(...)`` / ``table.insert().values(...)``: a SQLAlchemy Core write."""
    steps = value[1]
    for index, step in enumerate(steps[:-1]):
        if step[0] == "attr" and step[1] in {"insert", "update", "delete"} and steps[index + 1][0] == "call":
            return True
    return False


def _label(info: CallInfo) -> str:
    text = info.call.text
    if info.synthetic:
        return f"for ... in {text}"
    return f"{text}()"


def _reads_loop_target(func: Function, loop: Loop) -> bool:
    """Does the loop iterate something reached from an enclosing loop's variable?"""
    head = re.match(r"[A-Za-z_][A-Za-z0-9_]*", loop.iter_text)
    current = loop.parent
    while head and current is not None:
        if head.group(0) in func.loops[current].targets:
            return True
        current = func.loops[current].parent
    return False


def _names_of_loop_iter(func: Function, loop: Loop) -> set:
    """Names the iterable of ``loop`` reads: approximated by the loop's own iterable text."""
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", loop.iter_text))


def is_cached_function(func: Function) -> bool:
    """True when a caching decorator wraps the function."""
    for text, _ in func.decorators:
        name = text.split("(")[0].split(".")[-1]
        if name in CACHE_DECORATORS:
            return True
    return False
