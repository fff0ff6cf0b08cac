"""LLM105 no output cap, LLM106 no or effectively infinite timeout: rated by each SDK's real default.

A limit set on the client (``ChatOpenAI(max_tokens=...)``, ``OpenAI(timeout=30)``) or by a
``bind``/``with_options`` call counts for every call made through it. When the fix belongs on
a constructor in the project (a LangChain model's cap, any client's timeout), the finding is
reported once, at the constructor; otherwise at the call.
"""

from __future__ import annotations

import re
from typing import Optional

from auditor.checks.base import make_finding
from auditor.checks.llm_base import call_label, cost_context, per_request_paths
from auditor.link import Program
from auditor.llm.model import ClientSite, LlmCall, llm_model

_TIMEOUT_WRAPPERS = {"wait_for", "timeout", "timeout_at", "fail_after", "move_on_after", "timeout_after"}
_CAP_BY_ENDPOINT = {"/api/generate": "infinite", "/api/chat": "infinite", "/v1/chat/completions": "unbounded",
                    "/v1/completions": "unbounded", ":generatecontent": "unbounded"}
_TIMEOUT_BY_HTTP = {"requests": "none", "httpx": 5}
# a timeout this long (Cohere's 300 s, OpenAI's 600 s, LiteLLM's 6,000 s) never helps a request
_SLOW_DEFAULT = 300


def check_llm_limits(program: Program) -> list:
    """Report LLM calls without an output cap (LLM105) or a bounded timeout (LLM106)."""
    model = llm_model(program)
    requests = per_request_paths(program)
    findings = []
    reported: set = set()
    for llm_call in model.calls:
        for build in (_cap_finding, _timeout_finding):
            finding = build(program, llm_call, requests, reported)
            if finding is not None:
                findings.append(finding)
    used = {id(c.constructor) for c in model.calls if c.constructor is not None}
    for client in model.clients.values():
        if id(client) not in used:  # its calls are out of sight (passed on as a parameter)
            findings.extend(_constructor_findings(program, client))
    return findings


def _constructor_findings(program: Program, client: ClientSite) -> list:
    """LLM105/LLM106 on a constructor whose calls we cannot follow: its settings are all we see."""
    call = client.call
    if "**" in call.kwargs:
        return []
    defaults = llm_model(program).provider_info(client.provider)
    arguments = program.catalog.llm.get("arguments") or {}
    label = f"`{call.text}()`"
    findings = []
    chat_model = program.catalog.factory(client.factory, call.args).get("returns") == "langchain.ChatModel"
    if chat_model and defaults.get("cap") in {"unbounded", "infinite"} \
            and not any(name.split(".")[0] in call.kwargs for name in arguments.get("max_tokens") or []):
        message = f"{label} builds a chat model with no output-token cap: every call through it may run to the " \
                  "model's full output limit."
        findings.append(make_finding(
            "LLM105", program, client.function, client.info.path, call.line, call.col, call.end_line, message,
            "Set `max_tokens=N` on the model (or `.bind(max_tokens=N)` where it is used), sized to the longest "
            "answer you expect, and handle truncated answers.", call.excerpt,
            context={"cap_default": defaults.get("cap"), "provider": client.provider}, raise_on_request=False))
    timeout = _find_kw(call, arguments.get("timeout") or [])
    seconds = defaults.get("timeout", "unknown") if timeout is _MISSING else ("none" if timeout is None else None)
    if seconds == "none" or (isinstance(seconds, (int, float)) and seconds >= _SLOW_DEFAULT):
        visible = _calls_through(program, client)
        unbounded = [c for c in visible if not _bounded_per_call(program, c)]
        if visible and not unbounded:
            return findings  # every call we can see through it passes its own bounded timeout
        why = "`timeout=None`" if timeout is None else f"{defaults.get('label', client.provider)}'s default"
        wait = "waits forever on a stalled connection" if seconds == "none" else f"waits up to {seconds:g} s"
        confidence = None
        if unbounded:
            first = unbounded[0]
            message = (f"{label} builds an LLM client without a bounded timeout ({why}): {_label(first)} at "
                       f"{first.path}:{first.call.line} goes through it and {wait}.")
        elif _escapes(client):
            confidence = "medium"
            message = (f"{label} builds an LLM client without a bounded timeout ({why}); the client is handed "
                       f"out (returned or stored) and the calls made through it are out of sight: each one "
                       f"that passes no `timeout=` {wait}.")
        else:
            message = f"{label} builds an LLM client without a bounded timeout ({why}): every call through it {wait}."
        findings.append(make_finding(
            "LLM106", program, client.function, client.info.path, call.line, call.col, call.end_line, message,
            f"Pass `timeout=...` to `{call.text}()` sized to your latency budget (e.g. 30-60 s for a chat answer).",
            call.excerpt, context={"timeout": seconds, "provider": client.provider},
            severity_steps=0 if seconds == "none" else -1, confidence=confidence, raise_on_request=False))
    return findings


def _escapes(client: ClientSite) -> bool:
    """The client leaves its function: returned, yielded or stored (in a dict, on an object)."""
    call = client.call
    return call.role in {"return", "yield", "store"} or (
        call.role == "assign" and call.bound_to in client.function.escaped)


def _calls_through(program: Program, client: ClientSite) -> list:
    """LLM calls made on what the constructor's function hands out: linked to another constructor
    of that function (the resolver keeps one assignment of a name), made on the result of calling
    it, or, for ``self.client = OpenAI()``, made on ``self.client`` in a method of the same class."""
    function = client.function
    stored = _SELF_ATTRIBUTE.match(client.call.excerpt) if client.call.role == "store" and function.cls else None
    found: list = []
    for llm_call in llm_model(program).calls:
        constructor = llm_call.constructor
        origin, steps = llm_call.call.func
        if (constructor is not None and constructor.function is function and constructor is not client) or (
                origin == f"g:{function.qualname}" and steps and steps[0][0] == "call"):
            found.append(llm_call)
    if stored:  # ``self.client.chat.completions.create(...)`` in the class's methods, classified or not
        for qualname, infos in program.calls.items():
            if program.index.functions[qualname].cls != function.cls:
                continue
            for info in infos:
                text = info.call.text
                if text.startswith(f"self.{stored.group(1)}.") and text.count(".") >= 3:
                    found.append(llm_model(program).call_of(info) or info)
    return found


def _label(found) -> str:
    return call_label(found) if isinstance(found, LlmCall) else f"`{found.call.text}()`"


_SELF_ATTRIBUTE = re.compile(r"\s*self\.([A-Za-z_]\w*)\s*(?::[^=]+)?=[^=]")


def _bounded_per_call(program: Program, found) -> bool:
    """The call (an LlmCall, or a CallInfo the model did not classify) passes its own bounded
    ``timeout=`` (or runs under ``asyncio.wait_for``)."""
    if isinstance(found, LlmCall):
        arg = found.timeout
        if arg is not None and arg.source == "call" and arg.known:
            number = arg.number()
            if number is not None:
                if arg.name.endswith("_ms") or arg.name.startswith("http_options"):
                    number /= 1000
                return number < _SLOW_DEFAULT
        return _bounded_by_caller(program, found)
    value = found.call.kwargs.get("timeout")
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value < _SLOW_DEFAULT


_MISSING = object()


def _find_kw(call, names: list) -> object:
    """The literal value of the first top-level keyword of ``names`` the call sets, else _MISSING."""
    for name in names:
        if "." not in name and name in call.kwargs:
            return call.kwargs[name]
    return _MISSING


# ------------------------------------------------------------------ LLM105
def _cap_mode(program: Program, llm_call: LlmCall) -> str:
    if llm_call.kind == "http":
        pattern = llm_call.endpoint.get("pattern", "")
        return _CAP_BY_ENDPOINT.get(pattern, "unknown")
    return str(llm_model(program).provider_info(llm_call.provider).get("cap", "unknown"))


def _cap_finding(program: Program, llm_call: LlmCall, requests: dict, reported: set):
    if llm_call.kind == "embedding" or llm_call.max_tokens is not None or llm_call.hidden:
        return None
    mode = _cap_mode(program, llm_call)
    if mode not in {"unbounded", "infinite"}:
        return None  # Anthropic requires max_tokens; ChatAnthropic fills a default; unknown SDKs
    at_constructor = llm_call.provider.startswith("langchain")
    if at_constructor and llm_call.constructor is None:
        return None  # a LangChain model built where we cannot see: its cap may be set there
    where = _location(llm_call, at_constructor)
    if ("LLM105",) + where in reported:
        return None
    reported.add(("LLM105",) + where)
    label = call_label(llm_call)
    if mode == "infinite":
        default = "Ollama's `num_predict` defaults to -1: the model generates until it stops on its own"
        fix = "Set `options={\"num_predict\": N}` on the call" if not at_constructor else \
            "Set `num_predict=N` on the model"
    else:
        default = "the API's default is no cap: the answer may run to the model's full output limit"
        fix = ("Pass `max_completion_tokens=N` (OpenAI; `max_tokens` for older models and LiteLLM, "
               "`max_output_tokens` for the Responses API and Gemini's config)")
        if at_constructor:
            fix = "Set `max_tokens=N` on the model constructor (or `.bind(max_tokens=N)`)"
    if at_constructor:
        constructor = llm_call.constructor
        message = (f"`{constructor.call.text}()` builds an LLM with no output-token cap, used by {label} at "
                   f"{llm_call.path}:{llm_call.line}; {default}.")
        info, function = constructor.info, constructor.function
    else:
        message = f"{label} sets no output-token cap; {default}."
        info, function = llm_call.info, llm_call.function
    remediation = (f"{fix}, sized to the longest answer you expect (a few hundred tokens for a summary "
                   "or classification), and handle `finish_reason == \"length\"`.")
    steps = 1 if mode == "infinite" and llm_call.function.qualname in requests else 0
    context = {"cap_default": mode, "provider": llm_call.provider, "cost": cost_context(program, llm_call)}
    _request_context(context, requests, llm_call)
    return make_finding("LLM105", program, function, info.path, info.call.line, info.call.col,
                        info.call.end_line, message, remediation, info.call.excerpt,
                        chain=[f"{llm_call.path}:{llm_call.line} {llm_call.call.text}()"], context=context,
                        severity_steps=steps, raise_on_request=False)


# ------------------------------------------------------------------ LLM106
def _effective_timeout(program: Program, llm_call: LlmCall) -> Optional[tuple]:
    """(seconds or "none", how we know) of the call, or None when unknown or hidden."""
    arg = llm_call.timeout
    if arg is not None:
        if not arg.known:
            return None
        if arg.value is None:
            return "none", f"`{arg.name}=None` disables the timeout"
        number = arg.number()
        if number is None:
            return None
        if arg.name.endswith("_ms") or arg.name.startswith("http_options"):
            number /= 1000
        return number, f"`{arg.name}={arg.value}`"
    if llm_call.hidden or llm_call.client_unknown:
        return None  # the client may have been given a timeout where we cannot see it
    if llm_call.kind == "http":
        default = _TIMEOUT_BY_HTTP.get(llm_call.provider, "unknown")
    else:
        default = llm_model(program).provider_info(llm_call.provider).get("timeout", "unknown")
    if default == "unknown":
        return None
    if default == "none":
        return "none", f"{_provider_label(program, llm_call)} sets no timeout by default"
    return float(default), f"{_provider_label(program, llm_call)}'s default is {default:g} s"


def _timeout_finding(program: Program, llm_call: LlmCall, requests: dict, reported: set):
    effective = _effective_timeout(program, llm_call)
    if effective is None or _bounded_by_caller(program, llm_call):
        return None
    seconds, why = effective
    if seconds == "none":
        steps = 0
    elif seconds >= _SLOW_DEFAULT:
        steps = -1
    else:
        return None
    timeout_arg = llm_call.timeout
    at_constructor = llm_call.constructor is not None and (timeout_arg is None or timeout_arg.source == "client")
    where = _location(llm_call, at_constructor)
    if ("LLM106",) + where in reported:
        return None
    reported.add(("LLM106",) + where)
    on_request = llm_call.function.qualname in requests
    steps += 1 if on_request else 0
    wait = "waits forever on a stalled connection" if seconds == "none" else \
        f"can hold a worker for {seconds:g} s per attempt"
    if at_constructor:
        constructor = llm_call.constructor
        info, function = constructor.info, constructor.function
        message = (f"`{constructor.call.text}()` builds an LLM client without a bounded timeout ({why}): "
                   f"{call_label(llm_call)} at {llm_call.path}:{llm_call.line} {wait}.")
        fix = f"Pass `timeout=...` to `{constructor.call.text}()`"
    else:
        info, function = llm_call.info, llm_call.function
        message = f"{call_label(llm_call)} has no bounded timeout ({why}): it {wait}."
        fix = f"Pass `timeout=...` to `{llm_call.call.text}()`"
    remediation = (f"{fix} sized to your latency budget (e.g. 30-60 s for a chat answer, with "
                   "`max_retries` kept low), or wrap the awaited call in `asyncio.wait_for(..., t)`; "
                   "stream long generations instead of waiting for the whole answer.")
    context = {"timeout": "none" if seconds == "none" else seconds, "provider": llm_call.provider,
               "cost": cost_context(program, llm_call)}
    _request_context(context, requests, llm_call)
    return make_finding("LLM106", program, function, info.path, info.call.line, info.call.col,
                        info.call.end_line, message, remediation, info.call.excerpt,
                        chain=[f"{llm_call.path}:{llm_call.line} {llm_call.call.text}()"], context=context,
                        severity_steps=steps, raise_on_request=False)


def _bounded_by_caller(program: Program, llm_call: LlmCall) -> bool:
    """``asyncio.wait_for(...)`` around the call, or an ``asyncio.timeout()`` block before it in the
    same function, or around the call of that function in a direct caller."""
    if _bounded_in(program.calls.get(llm_call.function.qualname, []), llm_call.line):
        return True
    for caller in program.callers.get(llm_call.function.qualname, ()):
        for info in program.calls.get(caller, []):
            if llm_call.function.qualname in info.targets and _bounded_in(program.calls.get(caller, []),
                                                                           info.call.line):
                return True
    return False


def _bounded_in(infos: list, line: int) -> bool:
    for info in infos:
        name = info.call.text.split(".")[-1]
        if name not in _TIMEOUT_WRAPPERS:
            continue
        if info.call.line <= line <= info.call.end_line or (info.call.role == "with" and info.call.line < line):
            return True
    return False


# ------------------------------------------------------------------ helpers
def _location(llm_call: LlmCall, at_constructor: bool) -> tuple:
    if at_constructor:
        call = llm_call.constructor.call
        return (llm_call.constructor.info.path, call.line, call.col)
    return (llm_call.path, llm_call.line, llm_call.call.col)


def _provider_label(program: Program, llm_call: LlmCall) -> str:
    return str(llm_model(program).provider_info(llm_call.provider).get("label", llm_call.provider))


def _request_context(context: dict, requests: dict, llm_call: LlmCall) -> None:
    path = requests.get(llm_call.function.qualname)
    if path is not None:
        context["request_path"] = [hop.render() for hop in path]
