/* capacity.h - the highest offered rate a server holds under an SLO, found by search.
 *
 * The search is pure: it never runs load itself but asks a probe function (the seam) to
 * measure one offered rate, so that `apibench capacity` plugs in the load generator and
 * the unit tests plug in a simulated server.
 *
 * Method: exponential probes from a start rate (x2 up while the probes hold, /2 down while
 * they fail), then geometric bisection between the highest rate that held and the lowest
 * that failed until upper / lower <= tolerance, then one confirmation run at the lower
 * bound. A failed confirmation moves the bracket down (upper = that rate) and the search
 * goes on, at most CAPACITY_MAX_CONFIRMS times. A ceiling (the load generator's) caps every
 * probe: holding at the ceiling ends the search "limited by the generator" with no upper
 * bound. Failing at min_rps ends it "limited by the SLO" with lower 0. max_probes bounds
 * the number of probes run.
 *
 * The one "holds" decision of the project lives here too (capacity_holds and
 * capacity_run_holds); the report and the shell ask it. */
#ifndef APIBENCH_CAPACITY_H
#define APIBENCH_CAPACITY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAPACITY_MAX_CONFIRMS 3
#define CAPACITY_WHY_MAX 192
#define CAPACITY_FILE_MAX 256

/* When a load step holds. Defaults: capacity_criteria_default. */
struct capacity_criteria {
    double slo_p99_ms;     /* p99 of the corrected latency must be below this (500) */
    double max_error_rate; /* errors / requests due must be below this (0.01) */
    double min_served;     /* sent >= min_served x offered (less one), completed >=
                              min_served x sent (0.95) */
    double max_lag_p99_ms; /* send-lag p99 must be at most this; 0: not checked */
};

/* What a probe measured at one offered rate. The probe function fills the measured
 * fields; the search fills n, holds, why and phase. NaN marks a figure not measured. */
struct capacity_probe {
    int n;                          /* 1-based order among the probes run; 0 for known probes */
    double offered;                 /* intended requests per second */
    double achieved;                /* responses per second during the measured window */
    double duration_s;              /* length of the measured window */
    int64_t requests;               /* requests due in the measured window */
    int64_t sent;                   /* of those, handed to the server */
    int64_t completed;              /* of those, answered with any HTTP status */
    double p50_ms, p99_ms, mean_ms; /* corrected latency (from the intended send time) */
    double error_rate;              /* errors / requests due */
    double lag_p99_ms;              /* send lag p99 (actual - intended send) */
    bool partial;                   /* cut short (interrupt, early end) */
    char file[CAPACITY_FILE_MAX];   /* where its run JSON is ("" when none) */
    /* filled by the search */
    bool holds;
    char why[CAPACITY_WHY_MAX];
    const char *phase; /* "exponential", "bisect", "confirm", "known" (static strings) */
};

/* Measures offered rate `rate` into *out (zeroed by the caller, offered preset). Returns
 * 0 when measured, CAPACITY_PROBE_STOPPED when interrupted (out may hold a partial
 * measurement, which is recorded but does not move the bracket), or -1 when the probe
 * could not run at all (the function reports why itself). */
typedef int (*capacity_probe_fn)(void *ctx, double rate, struct capacity_probe *out);
#define CAPACITY_PROBE_STOPPED 1

/* Called after each probe is judged (for a progress line); may be NULL. */
typedef void (*capacity_report_fn)(void *ctx, const struct capacity_probe *p);

struct capacity_search {
    struct capacity_criteria criteria;
    double start;     /* first probe rate, > 0 (clamped into [min_rps, ceiling]) */
    double ceiling;   /* highest rate ever probed; 0: none */
    double min_rps;   /* lowest rate ever probed, > 0 */
    double tolerance; /* stop bisecting when upper / lower <= tolerance, > 1 (1.05) */
    int max_probes;   /* at most this many probes are run (known ones are free), >= 1 */
    const struct capacity_probe *known; /* earlier measurements, nknown of them; borrowed */
    size_t nknown;
    capacity_probe_fn probe;
    capacity_report_fn report;
    void *ctx; /* passed to probe and report */
};

enum capacity_limit {
    CAPACITY_LIMIT_NONE,      /* no bracket: the probe budget ran out or it was interrupted */
    CAPACITY_LIMIT_SLO,       /* the server failed the SLO above lower */
    CAPACITY_LIMIT_GENERATOR, /* the server held at the generator's ceiling */
};

struct capacity_result {
    double lower; /* highest rate that held (0: none held, down to min_rps) */
    double upper; /* lowest rate above lower that failed; 0 when none (generator) */
    enum capacity_limit limited_by;
    bool found;                    /* a bracket was found (limited_by != NONE) */
    bool converged;                /* upper / lower <= tolerance (or a limit was reached) */
    bool confirmed;                /* a confirmation run at lower held */
    bool interrupted;              /* a probe reported CAPACITY_PROBE_STOPPED */
    struct capacity_probe *probes; /* known probes first, then those run, in order */
    size_t nprobes;
};

/* The defaults: p99 < 500 ms, errors < 1%, 95% served, send lag unchecked. */
struct capacity_criteria capacity_criteria_default(void);

/* True when p holds under c: offered > 0, sent >= min_served x offered x duration_s - 1
 * (skipped when duration_s is NaN), completed >= min_served x sent, p99 < slo_p99_ms,
 * error_rate < max_error_rate, not partial, and lag p99 <= max_lag_p99_ms when that is
 * > 0. why (may be NULL) gets a one-line reason: the figures that decided, or every rule
 * broken, joined by "; ". */
bool capacity_holds(const struct capacity_criteria *c, const struct capacity_probe *p, char *why,
                    size_t whylen);

/* Fills *out from an apibench-run JSON document (intended_rate, measured_s, due, sent,
 * completed, achieved_rate, error_rate, partial, latency.{p50,p99,mean}_ms,
 * send_lag.p99_ms); missing figures become NaN (or 0 for counts, false for partial). */
void capacity_probe_from_run(const json_t *run, struct capacity_probe *out);

/* capacity_holds on an apibench-run JSON document. A closed-loop run (no intended rate)
 * never holds. */
bool capacity_run_holds(const json_t *run, const struct capacity_criteria *c, char *why,
                        size_t whylen);

/* Runs the search s into *res (zeroed by this function; free it with
 * capacity_result_free, also after a failure). Returns 0 when the search ended (with or
 * without a bracket: see res->found, res->interrupted), or -1 with a one-line reason in
 * err when s is invalid, memory ran out or a probe could not run. */
int capacity_run(const struct capacity_search *s, struct capacity_result *res, char *err,
                 size_t errlen);

/* Frees res->probes. Accepts a zeroed result. */
void capacity_result_free(struct capacity_result *res);

/* "slo", "generator" or NULL (none). */
const char *capacity_limit_name(enum capacity_limit l);

/* The capacity.json document ("apibench-capacity/1") for s and res (new reference).
 * ceiling 0 is written as null, an absent upper as null. */
json_t *capacity_result_json(const struct capacity_search *s, const struct capacity_result *res);

#endif
