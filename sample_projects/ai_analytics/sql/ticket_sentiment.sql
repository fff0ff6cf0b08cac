-- Nightly: sentiment of every support ticket (Snowflake).
CREATE OR REPLACE TABLE analytics.ticket_sentiment AS
SELECT id, SNOWFLAKE.CORTEX.SENTIMENT(body) AS score
FROM support.tickets;
