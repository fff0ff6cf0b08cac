"""Inline suppressions: ``# audit: ignore[DB101, SQL103] -- reason`` in Python, ``-- audit: ignore[...]`` in SQL.

A suppression on a finding's line (or, trailing code, on any line of a finding's code), or alone
on the line above it, hides the finding; a bare
``# audit: ignore`` hides every finding there. Comments are read with :mod:`tokenize` (and a small
SQL lexer), so a string that merely contains the text does not count.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

MARKER = b"audit:"
_PATTERN = re.compile(r"audit:\s*ignore\b(?:\[(?P<codes>[^\]]*)\])?(?:\s*--\s*(?P<reason>.*))?", re.IGNORECASE)
_MAX_BYTES = 5 * 1024 * 1024


@dataclass
class Suppression:
    """One ``audit: ignore`` comment."""

    path: str
    line: int
    codes: tuple  # upper-cased rule ids or prefixes; empty: every rule
    reason: str = ""
    standalone: bool = False  # the comment is alone on its line: it also covers the next line
    used: set = field(default_factory=set)  # codes (or "" for a bare ignore) that hid a finding

    def covers(self, rule: str, line: int, end_line: int = 0) -> str | None:
        """The code that hides a ``rule`` finding at ``line``..``end_line`` ("" for a bare ignore), or None.

        A trailing comment covers a finding on any line of its code (``)  # audit: ignore[DB101]``
        closing a call written over several lines); a comment alone on its line covers the line below.
        """
        on_its_lines = line <= self.line <= max(line, end_line) and not self.standalone
        if not (on_its_lines or self.line == line or (self.standalone and line == self.line + 1)):
            return None
        if not self.codes:
            return ""
        matching = [code for code in self.codes if rule.startswith(code)]
        return max(matching, key=len) if matching else None

    def marker(self, code: str = "") -> str:
        """How the comment reads, for notes: ``# audit: ignore[DB101]``."""
        lead = "--" if self.path.endswith(".sql") else "#"
        return f"{lead} audit: ignore[{code}]" if code else f"{lead} audit: ignore"


def _parse_comment(path: str, line: int, text: str, standalone: bool) -> Suppression | None:
    match = _PATTERN.search(text)
    if match is None:
        return None
    codes = tuple(code.strip().upper() for code in (match.group("codes") or "").split(",") if code.strip())
    return Suppression(path, line, codes, (match.group("reason") or "").strip(), standalone)


def python_suppressions(path: str, data: bytes) -> list:
    """The suppressions in a Python file's comments (what tokenizes before an error, if any)."""
    found = []
    try:
        for token in tokenize.tokenize(io.BytesIO(data).readline):
            if token.type != tokenize.COMMENT or "audit:" not in token.string:
                continue
            standalone = not token.line[:token.start[1]].strip()
            suppression = _parse_comment(path, token.start[0], token.string, standalone)
            if suppression is not None:
                found.append(suppression)
    except (tokenize.TokenError, SyntaxError, ValueError, LookupError):
        pass
    return found


def sql_suppressions(path: str, text: str) -> list:
    """The suppressions in a SQL file's ``--`` comments, skipping strings, quoted names, block
    comments and dollar-quoted bodies."""
    found = []
    i, line, line_start, size = 0, 1, 0, len(text)
    while i < size:
        char = text[i]
        if char == "\n":
            line, line_start = line + 1, i + 1
            i += 1
        elif text.startswith("--", i):
            end = text.find("\n", i)
            end = size if end < 0 else end
            standalone = not text[line_start:i].strip()
            suppression = _parse_comment(path, line, text[i:end], standalone)
            if suppression is not None:
                found.append(suppression)
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = size if end < 0 else end + 2
            line += text.count("\n", i, end)
            line_start = text.rfind("\n", 0, end) + 1
            i = end
        elif char in "'\"" or (char == "$" and re.match(r"\$[A-Za-z_]*\$", text[i:])):
            closing = char if char in "'\"" else re.match(r"\$[A-Za-z_]*\$", text[i:]).group(0)
            end = text.find(closing, i + len(closing))
            end = size if end < 0 else end + len(closing)
            line += text.count("\n", i, end)
            line_start = text.rfind("\n", 0, end) + 1
            i = end
        else:
            i += 1
    return found


def read_suppressions(root: Path, files: list) -> dict:
    """``{path: [Suppression]}`` for the scanned ``.py`` and ``.sql`` files that have any."""
    result = {}
    for rel in files:
        try:
            data = (root / rel).read_bytes()
        except OSError:
            continue
        if MARKER not in data or len(data) > _MAX_BYTES or b"\x00" in data:
            continue
        if rel.endswith(".sql"):
            found = sql_suppressions(rel, data.decode("utf-8", "replace"))
        else:
            found = python_suppressions(rel, data)
        if found:
            result[rel] = found
    return result


def apply_suppressions(findings: list, suppressions: dict) -> tuple:
    """``(kept, suppressed)``: the findings no suppression covers, and those it does. Marks the
    codes of each suppression that hid something as used."""
    kept, suppressed = [], []
    for finding in findings:
        hidden = False
        for suppression in suppressions.get(finding.path, ()):
            code = suppression.covers(finding.rule, finding.line, finding.end_line)
            if code is not None:
                suppression.used.add(code)
                hidden = True
        (suppressed if hidden else kept).append(finding)
    return kept, suppressed


def unused_notes(suppressions: dict, enabled, known_rules) -> list:
    """``(path, message)`` for each suppression code that hid nothing. ``enabled(path, code)`` says
    whether the code's rules are reported for the path at all (a suppression for a rule the
    configuration turns off is not stale); ``known_rules`` are the rule ids."""
    notes = []
    for path, found in sorted(suppressions.items()):
        for suppression in found:
            where = "this line or the next" if suppression.standalone else "this line"
            if not suppression.codes:
                if "" not in suppression.used:
                    notes.append((path, f"line {suppression.line}: unused suppression {suppression.marker()} "
                                        f"(no finding on {where})"))
                continue
            for code in suppression.codes:
                if not any(rule.startswith(code) for rule in known_rules):
                    notes.append((path, f"line {suppression.line}: unknown rule in suppression "
                                        f"{suppression.marker(code)}"))
                elif code not in suppression.used and enabled(path, code):
                    notes.append((path, f"line {suppression.line}: unused suppression {suppression.marker(code)} "
                                        f"(no {code} finding on {where})"))
    return notes


def is_suppression_note(message: str) -> bool:
    """Whether a scan note is about a suppression comment (not a file that could not be analysed)."""
    return " unused suppression " in message or " unknown rule in suppression " in message
