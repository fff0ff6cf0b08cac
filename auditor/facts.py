"""Plain-data facts extracted from one Python module.

Facts are what the parser learns about a module and all that the linker and the checks read.
They hold no parser objects, so they can be computed in worker processes and cached.

Values are described symbolically (:class:`Val`): where a value comes from (an imported or
global name, a parameter, ``self``) and which attribute accesses and calls were applied to it.
The linker evaluates them against the API catalog and the repository's own definitions.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Optional

# A symbolic value: (origin, steps). Origins:
#   "g:<qualname>"          a global or imported name, resolved through the module's imports
#   "p:<name>:<annotation>" a parameter (annotation resolved to a qualified name, or empty)
#   "self:<class qualname>" / "cls:<class qualname>"
#   "s:<text>"              a string literal
#   "pipe:"                 ``a | b`` (LangChain LCEL): the first step is ("operands", "", (a, b))
#   "?"                     unknown
# Steps: ("attr", name, ()), ("call", site, args), ("iter", "", ()), ("enter", "", ())
# where args is a tuple of Val (positional) and ("kw", name, Val) entries are not kept; a call's
# site is the ``Call.site`` of the call (that Call fact has its keyword arguments).
Step = tuple
Val = tuple

UNKNOWN: Val = ("?", ())

# Facts of a large code base are millions of objects held for the whole scan: without a __dict__
# each (Python 3.10 on) they take a quarter less memory.
COMPACT: dict = {"slots": True} if sys.version_info >= (3, 10) else {}


def _fact(cls: type) -> type:
    """A facts dataclass (slotted where the interpreter allows) that pickles as its constructor
    and a tuple of its fields: millions of facts cross from the workers to the parent and through
    the cache, and the dataclass default (``fields()`` walked per object, one ``setattr`` per
    field) costs a quarter of a scan's pickling."""
    cls = dataclass(**COMPACT)(cls)
    names = tuple(f.name for f in fields(cls))
    values = attrgetter(*names) if len(names) > 1 else (lambda obj: (getattr(obj, names[0]),))

    def __reduce__(self):  # noqa: N807 - the pickle protocol's name
        return cls, values(self)

    cls.__reduce__ = __reduce__
    return cls


def extend(value: Optional[Val], *steps: Step) -> Val:
    """Return ``value`` with ``steps`` appended (unknown stays unknown)."""
    if value is None or value[0] == "?":
        return UNKNOWN
    return (value[0], tuple(value[1]) + steps)


@_fact
class SqlText:
    """SQL written in Python: interpolated values are holes ``__audit_hole_N__`` in ``text``."""

    text: str
    line: int  # where the string starts
    built: str = ""  # how values were interpolated: "" (not at all), fstring, percent, format, concat
    holes: list = field(default_factory=list)  # [kind, source] per hole; kind: const, number, quoted,
    # placeholders (", ".join(["%s"] * n)) or input


@_fact
class Loop:
    """A loop or comprehension inside a function."""

    id: int
    kind: str  # "for", "while", "comprehension"
    line: int
    parent: Optional[int]
    iter_text: str
    iter_val: Optional[Val]
    literal_size: Optional[int]  # number of items when the iterable is a literal of constants
    is_async: bool = False  # ``async for`` (statement or comprehension)
    targets: list = field(default_factory=list)
    bound: list = field(default_factory=list)  # every name assigned inside the loop
    stores: list = field(default_factory=list)  # [name, line] per assignment in the body (root name of
    # ``x.a = ``/``x[k] = `` targets too): which names an iteration leaves for the next
    exits: bool = False  # the body has a ``break`` or ``return`` of its own (search-until-found)


@_fact
class Call:
    """A call site."""

    line: int
    col: int
    end_line: int
    text: str  # the callee as written, e.g. "cur.execute"
    func: Val  # symbolic value of the callee expression
    args: tuple  # symbolic values of the first positional arguments
    loop: Optional[int]  # innermost enclosing loop id within the function
    role: str  # how the result is used: assign, with, closing, return, yield, store, arg, expr, iter
    bound_to: str  # local name the result is bound to (assign / with ... as NAME)
    names: list = field(default_factory=list)  # names read by the receiver and arguments (in loops, in async functions)
    sql: str = ""  # first argument when it is a string literal or a module constant
    sql_name: str = ""  # name of the constant or local the SQL came from
    sql_text: Optional[SqlText] = None  # the statement passed, when it is SQL-shaped text
    like_params: dict = field(default_factory=dict)  # parameter position or name -> text of a parameter
    # that starts with a wildcard (``(f"%{q}%",)``), for LIKE patterns passed as parameters
    first_arg: str = ""  # kind of the first positional argument: str, fstring, name, call, other
    arg_count: int = 0  # positional and keyword arguments
    in_finally: bool = False
    awaited: bool = False  # the call is the operand of ``await``, an ``async with`` context or an ``async for`` iterable
    deferred: bool = False  # inside a lambda: runs when (and where) the lambda is called
    assigned: list = field(default_factory=list)  # names bound by the assignment whose value contains the call
    # (for ``x.a = ...`` / ``x[k] = ...`` targets, the root name ``x``)
    stmt: tuple = ()  # (block, index): the statement holding the call, as an index into Function.blocks
    star_args: tuple = ()  # symbolic values of ``*args`` arguments
    compared: str = ""  # the result compared with a number: ``r.ttl(k) <= 0`` -> "<= 0"
    leaves_loop: bool = False  # part of a return/raise: runs at most once per loop
    keywords: list = field(default_factory=list)  # keyword argument names
    excerpt: str = ""
    kwargs: dict = field(default_factory=dict)  # keyword -> literal tree (ast_nodes.literal_tree);
    # "**" -> source text of a ``**splat`` (its keys are unknown)
    arg_trees: list = field(default_factory=list)  # literal trees of the first positional arguments
    # (a local name holding a string becomes that string)
    arg_names: dict = field(default_factory=dict)  # "0" or a prompt-like keyword -> names it reads
    site: str = ""  # "path:offset:length" of the call: how the ("call", site, args) steps of values name it


@_fact
class QueryChain:
    """A chain of ORM query methods: ``Order.objects.filter(...).order_by("-created")[:20]``."""

    line: int
    base: Val  # the receiver before the first chained method (``Order.objects``, ``select(Order)``)
    base_text: str
    steps: list  # [method, positional args, keyword args] innermost first; args as literal trees
    loop: Optional[int]
    limit: Optional[int] = None  # rows kept by a slice (``[:20]`` -> 20, ``[0]`` -> 1); 0 if not constant
    offset: bool = False  # the slice skips rows (``[offset:offset + n]``)
    continued: bool = False  # bound to a name that a later chain refines (``qs = ...; qs.filter(...)``)
    excerpt: str = ""


@_fact
class Access:
    """An attribute read on a loop variable: ``order.customer`` in ``for order in ...``."""

    loop: int
    name: str
    attr: str
    method: str  # the method called on the attribute, if any (``order.items.all()`` -> "all")
    line: int
    excerpt: str = ""


@_fact
class Function:
    """A function or method definition (``<module>`` holds module-level code)."""

    qualname: str
    name: str
    cls: str  # qualified name of the enclosing class, or ""
    line: int
    end_line: int
    is_async: bool
    decorators: list = field(default_factory=list)  # [text, Val]
    params: list = field(default_factory=list)  # (name, annotation qualname)
    calls: list = field(default_factory=list)
    loops: list = field(default_factory=list)
    accesses: list = field(default_factory=list)
    queries: list = field(default_factory=list)  # QueryChain
    returns: list = field(default_factory=list)  # Val of each returned or yielded expression
    escaped: list = field(default_factory=list)  # names returned, yielded, stored or passed on
    globals_declared: list = field(default_factory=list)
    closed: list = field(default_factory=list)  # [name, in_finally] for each NAME.close()/putconn(NAME)
    key_ops: list = field(default_factory=list)  # [op, container text, line]: "in" for ``k in C``,
    # "store" for ``C[k] = v``
    blocks: list = field(default_factory=list)  # (block, index, header) per statement block: the statement
    # that owns it ((-1, -1) for the body) and, for a ``with``/``async with`` body, that statement as written
    # (``if <test>`` for an ``if`` body, ``except <types>`` for a handler; "" otherwise)
    item_stores: list = field(default_factory=list)  # [container, line, key kind] per ``container[key] = ...``
    # (container as written up to the first call/subscript: ``self._cache``); key kind: const, type, name, other
    item_deletes: list = field(default_factory=list)  # container of each ``del container[key]``
    containers: list = field(default_factory=list)  # [target, line, kind] per plain mapping assigned to a name or
    # attribute (``_CACHE = {}``, ``self._d = defaultdict(list)``): kind "empty", or "filled" for a non-empty literal


@_fact
class ClassField:
    """A class-level assignment, e.g. a Django model field or a SQLAlchemy relationship."""

    name: str
    line: int
    func: Optional[Val]  # callee of the assigned call (``models.ForeignKey``)
    args: list = field(default_factory=list)  # positional args: Val
    kwargs: dict = field(default_factory=dict)  # keyword -> string constant or qualified name
    annotation: str = ""  # the class named by ``Mapped[...]``-style annotations
    annotation_many: bool = False  # the annotation is a collection (``Mapped[list["X"]]``)
    annotation_text: str = ""  # the annotation as written (``Mapped[Optional[str]]``)
    value: object = None  # the assigned value as a literal tree (ast_nodes.literal_tree); None if absent


@_fact
class ClassDef:
    """A class definition."""

    qualname: str
    name: str
    line: int
    bases: list = field(default_factory=list)  # Val of each base
    fields: list = field(default_factory=list)
    attrs: dict = field(default_factory=dict)  # self.NAME -> Val, from assignments in methods
    meta: dict = field(default_factory=dict)  # simple constants from an inner ``class Meta``
    meta_trees: dict = field(default_factory=dict)  # every ``class Meta`` assignment as a literal tree


@_fact
class ModuleFacts:
    """Everything learnt about one Python file."""

    path: str
    module: str
    lines: int
    imports: dict = field(default_factory=dict)  # local name -> qualified name
    star_imports: list = field(default_factory=list)  # modules imported with ``from M import *``
    functions: list = field(default_factory=list)
    classes: list = field(default_factory=list)
    globals: dict = field(default_factory=dict)  # module-level NAME -> Val
    constants: dict = field(default_factory=dict)  # module-level NAME -> string, or item count
    sql_constants: dict = field(default_factory=dict)  # module-level NAME -> SqlText of SQL-shaped text
    routes: list = field(default_factory=list)  # Val of views named in URL confs
    # schema declarations outside classes: Alembic ``op.*`` calls, SQLAlchemy ``Table``/``Index``,
    # Django ``RunSQL``: {"line", "function", "tree"} with the call as a literal tree
    schema_calls: list = field(default_factory=list)
    attr_stores: list = field(default_factory=list)  # [qualified target, line, literal tree] for
    # assignments to an imported module's attribute (``litellm.cache = Cache()``)
    retry_loops: list = field(default_factory=list)  # auditor.llm_shapes.RetryLoop
    prompts: list = field(default_factory=list)  # auditor.llm_shapes.PromptPrefix
    error: str = ""
