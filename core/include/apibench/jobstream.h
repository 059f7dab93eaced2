/* jobstream.h - the Redis Stream that carries 06-async's report jobs, shared by the server
 * (jobs_queue) and apibench-worker: key names, XADD, the outbox relay and the
 * queue's Prometheus lines.
 *
 * Keys, from a prefix (APIBENCH_STREAM or --stream; default "apibench:jobs"):
 *   <prefix>        the stream; one entry per job: report <id>
 *   <prefix>:dead   dead letters: report <id> deliveries <n> error <text>
 *   <prefix>:stats  hash of job counters (HINCRBY), shown by the server's /metrics
 * Consumer group "apibench-workers" (or --group). Entries are XDEL'd once acknowledged, so
 * the stream's length is the number of unfinished jobs. */
#ifndef APIBENCH_JOBSTREAM_H
#define APIBENCH_JOBSTREAM_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redis_url.h"

struct dbconn;
struct strbuf;

#define JOBSTREAM_DEFAULT_PREFIX "apibench:jobs"
#define JOBSTREAM_DEFAULT_GROUP "apibench-workers"

struct jobstream_names {
    char stream[192]; /* room for a Redis key prefix (redis_prefix.h) too */
    char dead[224];
    char stats[224];
    char group[128];
};

/* Fills n from prefix and group (NULL or "" for the defaults). Returns 0, or -1 when a name
 * is too long. */
int jobstream_names_init(struct jobstream_names *n, const char *prefix, const char *group);

/* As jobstream_names_init, with the Redis key prefix (redis_prefix.h; NULL or "" for none)
 * before the stream's three key names: "<key_prefix><prefix>", ":dead", ":stats". */
int jobstream_names_init_prefixed(struct jobstream_names *n, const char *key_prefix,
                                  const char *prefix, const char *group);

/* Creates the consumer group at id 0 with MKSTREAM (so that jobs added before any worker
 * started are delivered); an existing group is fine. Returns 0 or -1 with err. */
int jobstream_create_group(redisContext *rc, const struct jobstream_names *n, char *err,
                           size_t errlen);

/* XADDs the job for report_id and counts it (HINCRBY enqueued, plus relayed when relayed),
 * in one round trip. Returns 0, or -1 with err (rc->err is set when the connection broke). */
int jobstream_add(redisContext *rc, const struct jobstream_names *n, int64_t report_id,
                  bool relayed, char *err, size_t errlen);

/* HINCRBY stats field by. Errors are ignored (counters are best effort). */
void jobstream_count(redisContext *rc, const struct jobstream_names *n, const char *field,
                     long long by);

/* Moves outbox rows older than min_age_ms into the stream (at most 100, in one transaction
 * with FOR UPDATE SKIP LOCKED, so that relays in several processes do not collide), and
 * deletes each after its XADD. Sets *moved and *left (rows still in the outbox, -1 when
 * unknown). Returns 0, or -1 with err (Redis or the database failed; rows stay). */
int jobstream_relay(struct dbconn *c, redisContext *rc, const struct jobstream_names *n,
                    int min_age_ms, int *moved, long long *left, char *err, size_t errlen);

/* Checks that sql/async.sql was applied. Returns 0, -1 when the outbox table is missing
 * (the build must not start), or -2 when the check itself failed; err says which. */
int jobstream_check_schema(struct dbconn *c, char *err, size_t errlen);

/* Deletes report_id's outbox row after its XADD succeeded. Returns 0 or -1 (the row stays
 * and the relay adds the job again; the worker skips the second delivery once done). */
int jobstream_outbox_done(struct dbconn *c, int64_t report_id);

/* Appends the queue's Prometheus lines: apibench_jobs_total{event=...} from the stats
 * hash, apibench_jobs_queue_depth, apibench_jobs_pending, apibench_jobs_oldest_age_seconds
 * and apibench_jobs_dead_letters. Returns 0, or -1 when Redis failed (some lines missing). */
int jobstream_render_metrics(redisContext *rc, const struct jobstream_names *n,
                             struct strbuf *out);

/* The millisecond timestamp of a stream entry id ("1700000000000-0"), or -1. */
long long jobstream_id_ms(const char *id);

#endif
