-- The article's unoptimised headline query ("Before"), in its shape: every column of both
-- tables, all active devices' readings joined, newest first, first 100 rows. Nothing limits
-- the time range, so PostgreSQL joins and sorts every reading of every active device.
-- Our columns are the article's (devices.status, readings.device_id, readings."timestamp").
-- Captured with EXPLAIN (ANALYZE, BUFFERS) by the harness; see DESIGN.md for the expected
-- 2.8-3.3 s at scale 10.
SELECT *
FROM devices d
JOIN readings r ON d.id = r.device_id
WHERE d.status = 'active'
ORDER BY r."timestamp" DESC
LIMIT 100;
