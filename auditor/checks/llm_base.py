"""Shared pieces of the LLM checks (LLM101-LLM106): request reachability that stops at caches,
the cost data of a finding, and small shape tests."""

from __future__ import annotations

import re
import weakref
from collections import deque

from auditor.link import Hop, Program
from auditor.llm.model import LlmCall, llm_model
from auditor.llm.prices import cost_data, load_prices

_CACHE_DECORATOR = re.compile(r"(cache|memo)", re.IGNORECASE)
_NOT_RESPONSE_CACHES = {"cache_resource", "cache_control"}
_JOB_DECORATORS = {"task", "shared_task", "periodic_task", "scheduled_job", "repeat_every", "cron", "job"}
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "0.0.0.0", "host.docker.internal", ":11434")


def is_cache_decorated(function) -> bool:
    """A memoizing decorator (``lru_cache``, ``cache``, ``cachetools.cached``, ``st.cache_data``,
    ``alru_cache``, ``memoize``...) wraps the function."""
    for text, _ in function.decorators:
        name = text.split("(")[0].split(".")[-1]
        if name not in _NOT_RESPONSE_CACHES and _CACHE_DECORATOR.search(name):
            return True
    return False


def is_job(function) -> bool:
    """A scheduled or queued job (``@app.task``, ``@shared_task``, ``@scheduler.scheduled_job``)."""
    return any(text.split("(")[0].split(".")[-1] in _JOB_DECORATORS for text, _ in function.decorators)


def dependency_functions(program: Program) -> set:
    """Functions named in ``Depends(fn)``: FastAPI calls them once per request."""
    memo = _memo(program)
    if "depends" in memo:
        return memo["depends"]
    found = set()
    for infos in program.calls.values():
        for info in infos:
            if info.call.text.rpartition(".")[2] != "Depends" or not info.call.args:
                continue
            target = program.resolver.eval(info.call.args[0])
            if target and target[0] == "func":
                found.add(target[1])
    memo["depends"] = found
    return found


def per_request_paths(program: Program, include_jobs: bool = False) -> dict:
    """Functions run on every request (or job run) -> the chain of calls from the entry point.

    Unlike ``program.handler_paths`` the walk does not enter functions behind a caching
    decorator, nor calls whose result is memoised in a dict or a global: what they do runs once
    per key, not per request.
    """
    key = ("per_request", include_jobs)
    memo = _memo(program)
    if key in memo:
        return memo[key]
    entries = {q: f"{program.index.functions[q].name}() [{why}]" for q, why in program.handlers.items()}
    for qualname in dependency_functions(program):
        entries.setdefault(qualname, f"{program.index.functions[qualname].name}() [Depends()]")
    if include_jobs:
        for qualname, function in program.index.functions.items():
            if is_job(function):
                entries.setdefault(qualname, f"{function.name}() [job]")
    paths: dict = {}
    queue: deque = deque()
    for qualname in sorted(entries):
        function = program.index.functions[qualname]
        if is_cache_decorated(function):
            continue
        facts = program.index.function_module[qualname]
        paths[qualname] = [Hop(facts.path, function.line, entries[qualname])]
        queue.append(qualname)
    while queue:
        current = queue.popleft()
        for info in program.calls.get(current, []):
            if info.targets and program.keeps_result(info):
                continue  # a get-or-create per key (or a lazy global): runs once per key
            for target in info.targets:
                function = program.index.functions.get(target)
                if target in paths or function is None or is_cache_decorated(function):
                    continue
                paths[target] = paths[current] + [Hop(info.path, info.call.line, f"{info.call.text}()")]
                queue.append(target)
    memo[key] = paths
    return paths


def unpriced_reason(program: Program, llm_call: LlmCall) -> str:
    """Why the call has no per-token price ("" when it may have one)."""
    info = llm_model(program).provider_info(llm_call.provider)
    if info.get("priced") is False:
        return "the model argument names a deployment, not a priced model"
    local = "not billed per token (a local model or endpoint)"
    if info.get("billed") is False or (llm_call.endpoint and llm_call.endpoint.get("billed") is False):
        return local
    texts = []
    for client in llm_call.clients:
        call = client.call
        texts.extend(str(call.kwargs.get(k, "")) for k in ("base_url", "api_base", "host", "openai_api_base"))
    if llm_call.kind == "http":
        texts.append(str(llm_call.call.arg_trees[0]) if llm_call.call.arg_trees else "")
    return local if any(host in text for text in texts for host in _LOCAL_HOSTS) else ""


def cost_context(program: Program, llm_call: LlmCall, multiplier: int = 1) -> dict:
    """``context["cost"]`` of a finding about ``llm_call`` (dollars only with ``llm-traffic``)."""
    memo = _memo(program)
    if "prices" not in memo:
        memo["prices"] = load_prices(program.catalog.llm_prices)
    return cost_data(llm_call, memo["prices"], program.catalog.llm_traffic, unpriced_reason(program, llm_call),
                     multiplier)


def cap_text(llm_call: LlmCall) -> str:
    """``max_tokens=300`` / ``no output cap`` for messages."""
    arg = llm_call.max_tokens
    if arg is None:
        return "no output cap"
    number = arg.number()
    return f"{arg.name}={int(number)}" if number is not None else f"{arg.name} set"


def call_label(llm_call: LlmCall) -> str:
    """``client.chat.completions.create()`` as written, with the model when known."""
    model = f" ({llm_call.model})" if llm_call.model else ""
    return f"`{llm_call.call.text}()`{model}"


def stored_lazily(program: Program, info) -> bool:
    """The client is kept in a global or on ``self`` outside ``__init__`` (a lazy singleton), or
    memoised per key in a long-lived dict (get-or-create)."""
    return (info.call.role == "store" and info.function.rsplit(".", 1)[-1] != "__init__") \
        or program.keeps_result(info)


_MEMOS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _memo(program: Program) -> dict:
    """Per-program memo (the program lives for one scan)."""
    memo = _MEMOS.get(program)
    if memo is None:
        memo = {}
        _MEMOS[program] = memo
    return memo
