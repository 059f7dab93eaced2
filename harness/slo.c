/* slo.c - SLO spec parsing and checking (see slo.h). */
#include "slo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    enum slo_metric metric;
} metric_names[] = {
    {"p50", SLO_P50},   {"p90", SLO_P90},       {"p99", SLO_P99},     {"p99.9", SLO_P999},
    {"p999", SLO_P999}, {"p99.99", SLO_P9999},  {"p9999", SLO_P9999}, {"mean", SLO_MEAN},
    {"max", SLO_MAX},   {"errors", SLO_ERRORS}, {"rate", SLO_RATE},
};

static int parse_term(const char *text, struct slo_term *t, char *err, size_t errlen)
{
    size_t name_len = strcspn(text, "<>");
    if (text[name_len] == '\0') {
        snprintf(err, errlen, "bad slo term '%s': expected METRIC<VALUE or METRIC>VALUE", text);
        return -1;
    }
    bool found = false;
    for (size_t i = 0; i < sizeof metric_names / sizeof metric_names[0]; i++)
        if (strlen(metric_names[i].name) == name_len &&
            strncmp(text, metric_names[i].name, name_len) == 0) {
            t->metric = metric_names[i].metric;
            found = true;
        }
    if (!found) {
        snprintf(err, errlen,
                 "bad slo term '%s': unknown metric (use p50, p90, p99, p99.9, p99.99, mean, "
                 "max, errors or rate)",
                 text);
        return -1;
    }
    const char *p = text + name_len;
    bool less = *p == '<';
    p++;
    bool or_equal = *p == '=';
    if (or_equal)
        p++;
    t->op = less ? (or_equal ? SLO_LE : SLO_LT) : (or_equal ? SLO_GE : SLO_GT);
    char *end;
    double v = strtod(p, &end);
    if (end == p || !isfinite(v) || v < 0) {
        snprintf(err, errlen,
                 "bad slo term '%s': expected a non-negative number after the operator", text);
        return -1;
    }
    const char *unit = end;
    bool latency = t->metric < SLO_ERRORS;
    if (latency) {
        if (*unit == '\0' || strcmp(unit, "ms") == 0)
            t->threshold = v;
        else if (strcmp(unit, "us") == 0)
            t->threshold = v / 1000.0;
        else if (strcmp(unit, "s") == 0)
            t->threshold = v * 1000.0;
        else {
            snprintf(err, errlen, "bad slo term '%s': latency unit must be us, ms or s", text);
            return -1;
        }
    } else if (t->metric == SLO_ERRORS) {
        if (strcmp(unit, "%") != 0) {
            snprintf(err, errlen, "bad slo term '%s': errors take a percentage, e.g. errors<0.1%%",
                     text);
            return -1;
        }
        t->threshold = v / 100.0;
    } else {
        if (strcmp(unit, "%") == 0) {
            t->relative = true;
            t->threshold = v / 100.0;
        } else if (*unit == '\0') {
            t->threshold = v;
        } else {
            snprintf(err, errlen,
                     "bad slo term '%s': rate takes a percentage of the intended rate or req/s",
                     text);
            return -1;
        }
    }
    snprintf(t->text, sizeof t->text, "%s", text);
    return 0;
}

int slo_parse(const char *spec, struct slo *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *p = spec;
    if (!spec || *spec == '\0') {
        snprintf(err, errlen, "bad slo: empty specification");
        return -1;
    }
    while (*p) {
        size_t len = strcspn(p, ",");
        char term[64];
        if (len == 0 || len >= sizeof term) {
            snprintf(err, errlen, "bad slo '%s': %s term", spec, len ? "overlong" : "empty");
            return -1;
        }
        if (out->n == SLO_MAX_TERMS) {
            snprintf(err, errlen, "bad slo '%s': more than %d terms", spec, SLO_MAX_TERMS);
            return -1;
        }
        memcpy(term, p, len);
        term[len] = '\0';
        if (parse_term(term, &out->terms[out->n], err, errlen) < 0)
            return -1;
        out->n++;
        p += len;
        if (*p == ',') {
            p++;
            if (*p == '\0') {
                snprintf(err, errlen, "bad slo '%s': empty term", spec);
                return -1;
            }
        }
    }
    return 0;
}

bool slo_term_passes(const struct slo_term *term, const struct slo_observed *obs, double *observed)
{
    double v;
    if (term->metric < SLO_ERRORS)
        v = obs->latency_ms[term->metric];
    else if (term->metric == SLO_ERRORS)
        v = obs->error_fraction;
    else if (term->relative)
        v = obs->intended_rate > 0 ? obs->achieved_rate / obs->intended_rate : NAN;
    else
        v = obs->achieved_rate;
    *observed = v;
    if (isnan(v))
        return false;
    switch (term->op) {
    case SLO_LT:
        return v < term->threshold;
    case SLO_LE:
        return v <= term->threshold;
    case SLO_GT:
        return v > term->threshold;
    case SLO_GE:
        return v >= term->threshold;
    }
    return false;
}

const char *slo_term_unit(const struct slo_term *term)
{
    if (term->metric < SLO_ERRORS)
        return "ms";
    if (term->metric == SLO_RATE && !term->relative)
        return "req/s";
    return "fraction";
}
