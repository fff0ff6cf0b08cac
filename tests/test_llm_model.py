"""The LLM call-site model: SDK calls resolved through imports, aliases, globals, helpers and pipes,
with the arguments that decide cost and latency."""

from __future__ import annotations

import textwrap

from auditor.catalog import load_catalog
from auditor.extract import extract_facts
from auditor.link import Program
from auditor.llm.model import llm_model


def build(files: dict, **catalog_options) -> Program:
    facts = [extract_facts(path, textwrap.dedent(source)) for path, source in files.items()]
    return Program(facts, load_catalog(**catalog_options))


def calls(program: Program) -> dict:
    """(path, line) -> LlmCall."""
    return {(c.path, c.line): c for c in llm_model(program).calls}


def arg(llm_call, role):
    found = llm_call.args.get(role)
    return None if found is None else (found.value, found.source)


SDKS = {
    "app/clients.py": '''
        import openai as oa
        from anthropic import AsyncAnthropic as Claude
        from langchain_openai import ChatOpenAI
        from langchain_core.prompts import ChatPromptTemplate
        import boto3
        from google import genai
        import google.generativeai as legacy_genai

        MODEL = "gpt-4o-mini"
        client = oa.OpenAI(timeout=30, max_retries=5)
        claude = Claude()
        llm = ChatOpenAI(model=MODEL, max_tokens=300, temperature=0)
        chain = ChatPromptTemplate.from_template("Explain {metric}") | llm
        bedrock = boto3.client("bedrock-runtime")
        s3 = boto3.client("s3")
        gemini = genai.Client()
        flash = legacy_genai.GenerativeModel("gemini-1.5-flash")
    ''',
    "app/use.py": '''
        import litellm
        import ollama
        import openai
        import requests
        from app.clients import bedrock, chain, claude, client, flash, gemini, llm, s3


        def openai_v1(q):
            return client.chat.completions.create(model="gpt-4o", messages=[q], max_completion_tokens=100)


        async def anthropic_async(q):
            return await claude.messages.create(model="claude-haiku-4-5", max_tokens=50, messages=[q])


        def langchain(q):
            a = chain.invoke({"metric": q})
            b = llm.bind(max_tokens=5, timeout=None).invoke(q)
            return a, b, llm(q)


        def others(t, cfg):
            ollama.chat(model="llama3.1", messages=[], options={"num_predict": 64})
            litellm.completion("claude-sonnet-4", messages=[], **cfg)
            requests.post("http://localhost:11434/api/generate", json={"model": "llama3.1", "prompt": t})
            requests.post("https://example.com/hook", json={"text": t})
            bedrock.converse(modelId="anthropic.claude-3-haiku", messages=[])
            s3.get_object(Bucket="b", Key="k")
            gemini.models.generate_content(model="gemini-2.5-flash", contents=t, config={"max_output_tokens": 20})
            gemini.aio.models.generate_content(model="gemini-2.5-flash", contents=t, config=cfg)
            openai.ChatCompletion.create(model="gpt-3.5-turbo", messages=[])
            flash.generate_content(t)
            return client.embeddings.create(model="text-embedding-3-small", input=[t])
    ''',
}


def test_sdk_calls_are_resolved_through_imports_and_aliases():
    found = calls(build(SDKS))
    summary = {key: (c.provider, c.kind, c.is_async) for key, c in found.items()}
    assert summary == {
        ("app/use.py", 10): ("openai", "chat", False),
        ("app/use.py", 14): ("anthropic", "chat", True),
        ("app/use.py", 18): ("langchain-openai", "runnable", False),
        ("app/use.py", 19): ("langchain-openai", "chat", False),
        ("app/use.py", 20): ("langchain-openai", "chat", False),  # legacy llm("...")
        ("app/use.py", 24): ("ollama", "chat", False),
        ("app/use.py", 25): ("litellm", "chat", False),
        ("app/use.py", 26): ("requests", "http", False),
        ("app/use.py", 28): ("bedrock", "chat", False),
        ("app/use.py", 30): ("google-genai", "chat", False),
        ("app/use.py", 31): ("google-genai", "chat", True),
        ("app/use.py", 32): ("openai-v0", "chat", False),
        ("app/use.py", 33): ("google-generativeai", "chat", False),
        ("app/use.py", 34): ("openai", "embedding", False),
    }


def test_arguments_come_from_the_call_then_the_client():
    found = calls(build(SDKS))
    v1 = found[("app/use.py", 10)]
    assert (v1.model, arg(v1, "max_tokens"), arg(v1, "timeout"), arg(v1, "retries")) == \
        ("gpt-4o", (100, "call"), (30, "client"), (5, "client"))
    chained = found[("app/use.py", 18)]  # prompt | llm: the model's constructor arguments
    assert (chained.model, arg(chained, "max_tokens"), arg(chained, "temperature")) == \
        ("gpt-4o-mini", (300, "client"), (0, "client"))
    bound = found[("app/use.py", 19)]  # .bind(...) wins over the constructor
    assert (arg(bound, "max_tokens"), arg(bound, "timeout")) == ((5, "client"), (None, "client"))
    assert bound.timeout.is_none
    assert arg(found[("app/use.py", 24)], "max_tokens") == (64, "call")  # options.num_predict
    assert found[("app/use.py", 25)].model == "claude-sonnet-4"  # positional model
    assert found[("app/use.py", 25)].hidden  # **cfg may set anything
    assert found[("app/use.py", 26)].model == "llama3.1"  # json body
    assert found[("app/use.py", 26)].endpoint["pattern"] == "/api/generate"
    assert arg(found[("app/use.py", 30)], "max_tokens") == (20, "call")  # config dict
    unknown = found[("app/use.py", 31)].max_tokens  # config=cfg: cannot tell
    assert unknown is not None and not unknown.known
    assert found[("app/use.py", 33)].model == "gemini-1.5-flash"  # GenerativeModel("...")
    assert found[("app/use.py", 34)].input_arg == "input"


def test_constructors_are_client_sites():
    model = llm_model(build(SDKS))
    sites = sorted((c.info.path, c.call.line, c.factory, c.is_async) for c in model.clients.values())
    assert sites == [
        ("app/clients.py", 11, "openai.OpenAI", False),
        ("app/clients.py", 12, "anthropic.AsyncAnthropic", True),
        ("app/clients.py", 13, "langchain_openai.ChatOpenAI", False),
        ("app/clients.py", 15, "boto3.client", False),
        ("app/clients.py", 17, "google.genai.Client", False),
        ("app/clients.py", 18, "google.generativeai.GenerativeModel", False),
    ]
    v1 = next(c for c in model.calls if c.line == 10)
    assert v1.constructor.call.line == 11


def test_effect_flows_through_helpers_two_modules_away():
    program = build({
        "app/llm.py": '''
            from openai import OpenAI as Client

            client = Client(timeout=10)


            def complete(prompt):
                return client.chat.completions.create(model="gpt-4o-mini", messages=[prompt])
        ''',
        "app/service.py": '''
            from app import llm


            def summarize(text):
                return llm.complete(text)
        ''',
        "app/jobs.py": '''
            import functools

            from app.service import summarize


            def run(items):
                return [summarize(item) for item in items]


            @functools.lru_cache(maxsize=None)
            def cached(text):
                return summarize(text)


            def uses_cached(items):
                return [cached(item) for item in items]
        ''',
    })
    model = llm_model(program)
    run = next(i for i in program.calls["app.jobs.run"] if i.call.text == "summarize")
    chain = program.effect_chain(run, "llm")
    assert [hop.render() for hop in chain] == [
        "app/jobs.py:8 summarize()", "app/service.py:6 llm.complete()",
        "app/llm.py:8 client.chat.completions.create()"]
    assert model.terminal(run).line == 8
    behind_cache = next(i for i in program.calls["app.jobs.uses_cached"] if i.call.text == "cached")
    assert program.effect_chain(behind_cache, "llm") is None


def test_client_built_per_call_is_an_effect_but_a_lazy_singleton_is_not():
    program = build({"app/llm.py": '''
        from openai import OpenAI

        _client = None


        def fresh():
            return OpenAI()


        def shared():
            global _client
            if _client is None:
                _client = OpenAI()
            return _client


        def handler():
            return fresh(), shared()
    '''})
    infos = {i.call.text: i for i in program.calls["app.llm.handler"]}
    assert program.effect_chain(infos["fresh"], "llm-client") is not None
    assert program.effect_chain(infos["shared"], "llm-client") is None


def test_declared_llm_functions_are_llm_calls():
    source = {"app/report.py": '''
        from myco.ai import ask


        def report(metrics):
            return [ask(f"Explain {m}") for m in metrics]
    '''}
    assert calls(build(source)) == {}
    found = calls(build(source, llm_functions=["myco.ai.ask"]))
    assert [(key, c.provider) for key, c in found.items()] == [(("app/report.py", 6), "custom")]


def test_non_llm_lookalikes_are_not_calls():
    program = build({"app/misc.py": '''
        import requests
        from mylib import OpenAI


        def f(x, q1, q2):
            requests.post("https://hooks.slack.com/services/T000", json={"text": x})
            OpenAI().chat.completions.create(model="x")
            flags = q1 | q2
            return flags.invoke(x)
    '''})
    assert calls(program) == {}
    assert llm_model(program).clients == {}


def test_more_sdks_and_legacy_langchain():
    found = calls(build({"app/more.py": '''
        import cohere
        from langchain.chains import LLMChain
        from langchain.chat_models import ChatOpenAI
        from langchain_openai import OpenAIEmbeddings
        from mistralai import Mistral
        from ollama import AsyncClient
        from openai import AzureOpenAI

        chain = LLMChain(llm=ChatOpenAI(temperature=0), prompt=None)
        embeddings = OpenAIEmbeddings()
        co = cohere.ClientV2(timeout=20)
        mistral = Mistral(api_key="k")
        local = AsyncClient(host="http://gpu:11434")
        azure = AzureOpenAI(azure_endpoint="https://x.openai.azure.com", api_version="2024-10-21")


        async def use(q, docs):
            a = chain.run(q)
            b = embeddings.embed_documents(docs)
            c = embeddings.embed_query(q)
            d = co.chat(model="command-r", messages=[q])
            e = mistral.chat.complete(model="mistral-small-latest", messages=[q], max_tokens=50)
            f = await local.chat(model="llama3.1", messages=[q])
            g = azure.chat.completions.create(model="my-deployment", messages=[q])
            return a, b, c, d, e, f, g
    '''}))
    summary = {line: (c.provider, c.kind, c.is_async, c.single) for (_, line), c in found.items()}
    assert summary == {
        19: ("langchain", "runnable", False, False),
        20: ("langchain-openai", "embedding", False, False),
        21: ("langchain-openai", "embedding", False, True),
        22: ("cohere", "chat", False, False),
        23: ("mistral", "chat", False, False),
        24: ("ollama", "chat", True, False),
        25: ("azure-openai", "chat", False, False),
    }
    assert found[("app/more.py", 22)].timeout.value == 20
    assert found[("app/more.py", 23)].max_tokens.value == 50
