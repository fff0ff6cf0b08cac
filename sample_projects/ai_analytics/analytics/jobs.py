"""Nightly jobs: ticket scoring and summaries."""

import time

import litellm

from analytics.cortex import ticket_sentiment
from analytics.llm_helpers import local_summary


def score_tickets(tickets: list) -> dict:
    """Sentiment of each ticket of the day."""
    return {ticket["id"]: ticket_sentiment(ticket["body"]) for ticket in tickets}


def summarize_ticket(body: str) -> str:
    """Summary through LiteLLM, retried until the rate limit lets it through."""
    while True:
        try:
            response = litellm.completion(
                model="openai/gpt-4o-mini",
                messages=[{"role": "user", "content": f"Summarize this support ticket:\n{body}"}],
                max_tokens=200,
                timeout=30,
            )
            return response.choices[0].message.content
        except litellm.RateLimitError:
            time.sleep(5)


def summarize_ticket_bounded(body: str) -> str:
    """Summary through LiteLLM with three attempts and exponential backoff."""
    for attempt in range(3):
        try:
            response = litellm.completion(
                model="openai/gpt-4o-mini",
                messages=[{"role": "user", "content": f"Summarize this support ticket:\n{body}"}],
                max_tokens=200,
                timeout=30,
            )
            return response.choices[0].message.content
        except litellm.RateLimitError:
            if attempt == 2:
                raise
            time.sleep(2 ** attempt)
    return ""


def private_digest(texts: list) -> str:
    """Digest of internal notes, summarized on the local model."""
    return local_summary("\n\n".join(texts))
