"""Thin wrappers around the LLM SDKs, shared by the services."""

from datetime import datetime, timezone

import litellm
import ollama
from openai import APITimeoutError, RateLimitError
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from analytics.clients import claude, openai_client, openai_no_retry
from analytics.config import CHAT_MODEL, CLAUDE_MODEL
from analytics.prompts import ANALYST_GUIDE


def complete(prompt: str, max_tokens: int = 400) -> str:
    """One chat completion with the analyst guide as the system prompt."""
    response = openai_client.chat.completions.create(
        model=CHAT_MODEL,
        max_completion_tokens=max_tokens,
        messages=[{"role": "system", "content": ANALYST_GUIDE}, {"role": "user", "content": prompt}],
    )
    return response.choices[0].message.content


def complete_with_retry(prompt: str) -> str:
    """Retries a completion up to four times."""
    for attempt in range(4):
        try:
            return complete(prompt)
        except Exception:
            continue
    return ""


@retry(stop=stop_after_attempt(5), wait=wait_exponential(min=1, max=20),
       retry=retry_if_exception_type(RateLimitError))
def classify_question(question: str) -> str:
    """One-word topic of a question (billing, usage, support, other)."""
    response = openai_client.chat.completions.create(
        model=CHAT_MODEL,
        max_completion_tokens=5,
        temperature=0,
        messages=[{"role": "system", "content": "Answer with one word: billing, usage, support or other."},
                  {"role": "user", "content": question}],
    )
    return response.choices[0].message.content.strip().lower()


@retry(stop=stop_after_attempt(4), wait=wait_exponential(min=1, max=20),
       retry=retry_if_exception_type((RateLimitError, APITimeoutError)))
def classify_ticket(body: str) -> str:
    """Topic of a support ticket; tenacity owns the retries (the client's are off)."""
    response = openai_no_retry.chat.completions.create(
        model=CHAT_MODEL,
        max_completion_tokens=5,
        temperature=0,
        messages=[{"role": "system", "content": "Answer with one word: billing, bug, question or other."},
                  {"role": "user", "content": body}],
    )
    return response.choices[0].message.content.strip().lower()


def ask_claude(question: str, context: str) -> str:
    """Claude answer with the guide marked for prompt caching."""
    response = claude.messages.create(
        model=CLAUDE_MODEL,
        max_tokens=500,
        system=[
            {"type": "text", "text": f"Current time: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC."},
            {"type": "text", "text": ANALYST_GUIDE, "cache_control": {"type": "ephemeral"}},
        ],
        messages=[{"role": "user", "content": f"{context}\n\n{question}"}],
    )
    return response.content[0].text


def ask_claude_cached(question: str, context: str) -> str:
    """The cached guide comes first; the time follows the cache marker."""
    response = claude.messages.create(
        model=CLAUDE_MODEL,
        max_tokens=500,
        system=[
            {"type": "text", "text": ANALYST_GUIDE, "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": f"Current time: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC."},
        ],
        messages=[{"role": "user", "content": f"{context}\n\n{question}"}],
    )
    return response.content[0].text


def ping_llm() -> bool:
    """Is the model answering? Sends a one-token completion."""
    response = openai_client.chat.completions.create(
        model=CHAT_MODEL, max_completion_tokens=1, messages=[{"role": "user", "content": "ping"}]
    )
    return bool(response.choices)


def llm_reachable() -> bool:
    """Is the API reachable? Listing models is free."""
    return bool(openai_client.models.list().data)


def local_summary(text: str) -> str:
    """Summary from the local Ollama model (no data leaves the network)."""
    reply = ollama.chat(model="llama3.1", messages=[{"role": "user", "content": f"Summarize:\n{text}"}])
    return reply["message"]["content"]


def routed_answer(question: str) -> str:
    """Answer through LiteLLM, capped and with a timeout."""
    response = litellm.completion(
        model="anthropic/claude-haiku-4-5",
        messages=[{"role": "user", "content": question}],
        max_tokens=300,
        timeout=20,
    )
    return response.choices[0].message.content
