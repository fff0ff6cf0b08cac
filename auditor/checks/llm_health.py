"""LLM109: a health, readiness or liveness endpoint that makes a billed LLM call.

Load balancers and Kubernetes probe these endpoints every few seconds on every replica: a
probe that sends a completion bills one model call per probe (every 10 s is 8,640 calls a day
per replica) and fails the probe whenever the provider is slow.
"""

from __future__ import annotations

import re
from typing import Iterator, Optional

from auditor.checks.base import make_finding
from auditor.findings import Finding
from auditor.link import Program
from auditor.llm.model import llm_model

PROBE_SEGMENTS = {"health", "healthz", "healthcheck", "health-check", "health_check", "ready", "readyz",
                  "readiness", "live", "livez", "liveness", "alive", "startup", "startupz"}
# Only when the whole route has no parameters: ``/ping``, ``/status`` (not ``/jobs/{id}/status``).
PLAIN_PROBE_SEGMENTS = {"ping", "status"}
PROBE_NAMES = re.compile(r"^(health|healthz|health_check|healthcheck|readiness|readyz|ready|liveness|livez|"
                         r"live|ping)(_\w+)?$")
_ROUTE = re.compile(r"""^\s*[\w.]+\(\s*(?:path\s*=\s*|rule\s*=\s*)?[rfbu]?(['"])(.*?)\1""")


def check_llm_health(program: Program) -> Iterator[Finding]:
    """Report health/readiness handlers that reach a billed LLM call."""
    model = llm_model(program)
    for qualname in sorted(program.handlers):
        function = program.index.functions.get(qualname)
        if function is None:
            continue
        route = probe_route(function)
        if route is None:
            continue
        for info in program.calls.get(qualname, []):
            chain = program.effect_chain(info, "llm")
            if chain is None:
                continue
            llm_call = model.terminal(info)
            if llm_call is None:
                continue
            yield _finding(program, function, info, chain, llm_call, route, model)
            break


def probe_route(function) -> Optional[str]:
    """The probe route of a handler (``/healthz``), the handler's name for probes routed
    elsewhere (URL confs), or None when it is not a probe."""
    for text, _ in function.decorators:
        match = _ROUTE.match(text)
        if match is None:
            continue
        path = match.group(2)
        segments = [s for s in re.split(r"[/.]", path.lower()) if s]
        if any(s in PROBE_SEGMENTS for s in segments):
            return path
        if segments and segments[-1] in PLAIN_PROBE_SEGMENTS and not re.search(r"[{<]", path):
            return path
        return None
    return function.name if PROBE_NAMES.match(function.name) else None


def _finding(program: Program, function, info, chain: list, llm_call, route: str, model) -> Finding:
    call = info.call
    billed = model.provider_info(llm_call.provider).get("billed", True)
    label = model.provider_info(llm_call.provider).get("label", llm_call.provider)
    what = f"a {llm_call.kind} call to {label} (`{llm_call.method}`)"
    via = f" through {len(chain) - 1} helper call{'s' if len(chain) > 2 else ''}" if len(chain) > 1 else ""
    cost = ("each probe bills one model call: a probe every 10 s is 8,640 calls a day per replica"
            if billed else
            "each probe runs a generation on the local model: GPU time and latency on every probe")
    message = (f"The probe endpoint `{route}` (`{function.name}()`) makes {what}{via} at "
               f"{chain[-1].render()}: {cost}, and the probe fails whenever the provider is slow.")
    remediation = ("Keep probes free and fast: check only what the process needs to serve (the database "
                   "pool, configuration). To check the provider, call a free endpoint (`client.models.list()`) "
                   "and cache the result for a minute (`cachetools.func.ttl_cache(ttl=60)`), or report the "
                   "outcome of recent real calls instead of making a new one.")
    return make_finding(
        "LLM109", program, function, info.path, call.line, call.col, call.end_line, message, remediation,
        call.excerpt, chain=[h.render() for h in chain],
        context={"route": route, "provider": llm_call.provider, "method": llm_call.method},
        severity_steps=0 if billed else -1,
        impact="One model call per probe, per replica." if billed else "One local generation per probe.")
