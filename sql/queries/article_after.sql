-- The article's optimised headline query ("After"), in its shape: only the columns the
-- response needs, the last day only, newest first, first 100 rows. The article pairs it with
-- indexes on devices (status, id) and readings (device_id, "timestamp")
-- (sql/indexes_article.sql); neither serves a global ORDER BY "timestamp", so the plan
-- stays a scan of readings until sql/index_headline.sql adds readings ("timestamp").
SELECT d.id, d.name, d.status, r.temperature, r."timestamp"
FROM devices d
INNER JOIN readings r ON d.id = r.device_id
WHERE d.status = 'active'
  AND r."timestamp" > NOW() - INTERVAL '1 day'
ORDER BY r."timestamp" DESC
LIMIT 100;
