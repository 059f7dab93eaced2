/* report_ablation.h - the ablation section of a reproduction's report (scripts/reproduce
 * --ablation): which of the five optimisations matters, measured two ways:
 *   leave-one-out: the final build (06-async's composition) against itself with one
 *                  optimisation removed ("the effect in the final build");
 *   add-one:       the baseline with one optimisation added, against the baseline ("the
 *                  effect alone").
 * Builds are matched by their composition (the `composition` line of the server's
 * `--needs`, saved by scripts/reproduce as builds/NAME/needs.txt), never by their names.
 * docs/RESULTS.md explains how to read the section. */
#ifndef APIBENCH_REPORT_ABLATION_H
#define APIBENCH_REPORT_ABLATION_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The five optimisations, in the article's order. */
#define ABLATION_OPTIMISATIONS 5

/* The three figures an effect is measured on. */
enum ablation_metric {
    ABLATION_MEAN,     /* mean response time at the article's load (ms) */
    ABLATION_P99,      /* p99 response time at the article's load (ms) */
    ABLATION_CAPACITY, /* capacity under the SLO (req/s) */
    ABLATION_METRICS
};

/* A figure with its noise range [lo, hi] (lo <= value <= hi; hi may be +INFINITY for an
 * open capacity bracket). ranged is false when the run gave no range for it (lo == hi ==
 * value). value is NAN when the figure is unknown. */
struct ablation_figure {
    double value, lo, hi;
    bool ranged;
};

/* The optimisation's name ("indexes", "cache", "pool", "gzip", "queue"), i in
 * 0..ABLATION_OPTIMISATIONS-1. */
const char *report_ablation_name(size_t i);

/* The marginal effect of an optimisation, oriented so that a positive effect means it
 * helps: for latency, without - with (ms saved); for capacity, with - without (req/s
 * gained). Its range is the difference of the two ranges (interval arithmetic); it is
 * ranged only when both figures are. NAN value when either figure is unknown. */
struct ablation_figure report_ablation_effect(enum ablation_metric m, struct ablation_figure with,
                                              struct ablation_figure without);

/* Whether the effect alone differs from the effect in the final build by more than the
 * noise range: 1 when both are ranged and their ranges do not overlap, 0 when both are
 * ranged and they overlap, -1 when it cannot be judged (either is unknown or unranged). */
int report_ablation_interacts(struct ablation_figure alone, struct ablation_figure in_final);

/* Fills order[0..n-1] with the indexes of effects, largest effect first; unknown (NAN)
 * effects last; equal effects keep their order. */
void report_ablation_rank(const struct ablation_figure *effects, size_t n, size_t *order);

/* The composition in the text of a server's `--needs` output (its "composition k=v ..."
 * line) as an object {connections, queries, cache, encoder, jobs}. Returns a new
 * reference, or json null when text is NULL or has no composition line. */
json_t *report_ablation_composition(const char *needs_text);

/* summary.json's "ablation" block from the summary's builds (each with its "composition")
 * and the run's repeat count: the compositions found, each optimisation's effects both
 * ways with ranges, the interactions, and the rankings. Returns a new reference; json null
 * when the run holds no ablation: it needs the final build (for leave-one-out) or the
 * baseline (for add-one), and at least one composition to compare with it. The half that
 * was not measured has unknown effects. */
json_t *report_ablation_build(const json_t *builds, int repeats);

/* Writes report.md's ablation section from summary's "ablation" block; nothing when it is
 * null. Returns 0, or -1 on a write error. */
int report_ablation_write_md(const json_t *summary, FILE *out);

/* Writes plots/ablation.dat and draws plots/ablation.png and .svg (scripts/plot_ablation.gp)
 * when summary holds an ablation; does nothing otherwise. Returns 0, or -1 with err filled. */
int report_ablation_plot(const json_t *summary, const char *run_dir, char *err, size_t errlen);

#endif
