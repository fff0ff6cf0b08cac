"""CCH101 (unbounded in-process caches), CCH102 (hash() in shared cache keys), CCH103 (Redis TTL
sweeps and per-key loops)."""

from __future__ import annotations

import textwrap

import pytest

from tests.conftest import found


def test_instance_cache_needs_a_long_lived_owner(scan):
    service = textwrap.dedent("""
        class Memo:
            def __init__(self):
                self._answers = {}

            def put(self, question, answer):
                self._answers[question] = answer
    """)
    assert found(scan({"memo.py": service + "\n\nmemo = Memo()\n"}), "CCH101") == [("CCH101", "memo.py", 3)]


def test_instance_cache_of_a_per_call_object_is_silent(tmp_path):
    from tests.conftest import scan_files
    result = scan_files(tmp_path, {"memo.py": """
        class Memo:
            def __init__(self):
                self._answers = {}

            def put(self, question, answer):
                self._answers[question] = answer


        def handle(pairs):
            memo = Memo()
            for question, answer in pairs:
                memo.put(question, answer)
    """})
    assert found(result, "CCH101") == []


def test_instance_made_by_a_memoized_factory_is_long_lived(scan):
    result = scan({"memo.py": """
        import functools


        class Memo:
            def __init__(self):
                self._answers = {}

            def put(self, question, answer):
                self._answers[question] = answer


        @functools.lru_cache(maxsize=1)
        def get_memo():
            return Memo()
    """})
    assert found(result, "CCH101") == [("CCH101", "memo.py", 6)]


@pytest.mark.parametrize("eviction", [
    "_CACHE.pop(next(iter(_CACHE)))",
    "_CACHE.clear()",
    "del _CACHE[next(iter(_CACHE))]",
    "_CACHE.popitem()",
])
def test_global_cache_with_an_eviction_is_silent(scan, eviction):
    source = ("_CACHE = {}\n\n\ndef put(key, value):\n    if len(_CACHE) > 100:\n        " + eviction
              + "\n    _CACHE[key] = value\n")
    assert found(scan({"c.py": source}), "CCH101") == []
    without = "_CACHE = {}\n\n\ndef put(key, value):\n    _CACHE[key] = value\n"
    assert found(scan({"c.py": without}), "CCH101") == [("CCH101", "c.py", 1)]


def test_periodic_reset_counts_as_eviction(scan):
    result = scan({"c.py": """
        _CACHE = {}


        def put(key, value):
            _CACHE[key] = value


        def reset():
            global _CACHE
            _CACHE = {}
    """})
    assert found(result, "CCH101") == []


@pytest.mark.parametrize("decorator,params,expected", [
    ("@functools.cache", "prompt: str", [4]),
    ("@functools.lru_cache(maxsize=None)", "sql, params", [4]),
    ("@functools.lru_cache(None)", "question", [4]),
    ("@cachetools.cached(cache={})", "text", [4]),
    ("@functools.lru_cache(maxsize=512)", "prompt: str", []),
    ("@functools.lru_cache", "prompt: str", []),
    ("@cachetools.cached(cachetools.TTLCache(maxsize=100, ttl=60))", "text", []),
    ("@functools.cache", "region_code: str", []),
])
def test_memoizer_bounds(scan, decorator, params, expected):
    source = f"import cachetools\nimport functools\n\n{decorator}\ndef f({params}):\n    return 1\n"
    assert found(scan({"m.py": source}), "CCH101") == [("CCH101", "m.py", line + 1) for line in expected]


def test_hash_key_flows_into_redis_through_a_local(scan):
    result = scan({"emb.py": """
        import json

        import redis

        r = redis.Redis()


        def cached_embedding(text, compute):
            key = f"embedding:{hash(text)}"
            hit = r.get(key)
            if hit is not None:
                return json.loads(hit)
            vector = compute(text)
            r.setex(key, 86400, json.dumps(vector))
            return vector
    """})
    assert found(result, "CCH102") == [("CCH102", "emb.py", 9)]
    finding = next(f for f in result.findings if f.rule == "CCH102")
    assert finding.chain == ["emb.py:9 hash()", "emb.py:10 r.get()"]
    assert "hashlib.sha256" in finding.remediation


def test_hash_key_with_memcached_and_a_later_unrelated_name(scan):
    result = scan({"m.py": """
        from pymemcache.client.base import Client

        mc = Client(("cache", 11211))


        def remember(text, value):
            mc.set(f"v:{hash(text)}", value)


        def unrelated(text, value):
            bucket = hash(text) % 16
            mc.set(f"bucket:{text}", value)
            return bucket
    """})
    assert found(result, "CCH102") == [("CCH102", "m.py", 7)]


@pytest.mark.parametrize("condition,expected", [
    ("r.ttl(key) <= 0", [9]),
    ("r.ttl(key) < 0", [9]),
    ("r.pttl(key) <= -1", [9]),
    ("r.ttl(key) < 1", [9]),
    ("r.ttl(key) == -1", []),
    ("r.ttl(key) == -2", []),
    ("r.ttl(key) <= -2", []),
    ("r.ttl(key) < 60", [9]),
])
def test_ttl_comparisons_that_match_keys_without_expiry(scan, condition, expected):
    source = ("import redis\n\nr = redis.Redis()\n\n\ndef sweep(keys):\n    for key in keys:\n"
              "        # one key at a time\n        if " + condition + ":\n            r.delete(key)\n")
    assert found(scan({"s.py": source}), "CCH103") == [("CCH103", "s.py", line) for line in expected]


def test_ttl_check_without_a_delete_in_its_body_is_silent(scan):
    result = scan({"s.py": """
        import redis

        r = redis.Redis()


        def refresh(key):
            if r.ttl(key) <= 0:
                r.expire(key, 600)
            r.delete("unrelated")
    """})
    assert found(result, "CCH103") == []


def test_per_key_loop_over_scan_iter_but_not_over_a_pipeline(scan):
    result = scan({"s.py": """
        import redis

        r = redis.Redis()


        def sizes(prefix):
            found = {k: r.get(k) for k in r.scan_iter(match=prefix)}
            return found | {k: len(k) for k in r.scan_iter()}


        def expire_all(prefix):
            pipe = r.pipeline(transaction=False)
            for key in r.scan_iter(match=prefix, count=1000):
                pipe.expire(key, 60)
            pipe.execute()
    """})
    assert found(result, "CCH103") == [("CCH103", "s.py", 7)]


def test_a_registry_of_clients_per_configuration_is_not_an_unbounded_cache(scan):
    result = scan({"clients.py": """
        from openai import OpenAI

        _clients = {}
        _answers = {}


        def client_for(api_key, base_url):
            key = f"{api_key}--{base_url}"
            if key not in _clients:
                _clients[key] = OpenAI(api_key=api_key, base_url=base_url)
            return _clients[key]


        def answer(question, compute):
            if question not in _answers:
                _answers[question] = compute(question)
            return _answers[question]
    """})
    assert found(result, "CCH101") == [("CCH101", "clients.py", 4)]


def test_a_dict_is_a_cache_when_named_looked_up_or_filled_from_io(scan):
    result = scan({"reg.py": """
        import requests

        _types = {}
        _pages = {}
        _seen_by_id = {}
        _profiles = {}


        def register(obj, name):
            _types[name] = obj


        def register_class(cls):
            _types[cls.__name__] = cls
            return cls


        def page(url):
            _pages[url] = requests.get(url, timeout=5).text
            return _pages[url]


        def profile(user_id, load):
            found = _profiles.get(user_id)
            if found is None:
                found = _profiles[user_id] = load(user_id)
            return found


        def note(key, value):
            _seen_by_id[key] = value
    """})
    assert found(result, "CCH101") == [("CCH101", "reg.py", 4), ("CCH101", "reg.py", 6)]


def test_hash_in_database_parameters_and_file_names(scan):
    result = scan({"store.py": """
        import sqlite3

        db = sqlite3.connect("app.db")


        def save(question, answer):
            db.execute("INSERT INTO answers VALUES (?, ?)", (hash(question), answer))


        def load(question):
            key = hash(question)
            return db.execute("SELECT answer FROM answers WHERE question_hash = ?", key)


        def memo_path(url):
            return open(f"/tmp/pages/{hash(url)}.html")


        def in_memory(url, seen):
            seen[hash(url)] = True
    """})
    assert found(result, "CCH102") == [("CCH102", "store.py", 7), ("CCH102", "store.py", 11),
                                       ("CCH102", "store.py", 16)]
