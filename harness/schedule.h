/* schedule.h - when each request of an open-loop run is meant to be sent. Pure
 * functions of (arrival, rate, start, seed): the load generator times every request
 * from this intended instant, not from when it managed to send it. */
#ifndef APIBENCH_SCHEDULE_H
#define APIBENCH_SCHEDULE_H

#include <stdint.h>

#include "rng.h"
#include "segment.h"

enum schedule_arrival {
    SCHEDULE_CONSTANT, /* one request every 1/rate seconds */
    SCHEDULE_POISSON,  /* exponential gaps with mean 1/rate, from a seeded PRNG */
};

struct schedule {
    enum schedule_arrival arrival;
    double rate;      /* requests per second, > 0 */
    int64_t start_ns; /* intended time of request 0 */
    uint64_t n;       /* requests handed out so far */
    double offset_ns; /* Poisson: sum of the gaps so far */
    struct rng rng;
    /* the share handed out (schedule_set_share): whole-run request numbers owned by
     * segment, then every parts-th of those starting at part */
    const struct segment *segment; /* NULL: every request */
    int part, parts;
    uint64_t owned; /* requests of the segment seen so far */
};

/* Sets s up. rate must be > 0 (returns -1 otherwise); seed only matters for Poisson. */
int schedule_init(struct schedule *s, enum schedule_arrival arrival, double rate, int64_t start_ns,
                  uint64_t seed);

/* Restricts s to a share of the whole run's requests: those segment owns (NULL: all),
 * and among them numbers part, part + parts, ... (a generator thread's share; 0 and 1
 * for all). rate stays the whole run's: the share keeps the whole run's send times. */
void schedule_set_share(struct schedule *s, const struct segment *segment, int part, int parts);

/* The intended send time (ns, same clock as start_ns) of the next request of s's share.
 * Constant arrivals are computed from the request's number (start + n / rate), so they
 * do not drift; Poisson arrivals add an exponential gap to the previous one. */
int64_t schedule_next(struct schedule *s);

/* Parses "constant" or "poisson". Returns 0, or -1 for anything else. */
int schedule_parse_arrival(const char *name, enum schedule_arrival *out);

/* "constant" or "poisson". */
const char *schedule_arrival_name(enum schedule_arrival a);

#endif
