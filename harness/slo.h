/* slo.h - service-level thresholds for a run, e.g. "p99<100ms,p50<20ms,errors<0.1%,rate>95%".
 *
 * Terms are separated by commas. Latency terms (p50, p90, p99, p99.9, p99.99, mean, max)
 * compare the corrected latency with a value in us, ms (the default) or s. "errors"
 * compares the error rate (errors / requests due in the measured phase) with a
 * percentage. "rate" compares the achieved rate with a percentage of the intended rate,
 * or with req/s when no '%' is given. Operators: <, <=, >, >=. */
#ifndef APIBENCH_SLO_H
#define APIBENCH_SLO_H

#include <stdbool.h>
#include <stddef.h>

#define SLO_MAX_TERMS 16

enum slo_metric {
    SLO_P50,
    SLO_P90,
    SLO_P99,
    SLO_P999,
    SLO_P9999,
    SLO_MEAN,
    SLO_MAX,
    SLO_ERRORS,
    SLO_RATE,
    SLO_NMETRICS
};

enum slo_op { SLO_LT, SLO_LE, SLO_GT, SLO_GE };

struct slo_term {
    enum slo_metric metric;
    enum slo_op op;
    double threshold; /* ms for latency, a fraction (0.001 = 0.1%) for errors and
                         relative rate, req/s for absolute rate */
    bool relative;    /* rate: threshold is a fraction of the intended rate */
    char text[64];    /* the term as written */
};

struct slo {
    struct slo_term terms[SLO_MAX_TERMS];
    int n;
};

/* What a run measured, in the units the terms use. */
struct slo_observed {
    double latency_ms[SLO_ERRORS]; /* indexed by SLO_P50 .. SLO_MAX */
    double error_fraction;
    double achieved_rate;
    double intended_rate; /* 0 in closed loop: relative rate terms then fail */
};

/* Parses spec into out. Returns 0, or -1 with a one-line reason in err (unknown metric,
 * missing operator, bad number or unit, too many terms). */
int slo_parse(const char *spec, struct slo *out, char *err, size_t errlen);

/* True when obs satisfies term; *observed gets the compared value (in the term's unit:
 * ms, a fraction, or req/s). */
bool slo_term_passes(const struct slo_term *term, const struct slo_observed *obs, double *observed);

/* The unit of a term's threshold and observed value: "ms", "fraction" or "req/s". */
const char *slo_term_unit(const struct slo_term *term);

#endif
