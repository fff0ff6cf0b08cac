"""``audit explain``: a rule's YAML documentation in the terminal, with its bad and good examples
syntax highlighted and the lines the rule reports marked."""

from __future__ import annotations

from rich.console import Console
from rich.syntax import Syntax
from rich.text import Text

CODE_THEME = "monokai"


def _marked_lines(expect, path: str = "") -> set:
    """The ``expect`` lines of an example that belong to ``path`` (``"file.py:7"`` or ``7``)."""
    lines = set()
    for item in expect or []:
        if isinstance(item, int):
            if not path:
                lines.add(item)
        elif isinstance(item, str) and ":" in item:
            where, _, line = item.rpartition(":")
            if where == path and line.isdigit():
                lines.add(int(line))
    return lines


def _code(code: str, marked: set, language: str = "python") -> Syntax:
    return Syntax(code.rstrip("\n"), language, theme=CODE_THEME, line_numbers=True, highlight_lines=marked,
                  word_wrap=False, background_color="default")


def _print_example(console: Console, heading: str, example: dict) -> None:
    title = Text()
    title.append(heading, style="bold")
    if example.get("description"):
        title.append(f": {example['description']}")
    console.print()
    console.print(title)
    if example.get("code"):
        console.print(_code(example["code"], _marked_lines(example.get("expect"))))
    for path, code in sorted((example.get("files") or {}).items()):
        console.print(Text(f"# {path}", style="dim"))
        language = "sql" if path.endswith(".sql") else "python"
        console.print(_code(code, _marked_lines(example.get("expect"), path), language))


def render_rule_doc(rule, console: Console, examples: int = 2) -> None:
    """Print ``rule``'s documentation: header, rationale, the first ``examples`` bad examples (the
    reported lines marked with ❱) and good examples (0: all of them), the remediation and the references."""
    console.print(Text(f"{rule.id} {rule.name}", style="bold") + Text(f": {rule.title}"))
    console.print(f"severity {rule.severity}, confidence {rule.confidence}, category {rule.category}, "
                  f"effort {rule.effort}", markup=False, highlight=False)
    console.print()
    console.print("Why is this bad?", style="bold", markup=False)
    console.print(rule.rationale, markup=False, highlight=False)
    bad = rule.examples.get("bad") or []
    good = rule.examples.get("good") or []
    shown = examples or max(len(bad), len(good))
    for number, example in enumerate(bad[:shown], 1):
        _print_example(console, f"Bad example {number} of {len(bad)} (reported lines marked ❱)", example)
    for number, example in enumerate(good[:shown], 1):
        _print_example(console, f"Good example {number} of {len(good)} (not reported)", example)
    hidden = max(len(bad) - shown, 0) + max(len(good) - shown, 0)
    if hidden:
        console.print()
        console.print(f"{hidden} more examples: audit explain {rule.id} --all", style="dim", markup=False,
                      highlight=False)
    console.print()
    console.print("Remediation", style="bold", markup=False)
    console.print(rule.remediation, markup=False, highlight=False)
    console.print()
    console.print("References", style="bold", markup=False)
    for title, url in rule.references:
        console.print(f"- {title}: {url}", markup=False, highlight=False)
