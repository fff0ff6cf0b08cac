"""CCH101 (unbounded in-process cache in a long-lived object), CCH102 (``hash(str)`` in a shared
cache key) and CCH103 (deleting keys whose ``ttl()`` is ``<= 0``, and Redis per-key loops)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Optional

import yaml

from auditor.checks.base import loop_subtree, make_finding
from auditor.extract import MODULE_SCOPE
from auditor.facts import Function, Val
from auditor.link import CallInfo, Hop, Program
from auditor.resources import rules_dir

_MAXSIZE_NONE = re.compile(r"maxsize\s*=\s*None|\(\s*None\s*[,)]")
_CACHE_WORDS = ("cache", "memo")
_DICT_CACHE = re.compile(r"(?:cache\s*=\s*|cached\(\s*)(?:\{\s*\}|dict\(\s*\))")


@lru_cache(maxsize=1)
def cache_catalog() -> dict:
    """``rules/catalog/caches.yaml``: memoizers, free-text parameters, Redis key commands."""
    with open(rules_dir() / "catalog" / "caches.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def decorator_name(program: Program, value: Val) -> str:
    """The qualified name of a decorator (``@lru_cache(maxsize=8)`` -> ``functools.lru_cache``), or ""."""
    origin, steps = value
    steps = tuple(steps)
    if steps and steps[-1][0] == "call":
        steps = steps[:-1]
    evaluated = program.resolver.eval((origin, steps))
    return evaluated[1] if evaluated and evaluated[0] in {"name", "factory"} else ""


def check_caches(program: Program) -> list:
    """Report unbounded caches, process-salted cache keys and TTL-based key wiping."""
    catalog = cache_catalog()
    findings = _unbounded_memoizers(program, catalog) + _unbounded_dicts(program)
    for qualname, infos in program.calls.items():
        function = program.index.functions[qualname]
        hashes = redis = False
        for info in infos:
            hashes = hashes or info.call.text == "hash"
            redis = redis or info.io == "redis"
        if hashes:
            findings.extend(_salted_keys(program, function, infos, catalog))
        if redis:
            findings.extend(_ttl_wipes(program, function, infos, catalog))
        if any(loop.iter_val is not None for loop in function.loops):
            findings.extend(_per_key_loops(program, function, infos, catalog))
    return findings


# ---------------------------------------------------------------- CCH101: memoizers
def _unbounded_memoizers(program: Program, catalog: dict) -> list:
    """``@functools.cache`` / ``@lru_cache(maxsize=None)`` / ``@cached({})`` on a method or on a
    function keyed by free text."""
    unbounded = set(catalog.get("unbounded_memoizers") or [])
    sized = set(catalog.get("sized_memoizers") or [])
    free_text = set(catalog.get("free_text_parameters") or [])
    findings = []
    for qualname, function in program.index.functions.items():
        if function.is_async:
            continue  # ASY104's case
        for text, value in function.decorators:
            name = decorator_name(program, value)
            if not (name in unbounded or name in sized and _MAXSIZE_NONE.search(text)
                    or name == "cachetools.cached" and _DICT_CACHE.search(text)):
                continue
            params = [p for p, _ in function.params]
            method = bool(function.cls) and bool(params) and params[0] == "self"
            open_keys = sorted(set(params) & free_text)
            if not method and not open_keys:
                continue
            path = program.index.function_module[qualname].path
            if method:
                why = (f"it is a method: every `self` it is called on becomes part of a key, so the cache keeps "
                       f"every instance of `{function.cls.rsplit('.', 1)[-1]}` alive, and it never evicts")
            else:
                why = (f"its key includes free text (`{'`, `'.join(open_keys)}`): every distinct value adds an entry "
                       f"that is never evicted")
            message = f"`@{text}` on `{function.name}()` has no size limit; {why}. Memory grows for the life of the process."
            findings.append(make_finding(
                "CCH101", program, function, path, function.line, 0, function.line, message,
                "Bound it: `@functools.lru_cache(maxsize=1024)`, or `cachetools.cached(cachetools.TTLCache("
                "maxsize=..., ttl=...))`; for methods, cache on a module-level function of the values that "
                "matter (not `self`) or use `cachetools.cachedmethod` with a per-instance bounded cache.",
                f"def {function.name}(...)", chain=[Hop(path, function.line, f"@{text} def {function.name}()")],
                context={"decorator": name},
                impact="Unbounded memory growth in a long-running process; eventually an OOM kill or swapping."))
    return findings


# ---------------------------------------------------------------- CCH101: dict caches
def _unbounded_dicts(program: Program) -> list:
    """A plain dict on a long-lived object (module global, class attribute, instance created at
    import) written with run-time keys after start-up and never evicted."""
    long_lived = _long_lived_classes(program)
    findings = []
    for facts in program.facts:
        functions = facts.functions
        for function in functions:
            for target, line, kind in function.containers:
                owner = _owner(program, facts, function, target)
                if owner is None or kind != "empty":
                    continue
                scope, klass, name = owner
                if scope == "instance" and klass not in long_lived:
                    continue
                texts = _container_texts(scope, klass, name)
                users = _methods_of(program, klass) if scope != "global" else \
                    [f for f in functions if f.name != MODULE_SCOPE]
                if scope == "class":
                    users = users + [f for f in functions if f.name != MODULE_SCOPE and f not in users]
                growth = _growth(program, users, texts, function)
                if growth is None or _evicts(program, users, texts, function, line):
                    continue
                grow_function, grow_line = growth
                where = {"global": "a module-level dict", "class": "a class attribute shared by every instance",
                         "instance": f"a dict on `{klass.rsplit('.', 1)[-1]}`, which is created once and lives "
                                     f"as long as the process"}[scope]
                label = name if scope == "global" else f"{'self' if scope == 'instance' else klass.rsplit('.', 1)[-1]}.{name}"
                message = (f"`{label}` is {where}; `{grow_function.name}()` adds entries to it with run-time keys "
                           f"(line {grow_line}) and nothing ever removes one: an unbounded cache that grows for the "
                           f"life of the process.")
                findings.append(make_finding(
                    "CCH101", program, function, facts.path, line, 0, line, message,
                    "Use a bounded cache: `cachetools.TTLCache(maxsize=10_000, ttl=300)` or `LRUCache(maxsize=...)` "
                    "(with a lock if threads share it), `functools.lru_cache(maxsize=...)` on the function that "
                    "computes the value, or a shared cache (Redis with a TTL) across workers. A TTL checked only "
                    "on read does not free keys that are never read again.",
                    f"{label} = {{}}",
                    chain=[Hop(facts.path, line, f"{label} = {{}}"), Hop(facts.path, grow_line, f"{label}[...] = ...")],
                    context={"container": label},
                    impact="Memory grows with every distinct key until the worker is restarted or OOM-killed."))
    return findings


def _owner(program: Program, facts, function: Function, target: str) -> Optional[tuple]:
    """(scope, class, attribute) of a container assignment, or None when it is not long-lived."""
    if function.name == MODULE_SCOPE:
        if "." not in target:
            return "global", "", target
        klass, _, name = target.rpartition(".")
        if klass in program.index.classes and "." not in name:
            return "class", klass, name
        return None
    if function.name == "__init__" and function.cls and target.startswith("self.") and target.count(".") == 1:
        return "instance", function.cls, target[5:]
    return None


def _container_texts(scope: str, klass: str, name: str) -> set:
    if scope == "global":
        return {name}
    short = klass.rsplit(".", 1)[-1]
    return {f"self.{name}", f"cls.{name}", f"{short}.{name}"}


def _methods_of(program: Program, klass: str) -> list:
    return list(program.index.methods.get(klass, ()))


def _growth(program: Program, users: list, texts: set, init: Function) -> Optional[tuple]:
    """(function, line) of a store with a run-time key outside start-up code, or None."""
    for function in users:
        if function is init or function.name == "__init__" or _startup_only(program, function):
            continue
        if _builds_clients(program, function):
            continue  # a registry of clients or connections, one per configuration
        for container, line, key_kind in function.item_stores:
            if container in texts and key_kind in {"name", "other"} and _memoizes(program, function, texts, container):
                return function, line
        for call in function.calls:
            receiver, _, method = call.text.rpartition(".")
            if receiver in texts and method == "setdefault" and _memoizes(program, function, texts, receiver):
                return function, call.line
    return None


def _memoizes(program: Program, function: Function, texts: set, container: str) -> bool:
    """Is the dict a cache: named like one (on a class named like one), looked up by the function
    that fills it (``if k in d`` / ``d.get(k)``), or filled with what a query or API call returned?"""
    owner = function.cls.rsplit(".", 1)[-1] if function.cls else ""
    if any(word in f"{container} {owner}".lower() for word in _CACHE_WORDS):
        return True
    if any(op == "in" and text in texts for op, text, _ in function.key_ops):
        return True
    if any(call.text.rpartition(".")[0] in texts and call.text.endswith(".get") for call in function.calls):
        return True
    summary = program.summaries.get(function.qualname)
    return summary is not None and any(effect in summary.chains for effect in ("read", "llm", "io"))


def _builds_clients(program: Program, function: Function) -> bool:
    """Does the function make an API client, connection or pool (directly or through a helper)?"""
    for info in program.calls.get(function.qualname, []):
        if info.effect in {"llm-client", "connect", "engine", "pool"}:
            return True
        if any(program.effect_chain(info, effect) for effect in ("llm-client", "connect")):
            return True
        returned = program.resolver.eval((info.call.func[0], tuple(info.call.func[1]) + (("call", "", ()),)))
        if returned and returned[0] == "cat":
            return True  # a catalog object: an HTTP, Redis or LLM client, a connection
    return False


def _startup_only(program: Program, function: Function) -> bool:
    """Code run at import: a registration decorator (``@register("x")``) and its inner function."""
    qualname = function.qualname.split(".<locals>.")[0]
    callers = program.callers.get(qualname, set())
    return bool(callers) and all(caller.endswith(MODULE_SCOPE) for caller in callers)


def _evicts(program: Program, users: list, texts: set, init: Function, init_line: int) -> bool:
    """A removal (pop, popitem, clear, del, a size check, a reset) anywhere the container is used."""
    evicting = set(cache_catalog().get("evicting_methods") or [])
    for function in users + [init]:
        if any(container in texts for container in function.item_deletes):
            return True
        for target, line, _ in function.containers:
            if target in texts and (function is not init or line != init_line):
                return True  # reset to a new dict after start-up: a periodic clear
        for call in function.calls:
            receiver, _, method = call.text.rpartition(".")
            if receiver in texts and method in evicting:
                return True
            if call.text == "len" and call.args and _val_text(call.args[0]) in texts:
                return True
    return False


def _val_text(value: Val) -> str:
    """``self._cache`` / ``_CACHE`` for a value made of a name and attribute steps."""
    origin, steps = value
    if origin.startswith("self:"):
        head = "self"
    elif origin.startswith("cls:"):
        head = "cls"
    elif origin.startswith("g:"):
        head = origin[2:].rsplit(".", 1)[-1]
    else:
        return ""
    parts = [head] + [step[1] for step in steps if step[0] == "attr"]
    return ".".join(parts) if all(step[0] in {"attr", "as"} for step in steps) else ""


def _long_lived_classes(program: Program) -> set:
    """Classes with an instance made at import (a module global) or by a memoized factory."""
    found = set()
    for value in program.index.globals.values():
        if not any(step[0] == "call" for step in value[1]):
            continue
        evaluated = program.resolver.eval(value)
        if evaluated and evaluated[0] == "inst":
            found.add(evaluated[1])
    for qualname in program.cached:
        returned = program.resolver.returns(qualname)
        if returned and returned[0] == "inst":
            found.add(returned[1])
    return found


# ---------------------------------------------------------------- CCH102
def _salted_keys(program: Program, function: Function, infos: list, catalog: dict) -> list:
    hashes = [info for info in infos if info.call.text == "hash" and _is_builtin_hash(program, info)]
    if not hashes:
        return []
    key_calls = [info for info in infos if _shared_cache_key_call(program, info, catalog)]
    findings = []
    for hashed in hashes:
        target = next((k for k in key_calls if _nested_in(hashed, k) or _flows_into(hashed, k)), None)
        if target is None:
            continue
        call = hashed.call
        where = "a database query" if target.effect in {"read", "write"} else \
            "a file name" if not target.io else "a cache shared across processes"
        message = (f"`hash(...)` makes part of the key passed to `{target.call.text}()` (line {target.call.line}), "
                   f"{where}; `hash()` of a str or bytes is salted per process (PYTHONHASHSEED), so another "
                   f"worker or the next restart computes a different key: the stored entry is never found "
                   f"again, and the store fills with keys nobody reads.")
        findings.append(make_finding(
            "CCH102", program, function, hashed.path, call.line, call.col, call.end_line, message,
            "Derive the key with a stable digest: `hashlib.sha256(text.encode()).hexdigest()` (or `xxhash`), "
            "and put the model and parameters in the key too (`f\"embedding:e5-base-v2:{digest}\"`).",
            call.excerpt, chain=[Hop(hashed.path, call.line, "hash()"),
                                 Hop(target.path, target.call.line, f"{target.call.text}()")],
            impact="A hit rate of about 0 % across workers and restarts; the cache only costs memory and round trips."))
    return findings


def _is_builtin_hash(program: Program, info: CallInfo) -> bool:
    return program.resolver.eval(info.call.func) == ("name", "builtins.hash")


def _shared_cache_key_call(program: Program, info: CallInfo, catalog: dict) -> bool:
    """A call that reads or writes a key that outlives the process: a shared cache (Redis,
    memcached, disk, Django's cache), a database query's parameters, a file name."""
    if info.io in {"redis", "cache"}:
        type_name, _, method = info.detail.rpartition(".")
        entry = program.catalog.method(type_name, method) or {}
        return bool(entry.get("key")) and program.catalog.flag(type_name, "shared_cache")
    if info.effect in {"read", "write"} and not info.synthetic:
        return True
    callee = program.resolver.eval(info.call.func)
    names = set(catalog.get("shared_cache_functions") or []) | set(catalog.get("file_name_functions") or [])
    return bool(callee) and callee[0] == "name" and callee[1] in names


def _nested_in(inner: CallInfo, outer: CallInfo) -> bool:
    """Is ``inner`` inside the arguments of ``outer``?"""
    a, b = inner.call, outer.call
    if (a.line, a.col) <= (b.line, b.col) or a.line > b.end_line:
        return False
    return a.line < b.end_line or a.end_line <= b.end_line


def _flows_into(hashed: CallInfo, key_call: CallInfo) -> bool:
    """``key = f"...{hash(x)}"`` (or a list of such keys), then ``r.get(key)`` (``open(key)``...) later."""
    names = set(hashed.call.assigned)
    if not names or key_call.call.line < hashed.call.line:
        return False
    return any(_val_names(value) & names for value in key_call.call.args)


def _val_names(value: Val) -> set:
    """Local names a value was bound to (``p:key:`` origins and ``as`` steps)."""
    origin, steps = value
    names = {step[1] for step in steps if step[0] == "as"}
    if origin.startswith("p:"):
        names.add(origin.split(":")[1])
    return names


# ---------------------------------------------------------------- CCH103
def _redis_method(info: CallInfo) -> str:
    return info.detail.rpartition(".")[2] if info.io == "redis" else ""


def _wipes_persistent_keys(compared: str) -> bool:
    """Does ``ttl(key) <op> <n>`` hold for -1 (a key with no expiry)?"""
    operator, _, number = compared.partition(" ")
    value = int(number)
    return (operator == "<" and value >= 0) or (operator == "<=" and value >= -1)


def _ttl_wipes(program: Program, function: Function, infos: list, catalog: dict) -> list:
    ttl_commands = set(catalog.get("ttl_commands") or [])
    deletes = set(catalog.get("key_deletes") or [])
    findings = []
    for info in infos:
        call = info.call
        if _redis_method(info) not in ttl_commands or not call.compared or not call.stmt:
            continue
        if not _wipes_persistent_keys(call.compared):
            continue
        delete = next((d for d in infos if _redis_method(d) in deletes and d.call.line > call.line
                       and _inside_statement(function, d.call.stmt, call.stmt)), None)
        if delete is None:
            continue
        message = (f"`{call.text}(...) {call.compared}` then `{delete.call.text}()` (line {delete.call.line}) deletes "
                   f"keys that have no expiry: Redis TTL returns -1 for a key without one (and -2 for a missing "
                   f"key), so every persistent key matching the pattern is wiped, not only expired ones.")
        findings.append(make_finding(
            "CCH103", program, function, info.path, call.line, call.col, call.end_line, message,
            "Let Redis expire keys: give every key a TTL when writing it (`setex`, `set(..., ex=...)`) and set a "
            "`maxmemory-policy`; a key whose TTL has passed is already gone. If a sweep is really wanted, test "
            "`== -1` explicitly for keys without expiry, and batch it in a pipeline.",
            call.excerpt, severity_steps=1,
            chain=[Hop(info.path, call.line, f"{call.text}() {call.compared}"),
                   Hop(delete.path, delete.call.line, f"{delete.call.text}()")],
            impact="Data loss: persistent keys (sessions, counters, configuration) are deleted by a cleanup job."))
    return findings


def _inside_statement(function: Function, stmt: tuple, owner: tuple) -> bool:
    """Is the statement ``stmt`` nested in the body of statement ``owner`` (same function)?"""
    if not stmt:
        return False
    block = stmt[0]
    while block >= 0:
        parent_block, parent_index, _ = function.blocks[block]
        if (parent_block, parent_index) == tuple(owner):
            return True
        block = parent_block
    return False


def _per_key_loops(program: Program, function: Function, infos: list, catalog: dict) -> list:
    scans = set(catalog.get("key_scans") or [])
    findings = []
    for loop in function.loops:
        if loop.iter_val is None or not _scans_keys(program, loop.iter_val, scans):
            continue
        inside = loop_subtree(function, loop.id)
        per_key = [info for info in infos if info.call.loop in inside and info.io == "redis"
                   and _redis_method(info) and set(info.call.names) & set(loop.targets)
                   and not info.call.deferred]
        if not per_key:
            continue
        commands = ", ".join(dict.fromkeys(f"`{info.call.text}()`" for info in per_key))
        message = (f"`for {', '.join(loop.targets)} in {loop.iter_text}` sends {commands} once per key: one "
                   f"network round trip per key of the scan, thousands for a large key space.")
        findings.append(make_finding(
            "CCH103", program, function, per_key[0].path, loop.line, 0, loop.line, message,
            "Batch the commands: queue them on `r.pipeline(transaction=False)` and `execute()` every few hundred "
            "keys, or use `UNLINK`/`DEL` with many keys per call; better, give keys a TTL so no sweep is needed.",
            per_key[0].call.excerpt,
            chain=[Hop(per_key[0].path, loop.line, f"for ... in {loop.iter_text}")]
            + [Hop(info.path, info.call.line, f"{info.call.text}()") for info in per_key],
            impact="One round trip (typically 0.2-1 ms, far more across regions) per key scanned."))
    return findings


def _scans_keys(program: Program, value: Val, scans: set) -> bool:
    origin, steps = value
    steps = tuple(steps)
    while steps and steps[-1][0] in {"call", "as"}:
        steps = steps[:-1]
    evaluated = program.resolver.eval((origin, steps))
    return bool(evaluated) and evaluated[0] == "method" and evaluated[2] in scans and \
        program.catalog.flag(evaluated[1], "shared_cache")
