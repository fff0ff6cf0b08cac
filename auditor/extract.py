"""Parse one Python module with the standard library's :mod:`ast` and extract its :mod:`auditor.facts`.

One parse (CPython's own parser: ten times faster than libcst's), one traversal driven by hand for
loops, comprehensions, ``with`` and ``try`` so that each call knows its loop, how its result is
used and whether it sits in a ``finally`` block. Code in syntax newer than the running interpreter
is lowered first (:mod:`auditor.syntax_lowering`).
"""

from __future__ import annotations

import ast
import dataclasses
import io
import re
import tokenize
import warnings
from typing import Optional, Union

from auditor.ast_nodes import (
    annotated_class,
    argument_kind,
    call_arguments,
    callee_text,
    comparison_text,
    dotted,
    first_subscript,
    handed_out,
    int_value,
    is_text,
    literal_size,
    literal_tree,
    names_read,
    string_value,
    target_names,
)
from auditor.facts import (
    UNKNOWN,
    SqlText,
    Access,
    Call,
    ClassDef,
    ClassField,
    Function,
    Loop,
    ModuleFacts,
    QueryChain,
    Val,
    extend,
)
from auditor.llm_shapes import collect_shapes
from auditor.sql_strings import SqlBuilder, concat_sql, looks_like_sql, starts_with_wildcard

MODULE_SCOPE = "<module>"
_CLOSE_METHODS = {"close", "putconn", "release", "dispose"}
_MAX_ARG_VALS = 4
_MUTATING_METHODS = {"append", "extend", "add", "update", "insert", "setdefault", "__setitem__"}
_HANDOFF_METHODS = {"append", "add", "put", "put_nowait", "setdefault", "push", "enter_context"}
# ORM query-building and -running methods, chained: ``Model.objects.filter(...).order_by(...)``.
_CHAIN_METHODS = {
    "filter", "exclude", "get", "order_by", "first", "last", "latest", "earliest", "exists", "count", "values",
    "values_list", "only", "defer", "select_related", "prefetch_related", "annotate", "aggregate", "distinct",
    "all", "get_or_create", "update_or_create", "update", "delete", "in_bulk", "iterator", "reverse",
    "where", "filter_by", "limit", "offset", "join", "outerjoin", "group_by", "having", "options", "one",
    "one_or_none", "scalar", "scalars", "select_from", "first_or_404", "get_or_404", "one_or_404", "paginate",
}
# A chain is recorded when one of these is in it, or its base is ``X.objects``/``X.query``/``select(X)``.
_QUERY_SIGNS = {"filter", "exclude", "order_by", "filter_by", "where", "select_related", "prefetch_related",
                "values_list", "annotate", "get_or_create", "update_or_create", "limit", "offset", "join",
                "outerjoin", "group_by", "one_or_none", "first_or_404", "get_or_404", "latest", "earliest"}
_QUERY_BASES = {"objects", "query", "select", "session.query", "db.session.query"}
# Keyword arguments that carry the statement when it is not the first positional argument.
_SQL_KEYWORDS = {"sql", "query", "statement", "stmt", "operation", "command"}
# Calls that declare schema, kept as literal trees (Alembic operations, SQLAlchemy Core, Django RunSQL).
_PLAIN_MAPPINGS = {"dict", "defaultdict", "OrderedDict"}
_CLASS_NAMES = {"cls", "klass", "model", "model_class", "model_cls"}
_NUMBER_COMPARISONS = (ast.Lt, ast.LtE, ast.Eq, ast.NotEq, ast.Gt, ast.GtE)
# Arguments whose names are recorded per call (prompt provenance for the LLM checks).
_PROMPT_KEYWORDS = {"messages", "prompt", "input", "inputs", "contents", "content", "message", "text", "texts",
                    "system", "query", "question", "body", "json", "data"}
_MAX_KWARGS = 24
# Methods (and callee names) whose first positional argument is the prompt or text.
_PROMPT_FIRST = {"invoke", "ainvoke", "batch", "abatch", "stream", "astream", "predict", "apredict", "run", "arun",
                 "generate_content", "generate_content_async", "send_message", "send_message_async", "complete",
                 "acomplete", "embed_query", "aembed_query", "embed_documents", "aembed_documents",
                 "get_embeddings", "generate", "agenerate", "post"}
_PROMPT_FIRST_NAME = re.compile(r"llm|chain|model|complet|chat", re.IGNORECASE)
_SCHEMA_CALLS = {"create_table", "create_index", "add_column", "create_unique_constraint", "create_primary_key",
                 "create_foreign_key", "drop_index", "drop_table", "drop_column", "drop_constraint",
                 "rename_table", "alter_column", "Table", "Index", "RunSQL"}


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
_SIMPLE_STATEMENTS = (ast.Expr, ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Return, ast.Raise, ast.Pass,
                      ast.Break, ast.Continue, ast.Delete, ast.Global, ast.Nonlocal, ast.Import, ast.ImportFrom,
                      ast.Assert)


def module_name_for(path: str) -> str:
    """Dotted module name from a repository-relative path (``app/db.py`` -> ``app.db``)."""
    parts = path[:-3].split("/") if path.endswith(".py") else path.split("/")
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


class _Scope:
    """Per-function traversal state."""

    def __init__(self, function: Function) -> None:
        self.function = function
        self.locals: dict = {}
        self.literal_sizes: dict = {}  # local name -> item count of the literal it was bound to
        self.loop_stack: list = []
        self.finally_depth = 0
        self.leaving: list = []  # loop depth at each enclosing return/raise being visited
        self.strings: dict = {}  # local name -> the SqlText (or fragment) it holds
        self.chains: dict = {}  # local name -> the QueryChain it was last bound to
        self.block: tuple = ()  # (block, index) of the statement being visited
        self.header = ""  # the ``with``/``if``/``except`` header of the block visited next
        self.assigning: list = []  # names bound by each enclosing assignment being visited
        self.lambda_depth = 0


# Fields that hold no node worth visiting: names and strings, and the singleton nodes of
# expression contexts and operators (a third of all nodes, never visited for themselves).
_LEAF_FIELDS = {"ctx", "op", "ops", "id", "attr", "arg", "name", "names", "module", "level", "value_kind", "kind",
                "type_comment", "is_async", "conversion", "lineno", "col_offset"}


def _child_fields(kind: type) -> tuple:
    """The fields of a node type that hold nodes, in source order."""
    if kind is ast.IfExp:
        return ("body", "test", "orelse")
    if kind is ast.Constant:
        return ()
    return tuple(name for name in kind._fields if name not in _LEAF_FIELDS)


class FactExtractor:
    """Collects :class:`ModuleFacts` in one traversal.

    ``visit_<Node>`` methods return False when they walked the children themselves.
    """

    _visitors: dict = {}
    _fields: dict = {}

    def __init__(self, path: str, module: str, text: str) -> None:
        source_lines = text.split("\n")
        if source_lines and source_lines[-1] == "":
            source_lines.pop()
        self.lines = source_lines
        self.facts = ModuleFacts(path=path, module=module, lines=len(source_lines))
        self.package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
        top = Function(MODULE_SCOPE if not module else f"{module}.{MODULE_SCOPE}",
                       MODULE_SCOPE, "", 1, len(source_lines), False)
        self.facts.functions.append(top)
        self.scopes: list = [_Scope(top)]
        self.class_stack: list = []
        self.role_stack: list = []  # (call, role, bound_to) for the call being visited next
        self.comprehension_values: dict = {}  # id(comprehension node) -> Val of its element
        self.awaited: set = set()  # id() of calls that are awaited
        self.comparisons: dict = {}  # id() of a call compared with a number -> "<= 0"
        self.in_schema_call = False
        self.chained: set = set()  # id() of calls that are inner links of a recorded QueryChain
        self.slices: dict = {}  # id() of a chain's outer call -> (limit, offset) of the slice applied to it
        self.sql_builder = SqlBuilder(self._string_held, self._is_module_constant, self.lines)
        self._excerpts: dict = {}  # line -> excerpt: calls on one line share it
        self._globals: dict = {}  # (name, its import) -> its global value (see _global_value)

    # ---------------------------------------------------------------- traversal
    def walk(self, node: ast.AST) -> None:
        """Visit ``node`` (``visit_<Type>``, then its children unless that returned False)."""
        kind = type(node)
        visit = self._visitors.get(kind, 0)
        if visit == 0:
            visit = self._visitors[kind] = getattr(FactExtractor, f"visit_{kind.__name__}", None)
        if visit is None or visit(self, node) is not False:
            self._walk_children(node, kind)

    def _walk_children(self, node: ast.AST, kind: type) -> None:
        names = self._fields.get(kind)
        if names is None:
            names = self._fields[kind] = _child_fields(kind)
        walk = self.walk
        for name in names:
            value = getattr(node, name, None)
            if value is None:
                continue
            if type(value) is list:
                for item in value:
                    if item is not None and type(item) is not str:
                        walk(item)
            elif isinstance(value, ast.AST):
                walk(value)

    # ---------------------------------------------------------------- helpers
    @property
    def scope(self) -> _Scope:
        return self.scopes[-1]

    def _column(self, line: int, offset: int) -> int:
        """The column in characters of a UTF-8 byte offset on a line."""
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        if text.isascii():
            return offset
        return len(text.encode("utf-8", "surrogatepass")[:offset].decode("utf-8", "replace"))

    def text(self, node: ast.AST, limit: int = 200) -> str:
        """The source text of a node, stripped and cut at ``limit`` characters."""
        first, last = node.lineno, node.end_lineno or node.lineno
        if not 0 < first <= len(self.lines):
            return ""
        if first == last:
            line = self.lines[first - 1]
            if line.isascii():
                return line[node.col_offset:node.end_col_offset].strip()[:limit]
            piece = line.encode("utf-8", "surrogatepass")[node.col_offset:node.end_col_offset]
            return piece.decode("utf-8", "replace").strip()[:limit]
        chunk = [self.lines[n - 1].encode("utf-8", "surrogatepass") for n in range(first, min(last, len(self.lines)) + 1)]
        chunk[0] = chunk[0][node.col_offset:]
        if last <= len(self.lines):
            chunk[-1] = chunk[-1][:node.end_col_offset]
        return b"\n".join(chunk).decode("utf-8", "replace").strip()[:limit]

    def _tree(self, node: ast.AST):
        """:func:`literal_tree` of an expression, names qualified through the imports."""
        return literal_tree(node, self._qualify_dotted, source_of=self.text)

    def _qualify(self, name: str) -> str:
        prefix = self.facts.module
        for cls in self.class_stack:
            prefix = f"{prefix}.{cls.name}" if prefix else cls.name
        return f"{prefix}.{name}" if prefix else name

    def _global_name(self, name: str) -> str:
        if name in self.facts.imports:
            return self.facts.imports[name]
        return f"{self.facts.module}.{name}" if self.facts.module else name

    def _in_module_scope(self) -> bool:
        return len(self.scopes) == 1 and not self.class_stack

    def value(self, node: ast.AST, depth: int = 0) -> Val:
        """The symbolic value of an expression."""
        if depth > 12:
            return UNKNOWN
        kind = type(node)
        if kind is ast.Name:
            name = node.id
            if name in self.scope.locals:
                return self.scope.locals[name]
            return self._global_value(name)
        if kind is ast.Attribute:
            return extend(self.value(node.value, depth + 1), ("attr", node.attr, ()))
        if kind is ast.Call:
            args = tuple(self.value(value, depth + 1) for keyword, star, value in call_arguments(node)[:_MAX_ARG_VALS]
                         if keyword is None and not star)
            return extend(self.value(node.func, depth + 1), ("call", self._site(node), args))
        if kind is ast.BinOp and isinstance(node.op, ast.BitOr):
            operands = (self.value(node.left, depth + 1), self.value(node.right, depth + 1))
            return ("pipe:", (("operands", "", operands),))
        if kind is ast.Await:
            return self.value(node.value, depth + 1)
        if kind is ast.Subscript:
            return extend(self.value(node.value, depth + 1), (_subscript_kind(node.slice), "", ()))
        if kind in _COMPREHENSIONS:
            element = self.comprehension_values.get(id(node))
            return extend(element, ("collect", "", ())) if element else UNKNOWN
        if kind is ast.JoinedStr or is_text(node):
            text = string_value(node)
            return (f"s:{text}", ()) if text is not None else UNKNOWN
        if kind is ast.Constant and (node.value is None or isinstance(node.value, bool)):
            return (f"g:{self._global_name(repr(node.value))}", ())  # a name to resolve, as in Python 2
        return UNKNOWN

    def _global_value(self, name: str) -> Val:
        """``("g:<qualified name>", ())``, one object per name (facts of a module are pickled, and
        pickle writes an object once however often it is referenced)."""
        key = (name, self.facts.imports.get(name))  # an import later in the module changes it
        value = self._globals.get(key)
        if value is None:
            value = self._globals[key] = (f"g:{self._global_name(name)}", ())
        return value

    def _bind(self, name: str, value: Val) -> None:
        scope = self.scope
        if value[0] == "?":
            value = (f"p:{name}:", ())
        else:
            value = extend(value, ("as", name, ()))
        scope.locals[name] = value
        for loop in scope.loop_stack:
            if name not in loop.bound:
                loop.bound.append(name)
        if self._in_module_scope():
            self.facts.globals[name] = value

    def _string_held(self, name: str) -> Optional[object]:
        """The SqlText or string a local or module-level name holds."""
        if name in self.scope.strings:
            return self.scope.strings[name]
        if name in self.scope.locals and not self._in_module_scope():
            return None
        if name in self.facts.sql_constants:
            return self.facts.sql_constants[name]
        const = self.facts.constants.get(name)
        return const if isinstance(const, str) else None

    def _is_module_constant(self, name: str) -> bool:
        return name in self.facts.constants and (name not in self.scope.locals or self._in_module_scope())

    def _excerpt(self, line: int) -> str:
        excerpt = self._excerpts.get(line)
        if excerpt is None:
            excerpt = self._excerpts[line] = self.lines[line - 1].strip()[:200] if 0 < line <= len(self.lines) else ""
        return excerpt

    # ---------------------------------------------------------------- imports
    def visit_Import(self, node: ast.Import) -> bool:
        for alias in node.names:
            if alias.asname:
                self.facts.imports[alias.asname] = alias.name
            else:
                head = alias.name.split(".")[0]
                self.facts.imports[head] = head
        return False

    def visit_ImportFrom(self, node: ast.ImportFrom) -> bool:
        base = node.module or ""
        if node.level:
            package = self.package.split(".") if self.package else []
            up = node.level - 1
            package = package[: len(package) - up] if up else package
            base = ".".join([p for p in package if p] + ([base] if base else []))
        for alias in node.names:
            if alias.name == "*":
                self.facts.star_imports.append(base)
                continue
            self.facts.imports[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name
        return False

    # ---------------------------------------------------------------- definitions
    def visit_ClassDef(self, node: ast.ClassDef) -> bool:
        qualname = self._qualify(node.name)
        cls = ClassDef(qualname=qualname, name=node.name, line=node.lineno)
        cls.bases = [self.value(base.value if isinstance(base, ast.Starred) else base) for base in node.bases]
        self.facts.classes.append(cls)
        for dec in node.decorator_list:
            self.walk(dec)
        for base in node.bases:
            self.walk(base)
        for keyword in node.keywords:
            self.walk(keyword.value)
        self.class_stack.append(cls)
        for stmt in node.body:
            self._class_statement(cls, stmt)
        self.class_stack.pop()
        return False

    def _class_statement(self, cls: ClassDef, stmt: ast.stmt) -> None:
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            self._class_field(cls, stmt)
        if isinstance(stmt, ast.ClassDef) and stmt.name == "Meta":
            for inner in stmt.body:
                if isinstance(inner, ast.Assign) and len(inner.targets) == 1 and isinstance(inner.targets[0], ast.Name):
                    name = inner.targets[0].id
                    text = string_value(inner.value)
                    cls.meta[name] = text if text is not None else ""
                    cls.meta_trees[name] = self._tree(inner.value)
            return
        self.walk(stmt)

    def _class_field(self, cls: ClassDef, small: Union[ast.Assign, ast.AnnAssign]) -> None:
        targets = small.targets if isinstance(small, ast.Assign) else [small.target]
        value = small.value
        for target in targets:
            if not isinstance(target, ast.Name):
                continue
            fld = ClassField(name=target.id, line=small.lineno, func=None)
            if isinstance(small, ast.AnnAssign):
                fld.annotation, fld.annotation_many = annotated_class(small.annotation)
                fld.annotation_text = self.text(small.annotation)
            if value is None:  # ``name: Mapped[str]`` declares a column
                cls.fields.append(fld)
                continue
            fld.value = self._tree(value)
            if isinstance(value, ast.Call):
                fld.func = self.value(value.func)
                for keyword, _, argument in call_arguments(value):
                    if keyword is None:
                        fld.args.append(self.value(argument))
                        continue
                    text = string_value(argument)
                    if text is None:
                        text = _constant_name(argument) or dotted(argument) or ""
                        if text.split(".")[0] in self.facts.imports:
                            text = self._qualify_dotted(text)
                    fld.kwargs[keyword] = text
            else:
                text = string_value(value)
                if text is not None:
                    fld.kwargs["value"] = text
            cls.fields.append(fld)

    def visit_FunctionDef(self, node: Union[ast.FunctionDef, ast.AsyncFunctionDef]) -> bool:
        cls = self.class_stack[-1] if self.class_stack and len(self.scopes) == 1 else None
        if len(self.scopes) > 1:
            qualname = f"{self.scope.function.qualname}.<locals>.{node.name}"
        else:
            qualname = self._qualify(node.name)
        func = Function(
            qualname=qualname,
            name=node.name,
            cls=cls.qualname if cls else "",
            line=node.lineno,
            end_line=node.end_lineno or node.lineno,
            is_async=isinstance(node, ast.AsyncFunctionDef),
        )
        for dec in node.decorator_list:
            func.decorators.append([self.text(dec, 10_000), self.value(dec)])
            self.walk(dec)
        arguments = node.args
        params = list(arguments.posonlyargs) + list(arguments.args) + list(arguments.kwonlyargs)
        self.facts.functions.append(func)
        new_scope = _Scope(func)
        for index, param in enumerate(params):
            name = param.arg
            annotation = self._annotation(param.annotation) if param.annotation is not None else ""
            func.params.append((name, annotation))
            if cls is not None and index == 0 and name in {"self", "cls"}:
                new_scope.locals[name] = (f"{name}:{cls.qualname}", ())
            else:
                new_scope.locals[name] = (f"p:{name}:{annotation}", ())
        for default in list(arguments.defaults) + [d for d in arguments.kw_defaults if d is not None]:
            self.walk(default)
        self.scopes.append(new_scope)
        self._block(node.body)
        self.scopes.pop()
        return False

    visit_AsyncFunctionDef = visit_FunctionDef

    def _annotation(self, node: ast.AST) -> str:
        if isinstance(node, ast.Subscript):  # Optional[X], Annotated[X, ...]
            base = dotted(node.value) or ""
            if base.split(".")[-1] in {"Optional", "Annotated"}:
                first = first_subscript(node)
                if not isinstance(first, ast.Slice):
                    return self._annotation(first)
            return ""
        if isinstance(node, ast.BinOp):  # X | None
            return self._annotation(node.left)
        if is_text(node):
            text = string_value(node) or ""
            return self._qualify_dotted(text) if text.isidentifier() or "." in text else ""
        text = dotted(node)
        return self._qualify_dotted(text) if text else ""

    def _qualify_dotted(self, text: str) -> str:
        """``Session`` -> ``sqlalchemy.orm.Session`` through the module's imports and globals."""
        head, _, rest = text.partition(".")
        qualified = self._global_name(head)
        return f"{qualified}.{rest}" if rest else qualified

    # ---------------------------------------------------------------- statements
    def visit_Global(self, node: ast.Global) -> bool:
        self.scope.function.globals_declared.extend(node.names)
        return False

    def visit_Assign(self, node: ast.Assign) -> bool:
        self._assignment(node.targets, node.value)
        return False

    def visit_AnnAssign(self, node: ast.AnnAssign) -> bool:
        if node.value is not None:
            self._assignment([node.target], node.value)
        return False

    def visit_AugAssign(self, node: ast.AugAssign) -> bool:
        names = target_names(node.target)
        self.scope.assigning.append(names)
        self.walk(node.value)
        self.scope.assigning.pop()
        roots = names or [(_container_text(node.target) or ".").split(".")[0]]
        for loop in self.scope.loop_stack:
            loop.stores.extend([name, node.lineno] for name in roots if name)
        held = None
        if isinstance(node.target, ast.Name) and isinstance(node.op, ast.Add):
            held = self.scope.strings.get(node.target.id)
            if held is not None:
                added = self.sql_builder.build(node.value, node.value.lineno)
                held = concat_sql(held, added) if added is not None else concat_sql(
                    held, self.sql_builder.hole(node.value, node.value.lineno))
        for name in names:
            self._bind(name, UNKNOWN)
            self.scope.strings.pop(name, None)
        if held is not None:
            self.scope.strings[node.target.id] = held
        return False

    def visit_NamedExpr(self, node: ast.NamedExpr) -> bool:
        self._visit_with_role(node.value, "assign", "")
        if isinstance(node.target, ast.Name):
            self._bind(node.target.id, self.value(node.value))
        return False

    def _assignment(self, targets: list, value: ast.AST) -> None:
        role, bound = "assign", ""
        names: list = []
        for target in targets:
            names.extend(target_names(target))
            if isinstance(target, (ast.Attribute, ast.Subscript)):
                role = "store"
        if role == "assign" and len(targets) == 1 and isinstance(targets[0], ast.Name):
            bound = targets[0].id
            if bound in self.scope.function.globals_declared:
                role = "store"
        stored = [_container_text(t).split(".")[0] for t in targets if isinstance(t, (ast.Attribute, ast.Subscript))]
        self.scope.assigning.append(names + [name for name in stored if name])
        self._visit_with_role(value, role, bound)
        self.scope.assigning.pop()
        self._record_stores(targets, value)
        for target in targets:
            if isinstance(target, ast.Subscript):
                self.scope.function.key_ops.append(["store", callee_text(target.value), target.lineno])
            elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                    and target.value.id in self.facts.imports and target.value.id not in self.scope.locals:
                self.facts.attr_stores.append([f"{self.facts.imports[target.value.id]}.{target.attr}",
                                               target.lineno, self._tree(value)])
            if isinstance(target, (ast.Attribute, ast.Subscript)):
                if isinstance(target.value, ast.Name):
                    self.scope.literal_sizes.pop(target.value.id, None)  # mutated: size unknown
                self.walk(target.value)  # ``row.site = x`` stores: only ``row`` is read
                if isinstance(target, ast.Subscript):
                    self.walk(target.slice)
                if isinstance(value, ast.Name):
                    self.scope.function.escaped.append(value.id)
        symbolic = self.value(value)
        self._track_string(targets, value)
        if self._in_module_scope() and len(targets) == 1 and isinstance(targets[0], ast.Name):
            name = targets[0].id
            size = literal_size(value)
            if size:
                self.facts.constants[name] = size
            else:
                text = string_value(value)
                if text is not None:
                    self.facts.constants[name] = text
        size = literal_size(value)
        for target in targets:
            if isinstance(target, ast.Name):
                self._bind(target.id, symbolic)
                if size and not self._in_module_scope():
                    self.scope.literal_sizes[target.id] = size
                else:
                    self.scope.literal_sizes.pop(target.id, None)
            elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
                self._store_attr(target.value.id, target.attr, symbolic)
            else:
                for name in target_names(target):
                    self._bind(name, UNKNOWN)

    def _record_stores(self, targets: list, value: ast.AST) -> None:
        """Loop stores, ``container[key] = ...`` stores and plain mappings assigned to a name."""
        line = value.lineno
        function = self.scope.function
        for target in targets:
            roots = target_names(target) or [(_container_text(target) or ".").split(".")[0]]
            for loop in self.scope.loop_stack:
                loop.stores.extend([name, line] for name in roots if name)
            if isinstance(target, ast.Subscript):
                key = None if isinstance(target.slice, (ast.Tuple, ast.Slice)) else target.slice
                function.item_stores.append([_container_text(target), line, self._key_kind(key)])
            kind = _mapping_kind(value)
            text = dotted(target)
            if text and self.class_stack and len(self.scopes) == 1:
                text = f"{self.class_stack[-1].qualname}.{text}"  # a class attribute
            if kind and text:
                function.containers.append([text, line, kind])

    def _key_kind(self, key: Optional[ast.AST]) -> str:
        """const (a literal or module constant), type (a class: ``cls``, ``type(x)``, ``x.__name__``),
        name, or other."""
        if isinstance(key, ast.Constant):
            if isinstance(key.value, (str, bytes)) or type(key.value) is int:
                return "const"
            return "name" if key.value is None or isinstance(key.value, bool) else "other"
        if isinstance(key, ast.Call) and isinstance(key.func, ast.Name) and key.func.id == "type":
            return "type"
        if isinstance(key, ast.Attribute) and key.attr.startswith("__"):
            return "type"
        if isinstance(key, ast.Name):
            if key.id in _CLASS_NAMES:
                return "type"
            return "const" if self._is_module_constant(key.id) and key.id.isupper() else "name"
        return "other"

    def visit_Delete(self, node: ast.Delete) -> bool:
        for target in node.targets:
            for item in target.elts if isinstance(target, ast.Tuple) else [target]:
                if isinstance(item, ast.Subscript):
                    self.scope.function.item_deletes.append(_container_text(item))
        return True

    def _record_number_comparison(self, node: ast.Compare) -> None:
        """``r.ttl(key) <= 0``: remember the operator and number a call's result is compared with."""
        left = node.left.value if isinstance(node.left, ast.Await) else node.left
        if isinstance(left, ast.Call) and len(node.ops) == 1 and isinstance(node.ops[0], _NUMBER_COMPARISONS):
            number = self._tree(node.comparators[0])
            if isinstance(number, int) and not isinstance(number, bool):
                self.comparisons[id(left)] = f"{comparison_text(node.ops[0])} {number}"

    def visit_Break(self, node: ast.Break) -> bool:
        if self.scope.loop_stack:
            self.scope.loop_stack[-1].exits = True
        return False

    def visit_Lambda(self, node: ast.Lambda) -> bool:
        self.scope.lambda_depth += 1
        self._walk_children(node, ast.Lambda)
        self.scope.lambda_depth -= 1
        return False

    def _block(self, statements: list) -> None:
        """Visit a block's statements, numbering the block and each statement in it (simple
        statements on one line, ``a = 1; b = 2``, are one statement)."""
        scope = self.scope
        blocks = scope.function.blocks
        number = len(blocks)
        blocks.append((scope.block[0], scope.block[1], scope.header) if scope.block else (-1, -1, scope.header))
        scope.header = ""
        outer = scope.block
        index, previous = -1, None
        for statement in statements:
            if not (previous is not None and isinstance(statement, _SIMPLE_STATEMENTS)
                    and isinstance(previous, _SIMPLE_STATEMENTS) and statement.lineno == previous.end_lineno):
                index += 1
            previous = statement
            scope.block = (number, index)
            self.walk(statement)
        scope.block = outer

    def _else_block(self, statements: list) -> None:
        if statements:
            self._block(statements)

    def _track_string(self, targets: list, value: ast.AST) -> None:
        """Remember the text a name is bound to, for SQL built in several statements."""
        names = [t.id for t in targets if isinstance(t, ast.Name)]
        if not names:
            return
        text = self.sql_builder.build(value, value.lineno)
        for name in names:
            if text is None:
                self.scope.strings.pop(name, None)
                if self._in_module_scope():
                    self.facts.sql_constants.pop(name, None)
                continue
            self.scope.strings[name] = text
            if self._in_module_scope() and looks_like_sql(text.text):
                self.facts.sql_constants[name] = text

    def _store_attr(self, owner: str, attr: str, symbolic: Val) -> None:
        origin = self.scope.locals.get(owner, UNKNOWN)[0]
        if origin.startswith("self:"):
            cls_name = origin[len("self:"):]
            for cls in self.facts.classes:
                if cls.qualname == cls_name:
                    cls.attrs.setdefault(attr, symbolic)

    def visit_Return(self, node: ast.Return) -> bool:
        for loop in self.scope.loop_stack:
            loop.exits = True
        if node.value is not None:
            self.scope.leaving.append(len(self.scope.loop_stack))
            self._visit_with_role(node.value, "return", "")
            self.scope.leaving.pop()
            self.scope.function.returns.append(self.value(node.value))
            self.scope.function.escaped.extend(handed_out(node.value))
        return False

    def visit_Raise(self, node: ast.Raise) -> bool:
        self.scope.leaving.append(len(self.scope.loop_stack))
        if node.exc is not None:
            self.walk(node.exc)
        if node.cause is not None:
            self.walk(node.cause)
        self.scope.leaving.pop()
        return False

    def visit_Yield(self, node: Union[ast.Yield, ast.YieldFrom]) -> bool:
        if node.value is not None:
            self._visit_with_role(node.value, "yield", "")
            self.scope.function.returns.append(self.value(node.value))
            self.scope.function.escaped.extend(handed_out(node.value))
        return False

    visit_YieldFrom = visit_Yield

    def visit_Try(self, node: ast.Try) -> bool:
        """Visit a try statement, marking calls in its ``finally`` block."""
        self._block(node.body)
        for handler in node.handlers:
            self.walk(handler)
        self._else_block(node.orelse)
        if node.finalbody:
            self.scope.finally_depth += 1
            self._block(node.finalbody)
            self.scope.finally_depth -= 1
        return False

    visit_TryStar = visit_Try

    def visit_If(self, node: ast.If) -> bool:
        """Record ``if <test>`` as the header of the body block (its ``else`` gets none)."""
        self.walk(node.test)
        self.scope.header = f"if {self.text(node.test, 10_000)}"[:200]
        self._block(node.body)
        orelse = node.orelse
        if len(orelse) == 1 and isinstance(orelse[0], ast.If) and orelse[0].col_offset == node.col_offset \
                and orelse[0].lineno > node.lineno:
            self.walk(orelse[0])  # ``elif``: a test of its own, not a block
        else:
            self._else_block(orelse)
        return False

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> bool:
        """Record ``except <types>`` as the header of the handler's block."""
        if node.type is not None:
            self.walk(node.type)
        types = self.text(node.type, 10_000) if node.type is not None else ""
        self.scope.header = f"except {types}".strip()[:200]
        self._block(node.body)
        return False

    def visit_match_case(self, node: ast.AST) -> bool:
        self.walk(node.pattern)  # type: ignore[attr-defined]
        if node.guard is not None:  # type: ignore[attr-defined]
            self.walk(node.guard)  # type: ignore[attr-defined]
        self._block(node.body)  # type: ignore[attr-defined]
        return False

    def visit_With(self, node: Union[ast.With, ast.AsyncWith]) -> bool:
        is_async = isinstance(node, ast.AsyncWith)
        for item in node.items:
            target = item.optional_vars
            bound = target.id if isinstance(target, ast.Name) else ""
            expr = item.context_expr
            arguments = call_arguments(expr) if isinstance(expr, ast.Call) else []
            if arguments and (dotted(expr.func) or "").split(".")[-1] == "closing":
                self._visit_with_role(arguments[0][2], "closing", bound)
                symbolic = extend(self.value(arguments[0][2]), ("enter", "", ()))
            else:
                if is_async and isinstance(expr, ast.Call):
                    self.awaited.add(id(expr))  # ``async with`` awaits the context's __aenter__
                self._visit_with_role(expr, "with", bound)
                symbolic = extend(self.value(expr), ("enter", "", ()))
            if bound:
                self._bind(bound, symbolic)
            elif target is not None:
                for name in target_names(target):
                    self._bind(name, UNKNOWN)
        items = ", ".join(self.text(item.context_expr, 10_000) for item in node.items)
        self.scope.header = f"{'async with' if is_async else 'with'} {items}"[:200]
        self._block(node.body)
        return False

    visit_AsyncWith = visit_With

    # ---------------------------------------------------------------- loops
    def _push_loop(self, kind: str, node: ast.AST, iter_node: Optional[ast.AST],
                   target: Optional[ast.AST], is_async: bool = False) -> Loop:
        scope = self.scope
        parent = scope.loop_stack[-1].id if scope.loop_stack else None
        # a generator given as a call's only argument starts at the call's "(" in CPython's tree
        line = node.elt.lineno if isinstance(node, ast.GeneratorExp) else node.lineno
        loop = Loop(
            id=len(scope.function.loops),
            kind=kind,
            line=line,
            parent=parent,
            iter_text=self.text(iter_node, 120) if iter_node is not None else "",
            iter_val=self.value(iter_node) if iter_node is not None else None,
            literal_size=literal_size(iter_node) if iter_node is not None else None,
            is_async=is_async,
        )
        if iter_node is not None and loop.literal_size is None:
            loop.literal_size = self._named_literal_size(iter_node)
        scope.function.loops.append(loop)
        scope.loop_stack.append(loop)
        if target is not None:
            names = target_names(target)
            loop.targets = names
            for name in names:
                self._bind(name, extend(loop.iter_val, ("iter", "", ())) if len(names) == 1 else UNKNOWN)
            if len(names) > 1 and iter_node is not None:
                self._bind_unpacked(target, iter_node)
        return loop

    def _bind_unpacked(self, target: ast.AST, iter_node: ast.AST) -> None:
        """``for i, x in enumerate(qs)`` binds ``x`` to an item of ``qs``."""
        if (
            isinstance(iter_node, ast.Call)
            and isinstance(iter_node.func, ast.Name)
            and iter_node.func.id == "enumerate"
            and (iter_node.args or iter_node.keywords)
            and isinstance(target, ast.Tuple)
            and len(target.elts) == 2
            and isinstance(target.elts[1], ast.Name)
        ):
            item = extend(self.value(call_arguments(iter_node)[0][2]), ("iter", "", ()))
            self.scope.locals[target.elts[1].id] = item

    def _named_literal_size(self, node: ast.AST) -> Optional[int]:
        """Size of the literal a local or module constant holds (``for e in EMAILS``, ``x.items()``)."""
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"items", "keys", "values"}
        ):
            node = node.func.value
        if not isinstance(node, ast.Name):
            return None
        if node.id in self.scope.literal_sizes:
            return self.scope.literal_sizes[node.id]
        const = self.facts.constants.get(node.id)
        if isinstance(const, int) and node.id not in self.scope.locals:
            return const
        return None

    def visit_For(self, node: Union[ast.For, ast.AsyncFor]) -> bool:
        is_async = isinstance(node, ast.AsyncFor)
        if is_async and isinstance(node.iter, ast.Call):
            self.awaited.add(id(node.iter))  # ``async for`` awaits each step of the iterable
        self._visit_with_role(node.iter, "iter", "")
        self._push_loop("for", node, node.iter, node.target, is_async)
        self._block(node.body)
        self.scope.loop_stack.pop()
        self._else_block(node.orelse)
        return False

    visit_AsyncFor = visit_For

    def visit_While(self, node: ast.While) -> bool:
        self._push_loop("while", node, None, None)
        self.walk(node.test)
        self._block(node.body)
        self.scope.loop_stack.pop()
        self._else_block(node.orelse)
        return False

    def _comprehension(self, node: ast.AST, elements: list) -> bool:
        generators = node.generators  # type: ignore[attr-defined]
        first = generators[0]
        if first.is_async and isinstance(first.iter, ast.Call):
            self.awaited.add(id(first.iter))
        self._visit_with_role(first.iter, "iter", "")
        saved = dict(self.scope.locals)
        for number, comp in enumerate(generators):
            if number:
                self.walk(comp.iter)
            self._push_loop("comprehension", node, comp.iter, comp.target, bool(comp.is_async))
            for cond in comp.ifs:
                self.walk(cond)
        for element in elements:
            self._visit_with_role(element, "arg", "")
        self.comprehension_values[id(node)] = self.value(elements[-1])
        for _ in generators:
            self.scope.loop_stack.pop()
        self.scope.locals = {**saved, **{k: v for k, v in self.scope.locals.items() if k in saved}}
        return False

    def visit_ListComp(self, node: ast.AST) -> bool:
        return self._comprehension(node, [node.elt])  # type: ignore[attr-defined]

    visit_SetComp = visit_GeneratorExp = visit_ListComp

    def visit_DictComp(self, node: ast.DictComp) -> bool:
        return self._comprehension(node, [node.key, node.value])

    def visit_Dict(self, node: ast.Dict) -> bool:
        for key, value in zip(node.keys, node.values):
            if key is not None:
                self.walk(key)
            self.walk(value)
        return False

    # ---------------------------------------------------------------- calls
    def _visit_with_role(self, node: ast.AST, role: str, bound: str) -> None:
        inner = node.value if isinstance(node, ast.Await) else node
        if isinstance(inner, ast.Call):
            self.role_stack.append((inner, role, bound))
        self.walk(node)

    def visit_Compare(self, node: ast.Compare) -> bool:
        self._record_number_comparison(node)
        for op, comparator in zip(node.ops, node.comparators):
            if isinstance(op, (ast.In, ast.NotIn)):
                self.scope.function.key_ops.append(["in", callee_text(comparator), node.lineno])
        return True

    def visit_Await(self, node: ast.Await) -> bool:
        if isinstance(node.value, ast.Call):
            self.awaited.add(id(node.value))
        return True

    def visit_Call(self, node: ast.Call) -> bool:
        role, bound = "expr", ""
        if self.role_stack and self.role_stack[-1][0] is node:
            _, role, bound = self.role_stack.pop()
        scope = self.scope
        line = node.lineno
        arguments = call_arguments(node)
        loop = scope.loop_stack[-1].id if scope.loop_stack else None
        call = Call(
            line=line,
            col=self._column(line, node.col_offset),
            end_line=node.end_lineno or line,
            text=callee_text(node.func),
            func=self.value(node.func),
            args=tuple(self.value(value) for keyword, star, value in arguments[:_MAX_ARG_VALS]
                       if keyword is None and not star),
            loop=loop,
            role=role,
            bound_to=bound,
            in_finally=scope.finally_depth > 0,
            awaited=id(node) in self.awaited,
            deferred=scope.lambda_depth > 0,
            star_args=tuple(self.value(value) for _, star, value in arguments[:_MAX_ARG_VALS] if star == "*"),
            compared=self.comparisons.get(id(node), ""),
            assigned=list(scope.assigning[-1]) if scope.assigning else [],
            stmt=scope.block,
            # in a return/raise, and not in a comprehension inside it: runs once, then leaves
            leaves_loop=bool(scope.leaving) and scope.leaving[-1] == len(scope.loop_stack),
            keywords=[keyword.arg for keyword in node.keywords if keyword.arg],
            excerpt=self._excerpt(line),
        )
        self._record_arguments(node, arguments, call)
        if loop is not None or scope.function.is_async:
            names = set()
            if isinstance(node.func, ast.Attribute):
                names |= names_read(node.func.value)
            for _, _, value in arguments:
                names |= names_read(value)
            call.names = sorted(names)
        call.arg_count = len(arguments)
        call.sql_text = self._sql_argument(arguments)
        if call.sql_text is not None:
            call.like_params = self._wildcard_parameters(arguments)
        positional = [value for keyword, star, value in arguments if keyword is None and not star]
        if positional:
            first = positional[0]
            call.first_arg = argument_kind(first)
            sql = string_value(first)
            if sql is not None:
                call.sql = sql
            elif isinstance(first, ast.Name):
                call.sql_name = first.id
                const = self.facts.constants.get(first.id)
                if isinstance(const, str):
                    call.sql = const
            elif isinstance(first, ast.Attribute):
                call.sql_name = dotted(first) or ""
        if call.sql_text is not None and not call.sql:
            call.sql = call.sql_text.text
        if (
            isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.attr in _MUTATING_METHODS
        ):
            scope.literal_sizes.pop(node.func.value.id, None)
        self._record_close(node, arguments, scope)
        self._record_access_call(node, scope)
        scope.function.calls.append(call)
        self._record_query_chain(node, line, call.bound_to if call.role == "assign" else "")
        callee = dotted(node.func) or ""
        outer_schema_call = self._record_schema_call(node, line, callee)
        self.walk(node.func)
        handoff = _is_handoff(callee)
        for _, _, value in arguments:
            if handoff:
                scope.function.escaped.extend(handed_out(value))
            self._visit_with_role(value, "arg", "")
        if outer_schema_call:
            self.in_schema_call = False
        self._record_route(node, callee)
        return False

    def _site(self, node: ast.Call) -> str:
        """The call's identity in values: its file and span (chained calls share a start)."""
        return f"{self.facts.path}:{node.lineno}:{node.col_offset}:{node.end_lineno}:{node.end_col_offset}"

    def _record_arguments(self, node: ast.Call, arguments: list, call: Call) -> None:
        """Keyword arguments and the first positional ones as literal trees; names read by prompts."""
        call.site = self._site(node)
        position = 0
        for keyword, star, value in arguments[:_MAX_KWARGS]:
            if keyword is not None:
                call.kwargs[keyword] = self._tree(value)
                if keyword in _PROMPT_KEYWORDS:
                    call.arg_names[keyword] = sorted(names_read(value))
            elif star == "**":
                call.kwargs["**"] = self.text(value, 120)
            elif not star and position < _MAX_ARG_VALS:
                held = self._string_held(value.id) if isinstance(value, ast.Name) else None
                text = held if isinstance(held, str) else getattr(held, "text", None)
                call.arg_trees.append(text if text is not None else self._tree(value))
                if position == 0 and _takes_prompt_first(node.func):
                    call.arg_names["0"] = sorted(names_read(value))
                position += 1

    def _record_query_chain(self, node: ast.Call, line: int, bound_to: str) -> None:
        """``A.objects.filter(...).order_by(...)``: one QueryChain for the outermost call.

        ``qs = A.objects.filter(...)`` then ``qs.filter(...)``: the second chain continues the first
        (its steps are prepended, and the first is marked ``continued``)."""
        if id(node) in self.chained:
            return
        links = []
        current: ast.AST = node
        while (
            isinstance(current, ast.Call)
            and isinstance(current.func, ast.Attribute)
            and current.func.attr in _CHAIN_METHODS
        ):
            links.append(current)
            current = current.func.value
        if not links:
            return
        methods = {link.func.attr for link in links}  # type: ignore[union-attr]
        base_name = dotted(current.func) if isinstance(current, ast.Call) else dotted(current)
        base_last = (base_name or "").rsplit(".", 1)[-1]
        if not (methods & _QUERY_SIGNS or base_last in _QUERY_BASES or base_name in _QUERY_BASES):
            return
        for link in links:
            self.chained.add(id(link))
        steps = []
        for link in reversed(links):
            link_arguments = call_arguments(link)
            args = [self._tree(value) for keyword, star, value in link_arguments
                    if keyword is None and not star]
            kwargs = {keyword: self._tree(value)
                      for keyword, _, value in link_arguments if keyword is not None}
            if any(star == "**" for _, star, _ in link_arguments):
                kwargs["**"] = True  # filters passed as **kwargs: not all known
            steps.append([link.func.attr, args, kwargs])  # type: ignore[union-attr]
        limit, offset = self.slices.get(id(node), (None, False))
        loop = self.scope.loop_stack[-1].id if self.scope.loop_stack else None
        chain = QueryChain(
            line=line, base=self.value(current), base_text=self.text(current, 120),
            steps=steps, loop=loop, limit=limit, offset=offset, excerpt=self._excerpt(line))
        earlier = self.scope.chains.get(current.id) if isinstance(current, ast.Name) else None
        if earlier is not None:
            earlier.continued = True
            chain.base, chain.base_text = earlier.base, earlier.base_text
            chain.steps = earlier.steps + steps
        self.scope.function.queries.append(chain)
        if bound_to:
            self.scope.chains[bound_to] = chain

    def visit_Subscript(self, node: ast.Subscript) -> bool:
        """``qs[:20]``, ``qs[0]``: the rows a chain keeps."""
        element = node.slice
        if isinstance(node.value, ast.Call) and not isinstance(element, ast.Tuple):
            if isinstance(element, ast.Slice):
                lower = int_value(element.lower) if element.lower is not None else 0
                upper = int_value(element.upper) if element.upper is not None else None
                limit = upper - lower if upper is not None and lower is not None else (None if element.upper is None else 0)
                self.slices[id(node.value)] = (limit, element.lower is not None and lower != 0)
            elif int_value(element) is not None:
                self.slices[id(node.value)] = (1, int_value(element) != 0)
        return True

    def _record_schema_call(self, node: ast.Call, line: int, name: str) -> bool:
        """Keep a schema declaration as data; True when it is the outermost one."""
        if self.in_schema_call or (self.class_stack and len(self.scopes) == 1):
            return False  # nested, or in a class body (read from the class's fields)
        short = name.rsplit(".", 1)[-1]
        if short not in _SCHEMA_CALLS and not (short == "execute" and name.startswith("op.")):
            return False
        self.facts.schema_calls.append({"line": line, "function": self.scope.function.qualname,
                                        "tree": self._tree(node)})
        self.in_schema_call = True
        return True

    def _sql_argument(self, arguments: list) -> Optional[SqlText]:
        """The statement a call is given (first positional or ``sql=``-like keyword), if SQL."""
        candidates = [value for keyword, star, value in arguments if keyword is None and not star][:1]
        candidates += [value for keyword, _, value in arguments if keyword in _SQL_KEYWORDS]
        for candidate in candidates:
            text = self.sql_builder.build(candidate, candidate.lineno)
            if text is not None and looks_like_sql(text.text):
                return text
        return None

    def _wildcard_parameters(self, arguments: list) -> dict:
        """Parameters that start with a LIKE wildcard: ``("%" + q + "%",)``, ``{"q": f"%{q}%"}``."""
        positional = [value for keyword, star, value in arguments if keyword is None and not star]
        params = positional[1] if len(positional) > 1 else next(
            (value for keyword, _, value in arguments if keyword in {"params", "parameters", "args"}), None)
        items: list = []
        if isinstance(params, (ast.Tuple, ast.List)):
            items = [(str(i), el.value if isinstance(el, ast.Starred) else el) for i, el in enumerate(params.elts)]
        elif isinstance(params, ast.Dict):
            items = [(string_value(key) or "", value) for key, value in zip(params.keys, params.values)
                     if key is not None]
        found = {}
        for key, value in items:
            text = self.sql_builder.build(value, 0)
            if key and text is not None and starts_with_wildcard(text.text):
                found[key] = text.text
        return found

    def _record_close(self, node: ast.Call, arguments: list, scope: _Scope) -> None:
        if not isinstance(node.func, ast.Attribute) or node.func.attr not in _CLOSE_METHODS:
            return
        owner = node.func.value
        if isinstance(owner, ast.Name) and node.func.attr == "close":
            scope.function.closed.append([owner.id, scope.finally_depth > 0])
        for _, _, value in arguments[:1]:
            if isinstance(value, ast.Name):
                scope.function.closed.append([value.id, scope.finally_depth > 0])

    def _record_access_call(self, node: ast.Call, scope: _Scope) -> None:
        """``order.items.all()`` inside ``for order in ...``: a relation manager call."""
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Attribute)
            and isinstance(func.value.value, ast.Name)
        ):
            loop = self._loop_of_target(func.value.value.id)
            if loop is not None:
                scope.function.accesses.append(
                    Access(loop.id, func.value.value.id, func.value.attr, func.attr,
                           node.lineno, self._excerpt(node.lineno))
                )

    def _loop_of_target(self, name: str) -> Optional[Loop]:
        for loop in reversed(self.scope.loop_stack):
            if name in loop.targets:
                return loop
        return None

    def visit_Attribute(self, node: ast.Attribute) -> bool:
        if isinstance(node.value, ast.Name) and self.scope.loop_stack:
            loop = self._loop_of_target(node.value.id)
            if loop is not None:
                self.scope.function.accesses.append(
                    Access(loop.id, node.value.id, node.attr, "", node.lineno, self._excerpt(node.lineno))
                )
        return True

    def _record_route(self, node: ast.Call, callee: str) -> None:
        """URL confs: ``path("x/", views.handler)``, ``re_path``, ``url``, ``View.as_view()``,
        Flask's ``add_url_rule(view_func=...)``."""
        short = callee.rsplit(".", 1)[-1]
        if short in {"path", "re_path", "url"} and len(node.args) + len(node.keywords) >= 2:
            view = call_arguments(node)[1][2]
            if isinstance(view, ast.Call) and isinstance(view.func, ast.Attribute) and view.func.attr == "as_view":
                view = view.func.value
            if isinstance(view, (ast.Name, ast.Attribute)):
                self.facts.routes.append(self.value(view))
        if short == "add_url_rule":
            for keyword in node.keywords:
                if keyword.arg == "view_func":
                    self.facts.routes.append(self.value(keyword.value))


def _is_handoff(callee: str) -> bool:
    """Passing a name to a constructor or a container hands its ownership on."""
    name = callee.rsplit(".", 1)[-1]
    return name[:1].isupper() or name in _HANDOFF_METHODS


def _constant_name(node: ast.AST) -> str:
    """``True``, ``False`` or ``None`` for those constants, else ''."""
    if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, bool)):
        return repr(node.value)
    return ""


def _subscript_kind(element: ast.AST) -> str:
    """"slice" for ``x[1:]`` and ``x[1:, :2]``, else "index"."""
    if isinstance(element, ast.Slice):
        return "slice"
    if isinstance(element, ast.Tuple) and element.elts and all(isinstance(e, ast.Slice) for e in element.elts):
        return "slice"
    return "index"


def _container_text(node: ast.AST) -> str:
    """``self._cache`` for ``self._cache[a][b]`` or ``self._cache.setdefault(a, {})[b]``."""
    current = node
    while True:
        if isinstance(current, ast.Subscript):
            current = current.value
        elif isinstance(current, ast.Call) and isinstance(current.func, ast.Attribute):
            current = current.func.value
        else:
            return dotted(current) or ""


def _mapping_kind(value: ast.AST) -> str:
    """"empty" for ``{}``/``dict()``/``defaultdict(list)``/``OrderedDict()``, "filled" for a dict literal."""
    if isinstance(value, ast.Dict):
        return "filled" if value.keys else "empty"
    callee = (dotted(value.func) or "") if isinstance(value, ast.Call) else ""
    if callee.rsplit(".", 1)[-1] in _PLAIN_MAPPINGS:
        factory_only = callee.endswith("defaultdict") and len(value.args) <= 1
        return "empty" if not (value.args or value.keywords) or factory_only else "filled"
    return ""


def _takes_prompt_first(func: ast.AST) -> bool:
    """``llm.invoke(prompt)``, ``chain.run(...)``, ``llm(prompt)``: the first argument is the prompt."""
    if isinstance(func, ast.Attribute):
        return func.attr in _PROMPT_FIRST or bool(_PROMPT_FIRST_NAME.search(func.attr))
    return isinstance(func, ast.Name) and bool(_PROMPT_FIRST_NAME.search(func.id))


def decode_source(source: Union[str, bytes]) -> str:
    """The text of a module given as bytes (its coding declaration or UTF-8; a BOM is dropped)."""
    if isinstance(source, str):
        return source
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
    except SyntaxError:
        encoding = "utf-8"
    if encoding == "utf-8-sig":
        encoding, source = "utf-8", source[3:] if source.startswith(b"\xef\xbb\xbf") else source
    try:
        return source.decode(encoding, "replace")
    except LookupError:
        return source.decode("utf-8", "replace")


def parse(source: Union[str, bytes], path: str = "<module>") -> ast.Module:
    """CPython's syntax tree of a module (SyntaxError when it has none)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escape sequences etc. are not ours to report
        return compile(source, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)


def extract_facts(path: str, source: Union[str, bytes], tree: Optional[ast.Module] = None) -> ModuleFacts:
    """Parse ``source`` (unless its ``tree`` is given) and return its facts; code that is not
    Python of any version from 3.8 on is recorded in ``error``."""
    module_name = module_name_for(path)
    text = decode_source(source)
    if tree is None:
        try:
            tree = parse(source, path)
        except SyntaxError as exc:
            tree = _lowered(source)
            if tree is None:
                facts = ModuleFacts(path=path, module=module_name, lines=text.count("\n") + 1)
                facts.error = f"syntax error at line {exc.lineno or 1}: {exc.msg} (not analysed)"
                return facts
        except (ValueError, TypeError) as exc:
            facts = ModuleFacts(path=path, module=module_name, lines=text.count("\n") + 1)
            facts.error = f"could not be parsed: {str(exc)[:200]}"
            return facts
    extractor = FactExtractor(path, module_name, text)
    extractor.walk(tree)
    facts = extractor.facts
    facts.retry_loops, facts.prompts = collect_shapes(tree, text.encode("utf-8", "surrogatepass"), _line_of)
    extractor.sql_builder = None  # it calls back into the extractor: no cycle is left for the collector
    _share_equal_parts(facts)
    return facts


def _share_equal_parts(facts: ModuleFacts) -> None:
    """Let the functions, calls and loops of a module share equal parts: one empty tuple for
    every empty list, one empty dict for every empty dict, one object for equal symbolic values
    and callee texts. A large code base has hundreds of thousands of them (a quarter of the
    memory its facts take, and pickle writes a shared object once); nothing changes facts once
    they are extracted."""
    no_items: dict = {}
    shared: dict = {}
    for function in facts.functions:
        for owners, names in ((function.calls, _CALL_CONTAINERS), (function.loops, _LOOP_CONTAINERS),
                              ((function,), _FUNCTION_CONTAINERS)):
            for owner in owners:
                for name in names:
                    value = getattr(owner, name)
                    if not value and type(value) in (list, dict):
                        setattr(owner, name, () if type(value) is list else no_items)
        for call in function.calls:
            call.func = shared.setdefault(call.func, call.func)
            call.args = shared.setdefault(call.args, call.args)
            call.text = shared.setdefault(call.text, call.text)


def _containers(kind: type) -> tuple:
    """The fields of a facts dataclass that default to an empty list or dict."""
    return tuple(f.name for f in dataclasses.fields(kind) if f.default_factory in (list, dict))


_CALL_CONTAINERS, _LOOP_CONTAINERS, _FUNCTION_CONTAINERS = _containers(Call), _containers(Loop), _containers(Function)


def _line_of(node: ast.AST) -> int:
    return node.lineno


def _lowered(source: Union[str, bytes]) -> Optional[ast.Module]:
    """The tree of code in syntax newer than this interpreter's (see :mod:`auditor.syntax_lowering`)."""
    from auditor.syntax_lowering import lower

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # libcst evaluates literals: "\d" would warn (3.12+)
        return lower(source.encode("utf-8", "surrogatepass") if isinstance(source, str) else source)
