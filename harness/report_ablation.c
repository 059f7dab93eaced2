/* report_ablation.c - the ranking of the five optimisations by marginal effect, both ways
 * (leave-one-out in the final build, add-one on the baseline), their interactions, the
 * report section and the plot. See report_ablation.h. */
#include "report_ablation.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "apibench/strbuf.h"
#include "report_md.h"
#include "report_plots.h"
#include "report_summary.h"

/* Each optimisation: the strategy it sets, and that strategy's value with it and without. */
static const struct {
    const char *name, *strategy, *on, *off, *what;
} opts[ABLATION_OPTIMISATIONS] = {
    {"indexes", "queries", "optimised", "naive", "optimised queries with the build indexes"},
    {"cache", "cache", "tiered", "none", "L1 + L2 (Redis) cache"},
    {"pool", "connections", "pool", "per-request", "bounded connection pool"},
    {"gzip", "encoder", "gzip", "identity", "gzip encoding"},
    {"queue", "jobs", "queue", "inline", "reports through the job queue and worker"},
};

#define ALL_ON ((1u << ABLATION_OPTIMISATIONS) - 1)

static const char *const metric_key[ABLATION_METRICS] = {"mean_ms", "p99_ms", "capacity_rps"};
static const char *const design_key[2] = {"leave_one_out", "add_one"};

const char *report_ablation_name(size_t i)
{
    return i < ABLATION_OPTIMISATIONS ? opts[i].name : NULL;
}

/* ---- the arithmetic (unit-tested) */

struct ablation_figure report_ablation_effect(enum ablation_metric m, struct ablation_figure with,
                                              struct ablation_figure without)
{
    struct ablation_figure e = {NAN, NAN, NAN, false};
    /* latency: lower is better, so what it saves is without - with; capacity: with - without */
    struct ablation_figure hi_side = m == ABLATION_CAPACITY ? with : without;
    struct ablation_figure lo_side = m == ABLATION_CAPACITY ? without : with;

    if (!isfinite(with.value) || !isfinite(without.value))
        return e;
    e.value = hi_side.value - lo_side.value;
    e.lo = hi_side.lo - lo_side.hi;
    e.hi = hi_side.hi - lo_side.lo;
    e.ranged = with.ranged && without.ranged;
    return e;
}

int report_ablation_interacts(struct ablation_figure alone, struct ablation_figure in_final)
{
    if (!isfinite(alone.value) || !isfinite(in_final.value) || !alone.ranged || !in_final.ranged)
        return -1;
    return alone.hi < in_final.lo || in_final.hi < alone.lo;
}

void report_ablation_rank(const struct ablation_figure *effects, size_t n, size_t *order)
{
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    /* insertion sort: stable, and n is 5 */
    for (size_t i = 1; i < n; i++) {
        size_t cur = order[i], j = i;
        double v = effects[cur].value;
        while (j > 0) {
            double w = effects[order[j - 1]].value;
            bool before = isfinite(v) && (!isfinite(w) || v > w);
            if (!before)
                break;
            order[j] = order[j - 1];
            j--;
        }
        order[j] = cur;
    }
}

/* ---- compositions */

json_t *report_ablation_composition(const char *needs_text)
{
    const char *line = needs_text;
    json_t *c;

    while (line && *line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > 12 && strncmp(line, "composition ", 12) == 0) {
            char *copy = strndup(line + 12, len - 12), *save = NULL;
            c = json_object();
            for (char *tok = copy ? strtok_r(copy, " \t", &save) : NULL; tok;
                 tok = strtok_r(NULL, " \t", &save)) {
                char *eq = strchr(tok, '=');
                if (eq && eq != tok) {
                    *eq = '\0';
                    json_object_set_new(c, tok, json_string(eq + 1));
                }
            }
            free(copy);
            return c;
        }
        line = end ? end + 1 : NULL;
    }
    return json_null();
}

/* The bit set of a composition (bit i: optimisation i on), or -1 when a strategy is
 * missing or has a value that is neither the optimisation's nor the baseline's. */
static int mask_of(const json_t *composition)
{
    int mask = 0;

    for (size_t i = 0; i < ABLATION_OPTIMISATIONS; i++) {
        const char *v = json_string_value(json_object_get(composition, opts[i].strategy));
        if (v == NULL)
            return -1;
        if (strcmp(v, opts[i].on) == 0)
            mask |= 1 << i;
        else if (strcmp(v, opts[i].off) != 0)
            return -1;
    }
    return mask;
}

static bool is_ok(const json_t *b)
{
    const char *s = json_string_value(json_object_get(b, "status"));
    return s && strcmp(s, "ok") == 0;
}

/* The build of the run whose composition has mask (a measured one first), or NULL. */
static const json_t *find_mask(const json_t *builds, int mask)
{
    const json_t *first = NULL;
    size_t i;
    json_t *b;

    json_array_foreach(builds, i, b)
    {
        if (mask_of(json_object_get(b, "composition")) != mask)
            continue;
        if (is_ok(b))
            return b;
        if (first == NULL)
            first = b;
    }
    return first;
}

/* ---- one composition's figures and their noise ranges */

static double num_at(const json_t *b, const char *path)
{
    json_t *x = report_path(b, path);
    return json_is_number(x) ? json_number_value(x) : NAN;
}

/* [lo, hi] of a two-element range array; false when it is not two numbers (an open upper
 * end, null, is +INFINITY when open_ok). */
static bool range_at(const json_t *b, const char *path, bool open_ok, double *lo, double *hi)
{
    json_t *r = report_path(b, path);
    json_t *l = json_array_get(r, 0), *h = json_array_get(r, 1);

    if (!json_is_number(l) || !(json_is_number(h) || (open_ok && json_is_null(h))))
        return false;
    *lo = json_number_value(l);
    *hi = json_is_number(h) ? json_number_value(h) : INFINITY;
    return true;
}

/* One repeat's mean: ±2 standard errors of the per-second means of the phase (the
 * timeline). Within-run spread only. False with fewer than 2 seconds that saw a response
 * or a failure. */
static bool timeline_range(const json_t *b, double mean, double *lo, double *hi)
{
    const json_t *tl = report_path(b, "article_load.timeline");
    double sum = 0, sq = 0, se;
    size_t i, k = 0;
    json_t *s;

    json_array_foreach(tl, i, s)
    {
        json_t *m = json_object_get(s, "mean_ms");
        /* a second's mean is over its responses and failures; its counts are numbers, not
         * integers (summary.json's timelines are medians over repeats) */
        if (!json_is_number(m) || !(json_number_value(json_object_get(s, "responses")) +
                                        json_number_value(json_object_get(s, "errors")) >
                                    0))
            continue;
        sum += json_number_value(m);
        sq += json_number_value(m) * json_number_value(m);
        k++;
    }
    if (k < 2)
        return false;
    se = sqrt(fmax(0, (sq - sum * sum / (double)k) / (double)(k - 1)) / (double)k);
    *lo = mean - 2 * se;
    *hi = mean + 2 * se;
    return true;
}

/* The figure m of build b, and in *noise how its range was found: "repeats" (min-max
 * over the build's repeats), "timeline" (one repeat's mean: ±2 standard errors of its
 * per-second means), "bracket" (one repeat's capacity: the search's bracket) or "none". */
static struct ablation_figure figure_of(const json_t *b, enum ablation_metric m,
                                        const char **noise)
{
    static const char *const value_path[ABLATION_METRICS] = {
        "article_load.latency_ms.mean", "article_load.latency_ms.p99", "capacity.lower"};
    static const char *const range_path[ABLATION_METRICS] = {
        "article_load.range.mean_ms", "article_load.range.p99_ms", "capacity.range.lower"};
    struct ablation_figure f = {NAN, NAN, NAN, false};
    bool repeated = num_at(b, "repeats") >= 2;

    *noise = "none";
    if (b == NULL || !is_ok(b) || !isfinite(num_at(b, value_path[m])))
        return f;
    f.value = f.lo = f.hi = num_at(b, value_path[m]);
    if (repeated && range_at(b, range_path[m], false, &f.lo, &f.hi))
        *noise = "repeats";
    else if (!repeated && m == ABLATION_MEAN && timeline_range(b, f.value, &f.lo, &f.hi))
        *noise = "timeline";
    else if (!repeated && m == ABLATION_CAPACITY) {
        double up = num_at(b, "capacity.upper");
        f.hi = isfinite(up) ? up : INFINITY;
        *noise = "bracket";
    } else
        return f;
    /* a range always holds its figure (a median inside min-max; a mean inside ±2 SE) */
    f.lo = fmin(f.lo, f.value);
    f.hi = fmax(f.hi, f.value);
    f.ranged = true;
    return f;
}

/* ---- summary.json */

/* A number, or null when it is not finite (an open range end, an unknown figure). */
static json_t *jnum(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static json_t *figure_json(struct ablation_figure f, const char *noise)
{
    json_t *o = json_pack("{s:o,s:[o,o],s:b}", "value", jnum(f.value), "range", jnum(f.lo),
                          jnum(f.hi), "ranged", f.ranged);
    if (noise)
        json_object_set_new(o, "noise", json_string(noise));
    return o;
}

/* An effect, with the factor (without/with for latency, with/without for capacity) and
 * whether its range excludes zero. */
static json_t *effect_json(enum ablation_metric m, struct ablation_figure e,
                           struct ablation_figure with, struct ablation_figure without)
{
    json_t *o = figure_json(e, NULL);
    double num = m == ABLATION_CAPACITY ? with.value : without.value;
    double den = m == ABLATION_CAPACITY ? without.value : with.value;

    json_object_set_new(o, "factor", jnum(den > 0 ? num / den : NAN));
    json_object_set_new(o, "beyond_noise", e.ranged && isfinite(e.value)
                                               ? json_boolean(e.lo > 0 || e.hi < 0)
                                               : json_null());
    return o;
}

/* The composition entry of one role: its build and figures (build null when not measured). */
static json_t *composition_json(const char *role, int mask, const json_t *b,
                                struct ablation_figure *figs)
{
    json_t *o = json_pack("{s:s,s:i}", "role", role, "mask", mask);

    json_object_set_new(o, "build",
                        b ? json_deep_copy(json_object_get(b, "build")) : json_null());
    json_object_set_new(o, "status",
                        b ? json_deep_copy(json_object_get(b, "status")) : json_string("not-run"));
    json_object_set_new(o, "held_article_load",
                        b && json_is_boolean(report_path(b, "article_load.held"))
                            ? json_deep_copy(report_path(b, "article_load.held"))
                            : json_null());
    for (int m = 0; m < ABLATION_METRICS; m++) {
        const char *noise;
        figs[m] = figure_of(b, (enum ablation_metric)m, &noise);
        json_object_set_new(o, metric_key[m], figure_json(figs[m], noise));
    }
    return o;
}

static json_t *noise_json(int repeats)
{
    if (repeats >= 2)
        return json_pack("{s:i,s:s,s:s,s:s}", "repeats", repeats, "mean_ms",
                         "min-max over the repeats", "p99_ms", "min-max over the repeats",
                         "capacity_rps", "min-max of the lower bound over the repeats");
    return json_pack("{s:i,s:s,s:s,s:s}", "repeats", 1, "mean_ms",
                     "±2 standard errors of the per-second means of the one phase (within-run "
                     "spread only)",
                     "p99_ms", "none (one repeat gives no p99 spread)", "capacity_rps",
                     "the capacity search's bracket [lower, upper]");
}

json_t *report_ablation_build(const json_t *builds, int repeats)
{
    const json_t *final = find_mask(builds, ALL_ON), *base = find_mask(builds, 0);
    const json_t *minus[ABLATION_OPTIMISATIONS], *plus[ABLATION_OPTIMISATIONS];
    struct ablation_figure f_final[ABLATION_METRICS], f_base[ABLATION_METRICS];
    struct ablation_figure f_minus[ABLATION_OPTIMISATIONS][ABLATION_METRICS];
    struct ablation_figure f_plus[ABLATION_OPTIMISATIONS][ABLATION_METRICS];
    struct ablation_figure eff[2][ABLATION_METRICS][ABLATION_OPTIMISATIONS];
    size_t found = 0;
    json_t *out, *comps, *effects, *ranking;

    for (size_t i = 0; i < ABLATION_OPTIMISATIONS; i++) {
        minus[i] = find_mask(builds, (int)(ALL_ON & ~(1u << i)));
        plus[i] = find_mask(builds, 1 << i);
        found += (minus[i] != NULL) + (plus[i] != NULL);
    }
    /* one half is enough: leave-one-out needs the final build, add-one the baseline */
    if ((final == NULL && base == NULL) || found == 0)
        return json_null();

    comps = json_array();
    json_array_append_new(comps, composition_json("final", ALL_ON, final, f_final));
    json_array_append_new(comps, composition_json("baseline", 0, base, f_base));
    for (size_t i = 0; i < ABLATION_OPTIMISATIONS; i++) {
        char role[32];
        snprintf(role, sizeof role, "minus-%s", opts[i].name);
        json_array_append_new(
            comps, composition_json(role, (int)(ALL_ON & ~(1u << i)), minus[i], f_minus[i]));
    }
    for (size_t i = 0; i < ABLATION_OPTIMISATIONS; i++) {
        char role[32];
        snprintf(role, sizeof role, "plus-%s", opts[i].name);
        json_array_append_new(comps, composition_json(role, 1 << i, plus[i], f_plus[i]));
    }

    effects = json_array();
    for (size_t i = 0; i < ABLATION_OPTIMISATIONS; i++) {
        json_t *loo = json_object(), *add = json_object(), *inter = json_object();
        for (int m = 0; m < ABLATION_METRICS; m++) {
            enum ablation_metric em = (enum ablation_metric)m;
            int x;
            eff[0][m][i] = report_ablation_effect(em, f_final[m], f_minus[i][m]);
            eff[1][m][i] = report_ablation_effect(em, f_plus[i][m], f_base[m]);
            json_object_set_new(loo, metric_key[m],
                                effect_json(em, eff[0][m][i], f_final[m], f_minus[i][m]));
            json_object_set_new(add, metric_key[m],
                                effect_json(em, eff[1][m][i], f_plus[i][m], f_base[m]));
            x = report_ablation_interacts(eff[1][m][i], eff[0][m][i]);
            json_object_set_new(inter, metric_key[m], x < 0 ? json_null() : json_boolean(x));
        }
        json_array_append_new(effects, json_pack("{s:s,s:s,s:o,s:o,s:o}", "optimisation",
                                                 opts[i].name, "what", opts[i].what,
                                                 "leave_one_out", loo, "add_one", add,
                                                 "interaction", inter));
    }

    ranking = json_object();
    for (int d = 0; d < 2; d++) {
        json_t *per = json_object();
        for (int m = 0; m < ABLATION_METRICS; m++) {
            size_t order[ABLATION_OPTIMISATIONS];
            json_t *list = json_array();
            report_ablation_rank(eff[d][m], ABLATION_OPTIMISATIONS, order);
            for (size_t k = 0; k < ABLATION_OPTIMISATIONS; k++)
                if (isfinite(eff[d][m][order[k]].value))
                    json_array_append_new(list, json_string(opts[order[k]].name));
            json_object_set_new(per, metric_key[m], list);
        }
        json_object_set_new(ranking, design_key[d], per);
    }

    out = json_pack("{s:o,s:o,s:o,s:o}", "noise", noise_json(repeats), "compositions", comps,
                    "effects", effects, "ranking", ranking);
    return out;
}

/* ---- report.md */

static const char *const metric_title[ABLATION_METRICS] = {
    "mean saved at 167 req/s (ms)", "p99 saved at 167 req/s (ms)", "capacity gained (req/s)"};

/* "value [lo, hi]" of a figure or effect object, into a rotating static buffer. */
static const char *ranged_text(const json_t *f, char kind)
{
    static char ring[16][96];
    static unsigned next;
    char *buf = ring[next++ % 16];
    json_t *r = json_object_get(f, "range");

    if (!json_is_number(json_object_get(f, "value")))
        return "n/a";
    if (!json_is_true(json_object_get(f, "ranged")))
        snprintf(buf, 96, "%s", report_fmt(json_object_get(f, "value"), kind));
    else
        snprintf(buf, 96, "%s [%s, %s]", report_fmt(json_object_get(f, "value"), kind),
                 report_fmt(json_array_get(r, 0), kind),
                 json_is_number(json_array_get(r, 1)) ? report_fmt(json_array_get(r, 1), kind)
                                                      : "open");
    return buf;
}

static void write_ranking(FILE *out, const json_t *ab, int d)
{
    const json_t *rank = report_path(json_object_get(ab, "ranking"), design_key[d]);

    fprintf(out, "| rank | %s | %s | %s |\n| --- | --- | --- | --- |\n", metric_title[0],
            metric_title[1], metric_title[2]);
    for (size_t k = 0; k < ABLATION_OPTIMISATIONS; k++) {
        fprintf(out, "| %zu |", k + 1);
        for (int m = 0; m < ABLATION_METRICS; m++) {
            const char *name = json_string_value(json_array_get(json_object_get(rank, metric_key[m]), k));
            const json_t *opt =
                name ? report_find(json_object_get(ab, "effects"), "optimisation", name) : NULL;
            const json_t *e = report_path(report_path(opt, design_key[d]), metric_key[m]);
            const json_t *factor = json_object_get(e, "factor");
            if (name == NULL) {
                fprintf(out, " – |");
                continue;
            }
            fprintf(out, " %s: %s", name, ranged_text(e, m == ABLATION_CAPACITY ? 'r' : 'm'));
            if (json_is_number(factor))
                fprintf(out, " (×%.3g)", json_number_value(factor));
            if (json_is_false(json_object_get(e, "beyond_noise")))
                fprintf(out, ", within noise");
            fprintf(out, " |");
        }
        fprintf(out, "\n");
    }
    fprintf(out, "\n");
}

int report_ablation_write_md(const json_t *summary, FILE *out)
{
    const json_t *ab = json_object_get(summary, "ablation");
    const json_t *noise = json_object_get(ab, "noise");
    size_t i;
    json_t *c, *e;
    int flagged = 0;

    if (!json_is_object(ab))
        return 0;
    fprintf(out,
            "## Ablation: which optimisation matters\n\n"
            "Each optimisation measured two ways. **Leave-one-out** (its effect in the final "
            "build): the final build against the same build without it. **Add-one** (its "
            "effect alone): the baseline with it added, against the baseline. An effect is "
            "what the optimisation buys: milliseconds of response time saved at the article's "
            "167 req/s (mean and p99; a negative effect costs time), and req/s of capacity "
            "gained under the SLO. Builds are matched by their composition (`--needs`), not by "
            "their names.\n\n");
    if (json_integer_value(json_object_get(noise, "repeats")) >= 2)
        fprintf(out,
                "Noise range: each composition was measured %" JSON_INTEGER_FORMAT
                " times; its range is the min-max over the repeats (capacity: of the lower "
                "bound), and an effect's range is the difference of the two ranges "
                "[low − high, high − low].\n\n",
                json_integer_value(json_object_get(noise, "repeats")));
    else
        fprintf(out,
                "Noise range (one repeat, so no run-to-run spread was measured): mean: ±2 "
                "standard errors of the per-second means of the one phase, a within-run "
                "spread that misses run-to-run drift; p99: none, so p99 interactions are not "
                "judged; capacity: the search's bracket [lower, upper]. An effect's range is "
                "the difference of the two ranges. `--repeat 3` measures the run-to-run "
                "range.\n\n");
    fprintf(out, "A composition that did not hold 167 req/s has latency figures bounded by the "
                 "timeout its failed requests count as; effects measured against it are "
                 "bounds, not sizes.\n\n");

    fprintf(out, "| composition | build | held 167 req/s | mean at 167 (ms) | p99 at 167 (ms) | "
                 "capacity (req/s) |\n| --- | --- | --- | --- | --- | --- |\n");
    json_array_foreach(json_object_get(ab, "compositions"), i, c)
    {
        const json_t *held = json_object_get(c, "held_article_load");
        fprintf(out, "| %s | %s | %s | %s | %s | %s |\n",
                json_string_value(json_object_get(c, "role")),
                json_is_string(json_object_get(c, "build"))
                    ? json_string_value(json_object_get(c, "build"))
                    : "not measured",
                json_is_boolean(held) ? (json_is_true(held) ? "yes" : "no") : "n/a",
                ranged_text(json_object_get(c, "mean_ms"), 'm'),
                ranged_text(json_object_get(c, "p99_ms"), 'm'),
                ranged_text(json_object_get(c, "capacity_rps"), 'r'));
    }
    fprintf(out, "\n### Ranking by effect in the final build (leave-one-out)\n\n");
    write_ranking(out, ab, 0);
    fprintf(out, "### Ranking by effect alone (add-one on the baseline)\n\n");
    write_ranking(out, ab, 1);

    fprintf(out, "### Interactions\n\nAn interaction: the effect alone and the effect in the "
                 "final build differ by more than their noise ranges (the ranges do not "
                 "overlap).\n\n| optimisation | figure | alone | in the final build | verdict "
                 "|\n| --- | --- | --- | --- | --- |\n");
    json_array_foreach(json_object_get(ab, "effects"), i, e)
    {
        for (int m = 0; m < ABLATION_METRICS; m++) {
            const json_t *x = report_path(json_object_get(e, "interaction"), metric_key[m]);
            char kind = m == ABLATION_CAPACITY ? 'r' : 'm';
            flagged += json_is_true(x);
            fprintf(out, "| %s | %s | %s | %s | %s |\n",
                    json_string_value(json_object_get(e, "optimisation")), metric_title[m],
                    ranged_text(report_path(json_object_get(e, "add_one"), metric_key[m]), kind),
                    ranged_text(report_path(json_object_get(e, "leave_one_out"), metric_key[m]),
                                kind),
                    json_is_true(x)    ? "**interaction**"
                    : json_is_false(x) ? "within noise"
                                       : "not judged (no range, or not measured)");
        }
    }
    fprintf(out, "\n%d interaction%s flagged.\n\n![ablation](plots/ablation.png)\n\n", flagged,
            flagged == 1 ? "" : "s");
    return ferror(out) ? -1 : 0;
}

/* ---- the plot */

/* Writes "value lo hi" of an effect object, "?" for what is unknown or open. */
static void dat_effect(FILE *f, const json_t *e)
{
    json_t *r = json_object_get(e, "range");
    bool ranged = json_is_true(json_object_get(e, "ranged"));

    report_dat_num(f, json_object_get(e, "value"));
    report_dat_num(f, ranged ? json_array_get(r, 0) : json_object_get(e, "value"));
    report_dat_num(f, ranged ? json_array_get(r, 1) : json_object_get(e, "value"));
}

int report_ablation_plot(const json_t *summary, const char *run_dir, char *err, size_t errlen)
{
    const json_t *ab = json_object_get(summary, "ablation");
    char path[4096], vars[4200];
    FILE *f;
    size_t i;
    json_t *e;

    if (!json_is_object(ab))
        return 0;
    if (!REPORT_FMT_FITS(path, "%s/plots/ablation.dat", run_dir) ||
        (f = fopen(path, "w")) == NULL) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    fprintf(f, "# i optimisation, then per figure (mean_ms p99_ms capacity_rps): leave-one-out "
               "effect lo hi, add-one effect lo hi (? = unknown or open)\n");
    json_array_foreach(json_object_get(ab, "effects"), i, e)
    {
        fprintf(f, "%zu %s", i, json_string_value(json_object_get(e, "optimisation")));
        for (int m = 0; m < ABLATION_METRICS; m++) {
            dat_effect(f, report_path(json_object_get(e, "leave_one_out"), metric_key[m]));
            dat_effect(f, report_path(json_object_get(e, "add_one"), metric_key[m]));
        }
        fprintf(f, "\n");
    }
    if (fclose(f) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    if (!REPORT_FMT_FITS(vars, "rundir='%s'", run_dir)) {
        snprintf(err, errlen, "results folder path too long");
        return -1;
    }
    return report_gnuplot("plot_ablation.gp", vars, err, errlen);
}
