"""LLM107: retry anti-patterns around LLM calls.

The OpenAI and Anthropic SDKs (and LangChain's wrappers of them) already retry twice with
exponential backoff on 408/409/429/5xx, so a call without a retry of its own is fine. Reported:

- a retry (hand-rolled loop, tenacity, backoff, retrying) with no wait between attempts: a
  retry storm against a rate limit;
- a retry with no bound (``while True``, tenacity's ``@retry`` without ``stop=``, backoff without
  ``max_tries``/``max_time``);
- a retry on every exception (bare ``except``/``Exception``, tenacity's default): 400, 401 and
  context-length errors are billed and retried too;
- a retry around a client that keeps its SDK retries: the attempts multiply (3 x 3 = 9).
"""

from __future__ import annotations

import ast
import re
from typing import Iterator, Optional

from auditor.checks.base import make_finding
from auditor.checks.llm_more_locate import function_at
from auditor.findings import Finding
from auditor.link import Program
from auditor.llm.model import LlmModel, llm_model

# Retry decorators by qualified name -> the library's argument conventions.
RETRY_DECORATORS = {
    "tenacity.retry": "tenacity",
    "backoff.on_exception": "backoff",
    "retrying.retry": "retrying",
    "retry.retry": "retry",
    "retry.api.retry": "retry",
    "stamina.retry": "stamina",
}
_BROAD_EXCEPTIONS = {"Exception", "BaseException"}
_RANGE = re.compile(r"^range\(\s*(\d+)\s*\)$")
# Errors of HTTP libraries: an SDK call raises its own exception classes, never these.
_HTTP_LIBRARIES = {"requests", "httpx", "aiohttp", "urllib3", "urllib"}


def check_llm_retries(program: Program) -> Iterator[Finding]:
    """Retry decorators and hand-rolled retry loops around calls that reach an LLM call."""
    model = llm_model(program)
    if not model.calls:
        return
    reported: set = set()
    for facts in program.facts:
        for function in facts.functions:
            for text, _ in function.decorators:
                policy = _decorator_policy(facts, text)
                if policy is not None:
                    yield from _retried_calls(program, model, function, policy, reported)
        for loop in facts.retry_loops:
            function = function_at(facts, loop.line)
            if function is None:
                continue
            policy = {
                "how": f"the retry loop `{'for ... in ' if loop.kind == 'for' else 'while '}{loop.iter_text}` "
                       f"(line {loop.line})",
                "line": loop.line,
                "attempts": _loop_attempts(loop),
                "backoff": loop.sleeps,
                "bounded": loop.bounded,
                "broad": loop.broad,
                "exceptions": [_qualified(facts, name) for name in loop.caught],
                "lines": set(loop.calls),
            }
            yield from _retried_calls(program, model, function, policy, reported)
    for llm_call in model.calls:
        policy = _with_retry_policy(llm_call)
        if policy is None or (llm_call.path, llm_call.line) in reported:
            continue
        chain = program.effect_chain(llm_call.info, "llm")
        finding = _finding(program, model, llm_call.function, llm_call.info, chain, llm_call, policy)
        if finding is not None:
            reported.add((llm_call.path, llm_call.line))
            yield finding


def _with_retry_policy(llm_call) -> Optional[dict]:
    """LangChain's ``.with_retry(...)`` on the runnable the call goes through: 3 attempts with
    exponential jitter on every ``Exception`` unless told otherwise."""
    for site in llm_call.clients:
        call = site.call
        if not call.text.endswith(".with_retry"):
            continue
        kwargs = call.kwargs
        attempts = kwargs.get("stop_after_attempt", 3)
        exceptions = kwargs.get("retry_if_exception_type")
        names = _tree_names(exceptions) if exceptions is not None else []
        return {"how": f"`.with_retry(...)` (line {call.line})", "line": call.line,
                "attempts": attempts if isinstance(attempts, int) and not isinstance(attempts, bool) else 0,
                "backoff": kwargs.get("wait_exponential_jitter", True) is not False, "bounded": True,
                "broad": exceptions is None or any(n.rsplit(".", 1)[-1] in _BROAD_EXCEPTIONS for n in names),
                "exceptions": names, "lines": None}
    return None


def _tree_names(tree: object) -> list:
    """Qualified names in a literal tree of ``X`` or ``(X, Y)`` (see ``ast_nodes.literal_tree``)."""
    items = tree if isinstance(tree, list) else [tree]
    return [item["name"] for item in items if isinstance(item, dict) and isinstance(item.get("name"), str)]


def _retried_calls(program: Program, model: LlmModel, function, policy: dict, reported: set) -> Iterator[Finding]:
    """One finding per call of ``function`` under ``policy`` that reaches an LLM call."""
    for info in program.calls.get(function.qualname, []):
        lines = policy.get("lines")
        if lines is not None and info.call.line not in lines:
            continue
        key = (info.path, info.call.line)
        if key in reported:
            continue
        chain = program.effect_chain(info, "llm")
        llm_call = model.terminal(info) if chain is not None else None
        if llm_call is None:
            continue
        finding = _finding(program, model, function, info, chain, llm_call, policy)
        if finding is not None:
            reported.add(key)
            yield finding


def _finding(program: Program, model: LlmModel, function, info, chain: list, llm_call, policy: dict) -> Optional[Finding]:
    exceptions = policy.get("exceptions") or []
    if exceptions and llm_call.kind != "http" and all(
            name.split(".")[0] in _HTTP_LIBRARIES for name in exceptions):
        return None  # retries on ``requests``/``httpx`` errors, which an SDK call does not raise: it never retries
    problems = []
    if not policy["bounded"]:
        problems.append("it has no limit: a persistent error (invalid key, exhausted quota) retries forever")
    if not policy["backoff"]:
        problems.append("it does not wait between attempts: against a rate limit every retry fails again "
                        "and is counted against the limit")
    if policy["broad"]:
        problems.append("it retries on every exception, so 400 (bad request, context too long), 401 and 403 "
                        "errors are sent again although they cannot succeed")
    sdk = _sdk_retries(model, llm_call)
    attempts = policy["attempts"]
    if sdk:
        total = f"{attempts} x {sdk + 1} = {attempts * (sdk + 1)}" if attempts else f"N x {sdk + 1}"
        problems.append(f"the {model.provider_info(llm_call.provider).get('label', llm_call.provider)} client "
                        f"already retries {sdk} times with backoff, so one failing call makes up to {total} "
                        f"requests")
    if not problems:
        return None
    severe = not policy["bounded"] or not policy["backoff"]
    steps = 1 if severe else (0 if policy["broad"] else -1)
    call = info.call
    via = f" (reaching {chain[-1].render()})" if len(chain) > 1 else ""
    message = f"`{call.text}()` is retried by {policy['how']}{via}: " + "; ".join(problems) + "."
    fixes = []
    if sdk:
        fixes.append("let the SDK retry (set `max_retries=` on the client) and drop the outer retry, or turn the "
                     "client's off (`max_retries=0`) when the outer retry is wanted")
    if not policy["bounded"] or not policy["backoff"] or policy["broad"]:
        fixes.append("bound the attempts and back off exponentially with jitter on retryable errors only: "
                     "`@retry(stop=stop_after_attempt(4), wait=wait_random_exponential(max=30), "
                     "retry=retry_if_exception_type((RateLimitError, APITimeoutError, APIConnectionError, "
                     "InternalServerError)))`")
    remediation = "; ".join(fixes).capitalize() + "."
    return make_finding(
        "LLM107", program, function, info.path, call.line, call.col, call.end_line, message, remediation,
        call.excerpt, chain=[h.render() for h in chain],
        context={"retry": policy["how"], "sdk_retries": sdk, "attempts": attempts,
                 "backoff": policy["backoff"], "bounded": policy["bounded"], "broad": policy["broad"]},
        severity_steps=steps, raise_on_request=False,
        impact="Up to the product of the retry counts in billed requests per failing call; added latency.")


def _sdk_retries(model: LlmModel, llm_call) -> int:
    """How many times the client itself retries (0 when switched off or unknown)."""
    arg = llm_call.retries
    if arg is not None:
        number = arg.number()
        return int(number) if number is not None and number > 0 else 0
    if llm_call.hidden:
        return 0
    default = model.provider_info(llm_call.provider).get("retries", 0)
    return int(default) if isinstance(default, int) else 0


def _loop_attempts(loop) -> int:
    match = _RANGE.match(loop.iter_text)
    return int(match.group(1)) if match else 0


# ------------------------------------------------------------------ decorators
def _decorator_policy(facts, text: str) -> Optional[dict]:
    """The retry policy a decorator applies, or None when it is not a retry decorator."""
    try:
        node = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, RecursionError):
        return None
    target = node.func if isinstance(node, ast.Call) else node
    name = _dotted(target)
    if not name:
        return None
    head, _, rest = name.partition(".")
    qualified = facts.imports.get(head, head)
    qualified = f"{qualified}.{rest}" if rest else qualified
    library = RETRY_DECORATORS.get(qualified)
    if library is None:
        return None
    keywords = {kw.arg: kw.value for kw in node.keywords if kw.arg} if isinstance(node, ast.Call) else {}
    positional = list(node.args) if isinstance(node, ast.Call) else []
    text = re.sub(r"\(\s+", "(", re.sub(r",?\s*\)$", ")", " ".join(text.split())))
    how = f"`@{text if len(text) <= 80 else text[:77] + '...'}`"
    if library == "tenacity":
        retry = keywords.get("retry")
        policy = _policy(how, attempts=_tenacity_attempts(keywords.get("stop")), backoff="wait" in keywords,
                         bounded="stop" in keywords, broad=retry is None or _broad_retry(retry))
        if isinstance(retry, ast.Call) and _dotted(retry.func).endswith("retry_if_exception_type") and retry.args:
            policy["exceptions"] = _exception_names(facts, retry.args[0])
        return policy
    if library == "backoff":
        exceptions = positional[1] if len(positional) > 1 else keywords.get("exception")
        bounded = any(k in keywords and not _is_none(keywords[k]) for k in ("max_tries", "max_time"))
        policy = _policy(how, attempts=_int(keywords.get("max_tries")), backoff=True, bounded=bounded,
                         broad=exceptions is None or _names_broad(exceptions))
        if exceptions is not None:
            policy["exceptions"] = _exception_names(facts, exceptions)
        return policy
    if library == "retrying":
        bounded = any(k in keywords for k in ("stop_max_attempt_number", "stop_max_delay", "stop_func", "stop"))
        backoff = any(k.startswith("wait") for k in keywords)
        broad = "retry_on_exception" not in keywords and "retry_on_result" not in keywords
        return _policy(how, attempts=_int(keywords.get("stop_max_attempt_number")), backoff=backoff,
                       bounded=bounded, broad=broad)
    if library == "retry":
        exceptions = positional[0] if positional else keywords.get("exceptions")
        tries = keywords.get("tries", positional[1] if len(positional) > 1 else None)
        bounded = tries is not None and _int(tries) not in (None, -1)
        backoff = any(k in keywords for k in ("delay", "backoff")) or len(positional) > 2
        return _policy(how, attempts=_int(tries) or 0, backoff=backoff, bounded=bounded,
                       broad=exceptions is None or _names_broad(exceptions))
    on = positional[0] if positional else keywords.get("on")
    return _policy(how, attempts=_int(keywords.get("attempts")) or 10, backoff=True, bounded=True,
                   broad=on is not None and _names_broad(on))


def _policy(how: str, attempts: Optional[int], backoff: bool, bounded: bool, broad: bool) -> dict:
    return {"how": how, "attempts": attempts or 0, "backoff": backoff, "bounded": bounded, "broad": broad,
            "lines": None}


def _tenacity_attempts(stop: Optional[ast.expr]) -> int:
    """``stop_after_attempt(5)`` -> 5 (0 when not a plain attempt count)."""
    if isinstance(stop, ast.Call) and _dotted(stop.func).endswith("stop_after_attempt") and stop.args:
        return _int(stop.args[0]) or 0
    return 0


def _broad_retry(retry: ast.expr) -> bool:
    """``retry_if_exception_type()`` / ``retry_if_exception_type(Exception)``: every exception."""
    if isinstance(retry, ast.Call) and _dotted(retry.func).endswith("retry_if_exception_type"):
        return not retry.args or _names_broad(retry.args[0])
    if isinstance(retry, ast.Call) and _dotted(retry.func).endswith("retry_if_exception"):
        return False
    return isinstance(retry, ast.Attribute) and retry.attr == "retry_any"


def _exception_names(facts, node: ast.expr) -> list:
    """Qualified names of the exception classes in ``X`` or ``(X, Y)``."""
    names = node.elts if isinstance(node, (ast.Tuple, ast.List)) else [node]
    return [_qualified(facts, _dotted(n)) for n in names if _dotted(n)]


def _qualified(facts, name: str) -> str:
    head, _, rest = name.partition(".")
    qualified = facts.imports.get(head, head)
    return f"{qualified}.{rest}" if rest else qualified


def _names_broad(node: ast.expr) -> bool:
    names = node.elts if isinstance(node, (ast.Tuple, ast.List)) else [node]
    return any(_dotted(n).rsplit(".", 1)[-1] in _BROAD_EXCEPTIONS for n in names)


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def _int(node: Optional[ast.expr]) -> Optional[int]:
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        return -node.operand.value if isinstance(node.operand.value, int) else None
    return None


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None
