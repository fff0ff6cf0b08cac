"""Snowflake Cortex functions over the support tickets in the warehouse."""

from analytics.db import warehouse


def ticket_sentiment(body: str) -> float:
    """Sentiment of one ticket text, from -1 to 1."""
    cur = warehouse().cursor()
    cur.execute("SELECT SNOWFLAKE.CORTEX.SENTIMENT(%s)", (body,))
    return cur.fetchone()[0]


def refresh_ticket_summaries() -> None:
    """Summaries of the tickets for the support dashboard."""
    warehouse().cursor().execute("UPDATE support.tickets SET summary = SNOWFLAKE.CORTEX.SUMMARIZE(body)")


def summarize_new_tickets(since: str) -> int:
    """Summaries of the tickets that have none yet."""
    cur = warehouse().cursor()
    cur.execute(
        "UPDATE support.tickets SET summary = SNOWFLAKE.CORTEX.SUMMARIZE(body) "
        "WHERE summary IS NULL AND created_at > %s",
        (since,),
    )
    return cur.rowcount


def classify_batch(batch_id: int) -> list:
    """Topics of every ticket of an import batch, in one statement."""
    cur = warehouse().cursor()
    cur.execute(
        "SELECT id, SNOWFLAKE.CORTEX.CLASSIFY_TEXT(body, ['billing', 'bug', 'question']) "
        "FROM support.tickets WHERE batch_id = %s",
        (batch_id,),
    )
    return cur.fetchall()
