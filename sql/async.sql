-- async.sql - what 06-async adds to the schema: the transactional outbox that closes the
-- window between committing a report row and adding its job to the Redis Stream, and the
-- hourly rollup of readings (the article's "data aggregation -> scheduled tasks").
-- Idempotent: the 06-async test and reproduce scripts apply it before starting the build
-- and the worker (psql -v ON_ERROR_STOP=1 -f sql/async.sql). It needs schema.sql first.

-- One row per report whose XADD has not been confirmed. jobs_queue inserts it in the same
-- statement (so the same transaction) as the 'queued' report row and deletes it after a
-- successful XADD; the relay (in the server and in the worker) adds what is left behind.
CREATE TABLE IF NOT EXISTS outbox (
    report_id   bigint      PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now(),
    attempts    integer     NOT NULL DEFAULT 0,
    last_error  text
);

-- Hourly aggregates of readings, refreshed by apibench-worker (core/src/rollup.c). Sums,
-- not averages, so that hours combine exactly.
CREATE TABLE IF NOT EXISTS readings_hourly (
    device_id  integer          NOT NULL,
    hour       timestamptz      NOT NULL,
    n          integer          NOT NULL,
    temp_min   double precision NOT NULL,
    temp_sum   double precision NOT NULL,
    temp_max   double precision NOT NULL,
    hum_sum    double precision NOT NULL,
    batt_min   double precision NOT NULL,
    batt_last  double precision NOT NULL,
    first_ts   timestamptz      NOT NULL,
    last_ts    timestamptz      NOT NULL,
    PRIMARY KEY (device_id, hour)
);

-- The rollup's watermark: hours before complete_through are folded in. anchor remembers
-- seed_info.anchor so that re-anchored readings trigger a rebuild.
CREATE TABLE IF NOT EXISTS rollup_state (
    name              text        PRIMARY KEY,
    complete_through  timestamptz NOT NULL,
    anchor            timestamptz,
    refreshed_at      timestamptz NOT NULL
);

-- Grants for the server and worker roles, where they exist (scripts/services creates them;
-- a user's own database may not have them).
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['apibench_app', 'apibench_worker'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON outbox, readings_hourly, '
                           'rollup_state TO %I', r);
            EXECUTE format('GRANT SELECT, INSERT, UPDATE ON reports TO %I', r);
            EXECUTE format('GRANT SELECT ON sites, devices, readings, seed_info TO %I', r);
            EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO %I', r);
        END IF;
    END LOOP;
END
$$;
