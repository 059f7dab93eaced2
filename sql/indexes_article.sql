-- The article's two composite indexes (step 1), exactly as it names them.
CREATE INDEX IF NOT EXISTS devices_status_id_idx ON devices (status, id);
CREATE INDEX IF NOT EXISTS readings_device_id_timestamp_idx ON readings (device_id, "timestamp");
