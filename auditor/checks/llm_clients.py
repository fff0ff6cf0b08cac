"""LLM102: an LLM client or model object built per call: per request or per loop item.

Each construction builds a new HTTP connection pool (``OpenAI()``; LangChain's ``ChatOpenAI``
builds an ``openai.OpenAI`` and an httpx client inside), so the TLS handshake and pool warm-up
are paid on every request. Fine: module level, ``__init__`` of an object built once, a lazy
singleton (the client stored in a global or on ``self`` outside ``__init__``, or memoised per key
in a module-level dict: ``c = _clients.get(k); if not c: c = make(k); _clients[k] = c``), a factory behind
``lru_cache``/``cache``, ``main()``.
"""

from __future__ import annotations

from auditor.checks.base import effective_loops, loop_bound_names, loop_description, make_finding
from auditor.checks.llm_base import is_cache_decorated, per_request_paths, stored_lazily
from auditor.extract import MODULE_SCOPE
from auditor.link import CallInfo, Program
from auditor.llm.model import ClientSite, llm_model

_ENTRY_POINTS = {"main", "cli", "run_cli"}


def check_llm_clients(program: Program) -> list:
    """Report LLM clients constructed per request or per loop iteration."""
    model = llm_model(program)
    if not model.clients:
        return []  # nothing in the program builds an LLM client
    requests = per_request_paths(program)
    findings = []
    reported: set = set()
    per_request: dict = {}  # function -> its constructors run per request (one finding per function)
    for client in model.clients.values():
        if not _transient(program, client):
            continue
        function = client.function
        loops = effective_loops(function, client.call.loop)
        in_init = function.name == "__init__"
        if loops and not client.call.leaves_loop and not _configured_per_item(function, client.call, loops):
            findings.append(_finding(program, client, client.info, function, "loop", loops[0], None))
            reported.add(id(client.info))
        elif function.qualname in requests and not in_init:
            per_request.setdefault(function.qualname, []).append(client)
            reported.add(id(client.info))
    for qualname, clients in per_request.items():
        clients.sort(key=lambda c: c.call.line)
        findings.append(_finding(program, clients[0], clients[0].info, clients[0].function, "request", None,
                                 requests[qualname], others=len(clients) - 1))
    # an object whose __init__ builds a client, instantiated per request or per loop item
    for qualname, infos in program.calls.items():
        function = program.index.functions[qualname]
        for info in infos:
            if info.effect == "llm-client" or id(info) in reported:
                continue
            chain = program.effect_chain(info, "llm-client")
            if chain is None or program.keeps_result(info):
                continue
            terminal = program.terminal(info, "llm-client")
            if terminal.function.rsplit(".", 1)[-1] != "__init__" or id(terminal) in reported:
                continue
            client = model.clients.get(terminal.call.site)
            loops = effective_loops(function, info.call.loop)
            if client is None or is_cache_decorated(function) or function.name == "__init__":
                continue  # an __init__ is reported where its object is built
            if loops and not info.call.leaves_loop:
                findings.append(_finding(program, client, info, function, "loop", loops[0], None, chain))
            elif qualname in requests and function.name not in _ENTRY_POINTS:
                findings.append(_finding(program, client, info, function, "request", None, requests[qualname],
                                         chain))
            else:
                continue
            reported.add(id(terminal))
    return findings


def _configured_per_item(function, call, loops: list) -> bool:
    """``for config in providers: OpenAI(base_url=config.url)``: a different client per item."""
    return bool(set(call.names) & loop_bound_names(function, loops))


def _transient(program: Program, client: ClientSite) -> bool:
    function = client.function
    return not (function.name in {MODULE_SCOPE} | _ENTRY_POINTS or stored_lazily(program, client.info)
                or is_cache_decorated(function))


def _finding(program: Program, client: ClientSite, info: CallInfo, function, why: str, loop, request_path,
             chain=None, others: int = 0):
    call = info.call
    built = f"`{client.call.text}()`"
    if info is not client.info:
        built = (f"`{call.text}()` leads to {built} in an `__init__` ({client.info.path}:{client.call.line}): "
                 "it")
    if why == "loop":
        where = f"on every iteration of `{loop_description(loop)}` (line {loop.line})"
    else:
        where = f"on every request (reached from {request_path[0].label})"
    more = f" (and {others} more constructor{'s' if others > 1 else ''} in this function)" if others else ""
    message = (f"{built} constructs a new LLM client {where}{more}: a new HTTP connection pool and TLS "
               "handshake each time instead of reusing warm connections.")
    remediation = ("Build the client once and reuse it: at module level, in the app's startup/lifespan "
                   "hook, on an object created once, or behind an `@functools.lru_cache` factory "
                   "(`Depends(get_client)` with a cached `get_client`). Per-request settings go through "
                   "`client.with_options(...)` or `llm.bind(...)`, which share the pool.")
    context = {"constructor": f"{client.info.path}:{client.call.line}", "provider": client.provider,
               "per": why}
    hops = list(chain or [])
    full_chain = ([f"{info.path}:{loop.line} {loop_description(loop)}"] if loop is not None else
                  [hop.render() for hop in request_path or []]) + [h.render() for h in hops]
    return make_finding("LLM102", program, function, info.path, call.line, call.col, call.end_line, message,
                        remediation, call.excerpt, chain=full_chain, context=context,
                        severity_steps=0, raise_on_request=False,
                        impact="Tens to hundreds of ms of connection setup per request, and memory growth "
                               "when old clients' pools linger (openai-python issues #820, #1181).")
