"""Embeddings of support tickets and help-center articles."""

from analytics.clients import openai_client
from analytics.config import EMBEDDING_MODEL

BATCH_SIZE = 256


def embed_tickets(texts: list) -> list:
    """One embedding request per ticket."""
    return [
        openai_client.embeddings.create(model=EMBEDDING_MODEL, input=text).data[0].embedding
        for text in texts
    ]


def embed_articles(texts: list) -> list:
    """Embeddings in batches of BATCH_SIZE texts per request."""
    vectors = []
    for start in range(0, len(texts), BATCH_SIZE):
        batch = texts[start:start + BATCH_SIZE]
        response = openai_client.embeddings.create(model=EMBEDDING_MODEL, input=batch)
        vectors.extend(item.embedding for item in response.data)
    return vectors
