#!/usr/bin/env python3
"""Nightly maintenance for the analytics database (run from cron at 03:15 UTC)."""
import argparse
import contextlib
import logging
import os
import sys

import psycopg2
from psycopg2 import sql

log = logging.getLogger("nightly")


def refresh_rollups(dsn):
    with psycopg2.connect(dsn, application_name="analytics-nightly") as conn:
        with conn.cursor() as cur:
            for view in ("mv_daily_usage", "mv_weekly_usage", "mv_monthly_usage"):
                cur.execute(sql.SQL("REFRESH MATERIALIZED VIEW {}").format(sql.Identifier(view)))
                log.info("refreshed %s", view)


def purge_expired_sessions(dsn, older_than_days=30):
    conn = psycopg2.connect(dsn, application_name="analytics-nightly")
    cur = conn.cursor()
    cur.execute(
        "DELETE FROM sessions WHERE last_seen_at < now() - %s * interval '1 day'",
        (older_than_days,),
    )
    deleted = cur.rowcount
    conn.commit()
    conn.close()
    return deleted


def load_active_account_ids(dsn):
    with contextlib.closing(psycopg2.connect(dsn, application_name="analytics-nightly")) as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM accounts WHERE status = 'active' ORDER BY id")
            return [row[0] for row in cur.fetchall()]


def recalculate_health_scores(dsn, account_ids):
    failures = 0
    for account_id in account_ids:
        # separate connection per account so one slow account hits its own
        # statement_timeout instead of stalling the whole run
        conn = psycopg2.connect(dsn, options="-c statement_timeout=60000")
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT analytics.refresh_health_score(%s)", (account_id,))
            conn.commit()
        except psycopg2.Error:
            failures += 1
            log.exception("health score failed for account %s", account_id)
        finally:
            conn.close()
    return failures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dsn", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--skip-health-scores", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    refresh_rollups(args.dsn)
    log.info("purged %d expired sessions", purge_expired_sessions(args.dsn))
    if not args.skip_health_scores:
        failures = recalculate_health_scores(args.dsn, load_active_account_ids(args.dsn))
        if failures:
            log.warning("%d health score refreshes failed", failures)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
