"""LLM101: a repeatable LLM call, run per request or per job, with no response cache.

"Repeatable" is judged from the prompt's provenance, conservatively: a prompt made only of
literals and module constants (every call after the first is pure waste), or one that
interpolates only low-cardinality values (a metric, a segment, a period, aggregate stats).
Prompts carrying per-user free text (a question, chat history, a document) are not reported;
nor streaming calls, nor calls sampled at temperature >= 0.7.

A cache anywhere on the way suppresses it: a memoizing decorator on the function or on every
caller path from the request (``lru_cache``, ``cache``, ``cachetools.cached``, ``alru_cache``...),
LangChain's ``set_llm_cache`` anywhere or ``cache=`` on the model, LiteLLM's ``litellm.cache =
Cache(...)``, a get-then-set on the same cache around the call (in the function or its direct
caller), or the function handed to a ``get_or_compute``-style wrapper.
"""

from __future__ import annotations

import builtins
import re
from typing import Optional

from auditor.checks.base import make_finding
from auditor.checks.llm_base import call_label, cap_text, cost_context, per_request_paths
from auditor.link import Program
from auditor.llm.model import LlmCall, llm_model

_FREE_TEXT = re.compile(r"prompt|query|question|message|msg|text|history|chat|conversation|input|content|user|"
                        r"body|payload|request|req|transcript|doc|turn|utterance|comment|email|description|"
                        r"feedback|note|answer|reply|instruction|^q$|^s$|context|item|row|record", re.IGNORECASE)
_LOW_CARDINALITY = re.compile(r"segment|metric|category|region|period|date|day|week|month|quarter|year|kind|type|"
                              r"tier|plan|status|stats|kpi|country|language|lang|locale|team|product|sku|"
                              r"dimension|topic|industry|channel|severity|level|mode|tone|window|bucket|totals|"
                              r"aggregate|dashboard|health|score", re.IGNORECASE)
_PROMPT_ARGS = ("messages", "prompt", "input", "contents", "content", "message", "system", "text", "0")
_READ_METHODS = {"get", "exists", "hget", "hgetall", "mget", "get_many", "fetch", "lookup"}
_WRITE_METHODS = {"set", "setex", "psetex", "set_many", "put", "add", "hset", "setdefault", "store", "insert"}
_WRAPPERS = re.compile(r"^(get_or_compute|get_or_set|get_or_execute|cached_call|memoize|fetch_or_compute|"
                       r"get_or_create|remember|cached)$")
_CREATIVE = re.compile(r"brainstorm|creative|regenerate|variation|random|story|joke", re.IGNORECASE)
_BUILTINS = set(dir(builtins))
_NOT_CACHES = {"", "self", "request", "os.environ", "session", "kwargs", "params", "headers"}


def check_llm_response_cache(program: Program) -> list:
    """Report repeatable LLM calls reached per request or per job with no response cache."""
    model = llm_model(program)
    if not model.calls:
        return []
    paths = per_request_paths(program, include_jobs=True)
    langchain_cache, litellm_cache = _framework_caches(program)
    findings = []
    for llm_call in model.calls:
        if llm_call.kind not in {"chat", "completion", "runnable"} or llm_call.stream:
            continue
        qualname = llm_call.function.qualname
        if qualname not in paths or _sampled(llm_call):
            continue
        if llm_call.provider.startswith("langchain") and (langchain_cache or _model_cache_set(llm_call)):
            continue
        if llm_call.provider == "litellm" and litellm_cache and \
                (litellm_cache != "default_off" or llm_call.call.kwargs.get("caching") is True):
            continue
        if _cached_around(program, llm_call):
            continue
        provenance = _provenance(program, llm_call)
        if provenance is None:
            continue
        findings.append(_finding(program, llm_call, provenance, paths[qualname]))
    return findings


def _finding(program: Program, llm_call: LlmCall, provenance: str, path: list):
    constant = provenance == "constant"
    what = "the same prompt every time (literals and module constants only)" if constant else \
        f"a prompt built only from low-cardinality values ({', '.join(_variables(program, llm_call))})"
    entry = path[0].label
    message = (f"{call_label(llm_call)} sends {what}, on every run of {entry}, and no response cache is in "
               f"the way: each repeat pays for the same completion again ({cap_text(llm_call)}).")
    fix = ("Cache the answer: `@functools.lru_cache`/`cachetools.cached(TTLCache(...))` on the function "
           "that builds the prompt, a Redis get-then-set keyed on a hash of the prompt and model")
    if llm_call.provider.startswith("langchain"):
        fix += ", or `set_llm_cache(RedisCache(...))` once at startup for every LangChain model"
    elif llm_call.provider == "litellm":
        fix += ", or `litellm.cache = Cache(type=\"redis\", ...)` at startup"
    remediation = (f"{fix}. Choose the TTL from how often the data behind the prompt changes (or key on a "
                   "data version); a response cache keys on the exact request, so it also serves "
                   "temperature > 0 calls a frozen sample.")
    context = {"prompt": provenance, "entry": entry, "request_path": [hop.render() for hop in path],
               "cost": cost_context(program, llm_call)}
    return make_finding("LLM101", program, llm_call.function, llm_call.path, llm_call.line, llm_call.call.col,
                        llm_call.call.end_line, message, remediation, llm_call.call.excerpt,
                        chain=[hop.render() for hop in path] + [f"{llm_call.path}:{llm_call.line} "
                                                                f"{llm_call.call.text}()"],
                        context=context, severity_steps=1 if constant else 0, raise_on_request=False)


# ------------------------------------------------------------------ prompt provenance
def _prompt_names(llm_call: LlmCall) -> Optional[set]:
    """Names the prompt arguments read, or None when no prompt argument was seen."""
    names: Optional[set] = None
    skip_first = llm_call.provider == "litellm"
    for key in _PROMPT_ARGS:
        if key == "0" and skip_first:
            continue
        if key in llm_call.call.arg_names:
            names = (names or set()) | set(llm_call.call.arg_names[key])
    return names


def _variables(program: Program, llm_call: LlmCall) -> list:
    """Names in the prompt that may change from call to call: parameters and locals, not module
    constants, imports, module globals, functions or builtins."""
    facts = program.index.function_module[llm_call.function.qualname]
    params = {name for name, _ in llm_call.function.params}
    fixed = set(facts.constants) | set(facts.imports) | set(facts.globals) | _BUILTINS
    found = []
    for name in sorted(_prompt_names(llm_call) or ()):
        if name not in params and (name.isupper() or name in fixed
                                   or f"{facts.module}.{name}" in program.index.functions):
            continue
        found.append(name)
    return found


def _provenance(program: Program, llm_call: LlmCall) -> Optional[str]:
    """constant, low-cardinality, or None (free text, or not known: not reported)."""
    if _prompt_names(llm_call) is None:
        return None
    variables = _variables(program, llm_call)
    if not variables:
        return "constant"
    if any(_FREE_TEXT.search(name) for name in variables):
        return None
    if all(_LOW_CARDINALITY.search(name) for name in variables):
        return "low-cardinality"
    return None


def _sampled(llm_call: LlmCall) -> bool:
    """Deliberately varied output: temperature >= 0.7, n > 1, or a creative function."""
    temperature = llm_call.temperature.number() if llm_call.temperature else None
    n = llm_call.call.kwargs.get("n")
    return (temperature is not None and temperature >= 0.7) or (isinstance(n, int) and n > 1) \
        or bool(_CREATIVE.search(llm_call.function.name))


# ------------------------------------------------------------------ caches
def _framework_caches(program: Program) -> tuple:
    """(LangChain global cache set?, LiteLLM cache: "" | "on" | "default_off")."""
    langchain = False
    litellm = ""
    for facts in program.facts:
        for target, _, tree in facts.attr_stores:
            if target in {"langchain.llm_cache", "langchain.globals.llm_cache"} and tree is not None:
                langchain = True
            if target == "litellm.cache" and tree is not None:
                mode = tree.get("kw", {}).get("mode") if isinstance(tree, dict) else None
                litellm = "default_off" if mode == "default_off" else "on"
    for infos in program.calls.values():
        for info in infos:
            name = info.call.text.split(".")[-1]
            if name == "set_llm_cache" and info.call.args and info.call.args[0][0] != "?":
                langchain = langchain or _imported_from(program, info, "langchain")
            elif name == "enable_cache" and _imported_from(program, info, "litellm"):
                litellm = litellm or "on"
    return langchain, litellm


def _imported_from(program: Program, info, package: str) -> bool:
    callee = program.resolver.eval(info.call.func)
    return bool(callee) and str(callee[1]).startswith(package)


def _model_cache_set(llm_call: LlmCall) -> bool:
    """``ChatOpenAI(cache=...)``: the model has its own cache setting (or opted out on purpose)."""
    return any("cache" in client.call.kwargs for client in llm_call.clients)


def _cached_around(program: Program, llm_call: LlmCall) -> bool:
    """A get-then-set or a cache wrapper around the call, here or in a direct caller."""
    qualname = llm_call.function.qualname
    if _get_then_set(program, qualname, llm_call.line) or _wrapped(program, qualname, llm_call.line, ""):
        return True
    for caller in program.callers.get(qualname, ()):
        for info in program.calls.get(caller, []):
            if qualname in info.targets and (_get_then_set(program, caller, info.call.line)
                                             or _wrapped(program, caller, info.call.line, "")):
                return True
        if _wrapped(program, caller, -1, qualname):
            return True
    return False


def _get_then_set(program: Program, qualname: str, line: int) -> bool:
    """A cache read before ``line`` and a write to the same cache after it."""
    reads, writes = set(), set()
    for info in program.calls.get(qualname, []):
        receiver, _, method = info.call.text.rpartition(".")
        if method in _READ_METHODS and info.call.line <= line:
            reads.add(receiver)
        elif method in _WRITE_METHODS and info.call.line >= line:
            writes.add(receiver)
    for op, container, op_line in program.index.functions[qualname].key_ops:
        if op == "in" and op_line <= line:
            reads.add(container)
        elif op == "store" and op_line >= line:
            writes.add(container)
    return bool((reads & writes) - _NOT_CACHES)


def _wrapped(program: Program, qualname: str, line: int, passed: str) -> bool:
    """A ``get_or_compute(...)``-style call spanning ``line`` (a lambda) or given ``passed`` by name."""
    for info in program.calls.get(qualname, []):
        if not _WRAPPERS.match(info.call.text.split(".")[-1]):
            continue
        if info.call.line <= line <= info.call.end_line:
            return True
        if passed:
            for value in info.call.args:
                target = program.resolver.eval(value)
                if target and target[0] == "func" and target[1] == passed:
                    return True
            for tree in info.call.kwargs.values():
                if isinstance(tree, dict) and str(tree.get("name", "")).split(".")[-1] == passed.split(".")[-1]:
                    return True
    return False
