/* lab_stats.c - medians, speed-ups and the exact Mann-Whitney U distribution. */
#include "lab_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double lab_median(const double *v, size_t n)
{
    double s[LAB_MAX_RUNS];
    if (n == 0 || n > LAB_MAX_RUNS)
        return NAN;
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
}

double lab_mann_whitney_u(const double *a, size_t na, const double *b, size_t nb)
{
    double u = 0.0;
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            u += a[i] > b[j] ? 1.0 : a[i] == b[j] ? 0.5 : 0.0;
    return u;
}

/* ways[m][k]: orderings of m a-values among k b-values, by U; filled for m <= na and
 * k <= nb with the recurrence f(m, k, u) = f(m - 1, k, u - k) + f(m, k - 1, u): the
 * largest value is either an a (it beats all k b's) or a b (it adds nothing). */
double lab_mann_whitney_p_lower(double u, size_t na, size_t nb)
{
    if (na == 0 || nb == 0 || na > LAB_MAX_RUNS || nb > LAB_MAX_RUNS)
        return NAN;
    if (u < 0)
        return 0.0;
    size_t umax = na * nb, target = (size_t)floor(u);
    if (target >= umax)
        return 1.0;
    size_t stride = umax + 1;
    /* two rows of k: prev[m][u] for k - 1 and cur[m][u] for k */
    double *prev = calloc((na + 1) * stride, sizeof *prev);
    double *cur = calloc((na + 1) * stride, sizeof *cur);
    if (!prev || !cur) {
        free(prev);
        free(cur);
        return NAN;
    }
    for (size_t m = 0; m <= na; m++)
        prev[m * stride] = 1.0; /* k = 0: one ordering, U = 0 */
    for (size_t k = 1; k <= nb; k++) {
        memset(cur, 0, (na + 1) * stride * sizeof *cur);
        cur[0] = 1.0; /* m = 0 */
        for (size_t m = 1; m <= na; m++)
            for (size_t x = 0; x <= m * k; x++)
                cur[m * stride + x] =
                    prev[m * stride + x] + (x >= k ? cur[(m - 1) * stride + x - k] : 0.0);
        double *t = prev;
        prev = cur;
        cur = t;
    }
    double below = 0.0, total = 0.0;
    for (size_t x = 0; x <= umax; x++) {
        total += prev[na * stride + x];
        if (x <= target)
            below += prev[na * stride + x];
    }
    free(prev);
    free(cur);
    return below / total;
}

bool lab_speedups(const double *previous, const double *build, size_t n, double *speedup)
{
    for (size_t i = 0; i < n; i++) {
        if (!(build[i] > 0.0))
            return false;
        speedup[i] = previous[i] / build[i];
    }
    return true;
}

bool lab_judge(const double *previous, const double *lab, const double *reference, size_t n,
               struct lab_judgement *j)
{
    double s_lab[LAB_MAX_RUNS], s_ref[LAB_MAX_RUNS];
    *j = (struct lab_judgement){0};
    if (n < 2 || n > LAB_MAX_RUNS || !lab_speedups(previous, lab, n, s_lab) ||
        !lab_speedups(previous, reference, n, s_ref))
        return false;
    j->speedup_median = lab_median(s_lab, n);
    j->speedup_min = j->speedup_max = s_lab[0];
    for (size_t i = 1; i < n; i++) {
        j->speedup_min = fmin(j->speedup_min, s_lab[i]);
        j->speedup_max = fmax(j->speedup_max, s_lab[i]);
    }
    j->reference_speedup = lab_median(s_ref, n);
    j->reference_faster = j->reference_speedup > 1.0;
    j->share = j->reference_faster ? log(j->speedup_median) / log(j->reference_speedup) : NAN;
    j->u = lab_mann_whitney_u(lab, n, previous, n);
    j->p = lab_mann_whitney_p_lower(j->u, n, n);
    j->significant = j->p < LAB_ALPHA;
    j->pass = j->reference_faster && j->share >= LAB_PASS_SHARE && j->significant;
    return true;
}
