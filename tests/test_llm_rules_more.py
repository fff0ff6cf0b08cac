"""LLM107 (retries), LLM108 (prompt-cache breakers), LLM109 (probes), LLM110 (Cortex SQL): exact findings."""

from __future__ import annotations

import textwrap

from auditor.config import Config
from auditor.extract import extract_facts
from tests.conftest import found

LONG = "Static handbook text that is the same for every request. " * 80  # ~4,500 characters


def _one(result, rule):
    findings = [f for f in result.findings if f.rule == rule]
    assert len(findings) == 1, [(f.rule, f.line) for f in findings]
    return findings[0]


# ------------------------------------------------------------------ shapes
def test_retry_loop_and_prompt_shapes_are_collected():
    source = textwrap.dedent('''
        import time
        from datetime import datetime

        def ask(client, q):
            for attempt in range(3):
                try:
                    return client.create(q)
                except (RateLimitError, Exception):
                    time.sleep(2 ** attempt)

        def forever(client, q):
            while True:
                try:
                    r = client.create(q)
                    break
                except Exception:
                    pass
            return r

        def not_a_retry(client, items):
            for item in items:
                try:
                    client.create(item)
                except Exception:
                    continue

        def gives_up(client, q):
            for attempt in range(3):
                try:
                    return client.create(q)
                except Exception:
                    raise

        def prompt(tier):
            return f"Now: {datetime.now()} tier {tier}. " + GUIDE
    ''')
    facts = extract_facts("m.py", source)
    loops = [(r.line, r.kind, r.bounded, r.sleeps, r.broad, r.calls) for r in facts.retry_loops]
    assert loops == [(6, "for", True, True, True, [8]), (13, "while", False, False, True, [15])]
    prompts = [(p.line, p.parts, p.sink) for p in facts.prompts]
    assert prompts == [(36, [["text", 5], ["expr", "datetime.now()", "clock"], ["text", 6], ["name", "tier", ""],
                             ["text", 2], ["name", "GUIDE", ""]], "return")]


# ------------------------------------------------------------------ LLM107
def test_stacked_retries_name_the_product_of_attempts(scan):
    result = scan({"app.py": '''
        from openai import OpenAI

        client = OpenAI(timeout=30, max_retries=3)


        def ask(q):
            for attempt in range(4):
                try:
                    return client.chat.completions.create(model="gpt-4o-mini", max_completion_tokens=50,
                                                          messages=[{"role": "user", "content": q}])
                except RateLimitError:
                    time.sleep(2 ** attempt)
    '''})
    finding = _one(result, "LLM107")
    assert (finding.line, finding.severity) == (9, "low")
    assert "4 x 4 = 16" in finding.message


def test_client_without_sdk_retries_and_bounded_backoff_is_silent(scan):
    result = scan({"app.py": '''
        import time
        from openai import OpenAI

        client = OpenAI(timeout=30, max_retries=0)


        def ask(q):
            attempts = 0
            while attempts < 3:
                try:
                    return client.chat.completions.create(model="gpt-4o-mini", max_completion_tokens=50,
                                                          messages=[{"role": "user", "content": q}])
                except RateLimitError:
                    attempts += 1
                    time.sleep(2 ** attempts)
    '''})
    assert found(result, "LLM107") == []


def test_backoff_without_limit_and_retrying_without_wait(scan):
    result = scan({"app.py": '''
        import backoff
        import retrying
        from openai import OpenAI

        client = OpenAI(timeout=30, max_retries=0)


        @backoff.on_exception(backoff.expo, Exception)
        def ask(q):
            return client.chat.completions.create(model="gpt-4o-mini", max_completion_tokens=50, messages=q)


        @retrying.retry(stop_max_attempt_number=3)
        def ask_again(q):
            return client.chat.completions.create(model="gpt-4o-mini", max_completion_tokens=50, messages=q)


        @backoff.on_exception(backoff.expo, RateLimitError, max_tries=3)
        def ask_well(q):
            return client.chat.completions.create(model="gpt-4o-mini", max_completion_tokens=50, messages=q)
    '''})
    assert found(result, "LLM107") == [("LLM107", "app.py", 10), ("LLM107", "app.py", 15)]
    first, second = sorted((f for f in result.findings if f.rule == "LLM107"), key=lambda f: f.line)
    assert "no limit" in first.message and "every exception" in first.message
    assert "does not wait" in second.message


def test_retry_around_a_non_llm_call_is_silent(scan):
    result = scan({"app.py": '''
        import requests
        from tenacity import retry


        @retry
        def fetch(url):
            return requests.get(url, timeout=5).json()
    '''})
    assert found(result, "LLM107") == []


def test_retry_on_http_library_errors_around_an_sdk_call_never_fires(scan):
    result = scan({"app.py": '''
        import requests
        from openai import OpenAI
        from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_random_exponential

        client = OpenAI(timeout=30)


        @retry(retry=retry_if_exception_type(requests.exceptions.HTTPError), wait=wait_random_exponential(max=10),
               stop=stop_after_attempt(5))
        def embed(docs):
            return client.embeddings.create(input=docs, model="text-embedding-3-small")
    '''})
    assert found(result, "LLM107") == []


def test_langchain_with_retry_defaults_retry_every_exception_over_sdk_retries(scan):
    result = scan({"app.py": '''
        from langchain_openai import ChatOpenAI
        from openai import RateLimitError

        llm = ChatOpenAI(model="gpt-4o-mini", max_tokens=100, timeout=30).with_retry()
        careful = ChatOpenAI(model="gpt-4o-mini", max_tokens=100, timeout=30, max_retries=0).with_retry(
            retry_if_exception_type=(RateLimitError,), stop_after_attempt=4)


        def ask(q):
            return llm.invoke(q).content


        def ask_carefully(q):
            return careful.invoke(q).content
    '''})
    finding = _one(result, "LLM107")
    assert (finding.line, finding.severity) == (10, "medium")
    assert "every exception" in finding.message and "3 x 3 = 9" in finding.message


# ------------------------------------------------------------------ LLM108
def test_volatile_prefix_before_a_long_constant_in_another_module(scan):
    result = scan({
        "app/guide.py": f'GUIDE = "{LONG}"\n',
        "app/ask.py": '''
            import uuid

            from openai import OpenAI

            from app.guide import GUIDE

            client = OpenAI(timeout=30)


            def ask(q):
                system = f"Trace {uuid.uuid4()}\\n" + GUIDE
                return client.chat.completions.create(model="gpt-4o-mini", max_completion_tokens=50,
                                                      messages=[{"role": "system", "content": system},
                                                                {"role": "user", "content": q}])
        ''',
    })
    finding = _one(result, "LLM108")
    assert (finding.path, finding.line, finding.confidence) == ("app/ask.py", 11, "high")
    assert "random uuid" in finding.message and "1,1" in finding.message


def test_per_user_value_first_is_reported_with_medium_confidence(scan):
    result = scan({"app.py": f'''
        from openai import OpenAI

        client = OpenAI(timeout=30)
        GUIDE = "{LONG}"


        def ask(user_name, q):
            return client.chat.completions.create(
                model="gpt-4o-mini", max_completion_tokens=50,
                messages=[{{"role": "system", "content": f"You are helping {{user_name}}. {{GUIDE}}"}},
                          {{"role": "user", "content": q}}])
    '''})
    finding = _one(result, "LLM108")
    assert (finding.line, finding.confidence, finding.severity) == (10, "medium", "low")


def test_short_prompts_and_static_first_prompts_are_silent(scan):
    result = scan({"app.py": f'''
        from datetime import datetime

        from openai import OpenAI

        client = OpenAI(timeout=30)
        GUIDE = "{LONG}"


        def ask(q):
            return client.chat.completions.create(
                model="gpt-4o-mini", max_completion_tokens=50,
                messages=[{{"role": "system", "content": GUIDE + f" Today is {{datetime.now():%Y-%m-%d}}."}},
                          {{"role": "user", "content": f"{{datetime.now()}}: {{q}} (answer briefly)"}}])
    '''})
    assert found(result, "LLM108") == []


def test_granularity_of_time_values():
    source = textwrap.dedent('''
        import time, uuid
        from datetime import date, datetime

        def system_prompt(now, current_date, request_id):
            a = f"{date.today()} {datetime.now():%Y-%m-%d} {datetime.now():%H:%M} {datetime.now().isoformat()} x"
            b = f"{now} {current_date} {request_id} {uuid.uuid4()} {datetime.now().strftime('%d %B')} {time.time()} x"
            return a + b
    ''')
    prompts = extract_facts("m.py", source).prompts
    assert [[part[2] for part in p.parts if part[0] != "text"] for p in prompts] == [
        ["day", "day", "clock", "clock"], ["clock", "day", "request id", "uuid", "day", "clock"]]


def test_constant_names_count_as_static_text(scan):
    result = scan({"app.py": f'''
        import time

        from openai import OpenAI

        client = OpenAI(timeout=30)
        INTRO = "You are the support assistant."
        GUIDE = "{LONG}"


        def ask(q):
            system = f"{{INTRO}} {{GUIDE}} Asked at {{time.time()}}."
            prompt_tail = f"{{INTRO}} Asked at {{time.time()}}. {{GUIDE}}"
            return client.chat.completions.create(
                model="gpt-4o-mini", max_completion_tokens=50,
                messages=[{{"role": "system", "content": system + prompt_tail}}, {{"role": "user", "content": q}}])
    '''})
    finding = _one(result, "LLM108")
    assert finding.line == 12 and "`time.time()` (the current time" in finding.message


def test_first_changing_block_before_the_marker_is_reported_once(scan):
    result = scan({"app.py": '''
        import anthropic

        client = anthropic.Anthropic(timeout=60)
        GUIDE = "Answer from the documents only."


        def ask(user_profile, documents, q):
            return client.messages.create(
                model="claude-haiku-4-5", max_tokens=300,
                system=[{"type": "text", "text": f"{GUIDE}"},
                        {"type": "text", "text": user_profile},
                        {"type": "text", "text": f"Profile again: {user_profile}"},
                        {"type": "text", "text": documents, "cache_control": {"type": "ephemeral"}}],
                messages=[{"role": "user", "content": q}])
    '''})
    finding = _one(result, "LLM108")
    assert (finding.line, finding.confidence) == (11, "medium")


# ------------------------------------------------------------------ LLM109
def test_probe_routes_are_told_from_other_status_routes(scan):
    result = scan({"app.py": '''
        from fastapi import FastAPI
        from openai import OpenAI

        app = FastAPI()
        client = OpenAI(timeout=10)


        def ping():
            return client.chat.completions.create(model="gpt-4o-mini", max_completion_tokens=1, messages=[])


        @app.get("/api/v1/health")
        def health():
            return {"ok": bool(ping())}


        @app.get("/status")
        def status():
            return {"ok": bool(ping())}


        @app.get("/orders/{order_id}/status")
        def order_status(order_id: int):
            return {"ok": bool(ping())}
    '''})
    assert found(result, "LLM109") == [("LLM109", "app.py", 14), ("LLM109", "app.py", 19)]


def test_local_model_in_a_probe_is_reported_lower(scan):
    result = scan({"app.py": '''
        import ollama
        from flask import Flask

        app = Flask(__name__)


        @app.route("/healthz")
        def healthz():
            reply = ollama.generate(model="llama3.1", prompt="ok?", options={"num_predict": 1})
            return {"ok": bool(reply)}
    '''})
    finding = _one(result, "LLM109")
    assert finding.line == 9 and finding.severity == "medium"
    assert "local model" in finding.message


# ------------------------------------------------------------------ LLM110
def test_bounded_subqueries_ctes_and_joins_are_silent(scan):
    result = scan({"app.py": '''
        def run(cur):
            cur.execute("SELECT id, SNOWFLAKE.CORTEX.SUMMARIZE(body) FROM (SELECT * FROM tickets LIMIT 50) t")
            cur.execute("WITH fresh AS (SELECT * FROM tickets WHERE created_at > %s) "
                        "SELECT id, AI_COMPLETE('llama3.1-8b', body) FROM fresh", ("2024-01-01",))
            cur.execute("SELECT t.id, SNOWFLAKE.CORTEX.SENTIMENT(t.body) FROM tickets t JOIN todo d ON d.id = t.id")
            cur.execute("SELECT id, COMPLETE('m', body) FROM tickets")
    '''}, Config(dialect="snowflake"))
    assert found(result, "LLM110") == []


def test_unbounded_cte_and_only_ai_filter_condition_are_reported(scan):
    result = scan({"app.py": '''
        def run(cur):
            cur.execute("WITH all_rows AS (SELECT * FROM tickets) "
                        "SELECT id, AI_COMPLETE('llama3.1-8b', body) FROM all_rows")
            cur.execute("SELECT id FROM reviews WHERE AI_FILTER(CONCAT('Is this spam? ', body)) AND lang = 'en'")
            cur.execute("SELECT id FROM reviews WHERE AI_FILTER(CONCAT('Is this spam? ', body))")
    '''}, Config(dialect="snowflake"))
    assert found(result, "LLM110") == [("LLM110", "app.py", 2), ("LLM110", "app.py", 5)]


def test_cortex_in_a_loop_through_two_helpers_is_reported_at_the_loop(scan):
    result = scan({
        "etl/sf.py": '''
            def one(cur, text):
                cur.execute("SELECT SNOWFLAKE.CORTEX.TRANSLATE(%s, 'de', 'en')", (text,))
                return cur.fetchone()[0]
        ''',
        "etl/service.py": '''
            from etl.sf import one


            def translate(cur, text):
                return one(cur, text.strip())
        ''',
        "etl/job.py": '''
            from etl.service import translate


            def run(cur, rows):
                out = []
                for row in rows:
                    out.append(translate(cur, row["text"]))
                return out
        ''',
    })
    finding = _one(result, "LLM110")
    assert (finding.path, finding.line) == ("etl/job.py", 7)
    assert finding.chain[-1].startswith("etl/sf.py:2 cur.execute()")


def test_pgai_embedding_per_row_from_a_loop(scan):
    result = scan({"app.py": '''
        def embed(conn, texts):
            out = []
            with conn.cursor() as cur:
                for text in texts:
                    cur.execute("SELECT ai.openai_embed('text-embedding-3-small', %s)", (text,))
                    out.append(cur.fetchone()[0])
            return out


        def models(conn):
            with conn.cursor() as cur:
                cur.execute("SELECT * FROM ai.openai_list_models()")
                return cur.fetchall()
    '''})
    finding = _one(result, "LLM110")
    assert finding.line == 5 and finding.context["functions"] == ["ai.openai_embed"]
