-- The query set of 01-baseline, per endpoint, for reading and for psql experiments. The
-- source of truth is core/src/queries_naive.c (copied from it on 2026-11-27; if the two
-- differ, the C file is what runs). $n are the statements' parameters. Every request opens
-- a new connection first (connsrc_per_request).

-- ---------------------------------------------------------------------------------------
-- GET /api/readings/latest?limit=&cursor=  (the article's endpoint): 5 + S statements,
-- S = distinct sites on the page (N+1).

-- 1. find the presented key ($1 = SHA-256 of the X-API-Key header)
SELECT * FROM api_keys WHERE key_hash = $1::bytea;
-- 2. load the key's user
SELECT * FROM users WHERE id = $1;
-- 3. load the user's permissions
SELECT * FROM user_sites WHERE user_id = $1;
-- 4. the total, to tell whether a next page exists ($1 = the user's site ids)
SELECT count(*) FROM devices d JOIN readings r ON d.id = r.device_id
WHERE d.status = 'active' AND d.site_id = ANY($1::int[]);
-- 5. the page: the article's unoptimised query with the caller's sites and OFFSET paging
SELECT * FROM devices d JOIN readings r ON d.id = r.device_id
WHERE d.status = 'active' AND d.site_id = ANY($1::int[])
ORDER BY r."timestamp" DESC, r.id DESC LIMIT $2 OFFSET $3;
-- 6.. once per site on the page, for its name
SELECT * FROM sites WHERE id = $1;

-- ---------------------------------------------------------------------------------------
-- GET /api/devices/{id}/readings?hours=&limit=: 3 (statements 1-3 above) + 2.
SELECT * FROM devices WHERE id = $1;
SELECT * FROM readings WHERE device_id = $1
  AND "timestamp" > now() - make_interval(hours => $2::int)
ORDER BY "timestamp" DESC, id DESC LIMIT $3;

-- ---------------------------------------------------------------------------------------
-- GET /api/devices/{id}: 3 + device + site + last reading + 24 h count + one aggregate per
-- sensor = 10.
SELECT * FROM devices WHERE id = $1;
SELECT * FROM sites WHERE id = $1;
SELECT * FROM readings WHERE device_id = $1 ORDER BY "timestamp" DESC, id DESC LIMIT 1;
SELECT count(*) FROM readings WHERE device_id = $1
  AND "timestamp" > now() - interval '24 hours';
SELECT min(temperature), max(temperature), round(avg(temperature::numeric), 2)::float8
FROM readings WHERE device_id = $1 AND "timestamp" > now() - interval '24 hours';
SELECT min(humidity), max(humidity), round(avg(humidity::numeric), 2)::float8
FROM readings WHERE device_id = $1 AND "timestamp" > now() - interval '24 hours';
SELECT min(battery), max(battery), round(avg(battery::numeric), 2)::float8
FROM readings WHERE device_id = $1 AND "timestamp" > now() - interval '24 hours';

-- ---------------------------------------------------------------------------------------
-- POST /api/devices/{id}/readings (n rows): 3 + device + BEGIN + n INSERTs + UPDATE devices
-- + COMMIT = n + 7. Ids come from the readings.id identity sequence (the seeder loads ids
-- 1..N and moves the sequence past them). With --ingest-lock the transaction first takes
-- SELECT pg_advisory_xact_lock($1::bigint), serialising every ingest (n + 8): the design
-- from when ids were max(id) + 1, ..., kept to measure it (scripts/bench_ingest.sh).
SELECT * FROM devices WHERE id = $1;
BEGIN;
INSERT INTO readings (device_id, "timestamp", temperature, humidity, battery, rssi)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING id;
UPDATE devices SET last_seen_at = greatest(last_seen_at, (SELECT max("timestamp")
  FROM readings WHERE id >= $2 AND device_id = $1)) WHERE id = $1;
COMMIT;
