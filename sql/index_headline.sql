-- The index that actually serves the headline query. The article's optimised query orders
-- all active devices' readings by time (ORDER BY r.timestamp DESC LIMIT 100): neither
-- composite index above can produce that order, so the planner scans readings in full.
-- An index led by the timestamp lets it walk the newest readings and stop after a page.
CREATE INDEX IF NOT EXISTS readings_timestamp_idx ON readings ("timestamp");
