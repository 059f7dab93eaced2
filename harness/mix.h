/* mix.h - a workload mix: which routes a run requests, in what shares, with which device
 * ids (Zipf-distributed), which ingest batches and reports, and as which users. Read
 * from a small JSON file (harness/mixes/NAME.json, format in docs/RESULTS.md). Given the same
 * mix and PRNG seed, mix_next produces the same request sequence. */
#ifndef APIBENCH_MIX_H
#define APIBENCH_MIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apibench/strbuf.h"
#include "rng.h"

enum mix_route {
    MIX_LATEST,          /* GET /api/readings/latest?limit= */
    MIX_DEVICE_READINGS, /* GET /api/devices/{id}/readings?hours=&limit= */
    MIX_DEVICE,          /* GET /api/devices/{id} */
    MIX_INGEST,          /* POST /api/devices/{id}/readings with a batch */
    MIX_REPORT,          /* POST /api/reports */
    MIX_PATH,            /* GET of one fixed path (--path), no mix file */
    MIX_NROUTES
};

#define MIX_MAX_USERS 64
/* Device ids a mix may range over, all users' ranges together: each id costs a Zipf table
 * entry (and, with "dataset_scale", a visibility check), so this bounds the memory and time
 * of reading a mix. Ten times the largest dataset (GEN_MAX_SCALE, 1000 devices a scale). */
#define MIX_MAX_DEVICE_IDS 10000000
#define MIX_PATH_MAX 512

/* One request to send. `body` is reused between calls (strbuf_free it at the end). */
struct mix_request {
    enum mix_route route;
    bool post;               /* POST with a JSON body, else GET */
    char path[MIX_PATH_MAX]; /* path and query, starting with '/' */
    struct strbuf body;
    int user; /* index of the user (0..mix_user_count-1), -1 for none */
};

struct mix;

/* Reads a mix file. Returns NULL with a one-line reason in err (unreadable file,
 * malformed JSON, unknown route, bad weight or range) on failure. Free with mix_free. */
struct mix *mix_load(const char *path, char *err, size_t errlen);

/* Parses a mix from JSON text (what mix_load does after reading the file); name is used
 * in error messages. */
struct mix *mix_parse(const char *json, const char *name, char *err, size_t errlen);

/* A mix of one route: GET `path` for every request, no users. Path must start with '/'
 * and be shorter than MIX_PATH_MAX; returns NULL otherwise. */
struct mix *mix_fixed_path(const char *path);

/* Frees m. Accepts NULL. */
void mix_free(struct mix *m);

/* Fills out with the next request drawn with r. now_ms (ms since the epoch) stamps
 * ingested readings. */
void mix_next(const struct mix *m, struct rng *r, int64_t now_ms, struct mix_request *out);

/* Users of the mix and their API keys (borrowed; NULL when the user has none). */
int mix_user_count(const struct mix *m);
const char *mix_user_key(const struct mix *m, int user);
int mix_user_id(const struct mix *m, int user);

/* The route's weight share in m (0 when unused). */
double mix_route_share(const struct mix *m, enum mix_route route);

/* "latest", "device_readings", ...; NULL for an out-of-range value. */
const char *mix_route_name(enum mix_route route);

/* Parses a route name. Returns 0, or -1 for an unknown name. */
int mix_route_parse(const char *name, enum mix_route *out);

/* The mix's source (file path or "path:/x"), for the results. Borrowed. */
const char *mix_source(const struct mix *m);

/* Zipf sampling on its own, for tests: rank in 1..n with P(k) proportional to 1/k^skew.
 * zipf_new returns NULL when n < 1 or skew < 0. */
struct zipf;
struct zipf *zipf_new(int64_t n, double skew);
void zipf_free(struct zipf *z);
int64_t zipf_sample(const struct zipf *z, struct rng *r);

#endif
