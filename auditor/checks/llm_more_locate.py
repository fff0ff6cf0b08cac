"""Find the function that holds a line (for shapes recorded by line: retry loops, prompt texts)."""

from __future__ import annotations

from typing import Optional

from auditor.facts import Function, ModuleFacts


def function_at(facts: ModuleFacts, line: int) -> Optional[Function]:
    """The innermost function (not the module scope) whose definition spans ``line``."""
    best: Optional[Function] = None
    for function in facts.functions:
        if function.name == "<module>" or not function.line <= line <= function.end_line:
            continue
        if best is None or function.line >= best.line:
            best = function
    return best
