"""Regression tests for the false-positive patterns found by the trial on real LLM applications
(/work/llm-trial.md, "False-positive patterns seen"): each reproduces the shape of the real code
in a minimal project and checks the exact findings, next to the true finding that must stay."""

from __future__ import annotations

from tests.conftest import found

# 1 + 2: a client factory memoised per API key in a module-level dict; the calls made through the
# client pass their own timeout.
CLIENT_FACTORY = '''
import anthropic


def build_client(api_key):
    if api_key:
        client = anthropic.Anthropic(api_key=api_key)
    else:
        client = anthropic.AnthropicVertex(region="us-east5", project_id="assistant")
    return client
'''

MEMOISED_CHAT = '''
from fastapi import FastAPI

from app.clients import build_client

app = FastAPI()
_clients = {}


def complete(prompt, api_key):
    client = _clients.get(api_key)
    if not client:
        client = build_client(api_key)
        _clients[api_key] = client
    with client.messages.stream(model="claude-sonnet-4-5", max_tokens=500, timeout=20,
                                messages=[{"role": "user", "content": prompt}]) as stream:
        return stream.get_final_message()


@app.post("/chat")
def chat(prompt: str, api_key: str):
    return complete(prompt, api_key)
'''


def test_client_memoised_per_key_in_a_module_dict_is_not_per_request(scan):
    result = scan({"app/clients.py": CLIENT_FACTORY, "app/chat.py": MEMOISED_CHAT})
    assert found(result, "LLM102") == []
    assert found(result, "LLM106") == []  # the only call through the client passes timeout=20


def test_constructor_in_a_memoised_get_or_create_is_silent(scan):
    source = '''
    from fastapi import FastAPI
    from openai import OpenAI

    app = FastAPI()
    _clients = {}


    @app.post("/ask")
    def ask(question: str, api_key: str):
        client = _clients.get(api_key)
        if client is None:
            client = OpenAI(api_key=api_key, timeout=30)
            _clients[api_key] = client
        reply = client.chat.completions.create(model="gpt-4o-mini", max_completion_tokens=200,
                                               messages=[{"role": "user", "content": question}])
        return reply.choices[0].message.content
    '''
    assert found(scan({"app/api.py": source}), "LLM102") == []


def test_get_or_create_into_a_local_dict_is_still_per_request(scan):
    source = MEMOISED_CHAT.replace("_clients = {}\n\n\ndef complete(prompt, api_key):\n",
                                   "\n\ndef complete(prompt, api_key):\n    _clients = {}\n")
    result = scan({"app/clients.py": CLIENT_FACTORY, "app/chat.py": source})
    assert found(result, "LLM102") == [("LLM102", "app/clients.py", 6)]


def test_visible_call_without_timeout_keeps_a_confident_llm106(scan):
    source = MEMOISED_CHAT.replace("max_tokens=500, timeout=20,", "max_tokens=500,")
    result = scan({"app/clients.py": CLIENT_FACTORY, "app/chat.py": source})
    findings = [f for f in result.findings if f.rule == "LLM106"]
    assert [(f.path, f.line, f.confidence) for f in findings] == [("app/clients.py", 6, "high"),
                                                                   ("app/clients.py", 8, "high")]
    assert "`client.messages.stream()` (claude-sonnet-4-5) at app/chat.py:14 goes through it" in findings[0].message


def test_returned_client_with_calls_out_of_sight_is_reported_with_lower_confidence(scan):
    source = '''
    from openai import OpenAI


    def make_client(api_key):
        client = OpenAI(api_key=api_key)
        return client
    '''
    result = scan({"app/clients.py": source})
    findings = [f for f in result.findings if f.rule == "LLM106"]
    assert [(f.path, f.line, f.confidence) for f in findings] == [("app/clients.py", 5, "medium")]
    assert "the calls made through it are out of sight" in findings[0].message
    assert "every call" not in findings[0].message


# 3: awaits ordered through the database (DDL, then statements that need what it made)
DATABASE = '''
import asyncpg


class Database:
    def __init__(self, dsn):
        self.dsn = dsn
        self.pool = None

    async def open(self):
        self.pool = await asyncpg.create_pool(self.dsn)

    async def run(self, statement, *params):
        async with self.pool.acquire() as conn:
            return await conn.execute(statement, *params)

    async def fetch(self, statement, *params):
        async with self.pool.acquire() as conn:
            return await conn.fetch(statement, *params)
'''

NOTES = '''
from app.db import Database


class NotesStore:
    def __init__(self, database: Database, schema: str):
        self.database = database
        self.schema = schema

    async def create_tables(self):
        folders = f"CREATE TABLE IF NOT EXISTS {self.schema}.folders (id UUID PRIMARY KEY, name TEXT)"
        notes = f"""
        CREATE TABLE IF NOT EXISTS {self.schema}.notes (
            id UUID PRIMARY KEY,
            folder_id UUID REFERENCES {self.schema}.folders(id)
        )
        """
        await self.database.run(folders)
        await self.database.run(notes)

    async def install(self):
        ddl = f"CREATE OR REPLACE FUNCTION {self.schema}.touch() RETURNS trigger AS $$ BEGIN RETURN NEW; END $$"
        await self.database.run(ddl)
        await self._load_notes()

    async def rename(self, folder_id, name):
        await self.database.run(f"UPDATE {self.schema}.folders SET name = $1 WHERE id = $2", name, folder_id)
        return await self.database.fetch(f"SELECT name FROM {self.schema}.folders WHERE id = $1", folder_id)

    async def _load_notes(self):
        return await self.database.fetch(f"SELECT id FROM {self.schema}.notes")

    async def summary(self, folder_id, note_id):
        folder = await self.database.fetch(f"SELECT name FROM {self.schema}.folders WHERE id = $1", folder_id)
        note = await self.database.fetch(f"SELECT id FROM {self.schema}.notes WHERE id = $1", note_id)
        return folder, note
'''


def test_awaits_after_ddl_or_a_write_are_not_independent(scan):
    result = scan({"app/db.py": DATABASE, "app/notes.py": NOTES})
    assert found(result, "ASY102") == [("ASY102", "app/notes.py", 33)]  # only the two reads


# 4: a child process that only installs a missing package
PROVIDERS = '''
import importlib
import importlib.util
import subprocess
import sys


def ensure_package(name):
    if not importlib.util.find_spec(name):
        subprocess.check_call([sys.executable, "-m", "pip", "install", name.replace("_", "-")])
        importlib.import_module(name)


def load_tokenizer():
    try:
        import tiktoken
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "tiktoken"], check=True)
        import tiktoken
    return tiktoken.get_encoding("cl100k_base")


def git_revision():
    return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout


class Provider:
    def __init__(self, llm):
        self.llm = llm

    @classmethod
    def build(cls):
        ensure_package("langchain_openai")
        from langchain_openai import ChatOpenAI
        return cls(ChatOpenAI(timeout=30, max_tokens=500))
'''

RESEARCH = '''
import subprocess

from app.providers import Provider, git_revision, load_tokenizer


async def research(query):
    provider = Provider.build()
    encoding = load_tokenizer()
    return provider, encoding.encode(query)


async def report(query):
    revision = git_revision()
    return f"{query} at {revision}"


async def setup_browser():
    try:
        import playwright  # noqa: F401
    except ModuleNotFoundError:
        subprocess.run(["pip", "install", "playwright"], check=True)
'''


def test_install_when_a_package_is_missing_is_not_per_call_blocking(scan):
    result = scan({"app/providers.py": PROVIDERS, "app/research.py": RESEARCH})
    assert found(result, "ASY101") == [("ASY101", "app/research.py", 13)]  # git_revision() blocks each call


# 5: a helper that keeps its connection in a declared global
WAREHOUSE = '''
import psycopg2

_conn = None


def get_conn():
    global _conn
    if _conn is None:
        _conn = psycopg2.connect("dbname=warehouse")
    return _conn


def open_conn():
    return psycopg2.connect("dbname=warehouse")


def load(rows):
    conn = None
    for row in rows:
        conn = get_conn()
        with conn.cursor() as cur:
            cur.execute("SELECT pg_notify('events', %s)", (row,))
    if conn is not None:
        conn.commit()


def load_each(rows):
    for row in rows:
        conn = open_conn()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT pg_notify('events', %s)", (row,))
            conn.commit()
        finally:
            conn.close()
'''


def test_connection_kept_in_a_global_lazy_singleton_is_not_opened_per_call(scan):
    result = scan({"etl/warehouse.py": WAREHOUSE})
    assert found(result, "DB203") == [("DB203", "etl/warehouse.py", 29)]
    assert found(result, "DB202") == []
    assert found(result, "DB201") == []


CLIENT_ON_SELF = '''
from openai import OpenAI


class Assistant:
    def __init__(self, config, client=None):
        if client is not None:
            self.client = client
            return
        self.client = OpenAI(api_key=config["api_key"])

    def answer(self, question):
        reply = self.client.chat.completions.create(model=self.model, messages=[{"role": "user", "content": question}])
        return reply.choices[0].message.content
'''


def test_client_stored_on_self_is_judged_by_the_calls_made_on_that_attribute(scan):
    result = scan({"app/assistant.py": CLIENT_ON_SELF})
    findings = [f for f in result.findings if f.rule == "LLM106"]
    assert [(f.path, f.line, f.confidence) for f in findings] == [("app/assistant.py", 9, "high")]
    assert "`self.client.chat.completions.create()` at app/assistant.py:12 goes through it" in findings[0].message
    bounded = CLIENT_ON_SELF.replace("model=self.model,", "model=self.model, timeout=30,")
    assert found(scan({"app/assistant.py": bounded}), "LLM106") == []
