"""Natural-language insights over product metrics."""

from cachetools import TTLCache, cached
from langchain_core.prompts import ChatPromptTemplate
from langchain_openai import ChatOpenAI

from analytics.clients import chat_model
from analytics.llm_helpers import complete, complete_with_retry
from analytics.prompts import insight_system_prompt

DIGEST_PROMPT = "Write a three-line summary of this week's product health for the leadership digest."


def weekly_digest() -> str:
    """The same digest text for everyone who opens the dashboard this week."""
    return complete_with_retry(DIGEST_PROMPT)


@cached(TTLCache(maxsize=256, ttl=3600))
def segment_insight(segment: str, period: str) -> str:
    """Main change in a segment, cached for an hour per (segment, period)."""
    return complete(f"Explain the main change in the {segment} segment during {period}.")


def segment_report(segments: list, period: str) -> dict:
    """One paragraph per segment."""
    return {segment: complete(f"Summarize the {segment} segment for {period}.") for segment in segments}


def segment_report_batched(segments: list, period: str) -> list:
    """One paragraph per segment, as one batch with bounded concurrency."""
    prompts = [f"Summarize the {segment} segment for {period}." for segment in segments]
    return [message.content for message in chat_model.batch(prompts, config={"max_concurrency": 4})]


def explain_metric(metric: str, question: str) -> str:
    """Answer a question about one metric."""
    llm = ChatOpenAI(model="gpt-4o-mini", temperature=0)
    prompt = ChatPromptTemplate.from_messages([("system", insight_system_prompt(metric)), ("human", "{question}")])
    chain = prompt | llm
    return chain.invoke({"question": question}).content
