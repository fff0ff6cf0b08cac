"""LLM110: LLM functions in SQL (Snowflake Cortex, pgai) billed once per row or once per loop iteration.

A Cortex function such as ``SNOWFLAKE.CORTEX.COMPLETE`` or ``AI_COMPLETE`` (or a pgai function such as
``ai.openai_embed`` in PostgreSQL) runs one billed model call per row it is applied to. Two shapes are reported:

- the statement is sent from inside a Python loop (directly, or through helpers that send it):
  N statements, N warehouse round trips and N model calls where one set-based statement would do;
- the function is applied over a table scan that nothing bounds (no WHERE, LIMIT or sample on the
  rows it reads): every row of the table is a billed call, on every run.
"""

from __future__ import annotations

import re
from typing import Iterator, Optional

from sqlglot import exp

from auditor.checks.base import effective_loops, loop_description, make_finding
from auditor.facts import Function
from auditor.findings import Finding
from auditor.link import Hop, Program
from auditor.sql.statements import SQL_METHODS, Statement

# Functions of the SNOWFLAKE.CORTEX schema (reported when written with the schema, or with CORTEX.).
CORTEX_FUNCTIONS = {
    "COMPLETE", "TRY_COMPLETE", "SUMMARIZE", "SENTIMENT", "TRANSLATE", "EXTRACT_ANSWER", "CLASSIFY_TEXT",
    "EMBED_TEXT_768", "EMBED_TEXT_1024", "ENTITY_SENTIMENT", "FINETUNE",
}
# The AISQL functions, which need no schema.
AI_FUNCTIONS = {
    "AI_COMPLETE", "AI_CLASSIFY", "AI_FILTER", "AI_AGG", "AI_SUMMARIZE_AGG", "AI_EMBED", "AI_SIMILARITY",
    "AI_SENTIMENT", "AI_TRANSLATE", "AI_EXTRACT", "AI_PARSE_DOCUMENT", "AI_TRANSCRIBE", "AI_REDACT",
    "AI_COUNT_TOKENS",
}
# pgai (Timescale) functions in the ``ai`` schema, and Azure's ``azure_ai`` extension: each calls a
# model API per row from inside PostgreSQL.
PGAI_PREFIXES = ("OPENAI_", "ANTHROPIC_", "OLLAMA_", "COHERE_", "VOYAGEAI_", "LITELLM_")
PGAI_SKIP = {"OPENAI_LIST_MODELS", "OLLAMA_LIST_MODELS", "OLLAMA_PS", "COHERE_LIST_MODELS",
             "OPENAI_TOKENIZE", "OPENAI_DETOKENIZE", "COHERE_TOKENIZE", "COHERE_DETOKENIZE"}
AZURE_AI_FUNCTIONS = {"CREATE_EMBEDDINGS"}
# Billed by input tokens only (still one model call per row).
_EMBEDDING = {"EMBED_TEXT_768", "EMBED_TEXT_1024", "AI_EMBED", "AI_SIMILARITY", "ai.openai_embed", "ai.ollama_embed",
              "ai.cohere_embed", "ai.voyageai_embed", "ai.litellm_embed", "azure_openai.create_embeddings"}
_NOT_BILLED = {"AI_COUNT_TOKENS", "FINETUNE"}
_TEXT_PATTERN = re.compile(
    r"\b(?:SNOWFLAKE\s*\.\s*)?CORTEX\s*\.\s*(" + "|".join(sorted(CORTEX_FUNCTIONS)) + r")\s*\(|\b("
    + "|".join(sorted(AI_FUNCTIONS)) + r")\s*\(", re.IGNORECASE)


def check_llm_sql(program: Program) -> Iterator[Finding]:
    """LLM110 over every statement that calls a Cortex function."""
    analysis = program.sql
    if analysis is None:
        return
    texts = None  # (path, line) -> the text of the call there that sends SQL (read when first needed)
    sites: dict = {}  # (path, line) of a call sending Cortex SQL -> (statement, functions, [Hop])
    senders: dict = {}  # function qualname -> the first of its sites
    for statement in analysis.statements:
        functions = cortex_functions(statement)
        if not functions:
            continue
        tree = statement.parsed.tree
        if tree is not None:
            yield from _unbounded_scans(program, statement, tree, functions)
        if texts is None:
            texts = _call_texts(program)
        for site in statement.sites:
            label = f"{texts.get((site.path, site.line), 'execute')}()"
            entry = (statement, functions, [Hop(site.path, site.line, label)])
            sites.setdefault((site.path, site.line), entry)
            senders.setdefault(site.function, entry)
    if senders:
        yield from _in_loops(program, sites, senders)


def _call_texts(program: Program) -> dict:
    """(path, line) -> the text of the call there, a call that sends SQL when a line has several."""
    texts: dict = {}
    for infos in program.calls.values():
        for info in infos:
            if info.call.text.rsplit(".", 1)[-1] in SQL_METHODS or (info.path, info.call.line) not in texts:
                texts[(info.path, info.call.line)] = info.call.text
    return texts


def cortex_functions(statement: Statement) -> list:
    """Names of the billed LLM functions the statement calls, in order: Cortex/AISQL names upper-case
    (``COMPLETE``, ``AI_COMPLETE``), pgai and azure_ai ones with their schema (``ai.openai_embed``)."""
    tree = statement.parsed.tree
    names = []
    if tree is not None:
        for node in tree.find_all(exp.Func):
            name = _function_name(node)
            if name and name not in names:
                names.append(name)
        return [n for n in names if n not in _NOT_BILLED]
    for match in _TEXT_PATTERN.finditer(statement.text):
        name = (match.group(1) or match.group(2)).upper()
        if name not in names:
            names.append(name)
    return [n for n in names if n not in _NOT_BILLED]


def _function_name(node: exp.Func) -> str:
    """The Cortex/AISQL name of a function node, or ''."""
    if isinstance(node, exp.Anonymous):
        name = str(node.this).upper()
    else:
        name = node.sql_name().upper()
    if name in AI_FUNCTIONS:
        return name
    if not (isinstance(node.parent, exp.Dot) and node.parent.expression is node):
        return ""
    qualifier = node.parent.this.sql().upper().replace('"', "")
    if name in CORTEX_FUNCTIONS and qualifier.endswith("CORTEX"):
        return name
    if qualifier == "AI" and name.startswith(PGAI_PREFIXES) and name not in PGAI_SKIP:
        return f"ai.{name.lower()}"
    if qualifier == "AZURE_OPENAI" and name in AZURE_AI_FUNCTIONS:
        return f"azure_openai.{name.lower()}"
    return ""


# ------------------------------------------------------------------ unbounded scans
def _unbounded_scans(program: Program, statement: Statement, tree: exp.Expression,
                     functions: list) -> Iterator[Finding]:
    ctes = {cte.alias_or_name.lower(): cte.this for cte in tree.find_all(exp.CTE)}
    for select in _selects_applying(tree, ctes):
        table = _unbounded_table(select, ctes, depth=0)
        if table is None:
            continue
        names = ", ".join(functions)
        kind = "embedding" if set(functions) <= _EMBEDDING else "model"
        yield _statement_finding(
            program, statement,
            f"`{names}` runs once for every row of `{table}`: nothing bounds the rows it is applied to (no "
            f"WHERE, LIMIT or SAMPLE), so each run of this statement bills one {kind} call per row of the "
            f"table, and again for rows already processed",
            "Apply the function only to rows that need it: filter to new or changed rows "
            "(`WHERE summary IS NULL`, `WHERE updated_at > :last_run`, or an anti-join on the results table), "
            "persist the results so they are computed once, and test on a `SAMPLE (100 ROWS)` or `LIMIT` first. "
            "For interactive use, cap the rows with `LIMIT`.",
            context={"functions": functions, "table": table, "shape": "unbounded scan"})
        return


def _selects_applying(tree: exp.Expression, ctes: dict) -> list:
    """The SELECT/UPDATE nodes that apply a Cortex function to their own rows, outermost first."""
    found = []
    for node in tree.find_all(exp.Func):
        if not _function_name(node) or _function_name(node) in _NOT_BILLED:
            continue
        owner = node.find_ancestor(exp.Select, exp.Update)
        if owner is not None and owner not in found:
            found.append(owner)
    return found


def _unbounded_table(node: exp.Expression, ctes: dict, depth: int) -> Optional[str]:
    """The table whose every row ``node`` reads, when nothing bounds them; else None."""
    if depth > 5:
        return None
    if isinstance(node, exp.Update):
        if node.args.get("where") is not None or node.args.get("from") or node.args.get("from_"):
            return None
        return node.this.name if isinstance(node.this, exp.Table) else None
    if not isinstance(node, exp.Select):
        return None
    if any(node.args.get(key) is not None for key in ("limit", "fetch", "qualify")):
        return None
    if _has_plain_filter(node.args.get("where")):
        return None
    if node.args.get("joins"):
        return None  # a join filters the rows: not reported
    source = node.args.get("from_") or node.args.get("from")
    if source is None:
        return None
    inner = source.this
    if isinstance(inner, exp.Table):
        if inner.args.get("sample") is not None or not inner.name:
            return None
        cte = ctes.get(inner.name.lower())
        if cte is not None:
            return _unbounded_table(cte, ctes, depth + 1)
        return inner.name
    if isinstance(inner, exp.Subquery):
        return _unbounded_table(inner.this, ctes, depth + 1)
    return None  # VALUES, table functions, stages: a fixed input


def _has_plain_filter(where: Optional[exp.Expression]) -> bool:
    """A WHERE with at least one condition that is not itself a Cortex call (``WHERE AI_FILTER(...)``
    alone still calls the model on every row)."""
    if where is None:
        return False
    node = where.this if isinstance(where, exp.Where) else where
    parts = []
    stack = [node]
    while stack:
        current = stack.pop()
        while isinstance(current, exp.Paren):
            current = current.this
        if isinstance(current, exp.And):
            stack.extend([current.this, current.expression])
        else:
            parts.append(current)
    return any(not any(_function_name(f) for f in part.find_all(exp.Func)) for part in parts)


# ------------------------------------------------------------------ loops
def _in_loops(program: Program, sites: dict, senders: dict) -> Iterator[Finding]:
    """Calls inside loops that send Cortex SQL, directly or through repository helpers."""
    chains = _propagate(program, senders)
    for qualname, infos in program.calls.items():
        function = program.index.functions.get(qualname)
        if function is None:
            continue
        reported = set()
        for info in infos:
            loops = effective_loops(function, info.call.loop)
            if not loops or info.call.leaves_loop or info.synthetic or info.call.line in reported:
                continue
            found = sites.get((info.path, info.call.line)) or _through_helper(program, qualname, info, chains)
            if found is None:
                continue
            reported.add(info.call.line)
            statement, functions, chain = found
            yield _loop_finding(program, function, info, loops[0], len(loops), statement, functions, chain)


def _through_helper(program: Program, qualname: str, info, chains: dict) -> Optional[tuple]:
    """(statement, functions, chain) when ``info`` calls a repository helper that sends Cortex SQL."""
    for target in info.targets:
        if target in chains and target not in program.cached and target != qualname:
            statement, functions, chain = chains[target]
            return statement, functions, [Hop(info.path, info.call.line, f"{info.call.text}()")] + chain
    return None


def _propagate(program: Program, senders: dict) -> dict:
    """Function qualname -> (statement, functions, chain) for every function that (transitively)
    sends Cortex SQL; cached functions stop the flow (they run once per key)."""
    chains = dict(senders)
    changed = True
    while changed:
        changed = False
        for qualname, infos in program.calls.items():
            if qualname in chains:
                continue
            for info in infos:
                target = next((t for t in info.targets if t in chains and t not in program.cached
                               and t != qualname), None)
                if target is not None:
                    statement, functions, chain = chains[target]
                    chains[qualname] = (statement, functions,
                                        [Hop(info.path, info.call.line, f"{info.call.text}()")] + chain)
                    changed = True
                    break
    return chains


def _loop_finding(program: Program, function: Function, info, loop, depth: int, statement: Statement,
                  functions: list, chain: list) -> Finding:
    call = info.call
    names = ", ".join(functions)
    through = len(chain) > 1
    via = f" through {len(chain) - 1} helper call{'s' if len(chain) > 2 else ''} ending at " \
          f"{chain[-1].render()}" if through else ""
    message = (f"`{call.text}()` sends SQL calling `{names}` on every iteration of `{loop_description(loop)}` "
               f"(line {loop.line}){via}: one statement, one warehouse round trip and one billed model call "
               f"per item")
    remediation = ("Make it one set-based statement: load the items into a table (a temporary table, "
                   "`executemany` into a staging table, or `write_pandas`) and run the Cortex function once "
                   "over it (`INSERT INTO results SELECT id, SNOWFLAKE.CORTEX.COMPLETE(...) FROM staged WHERE ...`), "
                   "or pass every item at once in a single `SELECT ... FROM VALUES (...)` with bind parameters "
                   "(never by formatting the text into the SQL).")
    return make_finding(
        "LLM110", program, function, info.path, call.line, call.col, call.end_line, message, remediation,
        call.excerpt, chain=[f"{info.path}:{loop.line} {loop_description(loop)}"] + [h.render() for h in chain],
        context={"functions": functions, "loop": loop_description(loop), "loop_line": loop.line,
                 "loop_depth": depth, "statement": f"{statement.path}:{statement.line}", "shape": "loop"},
        severity_steps=1 if depth > 1 else 0,
        impact=f"One billed Cortex call and one round trip per item of `{loop.iter_text}`.")


def _statement_finding(program: Program, statement: Statement, message: str, remediation: str,
                       context: dict) -> Finding:
    holder = program.index.functions.get(statement.function) or Function(
        qualname=statement.function, name="", cls="", line=statement.line, end_line=statement.line, is_async=False)
    context = dict(context)
    on_request = [site for site in statement.sites if site.request_path]
    steps = 0
    if on_request and holder.qualname not in program.handler_paths:
        steps = 1
        context["request_path"] = [site.render() for site in on_request[:5]]
    sent_from = [site.render() for site in statement.sites]
    if sent_from:
        context["sent_from"] = sent_from[:10]
    excerpt = " ".join(statement.text.split())[:200]
    return make_finding("LLM110", program, holder, statement.path, statement.line, 0, statement.line, message,
                        remediation, excerpt, context=context, severity_steps=steps,
                        impact="One billed model call per row of the table, on every run.")
