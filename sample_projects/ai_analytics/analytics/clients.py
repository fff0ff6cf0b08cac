"""Process-wide LLM clients: built once at import, with timeouts, retries and output caps."""

from anthropic import Anthropic
from langchain_openai import ChatOpenAI
from openai import AsyncOpenAI, OpenAI

from analytics.config import CHAT_MODEL

openai_client = OpenAI(timeout=30, max_retries=2)
async_openai = AsyncOpenAI(timeout=30, max_retries=2)
claude = Anthropic(timeout=60, max_retries=3)
# Used by hand-rolled retry wrappers: the SDK's own retries are switched off.
openai_no_retry = OpenAI(timeout=30, max_retries=0)
chat_model = ChatOpenAI(model=CHAT_MODEL, max_tokens=600, timeout=30, max_retries=2)
