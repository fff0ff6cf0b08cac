"""The LLM call-site model: which calls are billable LLM calls, through which client, with which
model, output cap, timeout, temperature and retries.

Knowledge is data: ``rules/catalog/llm.yaml`` lists client constructors (``factories`` with
``effect: llm-client``), client types with their attributes and billable methods
(``effect: llm``), the providers' real defaults and the argument names per role. It is merged
into the API catalog (:func:`auditor.catalog.load_catalog`), so the resolver follows clients
through imports, aliases, module globals, ``self.x = OpenAI()`` in ``__init__``, factory
functions and LCEL pipes (``prompt | llm``) like database connections.

How a check uses it::

    from auditor.llm.model import llm_model

    model = llm_model(program)            # memoised per Program
    for llm_call in model.calls:          # every billable call site (effect "llm")
        llm_call.provider                 # "openai", "anthropic", "langchain-openai", "ollama", ...
        llm_call.kind                     # chat | completion | embedding | runnable | http
        llm_call.method                   # "openai.ChatCompletions.create", "litellm.completion"
        llm_call.is_async                 # False for a sync SDK call (ASY101's "sync LLM SDK call")
        llm_call.stream                   # a streaming method or stream=True
        llm_call.model                    # "gpt-4o-mini" when written as text or a module constant
        llm_call.max_tokens, .timeout, .temperature, .retries
                                          # Arg(value, source "call"|"client", line, known) or None
        llm_call.hidden                   # a **kwargs on the call or its client may set the rest
        llm_call.constructor              # ClientSite of the client's constructor, when in the project
        llm_call.info, .function          # the linker's CallInfo and the enclosing Function
    model.clients                         # Call.site -> ClientSite (every constructor call)
    model.call_of(info)                   # the LlmCall of a CallInfo classified "llm", or None
    model.terminal(info)                  # the LlmCall a call reaches directly or through helpers
    model.provider_info("ollama")         # llm.yaml's defaults: cap, timeout (s or "none"), billed

Through helpers: the linker gives billable calls ``CallInfo.effect == "llm"`` and constructors
``"llm-client"``; both flow through the effect summaries, so ``program.effect_chain(info,
"llm")`` is the chain from any call site to the LLM call it ends at (functions behind a caching
decorator are skipped). ``program.effect_chain(info, "llm-client")`` likewise finds a client
built per call (a constructor whose result is stored on ``self`` outside ``__init__`` or in a
global — a lazy singleton — does not count).

Prices: :mod:`auditor.llm.prices` reads ``rules/llm-prices.yaml`` plus the user's
``llm-prices`` and ``llm-traffic`` config (on ``program.catalog.llm_prices/llm_traffic``).
"""
