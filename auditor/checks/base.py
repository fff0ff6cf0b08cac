"""Shared pieces of the checks: building a finding from its rule, loop context."""

from __future__ import annotations

from typing import Optional

from auditor.facts import Function, Loop
from auditor.findings import Finding, lower_severity, priority_for, raise_severity
from auditor.link import Hop, Program
from auditor.rules import load_rules

RETRY_TARGETS = ("attempt", "retr", "tries", "try")


def make_finding(rule_id: str, program: Program, function: Function, path: str, line: int,
                 column: int, end_line: int, message: str, remediation: str, excerpt: str,
                 chain: Optional[list] = None, context: Optional[dict] = None,
                 severity_steps: int = 0, confidence: Optional[str] = None, impact: str = "",
                 raise_on_request: bool = True) -> Finding:
    """A finding of ``rule_id`` ranked by request reachability and the given adjustments.

    ``raise_on_request=False`` records the request path without raising the severity (for rules
    whose evidence already weighs it, such as IDX101).
    """
    rule = load_rules()[rule_id]
    severity = rule.severity
    context = dict(context or {})
    handler_path = program.handler_paths.get(function.qualname)
    if handler_path is not None:
        context["request_path"] = [hop.render() for hop in handler_path]
        severity_steps += 1 if raise_on_request else 0
    elif function.qualname in program.admin_paths:
        context["admin_request_path"] = [hop.render() for hop in program.admin_paths[function.qualname]]
    if severity_steps > 0:
        severity = raise_severity(severity, severity_steps)
    elif severity_steps < 0:
        severity = lower_severity(severity, -severity_steps)
    confidence = confidence or rule.confidence
    return Finding(
        rule=rule.id,
        title=rule.title,
        category=rule.category,
        severity=severity,
        confidence=confidence,
        path=path,
        line=line,
        column=column,
        end_line=end_line,
        function=function.qualname,
        message=message,
        remediation=remediation,
        effort=rule.effort,
        impact=impact,
        excerpt=excerpt,
        chain=[hop.render() if isinstance(hop, Hop) else hop for hop in (chain or [])],
        context=context,
        priority=priority_for(severity, confidence),
    )


def is_small_constant_loop(loop: Loop) -> bool:
    """A loop over a literal of a few constants, ``range(<=10)``, or a retry loop."""
    if loop.literal_size is not None and loop.literal_size <= 10:
        return True
    if loop.iter_text.startswith("range(") and loop.targets:
        target = loop.targets[0].lower()
        if target == "_" or any(word in target for word in RETRY_TARGETS):
            return True
    return False


def effective_loops(function: Function, loop_id: Optional[int]) -> list:
    """Enclosing loops that repeat work per item, innermost first.

    ``while`` loops (polling, batching, retrying) and loops over a handful of constants do
    not count.
    """
    loops = []
    current = loop_id
    while current is not None:
        loop = function.loops[current]
        if loop.kind != "while" and not is_small_constant_loop(loop):
            loops.append(loop)
        current = loop.parent
    return loops


def loop_bound_names(function: Function, loops: list) -> set:
    """Names that change from one iteration to the next of any of ``loops``."""
    names: set = set()
    for loop in loops:
        names.update(loop.targets)
        names.update(loop.bound)
    for inner in function.loops:
        if inner.parent is not None and any(_inside(function, inner, outer) for outer in loops):
            names.update(inner.targets)
            names.update(inner.bound)
    return names


def loop_subtree(function: Function, loop_id: int) -> set:
    """The id of ``loop_id`` and of every loop nested in it."""
    inside = {loop_id}
    changed = True
    while changed:
        changed = False
        for loop in function.loops:
            if loop.parent in inside and loop.id not in inside:
                inside.add(loop.id)
                changed = True
    return inside


def _inside(function: Function, inner: Loop, outer: Loop) -> bool:
    current = inner.parent
    while current is not None:
        if current == outer.id:
            return True
        current = function.loops[current].parent
    return False


def loop_description(loop: Loop) -> str:
    """``for order in orders`` style text."""
    if loop.kind == "comprehension":
        return f"comprehension over {loop.iter_text}"
    target = ", ".join(loop.targets) or "_"
    return f"for {target} in {loop.iter_text}"
