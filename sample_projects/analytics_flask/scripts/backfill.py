#!/usr/bin/env python3
"""Rebuild daily_rollups from raw events for a date range.

    python scripts/backfill.py --start 2024-01-01 --end 2024-01-31 [--dry-run]
"""
import argparse
import datetime as dt
import logging
import os
import sys

import psycopg2

log = logging.getLogger("backfill")

UPSERT_DAILY_ROLLUP = """
    INSERT INTO daily_rollups (account_id, day, events, active_users)
    VALUES (%s, %s, %s, %s)
    ON CONFLICT (account_id, day)
    DO UPDATE SET events = EXCLUDED.events, active_users = EXCLUDED.active_users
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--start", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--end", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--dsn", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--dry-run", action="store_true")
    return parser.parse_args(argv)


def daterange(start, end):
    day = start
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


def load_daily_counts(cur, start, end):
    cur.execute(
        """
        SELECT account_id, occurred_at::date AS day, count(*), count(DISTINCT user_id)
        FROM events
        WHERE occurred_at >= %s AND occurred_at < %s + interval '1 day'
        GROUP BY 1, 2
        """,
        (start, end),
    )
    return {(acct, day): (events, users) for acct, day, events, users in cur.fetchall()}


def backfill(conn, start, end, dry_run=False):
    written = 0
    with conn.cursor() as cur:
        cur.execute("SELECT id FROM accounts WHERE status = 'active'")
        account_ids = [row[0] for row in cur.fetchall()]
        counts = load_daily_counts(cur, start, end)

        for day in daterange(start, end):
            for account_id in account_ids:
                events, users = counts.get((account_id, day), (0, 0))
                if dry_run:
                    continue
                cur.execute(UPSERT_DAILY_ROLLUP, (account_id, day, events, users))
                written += 1
            # commit per day so a crash halfway through keeps finished days
            conn.commit()
            log.info("%s: %d accounts", day, len(account_ids))
    return written


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if not args.dsn:
        log.error("no --dsn given and DATABASE_URL is not set")
        return 2
    if args.end < args.start:
        log.error("--end is before --start")
        return 2

    conn = psycopg2.connect(args.dsn, application_name="analytics-backfill")
    try:
        written = backfill(conn, args.start, args.end, dry_run=args.dry_run)
    finally:
        conn.close()
    log.info("done, %d rollup rows written", written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
