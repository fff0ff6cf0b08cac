"""LLM103 LLM call in a loop, LLM104 embeddings one item at a time (also through helpers).

Not reported: retry and polling loops and loops over a handful of constants
(``effective_loops``); coroutines collected in a loop without ``await`` (then gathered: that
is the fix); a loop whose next call feeds on the previous answer (an agent/conversation loop:
``messages.append(reply)``, ``prev_id = reply.id``) or that stops on a result (search until
found); a loop that builds a provider batch job; embedding calls given a
chunk of the items (``texts[i:i + 100]``, ``batched(texts, 100)``).
"""

from __future__ import annotations

import re

from auditor.checks.base import effective_loops, loop_bound_names, loop_description, make_finding
from auditor.checks.llm_base import call_label, cap_text, cost_context
from auditor.link import CallInfo, Program
from auditor.llm.model import LlmCall, llm_model

_BATCH_JOB = re.compile(r"(^|\.)(batches\.create|create_model_invocation_job|batch\.jobs\.create)$")
_APPENDERS = {"append", "extend", "add", "insert", "update", "appendleft"}
_CHUNKED = re.compile(r"\b(batched|chunked|chunks|chunk|batches|grouper|islice)\(")
_CHUNK_NAME = re.compile(r"(batch|chunk|group|page)", re.IGNORECASE)
_SLICE = re.compile(r"\[[^\]]*:[^\]]*\]")


def check_llm_loops(program: Program) -> list:
    """Report LLM calls (LLM103) and single-item embedding calls (LLM104) repeated per loop item."""
    model = llm_model(program)
    findings = []
    for qualname, infos in program.calls.items():
        function = program.index.functions[qualname]
        batch_job = None  # any batch-job submission in the function (decided when first needed)
        for info in infos:
            if info.call.loop is None or info.call.leaves_loop:
                continue
            chain = program.effect_chain(info, "llm")
            if chain is None:
                continue
            loops = effective_loops(function, info.call.loop)
            if batch_job is None:
                batch_job = any(_BATCH_JOB.search(other.call.text) for other in infos)
            if not loops or batch_job:
                continue
            terminal = model.terminal(info)
            if terminal is None or _collected_not_awaited(program, info, terminal):
                continue
            bound = loop_bound_names(function, loops)
            if terminal.kind == "embedding":
                finding = _embedding_finding(program, function, info, terminal, loops, chain, bound)
            else:
                finding = _loop_finding(program, function, infos, info, terminal, loops, chain)
            if finding is not None:
                findings.append(finding)
    return findings


def _collected_not_awaited(program: Program, info: CallInfo, terminal: LlmCall) -> bool:
    """``tasks = [client.chat.completions.create(...) for x in xs]`` then ``gather``: concurrent."""
    if info.call.awaited:
        return False
    if info.effect == "llm":
        return terminal.is_async
    return any(program.index.functions[target].is_async for target in info.targets
               if target in program.index.functions)


def _carries_answer(infos: list, info: CallInfo) -> bool:
    """The loop appends to a name the call reads (``messages.append(reply)``): each call needs
    the previous answer, so the calls cannot run at once."""
    names = set(info.call.names)
    for other in infos:
        if other.call.loop is None or other.call.line < info.call.line:
            continue
        receiver, _, method = other.call.text.rpartition(".")
        if method in _APPENDERS and receiver in names:
            return True
    return False


def _loop_carried(loop, info: CallInfo) -> bool:
    """An agent or search loop: the call reads a name the iteration reassigns after it
    (``prev_id = resp.id``), or the loop stops on a result (``break``/``return``: search until
    found, or an agent's step limit), so its calls cannot all be sent at once."""
    names = set(info.call.names) - set(loop.targets)
    if any(name in names and line >= info.call.line for name, line in loop.stores):
        return True
    return loop.exits


def _callee_loops(program: Program, info: CallInfo, chain: list) -> bool:
    """The helper makes its LLM calls in a loop of its own: reported there, not again here."""
    if len(chain) < 2:
        return False
    for target in info.targets:
        function = program.index.functions.get(target)
        for inner in program.calls.get(target, []):
            if inner.call.line == chain[1].line and inner.path == chain[1].path \
                    and effective_loops(function, inner.call.loop) and not inner.call.leaves_loop:
                return True
    return False


def _count(loops: list) -> str:
    sizes = [loop.literal_size for loop in loops]
    if sizes and all(isinstance(size, int) for size in sizes):
        total = 1
        for size in sizes:
            total *= size
        return str(total)
    return "N"


def _loop_finding(program: Program, function, infos: list, info: CallInfo, terminal: LlmCall,
                  loops: list, chain: list):
    if terminal.stream and info.effect == "llm" and info.call.role == "iter":
        return None
    if _carries_answer(infos, info) or _loop_carried(loops[0], info) or _callee_loops(program, info, chain):
        return None
    loop = loops[0]
    call = info.call
    via = f" through {len(chain) - 1} helper call{'s' if len(chain) > 2 else ''} ending at {chain[-1].render()}" \
        if len(chain) > 1 else ""
    count = _count(loops)
    sequential = "awaited one by one" if terminal.is_async else "made one after another"
    message = (f"`{call.text}()` makes an LLM call ({call_label(terminal)}, {cap_text(terminal)}) on every "
               f"iteration of `{loop_description(loop)}` (line {loop.line}){via}: {count} requests {sequential}.")
    if terminal.is_async:
        fix = ("Start the calls together: `await asyncio.gather(*(task(x) for x in items))` behind an "
               "`asyncio.Semaphore` sized to your rate limit")
    elif terminal.provider.startswith("langchain"):
        fix = "Send the items in one `chain.batch(inputs, config={\"max_concurrency\": 5})` (or `abatch`)"
    else:
        fix = ("Run the calls concurrently (`asyncio.gather` with the async client and a semaphore, or a "
               "thread pool)")
    remediation = (f"{fix}. That cuts latency, not cost: for offline jobs use the provider's batch API "
                   "(about 50% cheaper, results within 24 h); for many tiny items, put several in one "
                   "prompt.")
    multiplier = int(count) if count != "N" else 1
    context = {"loop": loop_description(loop), "loop_line": loop.line, "loop_depth": len(loops),
               "calls": count, "max_tokens": terminal.max_tokens.number() if terminal.max_tokens else None,
               "cost": cost_context(program, terminal, multiplier)}
    return make_finding("LLM103", program, function, info.path, call.line, call.col, call.end_line, message,
                        remediation, call.excerpt,
                        chain=[f"{info.path}:{loop.line} {loop_description(loop)}"] + [h.render() for h in chain],
                        context=context, severity_steps=1 if len(loops) > 1 else 0,
                        impact=f"{count} sequential LLM round trips (seconds each) per run of the loop.")


def _embedding_finding(program: Program, function, info: CallInfo, terminal: LlmCall, loops: list,
                       chain: list, bound: set):
    call = info.call
    if not (_input_names(info, terminal) & bound):
        return None  # the input does not change per item
    loop = loops[0]
    if _CHUNKED.search(loop.iter_text) or _stepped_range(loop.iter_text) \
            or any(_CHUNK_NAME.search(t) for t in loop.targets):
        return None
    if info.effect == "llm" and not terminal.single and _passes_many(terminal):
        return None
    targets = {name for each in loops for name in each.targets}
    if info.effect != "llm" and not (set(call.names) & targets):
        return None  # a helper given something built per iteration (often a batch), not the item
    count = _count(loops)
    via = f" through {len(chain) - 1} helper call{'s' if len(chain) > 2 else ''} ending at {chain[-1].render()}" \
        if len(chain) > 1 else ""
    message = (f"`{call.text}()` embeds one item per request inside `{loop_description(loop)}` "
               f"(line {loop.line}){via}: {count} embedding requests where one batched call per few hundred "
               "items would do.")
    remediation = (f"Collect the texts and embed them in batches: {_batch_hint(terminal)}; keep batches "
                   "within the provider's limits (OpenAI: 2,048 inputs and 300,000 tokens per request).")
    context = {"loop": loop_description(loop), "loop_line": loop.line, "calls": count,
               "cost": cost_context(program, terminal, int(count) if count != "N" else 1)}
    return make_finding("LLM104", program, function, info.path, call.line, call.col, call.end_line, message,
                        remediation, call.excerpt,
                        chain=[f"{info.path}:{loop.line} {loop_description(loop)}"] + [h.render() for h in chain],
                        context=context,
                        impact=f"{count} embedding round trips instead of a handful; same tokens billed.")


def _stepped_range(text: str) -> bool:
    """``range(0, len(texts), 500)`` (also ``trange``, ``tqdm(range(...))``): chunk offsets."""
    for match in re.finditer(r"\brange\(", text):
        depth, commas = 1, 0
        for char in text[match.end():]:
            depth += char in "([{"
            depth -= char in ")]}"
            if depth == 0:
                break
            commas += char == "," and depth == 1
        if commas >= 2:
            return True
    return False


def _input_names(info: CallInfo, terminal: LlmCall) -> set:
    """Names the embedded input reads (for a helper call: every name its arguments read)."""
    position = terminal.input_arg
    key = position if isinstance(position, str) else str(position) if position == 0 else None
    if info.effect == "llm" and key in info.call.arg_names:
        return set(info.call.arg_names[key])
    return set(info.call.names)


def _passes_many(terminal: LlmCall) -> bool:
    """The embedding call is given several items (a slice or a list of several), not one."""
    call = terminal.call
    position = terminal.input_arg
    tree = call.kwargs.get(position) if isinstance(position, str) else None
    if tree is None and isinstance(position, int) and len(call.arg_trees) > position:
        tree = call.arg_trees[position]
    if isinstance(tree, list):
        return len(tree) > 1
    if isinstance(tree, dict):
        text = str(tree.get("expr") or tree.get("name") or "")
        return bool(_SLICE.search(text)) or bool(_CHUNK_NAME.search(text.rsplit(".", 1)[-1]))
    return False


def _batch_hint(terminal: LlmCall) -> str:
    method = terminal.method
    if method.endswith("embed_query") or method.endswith("aembed_query"):
        return "`embeddings.embed_documents(texts)`"
    if "ollama" in terminal.provider and method.endswith("embeddings"):
        return "`ollama.embed(model=..., input=texts)`"
    if terminal.provider == "litellm":
        return "`litellm.embedding(model=..., input=texts[i:i + 500])`"
    return "`client.embeddings.create(model=..., input=texts[i:i + 500])`"
