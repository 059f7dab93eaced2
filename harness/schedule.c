/* schedule.c - intended send times (see schedule.h). */
#include "schedule.h"

#include <math.h>
#include <string.h>

int schedule_init(struct schedule *s, enum schedule_arrival arrival, double rate, int64_t start_ns,
                  uint64_t seed)
{
    if (!(rate > 0.0) || !isfinite(rate))
        return -1;
    memset(s, 0, sizeof *s);
    s->arrival = arrival;
    s->rate = rate;
    s->start_ns = start_ns;
    rng_seed(&s->rng, seed);
    s->parts = 1;
    return 0;
}

void schedule_set_share(struct schedule *s, const struct segment *segment, int part, int parts)
{
    s->segment = segment && segment->count > 1 ? segment : NULL;
    s->part = part;
    s->parts = parts > 0 ? parts : 1;
}

/* The next request of the whole run. */
static int64_t next_of_run(struct schedule *s)
{
    int64_t t;
    if (s->arrival == SCHEDULE_POISSON) {
        t = s->start_ns + (int64_t)s->offset_ns;
        /* inverse transform: -ln(1 - U) is exponential with mean 1; 1 - U is in (0, 1] */
        double u = rng_double(&s->rng);
        s->offset_ns += -log(1.0 - u) * 1e9 / s->rate;
    } else {
        t = s->start_ns + (int64_t)((double)s->n * 1e9 / s->rate);
    }
    s->n++;
    return t;
}

int64_t schedule_next(struct schedule *s)
{
    for (;;) {
        uint64_t number = s->n;
        int64_t t = next_of_run(s);
        if (s->segment && !segment_owns(s->segment, number))
            continue;
        if (s->owned++ % (uint64_t)s->parts == (uint64_t)s->part)
            return t;
    }
}

int schedule_parse_arrival(const char *name, enum schedule_arrival *out)
{
    if (strcmp(name, "constant") == 0)
        *out = SCHEDULE_CONSTANT;
    else if (strcmp(name, "poisson") == 0)
        *out = SCHEDULE_POISSON;
    else
        return -1;
    return 0;
}

const char *schedule_arrival_name(enum schedule_arrival a)
{
    return a == SCHEDULE_POISSON ? "poisson" : "constant";
}
