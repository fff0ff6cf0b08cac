"""LLM call sites of a linked program, with the arguments that decide their cost and latency.

Every call the linker classified with effect ``llm`` becomes an :class:`LlmCall`: which SDK
(provider), what kind of call, the model, output cap, timeout, temperature and retries, read
from the call's keyword arguments and then from the client it goes through (``bind``,
``with_options``, the constructor). Constructors (effect ``llm-client``) become
:class:`ClientSite` records.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

from auditor.facts import Call, Function
from auditor.llm.endpoints import llm_endpoint

if TYPE_CHECKING:
    from auditor.link import CallInfo, Program

ROLES = ("model", "max_tokens", "timeout", "temperature", "retries")
_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


@dataclass
class Arg:
    """One argument as written: ``value`` is a literal tree (int, float, str, None, or a dict
    describing an expression); ``known`` is False when it sits behind something we cannot read
    (``config=cfg``, ``options=opts``)."""

    value: object
    source: str  # "call", or "client" when it comes from a constructor/bind/with_options
    line: int
    known: bool = True
    name: str = ""  # the argument as found, dotted inside a container ("options.num_predict")

    def number(self) -> Optional[float]:
        """The value as a number, or None (unknown, an expression, ``None``)."""
        if isinstance(self.value, bool) or not isinstance(self.value, (int, float)):
            return None
        return float(self.value)

    @property
    def is_none(self) -> bool:
        """An explicit ``None``."""
        return self.known and self.value is None


@dataclass
class ClientSite:
    """A call that builds an LLM client or model object (``OpenAI(...)``, ``ChatOpenAI(...)``)."""

    info: "CallInfo"
    function: Function
    factory: str  # the catalog name of the constructor
    provider: str
    is_async: bool

    @property
    def call(self) -> Call:
        return self.info.call


@dataclass
class LlmCall:
    """A billable LLM call site."""

    info: "CallInfo"
    function: Function
    provider: str  # a key of llm.yaml's ``providers`` ("openai", "langchain-openai", "ollama"...)
    kind: str  # chat | completion | embedding | runnable | http
    method: str  # the catalog method or function, e.g. "openai.ChatCompletions.create"
    is_async: bool  # returns an awaitable (async client, ``ainvoke``, ``acompletion``)
    stream: bool = False  # a streaming method or ``stream=True``
    single: bool = False  # an embedding API that takes one text per call
    input_arg: object = None  # keyword or position of the text(s) an embedding call embeds
    clients: list = field(default_factory=list)  # ClientSite/CallInfo sites: constructor first
    args: dict = field(default_factory=dict)  # role -> Arg (see ROLES), only the ones found
    hidden: bool = False  # a ``**kwargs`` on the call or its client may set what we did not find
    endpoint: dict = field(default_factory=dict)  # for raw HTTP: llm.yaml's endpoint entry
    through_client: bool = False  # a method of a client object (not a module-level function)

    @property
    def call(self) -> Call:
        return self.info.call

    @property
    def path(self) -> str:
        return self.info.path

    @property
    def line(self) -> int:
        return self.info.call.line

    @property
    def model(self) -> Optional[str]:
        """The model name when it is written as text (or a module constant), else None."""
        arg = self.args.get("model")
        return arg.value if arg is not None and isinstance(arg.value, str) else None

    @property
    def max_tokens(self) -> Optional[Arg]:
        return self.args.get("max_tokens")

    @property
    def timeout(self) -> Optional[Arg]:
        return self.args.get("timeout")

    @property
    def temperature(self) -> Optional[Arg]:
        return self.args.get("temperature")

    @property
    def retries(self) -> Optional[Arg]:
        return self.args.get("retries")

    @property
    def client_unknown(self) -> bool:
        """Made through a client built outside what we can see (a parameter, an attribute set
        elsewhere): its constructor's settings are unknown."""
        return self.through_client and self.constructor is None

    @property
    def constructor(self) -> Optional[ClientSite]:
        """The call that built the client this call goes through, when it is in the project."""
        first = self.clients[0] if self.clients else None
        return first if isinstance(first, ClientSite) else None


class LlmModel:
    """The LLM call sites and client constructors of a program (build with :func:`llm_model`)."""

    def __init__(self, program: "Program") -> None:
        self.program = program
        self.catalog = program.catalog
        self.by_site: dict = {}  # Call.site -> CallInfo of every call (when the program makes LLM calls)
        self.clients: dict = {}  # site -> ClientSite
        self.calls: list = []
        self._by_info: dict = {}
        llm_infos = []
        for qualname, infos in program.calls.items():
            for info in infos:
                if info.effect == "llm-client":
                    self.clients[_site(info)] = self._client_site(info, program.index.functions[qualname])
                elif info.effect == "llm":
                    llm_infos.append((info, program.index.functions[qualname]))
        if llm_infos:
            for infos in program.calls.values():
                for info in infos:
                    self.by_site[info.call.site] = info
        for info, function in llm_infos:
            llm_call = self._llm_call(info, function)
            self.calls.append(llm_call)
            self._by_info[id(info)] = llm_call

    # ------------------------------------------------------------ lookups
    def call_of(self, info: "CallInfo") -> Optional[LlmCall]:
        """The LlmCall of a call site classified ``llm``, else None."""
        return self._by_info.get(id(info))

    def terminal(self, info: "CallInfo") -> Optional[LlmCall]:
        """The LLM call ``info`` makes, directly or at the end of its helper chain, or None."""
        if self.program.effect_chain(info, "llm") is None:
            return None
        return self.call_of(self.program.terminal(info, "llm"))

    def provider_info(self, provider: str) -> dict:
        """llm.yaml's defaults for ``provider`` (cap, timeout, retries, billed)."""
        return (self.catalog.llm.get("providers") or {}).get(provider) or {}

    # ------------------------------------------------------------ building
    def _entry(self, info: "CallInfo") -> dict:
        """The catalog entry of a classified call: a factory's, a method's or an HTTP function's."""
        detail = info.detail
        call = info.call
        http = (self.catalog.llm.get("http") or {}).get("functions") or {}
        if detail in http and info.effect == "llm":
            return http[detail]
        if detail in self.catalog.factories:
            return self.catalog.factory(detail, call.args)
        type_name, _, method = detail.rpartition(".")
        entry = self.catalog.method(type_name, method) or {}
        if "by_arg" in entry:
            origin = call.args[0][0] if call.args else ""
            entry = (entry["by_arg"].get(origin[2:]) or {}) if origin.startswith("s:") else {}
        return entry

    def _client_site(self, info: "CallInfo", function: Function) -> ClientSite:
        entry = self._entry(info)
        returns = entry.get("returns", "")
        return ClientSite(info=info, function=function, factory=info.detail,
                          provider=entry.get("provider", ""),
                          is_async=bool(returns and self.catalog.flag(returns, "async")))

    def _llm_call(self, info: "CallInfo", function: Function) -> LlmCall:
        call = info.call
        entry = self._entry(info)
        callee = self.program.resolver.eval(call.func) or ()
        type_name = callee[1] if callee and callee[0] in {"method", "cat"} else ""
        sites = _sites_of(callee)
        clients = [self.clients.get(site) or self.by_site.get(site) for site in sites]
        clients = [c for c in clients if c is not None]
        provider = entry.get("provider") or (type_name and self.catalog.type_value(type_name, "provider")) or ""
        if clients and isinstance(clients[0], ClientSite) and clients[0].provider:
            provider = clients[0].provider
        endpoint: dict = {}
        kind = entry.get("kind", "")
        if info.detail in ((self.catalog.llm.get("http") or {}).get("functions") or {}):
            endpoint = llm_endpoint(self.catalog, call) or {}
            kind = "http"
        is_async = bool(entry.get("async")) or bool(type_name and self.catalog.flag(type_name, "async"))
        stream = bool(entry.get("stream")) or call.kwargs.get("stream") is True
        llm_call = LlmCall(info=info, function=function, provider=provider or "custom", kind=kind or "chat",
                           method=info.detail, is_async=is_async, stream=stream,
                           single=bool(entry.get("single")), input_arg=entry.get("input"),
                           clients=clients, endpoint=endpoint,
                           through_client=bool(type_name))
        configs = [(c.info.call if isinstance(c, ClientSite) else c.call) for c in clients]
        llm_call.hidden = "**" in call.kwargs or any("**" in c.kwargs for c in configs)
        arguments = self.catalog.llm.get("arguments") or {}
        for role in ROLES:
            arg = _find(call, arguments.get(role) or [], "call")
            for config in reversed(configs):
                if arg is not None:
                    break
                arg = _find(config, arguments.get(role) or [], "client")
            if arg is not None:
                llm_call.args[role] = arg
        if "model" not in llm_call.args:
            llm_call.args.update(self._positional_model(call, entry, clients))
        model = llm_call.args.get("model")
        if model is not None and isinstance(model.value, dict) and "name" in model.value:
            text = self._constant(model.value["name"])
            if text is not None:
                llm_call.args["model"] = Arg(text, model.source, model.line)
        return llm_call

    def _positional_model(self, call: Call, entry: dict, clients: list) -> dict:
        """``litellm.completion("gpt-4o", ...)``, ``GenerativeModel("gemini-1.5-flash")``."""
        position = entry.get("model_arg")
        if isinstance(position, int) and len(call.arg_trees) > position:
            return {"model": Arg(call.arg_trees[position], "call", call.line)}
        for client in clients:
            if isinstance(client, ClientSite):
                client_entry = self._entry(client.info)
                position = client_entry.get("model_arg")
                trees = client.call.arg_trees
                if isinstance(position, int) and len(trees) > position:
                    return {"model": Arg(trees[position], "client", client.call.line)}
        return {}

    def _constant(self, qualname: str) -> Optional[str]:
        """The string a module-level constant holds (``MODEL = "gpt-4o-mini"``)."""
        module, _, name = qualname.rpartition(".")
        facts = self.program.index.modules.get(module)
        if facts is None:
            facts = self.program.index.modules.get(self.program.index.canonical(module))
        value = facts.constants.get(name) if facts is not None else None
        if isinstance(value, str):
            return value
        target = facts.imports.get(name) if facts is not None else None
        if target and target != qualname and "." in target:
            owner, _, short = target.rpartition(".")
            other = self.program.index.modules.get(owner)
            value = other.constants.get(short) if other is not None else None
            return value if isinstance(value, str) else None
        return None


def llm_model(program: "Program") -> LlmModel:
    """The (memoised) LLM model of ``program``."""
    model = _CACHE.get(program)
    if model is None:
        model = LlmModel(program)
        _CACHE[program] = model
    return model


def _site(info: "CallInfo") -> str:
    return info.call.site


def _sites_of(callee: tuple) -> tuple:
    """The constructor/configuration sites an evaluated callee carries (see auditor.values)."""
    if not callee:
        return ()
    index = 3 if callee[0] == "method" else 2
    sites = callee[index] if len(callee) > index else ()
    return tuple(site for site in sites if site)


def _find(call: Call, names: list, source: str) -> Optional[Arg]:
    """The first of ``names`` (dotted for a key inside a dict or config argument) in ``call``."""
    for name in names:
        head, *rest = name.split(".")
        if head not in call.kwargs:
            continue
        value = call.kwargs[head]
        for key in rest:
            if not _is_literal_container(value):
                return Arg(None, source, call.line, known=False, name=name)  # ``options=opts``: cannot tell
            value = _member(value, key)
            if value is _ABSENT:
                break
        if value is not _ABSENT:
            return Arg(value, source, call.line, name=name)
    return None


def _is_literal_container(tree: object) -> bool:
    return isinstance(tree, dict) and ("dict" in tree or ("call" in tree and "kw" in tree))


_ABSENT = object()


def _member(tree: object, key: str) -> object:
    """``tree[key]`` for a literal dict or the keyword ``key`` of a literal call, else _ABSENT."""
    if isinstance(tree, dict) and "dict" in tree:
        for pair in tree["dict"]:
            if pair and pair[0] == key:
                return pair[1]
    if isinstance(tree, dict) and "call" in tree and "kw" in tree:
        return tree["kw"].get(key, _ABSENT)
    return _ABSENT
