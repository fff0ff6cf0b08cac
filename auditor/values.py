"""Evaluate symbolic values against the API catalog and the repository's own definitions.

A value such as ``psycopg2.connect(...).cursor()`` or ``Order.objects.filter(...)`` is turned
into an abstract type (a tuple whose first item is its kind):

* ``("cat", T)`` an object of catalog type ``T``; ``("factory", q)`` a catalog factory;
  ``("method", T, m)`` a bound catalog method
* ``("func", q)`` a repository function; ``("class", C)`` / ``("inst", C)`` a repository class
  and an instance of it
* ``("djm", M)`` a Django manager, ``("djqs", M, select, prefetch)`` a QuerySet,
  ``("djobj", M)`` a model instance, ``("djrel", M, attr)`` a related manager
* ``("sastmt", M, options, kind)`` a SQLAlchemy statement, ``("saq", M, options)`` a legacy
  Query, ``("sares", M, options)`` a result, ``("saobj", M)`` a mapped instance
* ``("name", q)`` an outside name we know nothing about; ``("str", text)`` a string
* ``("bound", base, m)`` a method of one of the ORM types above, before it is called

An LLM client (a factory marked ``client: true`` in ``rules/catalog/llm.yaml``) keeps the sites
(``Call.site``) of the calls that built and configured it as a third item: ``("cat", T,
sites)`` and ``("method", T, m, sites)``, so that a billable call can find its client's arguments.
"""

from __future__ import annotations

import builtins
from typing import Optional

from auditor.catalog import Catalog
from auditor.facts import Val
from auditor.orm_models import ModelCatalog
from auditor.repo_index import RepoIndex, plain_name

_MAX_DEPTH = 40
_BUILTINS = set(dir(builtins))


class Resolver:
    """Evaluates symbolic values; memoises function return types."""

    def __init__(self, index: RepoIndex, catalog: Catalog) -> None:
        self.index = index
        self.catalog = catalog
        self._returns: dict = {}
        self._in_progress: set = set()
        self._evaluated: dict = {}  # value -> its abstract type, for evaluations started afresh
        self.models = ModelCatalog(index, catalog)

    # ------------------------------------------------------------ evaluation
    def eval(self, value: Optional[Val], depth: int = 0) -> Optional[tuple]:
        """The abstract type of a symbolic value, or None when unknown."""
        if depth == 0 and not self._in_progress:
            # Memoised: the same callee text recurs all over a module (``_("...")``,
            # ``models.CharField``), and an evaluation started afresh always gives the same type.
            try:
                return self._evaluated[value]
            except KeyError:
                result = self._evaluated[value] = self._eval(value, 0)
                return result
            except TypeError:  # a value holding a list (not hashable)
                pass
        return self._eval(value, depth)

    def _eval(self, value: Optional[Val], depth: int) -> Optional[tuple]:
        if value is None or depth > _MAX_DEPTH:
            return None
        origin, steps = value
        steps = list(steps)
        current: Optional[tuple]
        if origin == "?":
            return None
        if origin.startswith("s:"):
            current = ("str", origin[2:])
        elif origin.startswith("self:"):
            current = ("inst", origin[5:])
        elif origin.startswith("cls:"):
            current = ("class", origin[4:])
        elif origin.startswith("p:"):
            _, name, annotation = origin.split(":", 2)
            current = self._param_type(name, annotation)
        elif origin == "pipe:":
            current = self._pipe(steps.pop(0)[2], depth)
        else:
            qualname = self.index.canonical(origin[2:])
            while steps and steps[0][0] == "attr" and not self._symbol_known(qualname):
                qualname = f"{qualname}.{steps[0][1]}"
                steps.pop(0)
            current = self._symbol(qualname, depth)
        for step in steps:
            if step[0] == "as":
                if current is None or current[0] == "param":
                    current = self._named_attr(step[1]) or current
                continue
            if current is not None:
                current = self.apply(current, step, depth)
        return current

    def _pipe(self, operands: tuple, depth: int) -> Optional[tuple]:
        """``prompt | llm | parser``: an LLM runnable when an operand is one (LangChain LCEL)."""
        for operand in operands:
            evaluated = self.eval(operand, depth + 1)
            if evaluated and evaluated[0] == "cat" and self.catalog.flag(evaluated[1], "llm_runnable"):
                return ("cat", "langchain.Runnable") + evaluated[2:]
        return None

    def _symbol_known(self, qualname: str) -> bool:
        return (
            self.index.known(qualname)
            or qualname in self.catalog.factories
            or qualname in self.catalog.custom_queries
        )

    def _param_type(self, name: str, annotation: str) -> Optional[tuple]:
        if annotation:
            annotation = self.index.canonical(annotation)
            if annotation in self.catalog.annotations:
                return ("cat", self.catalog.annotations[annotation])
            if annotation in self.models.django_models:
                return ("djobj", annotation)
            if annotation in self.index.classes:
                return ("inst", annotation)
            return None
        if name in self.catalog.parameter_names:
            return ("cat", self.catalog.parameter_names[name])
        return ("param", name)

    def _symbol(self, qualname: str, depth: int) -> Optional[tuple]:
        qualname = self.index.reexported(qualname)
        if qualname in self.catalog.factories or qualname in self.catalog.custom_queries:
            return ("factory", qualname)
        if qualname in self.index.functions:
            return ("func", qualname)
        if qualname in self.index.classes:
            return ("class", qualname)
        if qualname in self.index.globals:
            key = ("global", qualname)
            if key in self._in_progress:
                return None
            self._in_progress.add(key)
            try:
                return self.eval(self.index.globals[qualname], depth + 1)
            finally:
                self._in_progress.discard(key)
        module, _, short = qualname.rpartition(".")
        if short in _BUILTINS and module in self.index.modules:
            return ("name", f"builtins.{short}")
        return ("name", qualname)

    def returns(self, qualname: str, depth: int = 0) -> Optional[tuple]:
        """The abstract type a repository function returns (first known return)."""
        if qualname in self._returns:
            return self._returns[qualname]
        if qualname in self._in_progress:
            return None
        self._in_progress.add(qualname)
        result = None
        for value in self.index.functions[qualname].returns:
            result = self.eval(value, depth + 1)
            if result is not None:
                break
        self._in_progress.discard(qualname)
        self._returns[qualname] = result
        return result

    def apply(self, current: tuple, step: tuple, depth: int) -> Optional[tuple]:
        """Apply one attribute/call/iteration step to an abstract type."""
        kind, name = step[0], step[1]
        if kind == "attr":
            return self._attr(current, name, depth)
        if kind == "call":
            return self._call(current, step[2], depth, step[1])
        if kind == "iter":
            return self._iter(current)
        if kind == "enter":
            return current
        if kind == "collect":
            return ("list", current)
        if kind in {"index", "slice"}:
            if current[0] in {"djqs", "sares", "saq"}:
                return current if kind == "slice" else self._iter(current)
            if current[0] == "list":
                return current if kind == "slice" else current[1]
        return None

    def _attr(self, current: tuple, name: str, depth: int) -> Optional[tuple]:
        tag = current[0]
        if tag == "name":
            return self._symbol(f"{current[1]}.{name}", depth)
        if tag == "factory" and f"{current[1]}.{name}" in self.catalog.factories:
            return ("factory", f"{current[1]}.{name}")  # ``redis.Redis.from_url``: a factory of a factory
        if tag == "cat":
            if self.catalog.method(current[1], name) is not None:
                return ("method", current[1], name) + current[2:]
            attribute = self.catalog.attribute(current[1], name)
            return ("cat", attribute) + current[2:] if attribute else None
        if tag == "class":
            if current[1] in self.models.django_models and name in (self.catalog.django.get("managers") or []):
                return ("djm", current[1])
            if name == "query" and current[1] not in self.models.django_models:
                return ("saq", current[1], ())  # Flask-SQLAlchemy ``Model.query``
            method = self.index.method_of(current[1], name)
            return ("func", method) if method else None
        if tag == "inst":
            method = self.index.method_of(current[1], name)
            if method:
                return ("func", method)
            klass = self.index.classes.get(current[1])
            if klass is not None and name in klass.attrs:
                return self.eval(klass.attrs[name], depth + 1)
            return self._named_attr(name)
        if tag == "djobj" or tag == "saobj":
            method = self.index.method_of(current[1], name)
            if method:
                return ("func", method)  # ``profile.num_checks_used()``: the model's own method
            relation = self.models.relation(current[1], name)
            if relation is not None:
                if relation.kind == "many":
                    return ("djrel", relation.target, name) if tag == "djobj" else ("list", ("saobj", relation.target))
                return (tag, relation.target)
            if tag == "djobj":
                return ("bound", current, name)
            return None
        if tag in {"djm", "djqs", "djrel", "saq", "sastmt", "sares", "list", "djvalues"}:
            return ("bound", current, name)
        if tag == "param":
            return self._named_attr(name)
        return None

    def _named_attr(self, name: str) -> Optional[tuple]:
        if name in self.catalog.parameter_names:
            return ("cat", self.catalog.parameter_names[name])
        return None

    def _call(self, current: tuple, args: tuple, depth: int, site: str = "") -> Optional[tuple]:
        tag = current[0]
        if tag == "factory":
            entry = self.catalog.factory(current[1], args)
            returns = entry.get("returns")
            if returns and entry.get("client"):
                return ("cat", returns, (site,))
            return ("cat", returns) if returns else None
        if tag == "method":
            orm_result = self._sqlalchemy_call(current[1], current[2], args, depth)
            if orm_result is not None:
                return orm_result
            entry = self.catalog.method(current[1], current[2]) or {}
            if "by_arg" in entry:
                entry = entry["by_arg"].get(args[0][0][2:] if args and args[0][0].startswith("s:") else "") or {}
            returns = entry.get("returns")
            if returns and entry.get("client"):
                return ("cat", returns, (site,))
            if returns and entry.get("keeps_client"):
                return ("cat", returns, tuple(current[3] if len(current) > 3 else ()) + (site,))
            return ("cat", returns) if returns else None
        if tag == "cat":
            entry = self.catalog.method(current[1], "__call__") or {}
            return ("cat", entry["returns"]) if entry.get("returns") else None
        if tag == "func":
            return self.returns(current[1], depth + 1)
        if tag == "class":
            if current[1] in self.models.django_models:
                return ("djobj", current[1])
            return ("inst", current[1])
        if tag == "name":
            return self._external_call(current[1], args, depth)
        if tag == "bound":
            return self._orm_method(current[1], current[2], args, depth)
        return None

    def _sqlalchemy_call(self, type_name: str, method: str, args: tuple, depth: int) -> Optional[tuple]:
        """``session.scalars(select(M))``, ``session.get(M, id)``, ``session.query(M)``: keep the model."""
        if not type_name.startswith("sqlalchemy.") or not args:
            return None
        if method in {"execute", "scalars", "scalar"}:
            return self._session_result(self.eval(args[0], depth + 1), method)
        model = self._model_arg(args, depth)
        if not model:
            return None
        if method in {"get", "get_one", "merge"}:
            return ("saobj", model)
        if method == "query":
            return ("saq", model, ())
        return None

    def _external_call(self, qualname: str, args: tuple, depth: int) -> Optional[tuple]:
        builders = self.catalog.sqlalchemy.get("statement_builders") or {}
        short = qualname.rsplit(".", 1)[-1]
        if qualname in builders or (short in {"select", "insert", "update", "delete"} and "sqlalchemy" in qualname):
            statement_kind = builders.get(qualname, "read" if short == "select" else "write")
            model = self._model_arg(args, depth)
            return ("sastmt", model, (), statement_kind)
        if qualname in {"builtins.list", "builtins.sorted", "builtins.tuple", "builtins.set"} and args:
            inner = self.eval(args[0], depth + 1)
            if inner and inner[0] in {"djqs", "djrel", "sares", "saq"}:
                return ("loaded", inner)  # the rows are fetched here, once
            if inner and inner[0] in {"list", "loaded"}:
                return inner
        if short in set(self.catalog.sqlalchemy.get("loader_options") or []):
            return ("loader", short, tuple(plain_name(a).rsplit(".", 1)[-1] for a in args))
        return None

    def _model_arg(self, args: tuple, depth: int) -> str:
        for arg in args[:1]:
            evaluated = self.eval(arg, depth + 1)
            if evaluated and evaluated[0] == "class":
                return evaluated[1]
            if evaluated and evaluated[0] == "name" and evaluated[1].rsplit(".", 1)[-1][:1].isupper():
                return evaluated[1]  # a model defined outside the scanned tree
        return ""

    def _orm_method(self, base: tuple, method: str, args: tuple, depth: int) -> Optional[tuple]:
        tag = base[0]
        django = self.catalog.django
        if tag in {"djm", "djqs", "djrel"}:
            model = base[1]
            select = base[2] if tag == "djqs" else ()
            prefetch = base[3] if tag == "djqs" else ()
            if method == "select_related":
                names = tuple(_string_args(args)) or ("*",)
                return ("djqs", model, select + names, prefetch)
            if method == "prefetch_related":
                return ("djqs", model, select, prefetch + tuple(_string_args(args)))
            if method in {"values", "values_list"}:
                return ("djvalues", model)
            if method in (django.get("lazy") or []):
                return ("djqs", model, select, prefetch)
            if method in {"get", "first", "last", "earliest", "latest", "create"}:
                return ("djobj", model)
            return None
        if tag == "djobj":
            return None
        if tag in {"saq", "sastmt"}:
            model, options = base[1], base[2]
            if method == "options":
                extra = []
                for arg in args:
                    loader = self.eval(arg, depth + 1)
                    if loader and loader[0] == "loader" and loader[1] not in {"lazyload", "noload", "raiseload"}:
                        extra.extend(loader[2])
                return (tag, model, options + tuple(extra)) + base[3:]
            if tag == "saq":
                if method in {"first", "one", "one_or_none", "get", "first_or_404", "get_or_404", "one_or_404"}:
                    return ("saobj", model)
                if method == "all":
                    return ("sares", model, options)
            return base
        if tag == "list":
            if method in {"get", "pop", "setdefault"}:
                return base[1]
            if method in {"values", "copy"}:
                return base
            return None
        if tag == "sares":
            if method in {"first", "one", "one_or_none", "scalar", "scalar_one", "scalar_one_or_none"}:
                return ("saobj", base[1])
            return base
        return None

    def _session_result(self, statement: Optional[tuple], method: str) -> Optional[tuple]:
        """What ``session.execute/scalars/get(statement)`` returns."""
        if statement and statement[0] == "sastmt" and statement[1]:
            if method in {"scalar"}:
                return ("saobj", statement[1])
            return ("sares", statement[1], statement[2])
        return None

    def _iter(self, current: tuple) -> Optional[tuple]:
        tag = current[0]
        if tag == "djqs":
            return ("djobj", current[1])
        if tag == "djrel":
            return ("djobj", current[1])
        if tag in {"sares", "saq"}:
            return ("saobj", current[1])
        if tag == "list":
            return current[1]
        if tag == "loaded":
            return self._iter(current[1])
        return None


def _string_args(args: tuple) -> list:
    out = []
    for arg in args:
        if arg[0].startswith("s:"):
            out.append(arg[0][2:])
    return out
