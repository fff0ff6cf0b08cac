"""The checks: each reads the linked program and yields findings."""

from __future__ import annotations

from auditor.checks.async_blocking import check_blocking_calls
from auditor.checks.async_concurrency import check_serialized_awaits
from auditor.checks.async_memoize import check_async_memoizers
from auditor.checks.caches import check_caches
from auditor.checks.connections import check_connections
from auditor.checks.indexes import check_indexes
from auditor.checks.lazy_loads import check_lazy_loads
from auditor.checks.llm_cache import check_llm_response_cache
from auditor.checks.llm_clients import check_llm_clients
from auditor.checks.llm_health import check_llm_health
from auditor.checks.llm_limits import check_llm_limits
from auditor.checks.llm_loops import check_llm_loops
from auditor.checks.llm_prompt_cache import check_prompt_cache
from auditor.checks.llm_retry import check_llm_retries
from auditor.checks.llm_sql import check_llm_sql
from auditor.checks.loops import check_queries_in_loops
from auditor.checks.sql_rules import check_sql
from auditor.link import Program

CHECKS = (check_queries_in_loops, check_lazy_loads, check_connections, check_sql, check_indexes,
          check_llm_sql, check_llm_retries, check_prompt_cache, check_llm_health, check_blocking_calls,
          check_async_memoizers, check_caches, check_serialized_awaits, check_llm_response_cache,
          check_llm_clients, check_llm_loops, check_llm_limits)


def run_checks(program: Program) -> list:
    """Run every check over the program."""
    findings: list = []
    for check in CHECKS:
        findings.extend(check(program))
    return findings
