"""Caches for answers and embeddings: in process and in Redis."""

import hashlib
import json

import redis
from cachetools import TTLCache

from analytics.config import REDIS_URL

redis_client = redis.Redis.from_url(REDIS_URL)
answers = TTLCache(maxsize=2048, ttl=600)


class AnswerMemo:
    """Answers remembered for the lifetime of the process."""

    def __init__(self) -> None:
        self._answers = {}

    def get(self, question: str):
        return self._answers.get(question)

    def put(self, question: str, answer: str) -> None:
        self._answers[question] = answer


answer_memo = AnswerMemo()


def cached_embedding(text: str, compute) -> list:
    """Embedding from Redis, computed and stored on a miss."""
    key = f"embedding:{hash(text)}"
    hit = redis_client.get(key)
    if hit is not None:
        return json.loads(hit)
    vector = compute(text)
    redis_client.setex(key, 86400, json.dumps(vector))
    return vector


def stable_embedding_key(text: str) -> str:
    """The same key in every worker and after restarts."""
    return "embedding:text-embedding-3-small:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def sweep_expired_answers() -> int:
    """Remove answers whose time to live is over."""
    removed = 0
    for key in redis_client.scan_iter(match="answer:*"):
        if redis_client.ttl(key) <= 0:
            redis_client.delete(key)
            removed += 1
    return removed
