"""The repository's ORM models: Django models and SQLAlchemy mapped classes, and their relations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from auditor.catalog import Catalog
from auditor.facts import ClassDef, ModuleFacts, Val
from auditor.repo_index import RepoIndex, plain_name


@dataclass
class Relation:
    """A relation attribute of an ORM model."""

    model: str
    attr: str
    kind: str  # "forward" (one object) or "many" (a manager / collection)
    target: str
    orm: str  # "django" or "sqlalchemy"
    eager: bool = False  # SQLAlchemy lazy="selectin"/"joined"/...: loaded with its parent
    line: int = 0
    path: str = ""


class ModelCatalog:
    """Django models and every relation attribute (forward, reverse, many-to-many) by model."""

    def __init__(self, index: RepoIndex, catalog: Catalog) -> None:
        self.index = index
        self.catalog = catalog
        self.django_models: set = set()
        self.relations: dict = {}  # (model, attr) -> Relation
        self._find_models()

    def _find_models(self) -> None:
        bases = set(self.catalog.django.get("model_bases") or [])
        pending = True
        while pending:
            pending = False
            for qualname, klass in self.index.classes.items():
                if qualname in self.django_models:
                    continue
                for base in klass.bases:
                    name = self.index.canonical(plain_name(base))
                    if name in bases or name in self.django_models or name.endswith("models.Model"):
                        self.django_models.add(qualname)
                        pending = True
                        break
        for qualname, klass in self.index.classes.items():
            module = self.index.class_module[qualname]
            if qualname in self.django_models:
                self._django_relations(klass, module)
            self._sqlalchemy_relations(klass, module)

    def _model_ref(self, ref: Val, module: ModuleFacts, owner: str) -> str:
        """Resolve a model reference: a class name, ``"app.Model"``, ``"self"``."""
        origin = ref[0]
        if origin.startswith("s:"):
            text = origin[2:]
            if text == "self":
                return owner
            short = text.split(".")[-1]
            candidates = self.index.classes_by_name.get(short, [])
            same_module = [c for c in candidates if c.startswith(module.module + ".")]
            return (same_module or candidates or [text])[0]
        name = self.index.canonical(plain_name(ref))
        if name in self.index.classes:
            return name
        short = name.split(".")[-1]
        return (self.index.classes_by_name.get(short) or [name])[0]

    def _django_relations(self, klass: ClassDef, module: ModuleFacts) -> None:
        kinds = self.catalog.django.get("relation_fields") or {}
        for fld in klass.fields:
            if fld.func is None:
                continue
            field_type = plain_name(fld.func).split(".")[-1]
            if field_type not in kinds:
                continue
            ref = fld.args[0] if fld.args else None
            if ref is None and "to" in fld.kwargs:
                ref = (f"s:{fld.kwargs['to']}", ())
            if ref is None:
                continue
            target = self._model_ref(ref, module, klass.qualname)
            kind = kinds[field_type]
            self._add(Relation(klass.qualname, fld.name, kind, target, "django", line=fld.line, path=module.path))
            related = fld.kwargs.get("related_name", "")
            if related.endswith("+"):
                continue
            if field_type == "OneToOneField":
                reverse_name, reverse_kind = related or klass.name.lower(), "forward"
            else:
                reverse_name, reverse_kind = related or f"{klass.name.lower()}_set", "many"
            self._add(Relation(target, reverse_name, reverse_kind, klass.qualname, "django",
                               line=fld.line, path=module.path))

    def _sqlalchemy_relations(self, klass: ClassDef, module: ModuleFacts) -> None:
        eager_values = set(self.catalog.sqlalchemy.get("eager_lazy_values") or [])
        for fld in klass.fields:
            if fld.func is None or plain_name(fld.func).split(".")[-1] != "relationship":
                continue
            if fld.args:
                reference = fld.args[0]
            elif fld.annotation:
                reference = (f"s:{fld.annotation}", ())
            else:
                continue
            target = self._model_ref(reference, module, klass.qualname)
            lazy = fld.kwargs.get("lazy", "select")
            uselist = fld.kwargs.get("uselist", "")
            many = fld.annotation_many if fld.annotation else uselist != "False"
            kind = "many" if many and uselist != "False" else "forward"
            self._add(Relation(klass.qualname, fld.name, kind, target, "sqlalchemy",
                               eager=lazy in eager_values, line=fld.line, path=module.path))
            backref = fld.kwargs.get("backref", "")
            if backref and backref.isidentifier():
                self._add(Relation(target, backref, "many", klass.qualname, "sqlalchemy",
                                   line=fld.line, path=module.path))

    def _add(self, relation: Relation) -> None:
        self.relations.setdefault((relation.model, relation.attr), relation)

    def relation(self, model: str, attr: str) -> Optional[Relation]:
        """The relation ``attr`` of ``model`` (searching repository base classes too)."""
        seen: set = set()
        current = [model]
        while current:
            name = current.pop()
            if name in seen:
                continue
            seen.add(name)
            found = self.relations.get((name, attr))
            if found:
                return found
            klass = self.index.classes.get(name)
            if klass:
                current.extend(self.index.canonical(plain_name(b)) for b in klass.bases)
        return None
