/* lab_stats.h - the figures `apibench lab check` judges a lab by: per-run speed-ups of a
 * build over the previous one, their median and range, and a one-sided Mann-Whitney U
 * test with the exact null distribution (small samples, as a lab's 5 runs each). */
#ifndef APIBENCH_LAB_STATS_H
#define APIBENCH_LAB_STATS_H

#include <stdbool.h>
#include <stddef.h>

#define LAB_MAX_RUNS 32
#define LAB_ALPHA 0.05     /* the Mann-Whitney test's significance level */
#define LAB_PASS_SHARE 0.5 /* the share of the reference's speed-up a pass needs */

/* Median of n values (n >= 1); the mean of the middle two when n is even. */
double lab_median(const double *v, size_t n);

/* U of sample a against sample b: the number of pairs (a_i, b_j) with a_i > b_j, a tie
 * counting 1/2. Small U: a tends to be lower than b. */
double lab_mann_whitney_u(const double *a, size_t na, const double *b, size_t nb);

/* P(U <= u) when both samples come from one distribution (no ties), counted exactly over
 * the C(na + nb, na) equally likely orderings. na, nb in 1..LAB_MAX_RUNS. With ties, u is
 * rounded down to a whole number, which makes the test conservative. */
double lab_mann_whitney_p_lower(double u, size_t na, size_t nb);

/* Speed-ups of one build against the previous, run by run: previous[i] / build[i] (a metric
 * where lower is better). Fills speedup (n entries); returns false when a build figure is
 * not positive. */
bool lab_speedups(const double *previous, const double *build, size_t n, double *speedup);

/* How a lab's runs compare with the previous build's and the reference's. */
struct lab_judgement {
    double speedup_median, speedup_min, speedup_max; /* previous[i] / lab[i] */
    double reference_speedup;                        /* median of previous[i] / reference[i] */
    /* ln(speedup_median) / ln(reference_speedup): on the log scale, because speed-ups
     * multiply and small figures are noisy (1 ms and 0.5 ms are both "about 100x" over
     * 100 ms). NAN when the reference was not faster. */
    double share;
    double u, p;      /* Mann-Whitney U of the lab's runs against the previous build's */
    bool significant; /* p < LAB_ALPHA */
    bool reference_faster;
    bool pass; /* reference_faster, share >= LAB_PASS_SHARE and significant */
};

/* Judges n runs of each build (a metric where lower is better; run i of each measured in
 * the same round). n in 2..LAB_MAX_RUNS. Returns false when a figure is not positive. */
bool lab_judge(const double *previous, const double *lab, const double *reference, size_t n,
               struct lab_judgement *j);

#endif
