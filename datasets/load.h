/* load.h - puts gen.h's rows into PostgreSQL, and moves them in time.
 *
 * load_seed runs pgbench-like steps, each timed and reported on stdout: drop (with
 * --force or a partial seed), create tables (sql/schema.sql) and COPY every table in one
 * transaction (which also moves the readings.id sequence past the loaded ids), VACUUM
 * ANALYZE, primary and foreign keys (sql/keys.sql), then pg_stat_statements, grants to the
 * server roles, and seed_info.complete = true last of all. A seed interrupted during the load leaves the database as it was (the transaction
 * rolls back); one interrupted later leaves seed_info.complete false, which the next run
 * recognises as a partial seed and replaces. */
#ifndef APIBENCH_LOAD_H
#define APIBENCH_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a load function ends with: the process exit code, too. */
enum load_status {
    LOAD_OK = 0,
    LOAD_FAILED = 1,        /* the message is in err */
    LOAD_INTERRUPTED = 130, /* SIGINT; whatever was running was cancelled and rolled back */
};

struct load_options {
    const char *database_url; /* libpq connection string or URL */
    int scale;
    uint64_t seed;
    bool force;     /* reseed over a complete seed; freshen even when the data is fresh */
    bool quiet;     /* no progress line and no step lines, only the summary */
    bool text_copy; /* readings in COPY text format instead of binary (same rows, slower) */
};

/* Installs a SIGINT handler that cancels the running statement and makes the load
 * functions return LOAD_INTERRUPTED. Call once before load_seed or load_freshen. */
void load_handle_sigint(void);

/* Seeds o->database_url with (o->seed, o->scale). Skips (LOAD_OK, saying so) when the
 * database already holds a complete seed of the same scale and seed and o->force is false,
 * giving readings.id its sequence if that seed predates it;
 * refuses (LOAD_FAILED) a different complete seed, or tables with data but no seed record,
 * without o->force. On LOAD_FAILED a one-line message is in err. */
enum load_status load_seed(const struct load_options *o, char *err, size_t errlen);

/* Shifts every seeded timestamp forward by (now - seed_info.anchor) and moves the anchor,
 * so that the data looks as if seeded now; then VACUUM ANALYZE. Does nothing when the
 * anchor is less than an hour old, unless o->force. On LOAD_FAILED a one-line message is
 * in err. */
enum load_status load_freshen(const struct load_options *o, char *err, size_t errlen);

/* The folder holding schema.sql and keys.sql: $APIBENCH_SQL_DIR, or the checkout's sql/
 * as configured at build time. Static or environment string. */
const char *load_sql_dir(void);

#endif
