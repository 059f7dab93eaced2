/* capacity.c - capacity search and the one "holds" decision (see capacity.h). */
#include "capacity.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct capacity_criteria capacity_criteria_default(void)
{
    return (struct capacity_criteria){
        .slo_p99_ms = 500.0, .max_error_rate = 0.01, .min_served = 0.95, .max_lag_p99_ms = 0.0};
}

/* Appends a formatted piece to buf (a "; "-separated list), truncating quietly. */
static void why_add(char *buf, size_t len, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void why_add(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
    if (buf == NULL || len == 0 || *used >= len - 1)
        return;
    if (*used > 0) {
        int n = snprintf(buf + *used, len - *used, "; ");
        *used += n > 0 ? (size_t)n : 0;
        if (*used >= len)
            *used = len - 1;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *used, len - *used, fmt, ap);
    va_end(ap);
    *used += n > 0 ? (size_t)n : 0;
    if (*used >= len)
        *used = len - 1;
}

bool capacity_holds(const struct capacity_criteria *c, const struct capacity_probe *p, char *why,
                    size_t whylen)
{
    size_t used = 0;
    bool ok = true;
    if (why && whylen)
        why[0] = '\0';

    if (!isfinite(p->offered) || p->offered <= 0) {
        why_add(why, whylen, &used, "not an open-loop run (no offered rate)");
        return false;
    }
    if (p->sent <= 0) {
        why_add(why, whylen, &used, "nothing was sent");
        ok = false;
    } else {
        /* Sent against offered, not achieved against offered: the achieved rate counts
         * completions inside the window, so one 3 s response in a 15 s step would read as
         * 80% served although every request was. */
        if (isfinite(p->duration_s) && p->duration_s > 0) {
            double due = p->offered * p->duration_s;
            if ((double)p->sent < c->min_served * due - 1) {
                why_add(why, whylen, &used, "sent %.1f%% of offered (< %.0f%%)",
                        100.0 * (double)p->sent / due, 100.0 * c->min_served);
                ok = false;
            }
        }
        if ((double)p->completed < c->min_served * (double)p->sent) {
            why_add(why, whylen, &used, "completed %.1f%% of sent (< %.0f%%)",
                    100.0 * (double)p->completed / (double)p->sent, 100.0 * c->min_served);
            ok = false;
        }
    }
    if (!isfinite(p->p99_ms)) {
        why_add(why, whylen, &used, "no p99 latency");
        ok = false;
    } else if (!(p->p99_ms < c->slo_p99_ms)) {
        why_add(why, whylen, &used, "p99 %.1f ms >= %g ms", p->p99_ms, c->slo_p99_ms);
        ok = false;
    }
    if (!isfinite(p->error_rate)) {
        why_add(why, whylen, &used, "no error rate");
        ok = false;
    } else if (!(p->error_rate < c->max_error_rate)) {
        why_add(why, whylen, &used, "errors %.2f%% >= %g%%", 100.0 * p->error_rate,
                100.0 * c->max_error_rate);
        ok = false;
    }
    if (p->partial) {
        why_add(why, whylen, &used, "cut short");
        ok = false;
    }
    if (c->max_lag_p99_ms > 0) {
        if (!isfinite(p->lag_p99_ms)) {
            why_add(why, whylen, &used, "no send-lag figure");
            ok = false;
        } else if (p->lag_p99_ms > c->max_lag_p99_ms) {
            why_add(why, whylen, &used, "send-lag p99 %.2f ms > %g ms", p->lag_p99_ms,
                    c->max_lag_p99_ms);
            ok = false;
        }
    }
    if (ok && c->max_lag_p99_ms > 0)
        why_add(why, whylen, &used, "p99 %.1f ms, errors %.2f%%, send-lag p99 %.2f ms", p->p99_ms,
                100.0 * p->error_rate, p->lag_p99_ms);
    else if (ok)
        why_add(why, whylen, &used, "p99 %.1f ms, errors %.2f%%", p->p99_ms, 100.0 * p->error_rate);
    return ok;
}

/* A number member of obj, NaN when missing or not a number. */
static double jnum(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static int64_t jcount(const json_t *obj, const char *key)
{
    double v = jnum(obj, key);
    /* only values an int64_t holds: converting 1e300 is undefined */
    return v > -9.2e18 && v < 9.2e18 ? (int64_t)v : 0;
}

void capacity_probe_from_run(const json_t *run, struct capacity_probe *out)
{
    const json_t *lat = json_object_get(run, "latency");
    memset(out, 0, sizeof *out);
    out->offered = jnum(run, "intended_rate");
    out->achieved = jnum(run, "achieved_rate");
    out->duration_s = jnum(run, "measured_s");
    out->requests = jcount(run, "due");
    out->sent = jcount(run, "sent");
    out->completed = jcount(run, "completed");
    out->p50_ms = jnum(lat, "p50_ms");
    out->p99_ms = jnum(lat, "p99_ms");
    out->mean_ms = jnum(lat, "mean_ms");
    out->error_rate = jnum(run, "error_rate");
    out->lag_p99_ms = jnum(json_object_get(run, "send_lag"), "p99_ms");
    out->partial = json_is_true(json_object_get(run, "partial"));
}

bool capacity_run_holds(const json_t *run, const struct capacity_criteria *c, char *why,
                        size_t whylen)
{
    struct capacity_probe p;
    capacity_probe_from_run(run, &p);
    return capacity_holds(c, &p, why, whylen);
}

const char *capacity_limit_name(enum capacity_limit l)
{
    switch (l) {
    case CAPACITY_LIMIT_SLO:
        return "slo";
    case CAPACITY_LIMIT_GENERATOR:
        return "generator";
    case CAPACITY_LIMIT_NONE:
        break;
    }
    return NULL;
}

void capacity_result_free(struct capacity_result *res)
{
    free(res->probes);
    res->probes = NULL;
    res->nprobes = 0;
}

/* ------------------------------------------------------------------------ the search */

/* The bracket as the search knows it: lo held (0: nothing held yet), hi failed (0:
 * nothing failed yet), lo < hi. */
struct bracket {
    double lo, hi;
};

static bool in_range(const struct capacity_search *s, double rate)
{
    return rate >= s->min_rps && (s->ceiling <= 0 || rate <= s->ceiling);
}

static double clamp_rate(const struct capacity_search *s, double rate)
{
    if (s->ceiling > 0 && rate > s->ceiling)
        rate = s->ceiling;
    return rate < s->min_rps ? s->min_rps : rate;
}

/* The geometric middle of (lo, hi), rounded to whole requests per second where that
 * keeps it strictly inside (probe files then read 668, not 668.174). */
static double bisect_rate(double lo, double hi)
{
    double mid = sqrt(lo * hi), r = round(mid);
    return (mid >= 20 && r > lo && r < hi) ? r : mid;
}

static bool narrow_enough(const struct capacity_search *s, const struct bracket *b)
{
    return b->lo > 0 && b->hi > 0 && b->hi / b->lo <= s->tolerance * (1 + 1e-9);
}

/* The highest rate in range and below `below` that held among the probes (0 when none). */
static double highest_hold_below(const struct capacity_search *s, const struct capacity_result *res,
                                 double below)
{
    double best = 0;
    for (size_t i = 0; i < res->nprobes; i++) {
        const struct capacity_probe *p = &res->probes[i];
        if (p->holds && in_range(s, p->offered) && p->offered < below && p->offered > best)
            best = p->offered;
    }
    return best;
}

static int check_search(const struct capacity_search *s, char *err, size_t errlen)
{
    const char *bad = NULL;
    if (s->probe == NULL)
        bad = "no probe function";
    else if (!isfinite(s->start) || s->start <= 0)
        bad = "the start rate must be > 0";
    else if (!isfinite(s->min_rps) || s->min_rps <= 0)
        bad = "the minimum rate must be > 0";
    else if (!isfinite(s->ceiling) || s->ceiling < 0)
        bad = "the ceiling must be >= 0 (0: none)";
    else if (s->ceiling > 0 && s->ceiling < s->min_rps)
        bad = "the ceiling is below the minimum rate";
    else if (!isfinite(s->tolerance) || s->tolerance <= 1)
        bad = "the tolerance must be > 1";
    else if (s->max_probes < 1)
        bad = "at most 0 probes allowed";
    else if (s->nknown > 0 && s->known == NULL)
        bad = "known probes missing";
    if (bad) {
        snprintf(err, errlen, "bad capacity search: %s", bad);
        return -1;
    }
    return 0;
}

/* Judges p (holds, why), stores it in res and reports it. */
static struct capacity_probe *record(const struct capacity_search *s, struct capacity_result *res,
                                     const struct capacity_probe *p, const char *phase)
{
    struct capacity_probe *slot = &res->probes[res->nprobes++];
    *slot = *p;
    slot->phase = phase;
    slot->holds = capacity_holds(&s->criteria, slot, slot->why, sizeof slot->why);
    if (s->report)
        s->report(s->ctx, slot);
    return slot;
}

/* Sets lower, upper, limited_by, found and converged from the bracket. */
static void conclude(const struct capacity_search *s, const struct bracket *b,
                     struct capacity_result *res)
{
    res->lower = b->lo;
    res->upper = b->hi;
    res->limited_by = CAPACITY_LIMIT_NONE;
    res->converged = false;
    if (b->lo <= 0 && b->hi > 0 && b->hi <= s->min_rps) {
        res->limited_by = CAPACITY_LIMIT_SLO; /* fails even at the lightest load */
        res->converged = true;
    } else if (s->ceiling > 0 && b->lo >= s->ceiling && b->hi <= 0) {
        res->limited_by = CAPACITY_LIMIT_GENERATOR;
        res->converged = true;
    } else if (b->lo > 0 && b->hi > 0) {
        res->limited_by = CAPACITY_LIMIT_SLO;
        res->converged = narrow_enough(s, b);
    }
    res->found = res->limited_by != CAPACITY_LIMIT_NONE;
}

int capacity_run(const struct capacity_search *s, struct capacity_result *res, char *err,
                 size_t errlen)
{
    memset(res, 0, sizeof *res);
    if (check_search(s, err, errlen) < 0)
        return -1;
    res->probes = calloc(s->nknown + (size_t)s->max_probes, sizeof *res->probes);
    if (res->probes == NULL) {
        snprintf(err, errlen, "out of memory for %d probes", s->max_probes);
        return -1;
    }

    /* Known probes seed the bracket: the highest rate that held, the lowest above it that
     * failed. Those outside [min_rps, ceiling] are listed but not used. */
    struct bracket b = {0, 0};
    for (size_t i = 0; i < s->nknown; i++) {
        struct capacity_probe *p = record(s, res, &s->known[i], "known");
        p->n = 0;
        if (in_range(s, p->offered) && p->holds && p->offered > b.lo)
            b.lo = p->offered;
    }
    for (size_t i = 0; i < res->nprobes; i++) {
        const struct capacity_probe *p = &res->probes[i];
        if (in_range(s, p->offered) && !p->holds && p->offered > b.lo &&
            (b.hi <= 0 || p->offered < b.hi))
            b.hi = p->offered;
    }

    double start = clamp_rate(s, s->start);
    bool start_pending = start > b.lo && (b.hi <= 0 || start < b.hi);
    int run = 0, confirm_failures = 0;
    while (run < s->max_probes) {
        double rate;
        const char *phase;
        if (start_pending) {
            rate = start;
            phase = "exponential";
            start_pending = false;
        } else if (b.lo <= 0 && b.hi > 0) {
            /* only failures so far: halve, down to min_rps */
            if (b.hi <= s->min_rps)
                break; /* fails at the lightest load: limited by the SLO */
            rate = clamp_rate(s, b.hi / 2);
            phase = "exponential";
        } else if (b.hi <= 0) {
            /* only passes so far: double, up to the ceiling */
            if (s->ceiling > 0 && b.lo >= s->ceiling) {
                rate = b.lo; /* held at the generator's ceiling: confirm it */
                phase = "confirm";
            } else {
                rate = clamp_rate(s, b.lo * 2);
                phase = "exponential";
            }
        } else if (!narrow_enough(s, &b)) {
            rate = bisect_rate(b.lo, b.hi);
            phase = "bisect";
        } else {
            rate = b.lo;
            phase = "confirm";
        }
        if (strcmp(phase, "confirm") == 0 && confirm_failures >= CAPACITY_MAX_CONFIRMS)
            break; /* the bracket stands, unconfirmed */

        struct capacity_probe p;
        memset(&p, 0, sizeof p);
        p.offered = rate;
        int rc = s->probe(s->ctx, rate, &p);
        if (rc < 0) {
            snprintf(err, errlen, "probe %d at %.6g req/s could not run", run + 1, rate);
            conclude(s, &b, res);
            return -1;
        }
        p.offered = rate;
        p.n = ++run;
        const struct capacity_probe *got = record(s, res, &p, phase);
        if (rc == CAPACITY_PROBE_STOPPED) {
            res->interrupted = true;
            break;
        }
        if (strcmp(phase, "confirm") == 0) {
            if (got->holds) {
                res->confirmed = true;
                break;
            }
            /* The lower bound did not hold twice: it becomes the upper bound, and the
             * highest rate that held below it (if any) the lower one. */
            confirm_failures++;
            b.hi = b.lo;
            b.lo = highest_hold_below(s, res, b.hi);
        } else if (got->holds) {
            b.lo = rate;
        } else {
            b.hi = rate;
        }
    }
    conclude(s, &b, res);
    return 0;
}

/* ------------------------------------------------------------------------ JSON */

static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *probe_json(const struct capacity_probe *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "n", json_integer(p->n));
    json_object_set_new(o, "offered", num_or_null(p->offered));
    json_object_set_new(o, "achieved", num_or_null(p->achieved));
    json_object_set_new(o, "requests", json_integer(p->requests));
    json_object_set_new(o, "sent", json_integer(p->sent));
    json_object_set_new(o, "completed", json_integer(p->completed));
    json_object_set_new(o, "duration_s", num_or_null(p->duration_s));
    json_object_set_new(o, "p50_ms", num_or_null(p->p50_ms));
    json_object_set_new(o, "p99_ms", num_or_null(p->p99_ms));
    json_object_set_new(o, "mean_ms", num_or_null(p->mean_ms));
    json_object_set_new(o, "error_rate", num_or_null(p->error_rate));
    json_object_set_new(o, "lag_p99_ms", num_or_null(p->lag_p99_ms));
    json_object_set_new(o, "partial", json_boolean(p->partial));
    json_object_set_new(o, "holds", json_boolean(p->holds));
    json_object_set_new(o, "why", json_string(p->why));
    json_object_set_new(o, "file", p->file[0] ? json_string(p->file) : json_null());
    json_object_set_new(o, "phase", json_string(p->phase ? p->phase : "exponential"));
    return o;
}

json_t *capacity_result_json(const struct capacity_search *s, const struct capacity_result *res)
{
    const struct capacity_criteria *c = &s->criteria;
    json_t *criteria =
        json_pack("{s:f, s:f, s:f, s:o}", "slo_p99_ms", c->slo_p99_ms, "max_error_rate",
                  c->max_error_rate, "min_served", c->min_served, "max_lag_p99_ms",
                  c->max_lag_p99_ms > 0 ? json_real(c->max_lag_p99_ms) : json_null());
    json_t *probes = json_array();
    for (size_t i = 0; i < res->nprobes; i++)
        json_array_append_new(probes, probe_json(&res->probes[i]));
    const char *limit = capacity_limit_name(res->limited_by);
    json_t *doc = json_object();
    json_object_set_new(doc, "format", json_string("apibench-capacity/1"));
    json_object_set_new(doc, "partial", json_boolean(res->interrupted));
    json_object_set_new(doc, "criteria", criteria);
    json_object_set_new(doc, "tolerance", json_real(s->tolerance));
    json_object_set_new(doc, "start_rps", json_real(s->start));
    json_object_set_new(doc, "min_rps", json_real(s->min_rps));
    json_object_set_new(doc, "ceiling_rps", s->ceiling > 0 ? json_real(s->ceiling) : json_null());
    json_object_set_new(doc, "max_probes", json_integer(s->max_probes));
    json_object_set_new(doc, "lower", json_real(res->lower));
    json_object_set_new(doc, "upper", res->upper > 0 ? json_real(res->upper) : json_null());
    json_object_set_new(doc, "limited_by", limit ? json_string(limit) : json_null());
    json_object_set_new(doc, "found", json_boolean(res->found));
    json_object_set_new(doc, "converged", json_boolean(res->converged));
    json_object_set_new(doc, "confirmed", json_boolean(res->confirmed));
    json_object_set_new(doc, "probes", probes);
    return doc;
}
