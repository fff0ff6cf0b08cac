"""Lower syntax newer than the running interpreter knows, so that :mod:`ast` can still read a file.

Called only when ``ast.parse`` of a file failed: libcst (which parses Python 3.0-3.14 whatever the
interpreter) reads the file, the constructs the interpreter's grammar lacks are rewritten into
equivalent older syntax, and the regenerated code is parsed with :mod:`ast`. Every rewrite keeps
the line of every token it does not remove (newlines inside removed text become line
continuations) and, where it can, the columns of the code around it:

- type parameters (3.12) are blanked out and ``type X = v`` becomes ``X = v``;
- f-strings whose expressions reuse the enclosing quote (3.12) are re-quoted, or their
  expressions replaced by a placeholder name when no quote fits; t-strings (3.14) become f-strings;
- ``except A, B:`` (3.14) is parenthesised; ``except*`` (3.11) becomes ``except``;
- ``match`` (3.10) becomes ``if subject:`` holding one ``if``/``elif`` branch per case.
"""

from __future__ import annotations

import ast
import re
import sys
import warnings
from typing import Optional, Sequence, Tuple

# Stands for an f-string expression that cannot be written in the interpreter's f-string syntax.
PLACEHOLDER = "__audit_lowered_expression__"
_QUOTES = ("'", '"', "'''", '"""')
_NOT_NEWLINE = re.compile(r"[^\r\n]")
_NEWLINE = re.compile(r"\r\n?|\n")


def lower(data: bytes) -> Optional[ast.Module]:
    """The :mod:`ast` tree of a file this interpreter cannot parse, read via libcst and lowered.

    ``None`` when the file is not valid Python of any version libcst knows (or too deep to read).
    """
    import libcst  # slow to import: only files that need lowering pay for it

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences are not ours to report
            return ast.parse(_lowered_source(data, sys.version_info[:2]), type_comments=False)
    except (SyntaxError, ValueError, RecursionError, MemoryError, libcst.ParserSyntaxError):
        return None


def _lowered_source(data: bytes, target: Tuple[int, int]) -> str:
    """The code of ``data`` rewritten to the syntax of Python ``target`` (``(major, minor)``)."""
    import libcst

    module = libcst.parse_module(data)
    return module.visit(_lowering_transformer(libcst, target)).code


def _lowering_transformer(cst, target: Tuple[int, int]):
    """A libcst transformer applying the rewrites Python ``target`` needs (libcst passed in: lazy)."""

    def blank(node_or_text) -> str:
        """Whitespace as wide as the code, each newline kept as a line continuation."""
        text = node_or_text if isinstance(node_or_text, str) else code(node_or_text)
        return _NEWLINE.sub(lambda newline: "\\" + newline.group(), _NOT_NEWLINE.sub(" ", text))

    def code(node) -> str:
        """The code of a node ('' for an absent one: libcst's ``MaybeSentinel.DEFAULT``)."""
        return cst.Module([]).code_for_node(node) if isinstance(node, cst.CSTNode) else ""

    class Lowering(cst.CSTTransformer):
        # -- 3.12: type parameters and type aliases -------------------------------------------
        def leave_FunctionDef(self, original, updated):
            return self._drop_type_parameters(updated)

        def leave_ClassDef(self, original, updated):
            return self._drop_type_parameters(updated)

        @staticmethod
        def _drop_type_parameters(node):
            if target >= (3, 12) or node.type_parameters is None:
                return node
            padding = (code(node.whitespace_after_name) + blank(node.type_parameters)
                       + code(node.whitespace_after_type_parameters))
            return node.with_changes(type_parameters=None, whitespace_after_name=cst.SimpleWhitespace(padding),
                                     whitespace_after_type_parameters=cst.SimpleWhitespace(""))

        def leave_TypeAlias(self, original, updated):
            if target >= (3, 12):
                return updated
            # ``type X[T] = v`` -> ``X          = v``: the value keeps its columns
            padding = (blank("type") + blank(updated.whitespace_after_type) + code(updated.whitespace_after_name)
                       + (blank(updated.type_parameters) if updated.type_parameters else "")
                       + code(updated.whitespace_after_type_parameters))
            assign_target = cst.AssignTarget(updated.name, whitespace_before_equal=cst.SimpleWhitespace(padding),
                                             whitespace_after_equal=updated.whitespace_after_equals)
            return cst.Assign([assign_target], updated.value, semicolon=updated.semicolon)

        # -- 3.12 f-strings, 3.14 t-strings ----------------------------------------------------
        def leave_FormattedString(self, original, updated):
            return updated if target >= (3, 12) else _old_style_fstring(updated)

        def leave_TemplatedStringText(self, original, updated):
            return updated if target >= (3, 14) else cst.FormattedStringText(updated.value)

        def leave_TemplatedStringExpression(self, original, updated):
            if target >= (3, 14):
                return updated
            return cst.FormattedStringExpression(
                updated.expression, updated.conversion, updated.format_spec,
                updated.whitespace_before_expression, updated.whitespace_after_expression, updated.equal)

        def leave_TemplatedString(self, original, updated):
            if target >= (3, 14):
                return updated
            start = updated.start.replace("t", "f").replace("T", "F")
            fstring = cst.FormattedString(updated.parts, start, updated.end, updated.lpar, updated.rpar)
            return fstring if target >= (3, 12) else _old_style_fstring(fstring)

        # -- 3.14 unparenthesised except, 3.11 except* ----------------------------------------
        def leave_ExceptHandler(self, original, updated):
            return self._parenthesise_types(updated)

        def leave_ExceptStarHandler(self, original, updated):
            return self._parenthesise_types(updated)

        @staticmethod
        def _parenthesise_types(handler):
            types = handler.type
            if target >= (3, 14) or not isinstance(types, cst.Tuple) or types.lpar:
                return handler
            changes = {"type": types.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])}
            space = "whitespace_after_star" if isinstance(handler, cst.ExceptStarHandler) else "whitespace_after_except"
            if getattr(handler, space).value == " ":
                changes[space] = cst.SimpleWhitespace("")  # ``except(A, B):``: A and B keep their columns
            return handler.with_changes(**changes)

        def leave_TryStar(self, original, updated):
            if target >= (3, 11):
                return updated
            handlers = [cst.ExceptHandler(
                handler.body, handler.type, handler.name, handler.leading_lines,
                cst.SimpleWhitespace(code(handler.whitespace_after_except) + " " + code(handler.whitespace_after_star)),
                handler.whitespace_before_colon) for handler in updated.handlers]
            return cst.Try(updated.body, handlers, updated.orelse, updated.finalbody, updated.leading_lines,
                           updated.whitespace_before_colon)

        # -- 3.10: match -----------------------------------------------------------------------
        def leave_Match(self, original, updated):
            if target >= (3, 10):
                return updated
            subject, padding = updated.subject, " " * (len("match") - len("if"))
            if isinstance(subject, cst.Tuple) and not subject.lpar:
                subject, padding = subject.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()]), padding[1:]
            branches = None
            for case in reversed(updated.cases):
                branches = self._case_branch(case, branches)
            body = cst.IndentedBlock([branches], header=updated.whitespace_after_colon, indent=updated.indent,
                                     footer=updated.footer)
            return cst.If(subject, body, leading_lines=updated.leading_lines,
                          whitespace_before_test=cst.SimpleWhitespace(padding + code(updated.whitespace_after_match)),
                          whitespace_after_test=updated.whitespace_before_colon)

        @staticmethod
        def _case_branch(case, orelse):
            """``case P if g:`` -> ``elif      g:`` (``True`` without a guard); the pattern is blanked."""
            pattern = blank(case.whitespace_after_case) + blank(case.pattern)
            if case.guard is None:
                test, before, after = cst.Name("True"), " ", pattern + code(case.whitespace_before_colon)
            else:
                before = (pattern + blank(case.whitespace_before_if) + blank("if")
                          + code(case.whitespace_after_if))
                test, after = case.guard, code(case.whitespace_before_colon)
            return cst.If(test, case.body, orelse, leading_lines=case.leading_lines,
                          whitespace_before_test=cst.SimpleWhitespace(before),
                          whitespace_after_test=cst.SimpleWhitespace(after))

    def _old_style_fstring(fstring):
        """The f-string in pre-3.12 syntax: re-quoted, or with placeholders when no quote fits."""
        quote, prefix = fstring.end, fstring.start[:-len(fstring.end)]
        literals = [code(part) for part in fstring.parts if isinstance(part, cst.FormattedStringText)]
        fields = [part for part in fstring.parts if isinstance(part, cst.FormattedStringExpression)]
        if all(_fits(quote, field) for field in fields):
            return fstring
        same_width = sorted(_QUOTES, key=lambda candidate: len(candidate) != len(quote))
        for candidate in same_width:
            if not any(candidate[0] in text for text in literals) and all(_fits(candidate, f) for f in fields):
                return fstring.with_changes(start=prefix + candidate, end=candidate)
        return _with_placeholders(fstring, prefix, quote)

    def _fits(quote: str, field) -> bool:
        """Whether a replacement field can be written inside ``quote`` before Python 3.12."""
        expression = code(field.with_changes(format_spec=None))
        if "\\" in expression or "#" in expression or quote in expression:
            return False
        if len(quote) == 1 and ("\n" in expression or "\r" in expression):
            return False
        return _spec_fits(quote, field.format_spec or ())

    def _spec_fits(quote: str, spec: Sequence) -> bool:
        for part in spec:
            if isinstance(part, cst.FormattedStringExpression):
                if not _fits(quote, part):
                    return False
            elif quote in part.value or (len(quote) == 1 and _NEWLINE.search(part.value)):
                return False
        return True

    def _with_placeholders(fstring, prefix: str, quote: str):
        """The string's text with each replacement field replaced by ``{PLACEHOLDER}`` (newlines kept)."""
        pieces = []
        for part in fstring.parts:
            if isinstance(part, cst.FormattedStringExpression):
                newlines = "\n" * len(_NEWLINE.findall(code(part)))
                pieces.append("{" + PLACEHOLDER + newlines + "}")
            else:
                pieces.append(code(part))
        inner = "".join(pieces)
        if "\n" in inner and len(quote) == 1:
            quote *= 3
        replaced = cst.parse_expression(prefix + quote + inner + quote)
        return replaced.with_changes(lpar=fstring.lpar, rpar=fstring.rpar)

    return Lowering()
