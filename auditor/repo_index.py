"""Every definition of the scanned repository by qualified name, and name resolution across it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from auditor.facts import Val


@dataclass
class RepoIndex:
    """Every definition in the repository, by qualified name."""

    modules: dict = field(default_factory=dict)  # module name -> ModuleFacts
    functions: dict = field(default_factory=dict)  # qualname -> Function
    function_module: dict = field(default_factory=dict)  # qualname -> ModuleFacts
    classes: dict = field(default_factory=dict)  # qualname -> ClassDef
    class_module: dict = field(default_factory=dict)
    globals: dict = field(default_factory=dict)  # module.NAME -> Val
    classes_by_name: dict = field(default_factory=dict)  # short name -> [qualname]
    module_aliases: dict = field(default_factory=dict)  # import name -> module, for nested source roots
    methods: dict = field(default_factory=dict)  # class qualname -> [Function] defined in its body
    _canonical: dict = field(default_factory=dict, repr=False)  # memo of canonical()
    _reexported: dict = field(default_factory=dict, repr=False)  # memo of reexported()
    _methods: dict = field(default_factory=dict, repr=False)  # memo of method_of()

    @classmethod
    def build(cls, all_facts: list) -> "RepoIndex":
        """Index a list of :class:`ModuleFacts`."""
        index = cls()
        for facts in all_facts:
            index.modules[facts.module] = facts
            for func in facts.functions:
                index.functions[func.qualname] = func
                index.function_module[func.qualname] = facts
            for klass in facts.classes:
                index.classes[klass.qualname] = klass
                index.class_module[klass.qualname] = facts
                index.classes_by_name.setdefault(klass.name, []).append(klass.qualname)
            for name, value in facts.globals.items():
                index.globals[f"{facts.module}.{name}" if facts.module else name] = value
        for func in index.functions.values():  # the last definition of a redefined name, as in functions
            if func.cls:
                index.methods.setdefault(func.cls, []).append(func)
        index._alias_nested_roots()
        return index

    def _alias_nested_roots(self) -> None:
        """Let ``dcim.models`` name ``netbox/dcim/models.py`` when the source root is ``netbox/``.

        Every dotted suffix of a module name that is not itself a module becomes an alias, unless
        two modules share it (then it stays unresolved rather than guess).
        """
        candidates: dict = {}
        for module in self.modules:
            parts = module.split(".")
            for start in range(1, len(parts)):
                candidates.setdefault(".".join(parts[start:]), set()).add(module)
        for alias, modules in candidates.items():
            if len(modules) == 1 and alias not in self.modules:
                self.module_aliases[alias] = next(iter(modules))

    def canonical(self, qualname: str) -> str:
        """``qualname`` with an aliased module prefix replaced by the real module name."""
        if not self.module_aliases:
            return qualname
        known = self._canonical.get(qualname)
        if known is None:
            known = self._canonical[qualname] = self._unaliased(qualname)
        return known

    def _unaliased(self, qualname: str) -> str:
        parts = qualname.split(".")
        for end in range(len(parts), 0, -1):
            prefix = ".".join(parts[:end])
            if prefix in self.modules:
                return qualname
            module = self.module_aliases.get(prefix)
            if module:
                return ".".join([module] + parts[end:])
        return qualname

    def reexported(self, qualname: str, depth: int = 0) -> str:
        """Follow ``pkg.models.Group`` to ``pkg.models.users.Group`` through the imports of
        ``pkg/models/__init__.py`` (``from .users import Group`` or ``from .users import *``)."""
        if depth:
            return self._reexport(qualname, depth)
        known = self._reexported.get(qualname)
        if known is None:
            known = self._reexported[qualname] = self._reexport(qualname, 0)
        return known

    def _reexport(self, qualname: str, depth: int) -> str:
        module, _, name = qualname.rpartition(".")
        facts = self.modules.get(module)
        if facts is None or depth > 8 or self._defined(qualname):
            return qualname
        target = facts.imports.get(name)
        if target and target != qualname:
            return self.reexported(self.canonical(target), depth + 1)
        for star in facts.star_imports:
            candidate = self.canonical(f"{star}.{name}")
            if self._defined(candidate) or self.modules.get(star) and name in self.modules[star].imports:
                return self.reexported(candidate, depth + 1)
        return qualname

    def _defined(self, qualname: str) -> bool:
        return qualname in self.functions or qualname in self.classes or qualname in self.globals

    def known(self, qualname: str) -> bool:
        """True when ``qualname`` names a definition of the repository."""
        qualname = self.reexported(qualname)
        return (
            qualname in self.functions
            or qualname in self.classes
            or qualname in self.globals
            or qualname in self.modules
        )

    def method_of(self, class_name: str, method: str, seen: Optional[set] = None) -> Optional[str]:
        """Find ``method`` on a class or its repository bases."""
        if seen is None:
            key = (class_name, method)
            if key not in self._methods:
                self._methods[key] = self._method_of(class_name, method, set())
            return self._methods[key]
        return self._method_of(class_name, method, seen)

    def _method_of(self, class_name: str, method: str, seen: set) -> Optional[str]:
        if class_name in seen:
            return None
        seen.add(class_name)
        candidate = f"{class_name}.{method}"
        if candidate in self.functions:
            return candidate
        klass = self.classes.get(class_name)
        if klass is None:
            return None
        for base in klass.bases:
            base_name = self.canonical(plain_name(base))
            if base_name in self.classes:
                found = self._method_of(base_name, method, seen)
                if found:
                    return found
        return None


def plain_name(value: Val) -> str:
    """``a.b.c`` for a global value made only of attribute steps, else ""."""
    origin, steps = value
    if not origin.startswith("g:"):
        return ""
    parts = [origin[2:]]
    for step in steps:
        if step[0] != "attr":
            return ""
        parts.append(step[1])
    return ".".join(parts)
