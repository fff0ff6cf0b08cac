"""Parse one Python module with libcst and extract its :mod:`auditor.facts`.

One parse, one traversal, and only byte-span metadata (cheaper than PositionProvider: lines
come from a table of newline offsets). The traversal is driven by
hand for loops, comprehensions, ``with`` and ``try`` so that each call knows its loop, how
its result is used and whether it sits in a ``finally`` block.
"""

from __future__ import annotations

import dataclasses
import re
from bisect import bisect_right
from typing import Mapping, Optional, Union

import libcst as cst
from libcst.metadata import ByteSpanPositionProvider, MetadataWrapper

from auditor.cst_nodes import (
    annotated_class,
    argument_kind,
    callee_text,
    dotted,
    handed_out,
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
_COMPARISON_TEXT = {cst.LessThan: "<", cst.LessThanEqual: "<=", cst.Equal: "==", cst.NotEqual: "!=",
                    cst.GreaterThan: ">", cst.GreaterThanEqual: ">="}
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


# Nodes whose dataclass fields are not in source order.
_SOURCE_ORDER = {cst.IfExp: ["body", "test", "orelse"]}


class FactExtractor:
    """Collects :class:`ModuleFacts` in one traversal.

    The traversal is our own (:meth:`walk`): libcst's visitor protocol rebuilds every node it
    passes, which costs more than the parse, while walking the dataclass fields reads them.
    ``visit_<Node>`` methods return False when they walked the children themselves.
    """

    _fields_by_type: dict = {}

    def __init__(self, path: str, module: str, code: bytes, encoding: str, spans: Mapping) -> None:
        self.spans = spans
        self.code = code
        self.encoding = encoding
        self.newlines = [match.start() for match in re.finditer(b"\n", code)]
        source_lines = code.decode(encoding, "replace").split("\n")
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
        self.role_stack: list = []  # (role, bound_to) for the call being visited next
        self.comprehension_values: dict = {}  # id(comprehension node) -> Val of its element
        self.awaited: set = set()  # id() of calls that are awaited
        self.comparisons: dict = {}  # id() of a call compared with a number -> "<= 0"
        self.in_schema_call = False
        self.chained: set = set()  # id() of calls that are inner links of a recorded QueryChain
        self.slices: dict = {}  # id() of a chain's outer call -> (limit, offset) of the slice applied to it
        self.sql_builder = SqlBuilder(self._string_held, self._is_module_constant)

    # ---------------------------------------------------------------- traversal
    def walk(self, node: cst.CSTNode) -> None:
        """Visit ``node`` (``visit_<Type>``, then its children unless that returned False)."""
        kind = type(node)
        visit = getattr(self, f"visit_{kind.__name__}", None)
        if visit is None or visit(node) is not False:
            for child in self._children(node):
                self.walk(child)
        if kind is cst.Call:
            self.leave_Call(node)

    def _children(self, node: cst.CSTNode) -> list:
        kind = type(node)
        names = self._fields_by_type.get(kind)
        if names is None:
            names = _SOURCE_ORDER.get(kind) or [f.name for f in dataclasses.fields(kind)]
            self._fields_by_type[kind] = names
        children = []
        for name in names:
            value = getattr(node, name)
            if isinstance(value, cst.CSTNode):
                children.append(value)
            elif isinstance(value, (tuple, list)):
                children.extend(item for item in value if isinstance(item, cst.CSTNode))
        return children

    # ---------------------------------------------------------------- helpers
    @property
    def scope(self) -> _Scope:
        return self.scopes[-1]

    def _line_at(self, offset: int) -> int:
        return bisect_right(self.newlines, offset - 1) + 1

    def _line(self, node: cst.CSTNode) -> int:
        return self._line_at(self.spans[node].start)

    def _span(self, node: cst.CSTNode) -> tuple:
        """(first line, column in characters, last line) of a node."""
        span = self.spans[node]
        line = self._line_at(span.start)
        line_start = self.newlines[line - 2] + 1 if line > 1 else 0
        column = len(self.code[line_start:span.start].decode(self.encoding, "replace"))
        return line, column, self._line_at(span.start + max(span.length - 1, 0))

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

    def value(self, node: cst.BaseExpression, depth: int = 0) -> Val:
        """The symbolic value of an expression."""
        if depth > 12:
            return UNKNOWN
        if isinstance(node, cst.Name):
            name = node.value
            if name in self.scope.locals:
                return self.scope.locals[name]
            return (f"g:{self._global_name(name)}", ())
        if isinstance(node, cst.Attribute):
            return extend(self.value(node.value, depth + 1), ("attr", node.attr.value, ()))
        if isinstance(node, cst.Call):
            args = tuple(
                self.value(arg.value, depth + 1)
                for arg in node.args[:_MAX_ARG_VALS]
                if arg.keyword is None and not arg.star
            )
            return extend(self.value(node.func, depth + 1), ("call", self._site(node), args))
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
            operands = (self.value(node.left, depth + 1), self.value(node.right, depth + 1))
            return ("pipe:", (("operands", "", operands),))
        if isinstance(node, cst.Await):
            return self.value(node.expression, depth + 1)
        if isinstance(node, cst.Subscript):
            kinds = {"slice" if isinstance(el.slice, cst.Slice) else "index" for el in node.slice}
            kind = "slice" if kinds == {"slice"} else "index"
            return extend(self.value(node.value, depth + 1), (kind, "", ()))
        if isinstance(node, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
            element = self.comprehension_values.get(id(node))
            return extend(element, ("collect", "", ())) if element else UNKNOWN
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
            text = string_value(node)
            return (f"s:{text}", ()) if text is not None else UNKNOWN
        return UNKNOWN

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
        if 0 < line <= len(self.lines):
            return self.lines[line - 1].strip()[:200]
        return ""

    # ---------------------------------------------------------------- imports
    def visit_Import(self, node: cst.Import) -> bool:
        for alias in node.names:
            full = dotted(alias.name) or ""
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.facts.imports[alias.asname.name.value] = full
            else:
                head = full.split(".")[0]
                self.facts.imports[head] = head
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        base = dotted(node.module) if node.module is not None else ""
        if node.relative:
            package = self.package.split(".") if self.package else []
            up = len(node.relative) - 1
            package = package[: len(package) - up] if up else package
            base = ".".join([p for p in package if p] + ([base] if base else []))
        if isinstance(node.names, cst.ImportStar):
            self.facts.star_imports.append(base)
            return False
        for alias in node.names:
            name = dotted(alias.name) or ""
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            self.facts.imports[local] = f"{base}.{name}" if base else name
        return False

    # ---------------------------------------------------------------- definitions
    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        qualname = self._qualify(node.name.value)
        cls = ClassDef(qualname=qualname, name=node.name.value, line=self._line(node))
        cls.bases = [self.value(arg.value) for arg in node.bases if arg.keyword is None]
        self.facts.classes.append(cls)
        for dec in node.decorators:
            self.walk(dec)
        for arg in node.bases:
            self.walk(arg)
        self.class_stack.append(cls)
        for stmt in node.body.body:
            self._class_statement(cls, stmt)
        self.class_stack.pop()
        return False

    def _class_statement(self, cls: ClassDef, stmt: cst.CSTNode) -> None:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, (cst.Assign, cst.AnnAssign)):
                    self._class_field(cls, small)
        if isinstance(stmt, cst.ClassDef) and stmt.name.value == "Meta":
            for inner in stmt.body.body:
                if isinstance(inner, cst.SimpleStatementLine):
                    for small in inner.body:
                        if isinstance(small, cst.Assign) and len(small.targets) == 1:
                            target = small.targets[0].target
                            if isinstance(target, cst.Name):
                                text = string_value(small.value)
                                cls.meta[target.value] = text if text is not None else ""
                                cls.meta_trees[target.value] = literal_tree(small.value, self._qualify_dotted)
            return
        self.walk(stmt)

    def _class_field(self, cls: ClassDef, small: Union[cst.Assign, cst.AnnAssign]) -> None:
        if isinstance(small, cst.Assign):
            targets = [t.target for t in small.targets]
        else:
            targets = [small.target]
        value = small.value
        for target in targets:
            if not isinstance(target, cst.Name):
                continue
            fld = ClassField(name=target.value, line=self._line(small), func=None)
            if isinstance(small, cst.AnnAssign):
                fld.annotation, fld.annotation_many = annotated_class(small.annotation.annotation)
                fld.annotation_text = cst.Module(body=[]).code_for_node(small.annotation.annotation).strip()[:200]
            if value is None:  # ``name: Mapped[str]`` declares a column
                cls.fields.append(fld)
                continue
            fld.value = literal_tree(value, self._qualify_dotted)
            if isinstance(value, cst.Call):
                fld.func = self.value(value.func)
                for arg in value.args:
                    if arg.keyword is None:
                        fld.args.append(self.value(arg.value))
                    else:
                        text = string_value(arg.value)
                        if text is None:
                            text = dotted(arg.value) or ""
                            if text.split(".")[0] in self.facts.imports:
                                text = self._qualify_dotted(text)
                        fld.kwargs[arg.keyword.value] = text
            else:
                text = string_value(value)
                if text is not None:
                    fld.kwargs["value"] = text
            cls.fields.append(fld)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        cls = self.class_stack[-1] if self.class_stack and len(self.scopes) == 1 else None
        if len(self.scopes) > 1:
            qualname = f"{self.scope.function.qualname}.<locals>.{node.name.value}"
        else:
            qualname = self._qualify(node.name.value)
        start, _, end = self._span(node)
        func = Function(
            qualname=qualname,
            name=node.name.value,
            cls=cls.qualname if cls else "",
            line=start,
            end_line=end,
            is_async=node.asynchronous is not None,
        )
        for dec in node.decorators:
            text = cst.Module(body=[]).code_for_node(dec.decorator).strip()
            func.decorators.append([text, self.value(dec.decorator)])
            self.walk(dec)
        params = list(node.params.posonly_params) + list(node.params.params) + list(node.params.kwonly_params)
        self.facts.functions.append(func)
        new_scope = _Scope(func)
        for index, param in enumerate(params):
            name = param.name.value
            annotation = ""
            if param.annotation is not None:
                annotation = self._annotation(param.annotation.annotation)
            func.params.append([name, annotation])
            if cls is not None and index == 0 and name in {"self", "cls"}:
                new_scope.locals[name] = (f"{name}:{cls.qualname}", ())
            else:
                new_scope.locals[name] = (f"p:{name}:{annotation}", ())
        for param in params:
            if param.default is not None:
                self.walk(param.default)
        self.scopes.append(new_scope)
        self.walk(node.body)
        self.scopes.pop()
        return False

    def _annotation(self, node: cst.BaseExpression) -> str:
        if isinstance(node, cst.Subscript):  # Optional[X], Annotated[X, ...]
            base = dotted(node.value) or ""
            if base.split(".")[-1] in {"Optional", "Annotated"} and node.slice:
                first = node.slice[0].slice
                if isinstance(first, cst.Index):
                    return self._annotation(first.value)
            return ""
        if isinstance(node, cst.BinaryOperation):  # X | None
            return self._annotation(node.left)
        if isinstance(node, cst.SimpleString):
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
    def visit_Global(self, node: cst.Global) -> bool:
        self.scope.function.globals_declared.extend(n.name.value for n in node.names)
        return False

    def visit_Assign(self, node: cst.Assign) -> bool:
        self._assignment([t.target for t in node.targets], node.value)
        return False

    def visit_AnnAssign(self, node: cst.AnnAssign) -> bool:
        if node.value is not None:
            self._assignment([node.target], node.value)
        return False

    def visit_AugAssign(self, node: cst.AugAssign) -> bool:
        names = target_names(node.target)
        self.scope.assigning.append(names)
        self.walk(node.value)
        self.scope.assigning.pop()
        roots = names or [(_container_text(node.target) or ".").split(".")[0]]
        for loop in self.scope.loop_stack:
            loop.stores.extend([name, self._line(node)] for name in roots if name)
        held = None
        if isinstance(node.target, cst.Name) and isinstance(node.operator, cst.AddAssign):
            held = self.scope.strings.get(node.target.value)
            if held is not None:
                added = self.sql_builder.build(node.value, self._line(node.value))
                held = concat_sql(held, added) if added is not None else concat_sql(
                    held, self.sql_builder.hole(node.value, self._line(node.value)))
        for name in target_names(node.target):
            self._bind(name, UNKNOWN)
            self.scope.strings.pop(name, None)
        if held is not None:
            self.scope.strings[node.target.value] = held
        return False

    def visit_NamedExpr(self, node: cst.NamedExpr) -> bool:
        self._visit_with_role(node.value, "assign", "")
        if isinstance(node.target, cst.Name):
            self._bind(node.target.value, self.value(node.value))
        return False

    def _assignment(self, targets: list, value: cst.BaseExpression) -> None:
        role, bound = "assign", ""
        names: list = []
        for target in targets:
            names.extend(target_names(target))
            if isinstance(target, (cst.Attribute, cst.Subscript)):
                role = "store"
        if role == "assign" and len(targets) == 1 and isinstance(targets[0], cst.Name):
            bound = targets[0].value
            if bound in self.scope.function.globals_declared:
                role = "store"
        stored = [_container_text(t).split(".")[0] for t in targets if isinstance(t, (cst.Attribute, cst.Subscript))]
        self.scope.assigning.append(names + [name for name in stored if name])
        self._visit_with_role(value, role, bound)
        self.scope.assigning.pop()
        self._record_stores(targets, value)
        for target in targets:
            if isinstance(target, cst.Subscript):
                self.scope.function.key_ops.append(["store", callee_text(target.value), self._line(target)])
            elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) \
                    and target.value.value in self.facts.imports and target.value.value not in self.scope.locals:
                self.facts.attr_stores.append([f"{self.facts.imports[target.value.value]}.{target.attr.value}",
                                               self._line(target), literal_tree(value, self._qualify_dotted)])
            if isinstance(target, (cst.Attribute, cst.Subscript)):
                if isinstance(target.value, cst.Name):
                    self.scope.literal_sizes.pop(target.value.value, None)  # mutated: size unknown
                self.walk(target.value)  # ``row.site = x`` stores: only ``row`` is read
                if isinstance(target, cst.Subscript):
                    for element in target.slice:
                        self.walk(element)
                if isinstance(value, cst.Name):
                    self.scope.function.escaped.append(value.value)
        symbolic = self.value(value)
        self._track_string(targets, value)
        if self._in_module_scope() and len(targets) == 1 and isinstance(targets[0], cst.Name):
            name = targets[0].value
            size = literal_size(value)
            if size:
                self.facts.constants[name] = size
            else:
                text = string_value(value)
                if text is not None:
                    self.facts.constants[name] = text
        size = literal_size(value)
        for target in targets:
            if isinstance(target, cst.Name):
                self._bind(target.value, symbolic)
                if size and not self._in_module_scope():
                    self.scope.literal_sizes[target.value] = size
                else:
                    self.scope.literal_sizes.pop(target.value, None)
            elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
                self._store_attr(target.value.value, target.attr.value, symbolic)
            else:
                for name in target_names(target):
                    self._bind(name, UNKNOWN)

    def _record_stores(self, targets: list, value: cst.BaseExpression) -> None:
        """Loop stores, ``container[key] = ...`` stores and plain mappings assigned to a name."""
        line = self._line(value)
        function = self.scope.function
        for target in targets:
            roots = target_names(target) or [(_container_text(target) or ".").split(".")[0]]
            for loop in self.scope.loop_stack:
                loop.stores.extend([name, line] for name in roots if name)
            if isinstance(target, cst.Subscript):
                key = target.slice[0].slice if len(target.slice) == 1 else None
                function.item_stores.append([_container_text(target), line, self._key_kind(key)])
            kind = _mapping_kind(value)
            text = dotted(target)
            if text and self.class_stack and len(self.scopes) == 1:
                text = f"{self.class_stack[-1].qualname}.{text}"  # a class attribute
            if kind and text:
                function.containers.append([text, line, kind])

    def _key_kind(self, key: Optional[cst.BaseSlice]) -> str:
        """const (a literal or module constant), type (a class: ``cls``, ``type(x)``, ``x.__name__``),
        name, or other."""
        value = key.value if isinstance(key, cst.Index) else None
        if isinstance(value, (cst.SimpleString, cst.Integer)):
            return "const"
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and value.func.value == "type":
            return "type"
        if isinstance(value, cst.Attribute) and value.attr.value.startswith("__"):
            return "type"
        if isinstance(value, cst.Name):
            if value.value in _CLASS_NAMES:
                return "type"
            return "const" if self._is_module_constant(value.value) and value.value.isupper() else "name"
        return "other"

    def visit_Del(self, node: cst.Del) -> bool:
        targets = [el.value for el in node.target.elements] if isinstance(node.target, cst.Tuple) else [node.target]
        for target in targets:
            if isinstance(target, cst.Subscript):
                self.scope.function.item_deletes.append(_container_text(target))
        return True

    def _record_number_comparison(self, node: cst.Comparison) -> None:
        """``r.ttl(key) <= 0``: remember the operator and number a call's result is compared with."""
        left = node.left.expression if isinstance(node.left, cst.Await) else node.left
        if isinstance(left, cst.Call) and len(node.comparisons) == 1:
            target = node.comparisons[0]
            number = literal_tree(target.comparator, self._qualify_dotted)
            operator = _COMPARISON_TEXT.get(type(target.operator))
            if operator and isinstance(number, int) and not isinstance(number, bool):
                self.comparisons[id(left)] = f"{operator} {number}"

    def visit_Break(self, node: cst.Break) -> bool:
        if self.scope.loop_stack:
            self.scope.loop_stack[-1].exits = True
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        self.scope.lambda_depth += 1
        for child in self._children(node):
            self.walk(child)
        self.scope.lambda_depth -= 1
        return False

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> bool:
        self._block(node.body)
        return False

    def visit_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> bool:
        self._block(node.body)
        return False

    def _block(self, statements: tuple) -> None:
        """Visit a block's statements, numbering the block and each statement in it."""
        scope = self.scope
        blocks = scope.function.blocks
        number = len(blocks)
        blocks.append([scope.block[0], scope.block[1], scope.header] if scope.block else [-1, -1, scope.header])
        scope.header = ""
        outer = scope.block
        for index, statement in enumerate(statements):
            scope.block = (number, index)
            self.walk(statement)
        scope.block = outer

    def _track_string(self, targets: list, value: cst.BaseExpression) -> None:
        """Remember the text a name is bound to, for SQL built in several statements."""
        names = [t.value for t in targets if isinstance(t, cst.Name)]
        if not names:
            return
        text = self.sql_builder.build(value, self._line(value))
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

    def visit_Return(self, node: cst.Return) -> bool:
        for loop in self.scope.loop_stack:
            loop.exits = True
        if node.value is not None:
            self.scope.leaving.append(len(self.scope.loop_stack))
            self._visit_with_role(node.value, "return", "")
            self.scope.leaving.pop()
            self.scope.function.returns.append(self.value(node.value))
            self.scope.function.escaped.extend(handed_out(node.value))
        return False

    def visit_Raise(self, node: cst.Raise) -> bool:
        self.scope.leaving.append(len(self.scope.loop_stack))
        if node.exc is not None:
            self.walk(node.exc)
        if node.cause is not None:
            self.walk(node.cause)
        self.scope.leaving.pop()
        return False

    def visit_Yield(self, node: cst.Yield) -> bool:
        value = node.value.item if isinstance(node.value, cst.From) else node.value
        if value is not None:
            self._visit_with_role(value, "yield", "")
            self.scope.function.returns.append(self.value(value))
            self.scope.function.escaped.extend(handed_out(value))
        return False

    def visit_Try(self, node: cst.Try) -> bool:
        self._try(node)
        return False

    def visit_TryStar(self, node: cst.TryStar) -> bool:
        self._try(node)
        return False

    def _try(self, node: Union[cst.Try, cst.TryStar]) -> None:
        """Visit a try statement, marking calls in its ``finally`` block."""
        self.walk(node.body)
        for handler in node.handlers:
            self.walk(handler)
        if node.orelse is not None:
            self.walk(node.orelse)
        if node.finalbody is not None:
            self.scope.finally_depth += 1
            self.walk(node.finalbody)
            self.scope.finally_depth -= 1

    def visit_If(self, node: cst.If) -> bool:
        """Record ``if <test>`` as the header of the body block (its ``else`` gets none)."""
        self.walk(node.test)
        self.scope.header = f"if {cst.Module(body=[]).code_for_node(node.test).strip()}"[:200]
        self.walk(node.body)
        if node.orelse is not None:
            self.walk(node.orelse)
        return False

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> bool:
        """Record ``except <types>`` as the header of the handler's block."""
        if node.type is not None:
            self.walk(node.type)
        if node.name is not None:
            self.walk(node.name)
        types = cst.Module(body=[]).code_for_node(node.type).strip() if node.type is not None else ""
        self.scope.header = f"except {types}".strip()[:200]
        self.walk(node.body)
        return False

    def visit_With(self, node: cst.With) -> bool:
        for item in node.items:
            bound = ""
            if item.asname is not None and isinstance(item.asname.name, cst.Name):
                bound = item.asname.name.value
            expr = item.item
            if (
                isinstance(expr, cst.Call)
                and (dotted(expr.func) or "").split(".")[-1] == "closing"
                and expr.args
            ):
                self._visit_with_role(expr.args[0].value, "closing", bound)
                inner = self.value(expr.args[0].value)
                symbolic = extend(inner, ("enter", "", ()))
            else:
                if node.asynchronous is not None and isinstance(expr, cst.Call):
                    self.awaited.add(id(expr))  # ``async with`` awaits the context's __aenter__
                self._visit_with_role(expr, "with", bound)
                symbolic = extend(self.value(expr), ("enter", "", ()))
            if bound:
                self._bind(bound, symbolic)
            elif item.asname is not None:
                for name in target_names(item.asname.name):
                    self._bind(name, UNKNOWN)
        items = ", ".join(cst.Module(body=[]).code_for_node(item.item).strip() for item in node.items)
        self.scope.header = f"{'async with' if node.asynchronous is not None else 'with'} {items}"[:200]
        self.walk(node.body)
        return False

    # ---------------------------------------------------------------- loops
    def _push_loop(self, kind: str, node: cst.CSTNode, iter_node: Optional[cst.BaseExpression],
                   target: Optional[cst.BaseExpression], is_async: bool = False) -> Loop:
        scope = self.scope
        parent = scope.loop_stack[-1].id if scope.loop_stack else None
        iter_text = ""
        if iter_node is not None:
            iter_text = cst.Module(body=[]).code_for_node(iter_node).strip()[:120]
        loop = Loop(
            id=len(scope.function.loops),
            kind=kind,
            line=self._line(node),
            parent=parent,
            iter_text=iter_text,
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
                self._bind_unpacked(names, target, iter_node)
        return loop

    def _bind_unpacked(self, names: list, target: cst.BaseExpression, iter_node: cst.BaseExpression) -> None:
        """``for i, x in enumerate(qs)`` binds ``x`` to an item of ``qs``."""
        if (
            isinstance(iter_node, cst.Call)
            and isinstance(iter_node.func, cst.Name)
            and iter_node.func.value == "enumerate"
            and iter_node.args
            and isinstance(target, cst.Tuple)
            and len(target.elements) == 2
            and isinstance(target.elements[1].value, cst.Name)
        ):
            item = extend(self.value(iter_node.args[0].value), ("iter", "", ()))
            self.scope.locals[target.elements[1].value.value] = item

    def _named_literal_size(self, node: cst.BaseExpression) -> Optional[int]:
        """Size of the literal a local or module constant holds (``for e in EMAILS``, ``x.items()``)."""
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value in {"items", "keys", "values"}
        ):
            node = node.func.value
        if not isinstance(node, cst.Name):
            return None
        if node.value in self.scope.literal_sizes:
            return self.scope.literal_sizes[node.value]
        const = self.facts.constants.get(node.value)
        if isinstance(const, int) and node.value not in self.scope.locals:
            return const
        return None

    def visit_For(self, node: cst.For) -> bool:
        if node.asynchronous is not None and isinstance(node.iter, cst.Call):
            self.awaited.add(id(node.iter))  # ``async for`` awaits each step of the iterable
        self._visit_with_role(node.iter, "iter", "")
        self._push_loop("for", node, node.iter, node.target, node.asynchronous is not None)
        self.walk(node.body)
        self.scope.loop_stack.pop()
        if node.orelse is not None:
            self.walk(node.orelse)
        return False

    def visit_While(self, node: cst.While) -> bool:
        self._push_loop("while", node, None, None)
        self.walk(node.test)
        self.walk(node.body)
        self.scope.loop_stack.pop()
        if node.orelse is not None:
            self.walk(node.orelse)
        return False

    def _comprehension(self, node: cst.CSTNode, elements: list) -> bool:
        comp: cst.CompFor = node.for_in  # type: ignore[attr-defined]
        if comp.asynchronous is not None and isinstance(comp.iter, cst.Call):
            self.awaited.add(id(comp.iter))
        self._visit_with_role(comp.iter, "iter", "")
        pushed = 0
        saved = dict(self.scope.locals)
        while comp is not None:
            if pushed:
                self.walk(comp.iter)
            self._push_loop("comprehension", node, comp.iter, comp.target, comp.asynchronous is not None)
            pushed += 1
            for cond in comp.ifs:
                self.walk(cond)
            comp = comp.inner_for_in
        for element in elements:
            self._visit_with_role(element, "arg", "")
        self.comprehension_values[id(node)] = self.value(elements[-1])
        for _ in range(pushed):
            self.scope.loop_stack.pop()
        self.scope.locals = {**saved, **{k: v for k, v in self.scope.locals.items() if k in saved}}
        return False

    def visit_ListComp(self, node: cst.ListComp) -> bool:
        return self._comprehension(node, [node.elt])

    def visit_SetComp(self, node: cst.SetComp) -> bool:
        return self._comprehension(node, [node.elt])

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> bool:
        return self._comprehension(node, [node.elt])

    def visit_DictComp(self, node: cst.DictComp) -> bool:
        return self._comprehension(node, [node.key, node.value])

    # ---------------------------------------------------------------- calls
    def _visit_with_role(self, node: cst.BaseExpression, role: str, bound: str) -> None:
        inner = node.expression if isinstance(node, cst.Await) else node
        if isinstance(inner, cst.Call):
            self.role_stack.append((inner, role, bound))
        self.walk(node)

    def visit_Comparison(self, node: cst.Comparison) -> bool:
        self._record_number_comparison(node)
        for target in node.comparisons:
            if isinstance(target.operator, (cst.In, cst.NotIn)):
                self.scope.function.key_ops.append(["in", callee_text(target.comparator), self._line(node)])
        return True

    def visit_Await(self, node: cst.Await) -> bool:
        if isinstance(node.expression, cst.Call):
            self.awaited.add(id(node.expression))
        return True

    def visit_Call(self, node: cst.Call) -> bool:
        role, bound = "expr", ""
        if self.role_stack and self.role_stack[-1][0] is node:
            _, role, bound = self.role_stack.pop()
        scope = self.scope
        line, col, end_line = self._span(node)
        text = callee_text(node.func)
        loop = scope.loop_stack[-1].id if scope.loop_stack else None
        call = Call(
            line=line,
            col=col,
            end_line=end_line,
            text=text,
            func=self.value(node.func),
            args=tuple(
                self.value(arg.value)
                for arg in node.args[:_MAX_ARG_VALS]
                if arg.keyword is None and not arg.star
            ),
            loop=loop,
            role=role,
            bound_to=bound,
            in_finally=scope.finally_depth > 0,
            awaited=id(node) in self.awaited,
            deferred=scope.lambda_depth > 0,
            star_args=tuple(self.value(arg.value) for arg in node.args[:_MAX_ARG_VALS] if arg.star == "*"),
            compared=self.comparisons.get(id(node), ""),
            assigned=list(scope.assigning[-1]) if scope.assigning else [],
            stmt=scope.block,
            # in a return/raise, and not in a comprehension inside it: runs once, then leaves
            leaves_loop=bool(scope.leaving) and scope.leaving[-1] == len(scope.loop_stack),
            keywords=[arg.keyword.value for arg in node.args if arg.keyword is not None],
            excerpt=self._excerpt(line),
        )
        self._record_arguments(node, call)
        if loop is not None or scope.function.is_async:
            names = set()
            if isinstance(node.func, cst.Attribute):
                names |= names_read(node.func.value)
            for arg in node.args:
                names |= names_read(arg.value)
            call.names = sorted(names)
        call.arg_count = len(node.args)
        call.sql_text = self._sql_argument(node)
        if call.sql_text is not None:
            call.like_params = self._wildcard_parameters(node)
        positional = [arg for arg in node.args if arg.keyword is None and not arg.star]
        if positional:
            first = positional[0].value
            call.first_arg = argument_kind(first)
            sql = string_value(first)
            if sql is not None:
                call.sql = sql
            elif isinstance(first, cst.Name):
                call.sql_name = first.value
                const = self.facts.constants.get(first.value)
                if isinstance(const, str):
                    call.sql = const
            elif isinstance(first, cst.Attribute):
                call.sql_name = dotted(first) or ""
        if call.sql_text is not None and not call.sql:
            call.sql = call.sql_text.text
        if (
            isinstance(node.func, cst.Attribute)
            and isinstance(node.func.value, cst.Name)
            and node.func.attr.value in _MUTATING_METHODS
        ):
            scope.literal_sizes.pop(node.func.value.value, None)
        self._record_close(node, scope)
        self._record_access_call(node, scope)
        scope.function.calls.append(call)
        self._record_query_chain(node, line, call.bound_to if call.role == "assign" else "")
        outer_schema_call = self._record_schema_call(node, line)
        self.walk(node.func)
        handoff = self._is_handoff(node)
        for arg in node.args:
            if handoff:
                scope.function.escaped.extend(handed_out(arg.value))
            self._visit_with_role(arg.value, "arg", "")
        if outer_schema_call:
            self.in_schema_call = False
        self.chained: set = set()  # id() of calls that are inner links of a recorded QueryChain
        self.slices: dict = {}  # id() of a chain's outer call -> (limit, offset) of the slice applied to it
        self.sql_builder = SqlBuilder(self._string_held, self._is_module_constant)
        return False

    def _site(self, node: cst.Call) -> str:
        """The call's identity in values: its file and byte span (chained calls share a start)."""
        span = self.spans[node]
        return f"{self.facts.path}:{span.start}:{span.length}"

    def _record_arguments(self, node: cst.Call, call: Call) -> None:
        """Keyword arguments and the first positional ones as literal trees; names read by prompts."""
        call.site = self._site(node)
        position = 0
        for arg in node.args[:_MAX_KWARGS]:
            if arg.keyword is not None:
                name = arg.keyword.value
                call.kwargs[name] = literal_tree(arg.value, self._qualify_dotted)
                if name in _PROMPT_KEYWORDS:
                    call.arg_names[name] = sorted(names_read(arg.value))
            elif arg.star == "**":
                call.kwargs["**"] = cst.Module(body=[]).code_for_node(arg.value).strip()[:120]
            elif not arg.star and position < _MAX_ARG_VALS:
                held = self._string_held(arg.value.value) if isinstance(arg.value, cst.Name) else None
                text = held if isinstance(held, str) else getattr(held, "text", None)
                call.arg_trees.append(text if text is not None else literal_tree(arg.value, self._qualify_dotted))
                if position == 0 and _takes_prompt_first(node.func):
                    call.arg_names["0"] = sorted(names_read(arg.value))
                position += 1

    def _record_query_chain(self, node: cst.Call, line: int, bound_to: str) -> None:
        """``A.objects.filter(...).order_by(...)``: one QueryChain for the outermost call.

        ``qs = A.objects.filter(...)`` then ``qs.filter(...)``: the second chain continues the first
        (its steps are prepended, and the first is marked ``continued``)."""
        if id(node) in self.chained:
            return
        links = []
        current: cst.BaseExpression = node
        while (
            isinstance(current, cst.Call)
            and isinstance(current.func, cst.Attribute)
            and current.func.attr.value in _CHAIN_METHODS
        ):
            links.append(current)
            current = current.func.value
        if not links:
            return
        methods = {link.func.attr.value for link in links}  # type: ignore[union-attr]
        base_name = dotted(current.func) if isinstance(current, cst.Call) else dotted(current)
        base_last = (base_name or "").rsplit(".", 1)[-1]
        if not (methods & _QUERY_SIGNS or base_last in _QUERY_BASES or base_name in _QUERY_BASES):
            return
        for link in links:
            self.chained.add(id(link))
        steps = []
        for link in reversed(links):
            args = [literal_tree(a.value, self._qualify_dotted) for a in link.args if a.keyword is None and not a.star]
            kwargs = {a.keyword.value: literal_tree(a.value, self._qualify_dotted)
                      for a in link.args if a.keyword is not None}
            if any(a.star == "**" for a in link.args):
                kwargs["**"] = True  # filters passed as **kwargs: not all known
            steps.append([link.func.attr.value, args, kwargs])  # type: ignore[union-attr]
        limit, offset = self.slices.get(id(node), (None, False))
        loop = self.scope.loop_stack[-1].id if self.scope.loop_stack else None
        chain = QueryChain(
            line=line, base=self.value(current), base_text=cst.Module(body=[]).code_for_node(current).strip()[:120],
            steps=steps, loop=loop, limit=limit, offset=offset, excerpt=self._excerpt(line))
        earlier = self.scope.chains.get(current.value) if isinstance(current, cst.Name) else None
        if earlier is not None:
            earlier.continued = True
            chain.base, chain.base_text = earlier.base, earlier.base_text
            chain.steps = earlier.steps + steps
        self.scope.function.queries.append(chain)
        if bound_to:
            self.scope.chains[bound_to] = chain

    def visit_Subscript(self, node: cst.Subscript) -> bool:
        """``qs[:20]``, ``qs[0]``: the rows a chain keeps."""
        if isinstance(node.value, cst.Call) and len(node.slice) == 1:
            element = node.slice[0].slice
            if isinstance(element, cst.Slice):
                lower = _int_literal(element.lower) if element.lower is not None else 0
                upper = _int_literal(element.upper) if element.upper is not None else None
                limit = upper - lower if upper is not None and lower is not None else (None if element.upper is None else 0)
                self.slices[id(node.value)] = (limit, element.lower is not None and lower != 0)
            elif isinstance(element, cst.Index) and _int_literal(element.value) is not None:
                self.slices[id(node.value)] = (1, _int_literal(element.value) != 0)
        return True

    def _record_schema_call(self, node: cst.Call, line: int) -> bool:
        """Keep a schema declaration as data; True when it is the outermost one."""
        if self.in_schema_call or (self.class_stack and len(self.scopes) == 1):
            return False  # nested, or in a class body (read from the class's fields)
        name = dotted(node.func) or ""
        short = name.rsplit(".", 1)[-1]
        if short not in _SCHEMA_CALLS and not (short == "execute" and name.startswith("op.")):
            return False
        self.facts.schema_calls.append({"line": line, "function": self.scope.function.qualname,
                                        "tree": literal_tree(node, self._qualify_dotted)})
        self.in_schema_call = True
        return True

    def _sql_argument(self, node: cst.Call) -> Optional[SqlText]:
        """The statement a call is given (first positional or ``sql=``-like keyword), if SQL."""
        candidates = [arg.value for arg in node.args if arg.keyword is None and not arg.star][:1]
        candidates += [arg.value for arg in node.args if arg.keyword is not None and arg.keyword.value in _SQL_KEYWORDS]
        for candidate in candidates:
            text = self.sql_builder.build(candidate, self._line(candidate))
            if text is not None and looks_like_sql(text.text):
                return text
        return None

    def _wildcard_parameters(self, node: cst.Call) -> dict:
        """Parameters that start with a LIKE wildcard: ``("%" + q + "%",)``, ``{"q": f"%{q}%"}``."""
        positional = [arg.value for arg in node.args if arg.keyword is None and not arg.star]
        params = positional[1] if len(positional) > 1 else next(
            (arg.value for arg in node.args if arg.keyword is not None and arg.keyword.value in {"params", "parameters", "args"}),
            None)
        items: list = []
        if isinstance(params, (cst.Tuple, cst.List)):
            items = [(str(i), el.value) for i, el in enumerate(params.elements)]
        elif isinstance(params, cst.Dict):
            items = [(string_value(el.key) or "", el.value) for el in params.elements if isinstance(el, cst.DictElement)]
        found = {}
        for key, value in items:
            text = self.sql_builder.build(value, 0)
            if key and text is not None and starts_with_wildcard(text.text):
                found[key] = text.text
        return found

    def _is_handoff(self, node: cst.Call) -> bool:
        """Passing a name to a constructor or a container hands its ownership on."""
        name = (dotted(node.func) or "").split(".")[-1]
        return name[:1].isupper() or name in _HANDOFF_METHODS

    def _record_close(self, node: cst.Call, scope: _Scope) -> None:
        if not isinstance(node.func, cst.Attribute) or node.func.attr.value not in _CLOSE_METHODS:
            return
        owner = node.func.value
        if isinstance(owner, cst.Name) and node.func.attr.value == "close":
            scope.function.closed.append([owner.value, scope.finally_depth > 0])
        for arg in node.args[:1]:
            if isinstance(arg.value, cst.Name):
                scope.function.closed.append([arg.value.value, scope.finally_depth > 0])

    def _record_access_call(self, node: cst.Call, scope: _Scope) -> None:
        """``order.items.all()`` inside ``for order in ...``: a relation manager call."""
        func = node.func
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Attribute)
            and isinstance(func.value.value, cst.Name)
        ):
            loop = self._loop_of_target(func.value.value.value)
            if loop is not None:
                scope.function.accesses.append(
                    Access(loop.id, func.value.value.value, func.value.attr.value, func.attr.value,
                           self._line(node), self._excerpt(self._line(node)))
                )

    def _loop_of_target(self, name: str) -> Optional[Loop]:
        for loop in reversed(self.scope.loop_stack):
            if name in loop.targets:
                return loop
        return None

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        if isinstance(node.value, cst.Name):
            loop = self._loop_of_target(node.value.value)
            if loop is not None:
                self.scope.function.accesses.append(
                    Access(loop.id, node.value.value, node.attr.value, "", self._line(node),
                           self._excerpt(self._line(node)))
                )
        return True

    # URL confs: path("x/", views.handler), re_path(...), url(...), View.as_view()
    def leave_Call(self, node: cst.Call) -> None:
        name = dotted(node.func) or ""
        if name.split(".")[-1] in {"path", "re_path", "url"} and len(node.args) >= 2:
            view = node.args[1].value
            if isinstance(view, cst.Call) and isinstance(view.func, cst.Attribute):
                if view.func.attr.value == "as_view":
                    view = view.func.value
            if isinstance(view, (cst.Name, cst.Attribute)):
                self.facts.routes.append(self.value(view))
        if name.split(".")[-1] == "add_url_rule":
            for arg in node.args:
                if arg.keyword is not None and arg.keyword.value == "view_func":
                    self.facts.routes.append(self.value(arg.value))


def _container_text(node: cst.BaseExpression) -> str:
    """``self._cache`` for ``self._cache[a][b]`` or ``self._cache.setdefault(a, {})[b]``."""
    current = node
    while True:
        if isinstance(current, cst.Subscript):
            current = current.value
        elif isinstance(current, cst.Call) and isinstance(current.func, cst.Attribute):
            current = current.func.value
        else:
            return dotted(current) or ""


def _mapping_kind(value: cst.BaseExpression) -> str:
    """"empty" for ``{}``/``dict()``/``defaultdict(list)``/``OrderedDict()``, "filled" for a dict literal."""
    if isinstance(value, cst.Dict):
        return "filled" if value.elements else "empty"
    if isinstance(value, cst.Call) and (dotted(value.func) or "").rsplit(".", 1)[-1] in _PLAIN_MAPPINGS:
        positional = [arg for arg in value.args if arg.keyword is None]
        factory_only = (dotted(value.func) or "").endswith("defaultdict") and len(positional) <= 1
        return "empty" if not value.args or factory_only else "filled"
    return ""


def _takes_prompt_first(func: cst.BaseExpression) -> bool:
    """``llm.invoke(prompt)``, ``chain.run(...)``, ``llm(prompt)``: the first argument is the prompt."""
    if isinstance(func, cst.Attribute):
        return func.attr.value in _PROMPT_FIRST or bool(_PROMPT_FIRST_NAME.search(func.attr.value))
    return isinstance(func, cst.Name) and bool(_PROMPT_FIRST_NAME.search(func.value))


def _int_literal(node: Optional[cst.BaseExpression]) -> Optional[int]:
    if isinstance(node, cst.Integer):
        try:
            return int(node.value.replace("_", ""), 0)
        except ValueError:
            return None
    return None


def extract_facts(path: str, source: Union[str, bytes]) -> ModuleFacts:
    """Parse ``source`` and return its facts; a parse failure is recorded in ``error``."""
    module_name = module_name_for(path)
    try:
        tree = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        text = source.decode("utf-8", "replace") if isinstance(source, bytes) else source
        facts = ModuleFacts(path=path, module=module_name, lines=text.count("\n") + 1)
        detail = str(exc.message).splitlines()[0]
        detail = re.sub(r"^parser error: error at \d+:\d+: ", "", detail)
        facts.error = f"syntax error at line {exc.raw_line}: {detail} (not analysed)"
        return facts
    # Byte spans count in the module's encoding, after any byte-order mark.
    encoding = "utf-8" if tree.encoding == "utf-8-sig" else tree.encoding
    if isinstance(source, str):
        code = source.encode(encoding, "surrogatepass")
    else:
        code = source[3:] if source.startswith(b"\xef\xbb\xbf") else source
    spans = MetadataWrapper(tree, unsafe_skip_copy=True).resolve(ByteSpanPositionProvider)
    extractor = FactExtractor(path, module_name, code, encoding, spans)
    extractor.walk(tree)
    extractor.facts.retry_loops, extractor.facts.prompts = collect_shapes(tree, code, extractor._line)
    return extractor.facts
