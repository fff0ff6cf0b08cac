"""LLM108: prompt text that defeats the providers' prompt caching.

Provider prompt caches (OpenAI automatic caching from 1,024 tokens, Anthropic ``cache_control``,
Gemini implicit caching) match the *prefix* of the request exactly. Reported:

- a prompt built in a function whose leading part changes per call (a timestamp, a uuid, a request
  id, or another interpolated value) while at least ~1,024 tokens of static text follow it: the
  static text is billed at the full input price on every call instead of the cached price;
- Anthropic content blocks where a block that changes per call comes before the block marked with
  ``cache_control``: every call writes a new cache entry (1.25x the input price) that is never read.
"""

from __future__ import annotations

import re
from typing import Iterator

from auditor.checks.base import make_finding
from auditor.checks.llm_more_locate import function_at
from auditor.findings import Finding
from auditor.link import Program
from auditor.llm.model import llm_model

CHARS_PER_TOKEN = 4  # the usual estimate for English text
MIN_CACHEABLE_TOKENS = 1024  # OpenAI's minimum; Anthropic's is 1,024 to 4,096 depending on the model
_PROMPT_SINKS = re.compile(r"prompt|system|instruction|content|text|message|preamble|template|guide|"
                           r"context|^human$|^user$|^return$", re.IGNORECASE)
_PROMPT_FUNCTIONS = re.compile(r"prompt|system|instruction|message|preamble|template", re.IGNORECASE)


def check_prompt_cache(program: Program) -> Iterator[Finding]:
    """Report prompt prefixes that change per call ahead of long static text."""
    model = llm_model(program)
    if not model.calls:
        return
    for facts in program.facts:
        marked_groups: set = set()
        for prompt in facts.prompts:
            function = function_at(facts, prompt.line)
            if function is None or not _near_llm_call(program, function.qualname):
                continue
            if not _PROMPT_SINKS.search(prompt.sink or ""):
                continue
            if prompt.sink == "return" and not _PROMPT_FUNCTIONS.search(function.name):
                continue
            head, static = _changing_head(program, facts, prompt.parts)
            if head is None:
                continue  # every value in it is a module constant: the text does not change
            if prompt.kind == "before-cache-marker":
                if prompt.group not in marked_groups:  # the first changing block of a list is enough
                    marked_groups.add(prompt.group)
                    yield _marker_finding(program, facts, function, prompt, head)
                continue
            tokens = static // CHARS_PER_TOKEN
            if tokens < MIN_CACHEABLE_TOKENS:
                continue
            yield _prefix_finding(program, facts, function, prompt, head, tokens)


def _near_llm_call(program: Program, qualname: str) -> bool:
    """The function makes an LLM call (directly or through helpers), or a direct caller does."""
    summary = program.summaries.get(qualname)
    if summary is not None and "llm" in summary.chains:
        return True
    for caller in program.callers.get(qualname, ()):
        summary = program.summaries.get(caller)
        if summary is not None and "llm" in summary.chains:
            return True
    return False


def _changing_head(program: Program, facts, parts: list) -> tuple:
    """``(the first part that changes per call, characters of static text after it)``; ``(None, 0)`` when
    nothing changes. Literal text and names of module-level string constants are static."""
    head = None
    static = 0
    for part in parts:
        length = part[1] if part[0] == "text" else (_constant_length(program, facts, part[1]) if part[0] == "name"
                                                      else 0)
        # a date changes once a day: cached prefixes still hit all day long
        constant = part[0] == "text" or (part[0] == "name" and length > 0) or part[2] == "day"
        if head is None:
            if not constant:
                head = part
        elif constant:
            static += length
    return head, static


def _constant_length(program: Program, facts, name: str) -> int:
    """Characters of the module-level string constant ``name`` refers to (0 if it is not one)."""
    head, _, rest = name.partition(".")
    if not rest and isinstance(facts.constants.get(head), str):
        return len(facts.constants[head])
    qualified = facts.imports.get(head)
    if qualified is None:
        return 0
    qualified = f"{qualified}.{rest}" if rest else qualified
    module, _, constant = program.index.canonical(qualified).rpartition(".")
    owner = program.index.modules.get(module)
    value = owner.constants.get(constant) if owner is not None else None
    return len(value) if isinstance(value, str) else 0


def _what_changes(head: list) -> str:
    return {"clock": "the current time", "uuid": "a random uuid", "random": "a random value",
            "random id": "a random token", "request id": "a per-request id"}.get(head[2], "")


def _prefix_finding(program: Program, facts, function, prompt, head: list, tokens: int) -> Finding:
    changes = _what_changes(head)
    value = head[1]
    if changes:
        shown = f"`{value}` ({changes}, which changes from one call to the next)"
        effect = "never matches a cached prefix"
    else:
        shown = f"`{value}`"
        effect = "matches a cached prefix only when that value repeats"
    message = (f"The prompt built here puts {shown} before about {tokens:,} tokens of static text: provider "
               f"prompt caches match the request prefix exactly, so the static text {effect} and is billed "
               f"at the full input price on every call.")
    remediation = ("Put the static text first and what changes last: the system prompt (or the block marked "
                   "with `cache_control`) holds only the constant guide, and the date, ids and per-user values "
                   "go at the end of the system prompt or into the user message. Round timestamps to the day if "
                   "the model needs them at all.")
    return make_finding("LLM108", program, function, facts.path, prompt.line, 0, prompt.line, message, remediation,
                        prompt.excerpt, confidence=None if changes else "medium",
                        severity_steps=0 if changes else -1, raise_on_request=False,
                        context={"changing": value, "static_tokens_estimate": tokens, "sink": prompt.sink},
                        impact=f"About {tokens:,} input tokens per call billed at the full price instead of the "
                               f"cached price (10% on Anthropic, 50% on OpenAI).")


def _marker_finding(program: Program, facts, function, prompt, head: list) -> Finding:
    changes = _what_changes(head)
    shown = f"`{head[1]}` ({changes})" if changes else f"`{head[1]}`"
    message = (f"A content block built from {shown} comes before the block marked with `cache_control`: the "
               f"cache entry covers everything up to the marker, so it changes with that value; every such call "
               f"writes a new entry (1.25x the input price) that the next call cannot read.")
    remediation = ("Order the blocks static-first: the constant blocks with the `cache_control` marker on the last "
                   "of them, then the blocks that change per call (dates, user details, retrieved context).")
    return make_finding("LLM108", program, function, facts.path, prompt.line, 0, prompt.line, message, remediation,
                        prompt.excerpt, confidence=None if changes else "medium",
                        raise_on_request=False, context={"changing": head[1], "sink": prompt.sink},
                        impact="Cache writes at 1.25x the input price on every call, no cache reads.")
