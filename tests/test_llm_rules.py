"""LLM101-LLM106 beyond the rule examples: aliases, helpers, severity by SDK default, cost data."""

from __future__ import annotations

from auditor.config import Config
from tests.conftest import found

LLM_RULES = ("LLM101", "LLM102", "LLM103", "LLM104", "LLM105", "LLM106")


def llm_found(result) -> list:
    return [item for item in found(result) if item[0] in LLM_RULES]


def by_rule(result, rule):
    return [f for f in result.findings if f.rule == rule]


SERVICE = {
    "svc/ai.py": '''
        from langchain_openai import ChatOpenAI as Chat

        llm = Chat(model="gpt-4o-mini")


        def explain(metric):
            return llm.invoke(f"Explain the {metric} trend").content
    ''',
    "svc/reports.py": '''
        from svc.ai import explain


        def section(metric):
            return explain(metric)
    ''',
    "svc/api.py": '''
        from fastapi import FastAPI

        from svc.reports import section

        app = FastAPI()


        @app.get("/explain/{metric}")
        def explain_metric(metric: str):
            return {"text": section(metric)}


        @app.get("/all")
        def explain_all(metrics: list[str]):
            return [section(metric) for metric in metrics]
    ''',
}


def test_langchain_model_through_two_helper_modules(scan):
    result = scan(SERVICE)
    assert llm_found(result) == [
        ("LLM101", "svc/ai.py", 7),   # low-cardinality prompt (metric), per request
        ("LLM103", "svc/api.py", 15),  # one call per metric, through two helpers
        ("LLM105", "svc/ai.py", 3),   # ChatOpenAI without max_tokens: at the constructor
        ("LLM106", "svc/ai.py", 3),   # ChatOpenAI passes timeout=None: no timeout
    ]
    (timeout,) = by_rule(result, "LLM106")
    assert timeout.severity == "high"  # no timeout, on a request path
    (loop,) = by_rule(result, "LLM103")
    assert loop.chain[-1] == "svc/ai.py:7 llm.invoke()"
    assert loop.severity == "high"  # in a request handler


def test_fixing_the_model_constructor_silences_cap_and_timeout(scan):
    files = dict(SERVICE)
    files["svc/ai.py"] = files["svc/ai.py"].replace('model="gpt-4o-mini"', 'model="gpt-4o-mini", max_tokens=200, '
                                                                                 'timeout=20')
    assert llm_found(scan(files)) == [("LLM101", "svc/ai.py", 7), ("LLM103", "svc/api.py", 15)]


def test_caching_decorator_on_a_caller_silences_the_repeatable_call(scan):
    files = dict(SERVICE)
    files["svc/reports.py"] = '''
        from cachetools import TTLCache, cached

        from svc.ai import explain


        @cached(TTLCache(maxsize=64, ttl=600))
        def section(metric):
            return explain(metric)
    '''
    assert [f for f in llm_found(scan(files)) if f[0] in {"LLM101", "LLM103"}] == []


def test_timeout_severity_follows_the_sdk_default(scan):
    result = scan({"jobs.py": '''
        import anthropic
        import litellm
        import ollama
        from openai import OpenAI

        openai_client = OpenAI()
        claude = anthropic.Anthropic(timeout=30)
        local = ollama.Client(host="http://gpu:11434")


        def nightly(text):
            a = openai_client.chat.completions.create(model="gpt-4o", max_completion_tokens=5, messages=[text])
            b = claude.messages.create(model="claude-haiku-4-5", max_tokens=5, messages=[text])
            c = litellm.completion(model="gpt-4o", max_tokens=5, messages=[text])
            d = local.generate(model="llama3.1", prompt=text, options={"num_predict": 5})
            return a, b, c, d
    '''})
    timeouts = {(f.line, f.severity) for f in by_rule(result, "LLM106")}
    assert timeouts == {(6, "low"), (14, "low"), (8, "medium")}


def test_cap_rating_per_sdk(scan):
    result = scan({"app.py": '''
        import anthropic
        import ollama
        from fastapi import FastAPI
        from openai import OpenAI

        app = FastAPI()
        client = OpenAI(timeout=10)
        claude = anthropic.Anthropic(timeout=10)


        @app.post("/answer")
        def answer(q: str):
            local = ollama.chat(model="llama3.1", messages=[q])
            remote = client.chat.completions.create(model="gpt-4o", messages=[q])
            responses = client.responses.create(model="gpt-4o", input=q, max_output_tokens=100)
            spread = claude.messages.create(**{"model": "claude-haiku-4-5", "messages": [q]})
            return local, remote, responses, spread
    '''})
    caps = {(f.line, f.severity) for f in by_rule(result, "LLM105")}
    assert caps == {(13, "high"), (14, "medium")}  # Ollama's infinite default on a request path


def test_embedding_loops_and_chunks(scan):
    result = scan({"index.py": '''
        from openai import OpenAI

        client = OpenAI(timeout=30)


        def one_by_one(docs):
            vectors = []
            for doc in docs:
                vectors.append(client.embeddings.create(model="text-embedding-3-small", input=[doc.text]))
            return vectors


        def per_chunk(chunks):
            return [client.embeddings.create(model="text-embedding-3-small", input=chunk) for chunk in chunks]


        def same_input(texts, models):
            return [client.embeddings.create(model=m, input=texts) for m in models]
    '''})
    assert llm_found(result) == [("LLM104", "index.py", 9)]


def test_async_gather_is_the_fix_but_awaiting_in_a_loop_is_not(scan):
    result = scan({"fanout.py": '''
        import asyncio

        from openai import AsyncOpenAI

        client = AsyncOpenAI(timeout=30)


        async def one(q):
            return await client.chat.completions.create(model="gpt-4o-mini", max_completion_tokens=50, messages=[q])


        async def gathered(questions):
            return await asyncio.gather(*(one(q) for q in questions))


        async def tasks(questions):
            return await asyncio.gather(*[asyncio.create_task(one(q)) for q in questions])


        async def sequential(questions):
            return [await one(q) for q in questions]
    '''})
    assert llm_found(result) == [("LLM103", "fanout.py", 21)]


def test_client_per_request_through_a_depends_factory(scan):
    result = scan({"api.py": '''
        from fastapi import Depends, FastAPI
        from openai import OpenAI

        app = FastAPI()


        def get_client():
            return OpenAI(timeout=30)


        @app.post("/ask")
        def ask(q: str, client=Depends(get_client)):
            return client.models.list()
    '''})
    assert llm_found(result) == [("LLM102", "api.py", 8)]


def test_client_in_a_loop_through_an_init(scan):
    result = scan({"batch.py": '''
        from langchain_anthropic import ChatAnthropic


        class Grader:
            def __init__(self):
                self.llm = ChatAnthropic(model="claude-haiku-4-5", timeout=60)

            def grade(self, answer):
                return self.llm.invoke(f"Grade: {answer}").content


        def grade_all(answers):
            return [Grader().grade(a) for a in answers]
    '''})
    assert [f for f in llm_found(result) if f[0] == "LLM102"] == [("LLM102", "batch.py", 13)]


def test_cost_context_without_and_with_traffic(scan, tmp_path):
    files = {"app.py": '''
        from fastapi import FastAPI
        from openai import OpenAI

        app = FastAPI()
        client = OpenAI(timeout=20)


        @app.get("/welcome")
        def welcome():
            reply = client.chat.completions.create(
                model="gpt-4o-mini-2024-07-18", max_completion_tokens=200,
                messages=[{"role": "user", "content": "Say hello to our users."}],
            )
            return reply.choices[0].message.content
    '''}
    (finding,) = by_rule(scan(files), "LLM101")
    cost = finding.context["cost"]
    assert cost["model"] == "gpt-4o-mini-2024-07-18" and cost["max_tokens"] == 200
    assert cost["price_per_million"] == {"input": 0.15, "output": 0.6}
    assert "usd_per_day" not in cost and "calls_per_day" not in cost
    config = Config(llm_traffic={"calls-per-day": {"default": 10, "app.welcome": 10000}, "input-tokens": 1000})
    (finding,) = by_rule(scan(files, config), "LLM101")
    cost = finding.context["cost"]
    # 10,000 calls x (1,000 x 0.15 + 200 x 0.60) / 1e6
    assert (cost["calls_per_day"], cost["output_tokens"], cost["usd_per_day"]) == (10000, 200, 2.7)
    config = Config(llm_traffic={"calls-per-day": 10000}, llm_prices={"gpt-4o-mini": {"output": 1.2}})
    (finding,) = by_rule(scan(files, config), "LLM101")
    cost = finding.context["cost"]
    assert cost["price_per_million"] == {"input": 0.15, "output": 1.2}
    assert cost["price_source"] == "project configuration (llm-prices)"
    assert cost["usd_per_day"] == 3.9


def test_local_models_get_no_price(scan):
    result = scan({"local.py": '''
        import ollama


        def answer(q):
            return ollama.chat(model="llama3.1", messages=[q])
    '''}, Config(llm_traffic={"calls-per-day": 1000}))
    (finding,) = by_rule(result, "LLM105")
    assert finding.context["cost"]["priced"] is False
    assert "usd_per_day" not in finding.context["cost"]


def test_chunk_loops_and_batches_built_per_iteration_are_not_per_item(scan):
    result = scan({
        "emb.py": '''
            from openai import OpenAI
            from tqdm import tqdm

            client = OpenAI(timeout=30)


            def embed(docs):
                return [d.embedding for d in client.embeddings.create(model="text-embedding-3-small", input=docs).data]


            def offsets(texts):
                out = []
                for start in tqdm(range(0, len(texts), 500)):
                    out += embed(texts[start:start + 500])
                return out


            def rebuilt(rows_by_page):
                out = []
                for page in rows_by_page:
                    texts = [row.text for row in page.rows]
                    out += embed(texts)
                return out


            def per_row(rows):
                return [embed([row.text]) for row in rows]
        ''',
    })
    assert llm_found(result) == [("LLM104", "emb.py", 27)]


def test_client_out_of_sight_is_not_rated_by_a_default(scan):
    result = scan({"agent.py": '''
        from openai import OpenAI


        class Grounder:
            def __init__(self, client: OpenAI):
                self.client = client

            def ground(self, text):
                return self.client.chat.completions.create(model="gpt-4o", max_completion_tokens=50, messages=[text])
    '''})
    assert llm_found(result) == []


def test_constructor_whose_calls_cannot_be_followed(scan):
    result = scan({"bench.py": '''
        from langchain_openai import ChatOpenAI

        from evals import run_suite


        def main(args):
            grader = ChatOpenAI(model=args.grader_model)
            careful = ChatOpenAI(model=args.grader_model, max_tokens=100, timeout=30)
            return run_suite(grader), run_suite(careful)
    '''})
    assert llm_found(result) == [("LLM105", "bench.py", 7), ("LLM106", "bench.py", 7)]


def test_one_client_finding_per_factory_function(scan):
    result = scan({"providers.py": '''
        from flask import Flask, request
        from langchain_anthropic import ChatAnthropic
        from langchain_openai import ChatOpenAI

        app = Flask(__name__)


        def make_llm(provider):
            if provider == "openai":
                return ChatOpenAI(model="gpt-4o-mini", max_tokens=100, timeout=30)
            return ChatAnthropic(model="claude-haiku-4-5", timeout=30)


        def per_config(configs):
            return [ChatOpenAI(model=c.model, max_tokens=100, timeout=30) for c in configs]


        @app.post("/ask")
        def ask():
            return make_llm(request.json["provider"]).invoke(request.json["q"]).content
    '''})
    (finding,) = by_rule(result, "LLM102")
    assert (finding.line, "and 1 more constructor in this function" in finding.message) == (10, True)


def test_generic_api_paths_need_an_ollama_hint(scan):
    result = scan({"http.py": '''
        import os

        import requests

        OLLAMA_HOST = os.environ.get("OLLAMA_HOST", "http://ollama")


        def own_api(payload):
            return requests.post(f"https://{payload['host']}/api/chat?client=web", json=payload)


        def local_model(prompt):
            return requests.post(f"{OLLAMA_HOST}/api/generate", json={"model": "llama3.1", "prompt": prompt})
    '''})
    assert [f for f in llm_found(result) if f[0] == "LLM106"] == [("LLM106", "http.py", 13)]


def test_a_helper_that_loops_itself_is_reported_once(scan):
    result = scan({"memories.py": '''
        from openai import OpenAI

        client = OpenAI(timeout=30)


        def facts(conversation):
            return client.chat.completions.create(model="gpt-4o-mini", max_completion_tokens=100,
                                                  messages=[conversation.text])


        def process_batch(batch):
            return [facts(conversation) for conversation in batch]


        def run(conversations):
            for start in range(0, len(conversations), 50):
                process_batch(conversations[start:start + 50])
    '''})
    assert llm_found(result) == [("LLM103", "memories.py", 12)]


def test_agent_loops_are_not_batchable(scan):
    result = scan({"agent.py": '''
        from openai import OpenAI

        client = OpenAI(timeout=30)
        MAX_STEPS = 20


        def run_tools(calls):
            return [c.name for c in calls]


        def agent(question):
            previous = None
            for step in range(MAX_STEPS):
                reply = client.responses.create(model="gpt-4o", input=question, previous_response_id=previous,
                                                max_output_tokens=500)
                previous = reply.id
                if not reply.output:
                    break
            return previous


        def search(candidates, question):
            for candidate in candidates:
                reply = client.responses.create(model="gpt-4o", input=f"{question}: {candidate}", max_output_tokens=5)
                if reply.output_text == "yes":
                    return candidate


        def per_item(items):
            out = []
            for item in items:
                summary = client.responses.create(model="gpt-4o", input=item, max_output_tokens=50)
                out.append(summary.output_text)
            return out
    '''})
    assert llm_found(result) == [("LLM103", "agent.py", 32)]
