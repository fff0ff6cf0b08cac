-- Weekly usage export, run by the BI team every Monday (psql -f db/reports/weekly_usage.sql).
SELECT a.name, count(*) AS events, count(DISTINCT e.user_id) AS users
FROM events e
JOIN accounts a ON a.id = e.account_id
WHERE date_trunc('week', e.occurred_at) = date_trunc('week', CURRENT_DATE - 7)
GROUP BY a.name
ORDER BY events DESC;
