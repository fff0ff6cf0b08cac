"""HTTP API (FastAPI)."""

import asyncio
from functools import lru_cache

import requests
from fastapi import FastAPI

from analytics.caches import redis_client
from analytics.clients import async_openai
from analytics.config import CHAT_MODEL
from analytics.db import get_pool
from analytics.health import check_dependencies, check_readiness
from analytics.insights import explain_metric, segment_insight, weekly_digest
from analytics.metrics import fetch_plan, fetch_revenue, fetch_usage

app = FastAPI()


@app.get("/healthz")
def healthz():
    return check_dependencies()


@app.get("/readyz")
def readyz():
    return check_readiness()


@app.get("/digest")
def digest():
    return {"digest": weekly_digest()}


@app.get("/insights/{segment}")
async def segment_insight_view(segment: str, period: str):
    return {"insight": segment_insight(segment, period)}


@app.get("/metrics/{metric}/explain")
def explain(metric: str, question: str):
    return {"answer": explain_metric(metric, question)}


@app.get("/dashboard/{account_id}")
async def dashboard(account_id: int):
    pool = await get_pool()
    usage = await fetch_usage(pool, account_id)
    revenue = await fetch_revenue(pool, account_id)
    return {"usage": [dict(r) for r in usage], "revenue": [dict(r) for r in revenue]}


@app.get("/overview/{account_id}")
async def overview(account_id: int):
    pool = await get_pool()
    usage, revenue = await asyncio.gather(fetch_usage(pool, account_id), fetch_revenue(pool, account_id))
    return {"usage": [dict(r) for r in usage], "revenue": [dict(r) for r in revenue]}


async def summarize_segment(segment: str) -> str:
    response = await async_openai.chat.completions.create(
        model=CHAT_MODEL,
        max_completion_tokens=300,
        messages=[{"role": "user", "content": f"Summarize the {segment} segment this week."}],
    )
    return response.choices[0].message.content


@app.post("/reports/segments")
async def segment_reports(segments: list):
    reports = {}
    for segment in segments:
        reports[segment] = await summarize_segment(segment)
    return reports


@app.post("/reports/segments/parallel")
async def segment_reports_parallel(segments: list):
    texts = await asyncio.gather(*(summarize_segment(segment) for segment in segments))
    return dict(zip(segments, texts))


@lru_cache(maxsize=1024)
async def account_plan(account_id: int) -> str:
    return await fetch_plan(await get_pool(), account_id)


@app.get("/accounts/{account_id}/plan")
async def plan(account_id: int):
    return {"plan": await account_plan(account_id)}


@app.get("/answers/{question_id}")
async def cached_answer(question_id: int):
    cached = await redis_client.get(f"answer:{question_id}")
    return {"answer": cached}


@app.post("/webhooks/crm")
async def crm_webhook(payload: dict):
    requests.post("https://crm.internal/api/events", json=payload, timeout=5)
    return {"ok": True}
