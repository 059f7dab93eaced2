/* test_report_ablation.c - the ablation's arithmetic (effects with ranges, interactions,
 * ranking) and its summary block from hand-made build entries whose figures make every
 * derived number easy to check by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_ablation.h"
#include "report_md.h"

/* a and b equal up to rounding (this cmocka has no assert_double_equal) */
#define assert_near(a, b) assert_true(fabs((double)(a) - (double)(b)) < 1e-9)

static struct ablation_figure fig(double v, double lo, double hi)
{
    struct ablation_figure f = {v, lo, hi, true};
    return f;
}

static void test_latency_effect_is_time_saved_with_interval_range(void **state)
{
    (void)state;
    /* with the optimisation 10 ms [9, 11], without it 100 ms [95, 105]: 90 ms saved,
     * at least 95 - 11, at most 105 - 9 */
    struct ablation_figure e =
        report_ablation_effect(ABLATION_MEAN, fig(10, 9, 11), fig(100, 95, 105));
    assert_near(e.value, 90);
    assert_near(e.lo, 84);
    assert_near(e.hi, 96);
    assert_true(e.ranged);
    /* an optimisation that costs time has a negative effect */
    e = report_ablation_effect(ABLATION_P99, fig(30, 30, 30), fig(20, 20, 20));
    assert_near(e.value, -10);
}

static void test_capacity_effect_is_rate_gained(void **state)
{
    (void)state;
    struct ablation_figure e =
        report_ablation_effect(ABLATION_CAPACITY, fig(200, 190, 210), fig(50, 45, 60));
    assert_near(e.value, 150);
    assert_near(e.lo, 130);
    assert_near(e.hi, 165);
    /* an open bracket (limited by the generator) leaves the effect open above */
    e = report_ablation_effect(ABLATION_CAPACITY, fig(200, 200, INFINITY), fig(50, 50, 60));
    assert_near(e.lo, 140);
    assert_true(isinf(e.hi) && e.hi > 0);
}

static void test_effect_unknown_or_unranged(void **state)
{
    struct ablation_figure unranged = {10, 10, 10, false};
    (void)state;
    assert_true(isnan(report_ablation_effect(ABLATION_MEAN, fig(NAN, NAN, NAN), fig(1, 1, 1)).value));
    assert_false(report_ablation_effect(ABLATION_MEAN, unranged, fig(20, 19, 21)).ranged);
}

static void test_interaction_needs_disjoint_ranges(void **state)
{
    struct ablation_figure unranged = {10, 10, 10, false};
    (void)state;
    assert_int_equal(report_ablation_interacts(fig(10, 5, 15), fig(30, 20, 40)), 1);
    assert_int_equal(report_ablation_interacts(fig(30, 20, 40), fig(10, 5, 15)), 1);
    /* touching or overlapping ranges: within noise */
    assert_int_equal(report_ablation_interacts(fig(10, 5, 20), fig(30, 20, 40)), 0);
    assert_int_equal(report_ablation_interacts(fig(10, 0, 100), fig(30, 20, 40)), 0);
    /* no range, or no figure: not judged */
    assert_int_equal(report_ablation_interacts(unranged, fig(30, 20, 40)), -1);
    assert_int_equal(report_ablation_interacts(fig(NAN, NAN, NAN), fig(30, 20, 40)), -1);
}

static void test_rank_largest_first_unknown_last_stable(void **state)
{
    struct ablation_figure e[5] = {fig(5, 5, 5), fig(NAN, NAN, NAN), fig(20, 20, 20),
                                   fig(-3, -3, -3), fig(20, 20, 20)};
    size_t order[5];
    (void)state;
    report_ablation_rank(e, 5, order);
    assert_int_equal(order[0], 2);
    assert_int_equal(order[1], 4);
    assert_int_equal(order[2], 0);
    assert_int_equal(order[3], 3);
    assert_int_equal(order[4], 1);
}

static void test_composition_from_needs(void **state)
{
    json_t *c = report_ablation_composition(
        "indexes create\nschema sql/async.sql\nworker\ncomposition connections=pool "
        "queries=optimised cache=tiered encoder=gzip jobs=queue\n");
    (void)state;
    assert_string_equal(json_string_value(json_object_get(c, "connections")), "pool");
    assert_string_equal(json_string_value(json_object_get(c, "jobs")), "queue");
    json_decref(c);
    c = report_ablation_composition("indexes drop\n");
    assert_true(json_is_null(c));
    json_decref(c);
    c = report_ablation_composition(NULL);
    assert_true(json_is_null(c));
    json_decref(c);
}

/* A build entry as report_summary_build writes one: composition from the bit set (bit i:
 * optimisation i of indexes, cache, pool, gzip, queue on), figures with repeat ranges. */
static json_t *entry(const char *name, int mask, int repeats, const double m[3], const double p[3],
                     const double c[3], bool held)
{
    json_t *b = json_pack(
        "{s:s,s:s,s:i,s:{s:s,s:s,s:s,s:s,s:s}}", "build", name, "status", "ok", "repeats",
        repeats, "composition", "queries", mask & 1 ? "optimised" : "naive", "cache",
        mask & 2 ? "tiered" : "none", "connections", mask & 4 ? "pool" : "per-request", "encoder",
        mask & 8 ? "gzip" : "identity", "jobs", mask & 16 ? "queue" : "inline");
    json_object_set_new(b, "article_load",
                        json_pack("{s:b,s:{s:f,s:f},s:{s:[f,f],s:[f,f]}}", "held", held,
                                  "latency_ms", "mean", m[0], "p99", p[0], "range", "mean_ms",
                                  m[1], m[2], "p99_ms", p[1], p[2]));
    json_object_set_new(b, "capacity",
                        json_pack("{s:f,s:f,s:{s:[f,f]}}", "lower", c[0], "upper", c[0] * 1.05,
                                  "range", "lower", c[1], c[2]));
    return b;
}

static const json_t *effect(const json_t *ab, const char *opt)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(ab, "effects"), i, e)
        if (strcmp(json_string_value(json_object_get(e, "optimisation")), opt) == 0)
            return e;
    return NULL;
}

static double at(const json_t *obj, const char *path)
{
    json_t *x = report_path(obj, path);
    return json_is_number(x) ? json_number_value(x) : NAN;
}

static void test_summary_block_ranks_and_flags(void **state)
{
    json_t *builds = json_array(), *ab;
    const json_t *cache, *pool;
    (void)state;
    /* names are arbitrary: the block must match builds by composition */
    json_array_append_new(builds, entry("final", 31, 2, (double[]){10, 9, 11},
                                        (double[]){50, 45, 55}, (double[]){1000, 950, 1050}, true));
    json_array_append_new(builds, entry("base", 0, 2, (double[]){5000, 4900, 5100},
                                        (double[]){9000, 8800, 9200}, (double[]){2, 1.8, 2.2}, false));
    json_array_append_new(builds, entry("no-cache", 31 & ~2, 2, (double[]){30, 28, 32},
                                        (double[]){100, 90, 110}, (double[]){300, 280, 320}, true));
    json_array_append_new(builds, entry("only-cache", 2, 2, (double[]){4990, 4880, 5100},
                                        (double[]){8990, 8800, 9200}, (double[]){2.1, 1.9, 2.3}, false));
    json_array_append_new(builds, entry("no-pool", 31 & ~4, 2, (double[]){12, 11, 13},
                                        (double[]){60, 50, 70}, (double[]){900, 880, 920}, true));
    ab = report_ablation_build(builds, 2);
    assert_true(json_is_object(ab));

    cache = effect(ab, "cache");
    pool = effect(ab, "pool");
    /* in the final build: 30 - 10 = 20 ms [28 - 11, 32 - 9]; capacity 1000 - 300 */
    assert_near(at(cache, "leave_one_out.mean_ms.value"), 20);
    assert_near(json_number_value(json_array_get(report_path(cache, "leave_one_out.mean_ms.range"), 0)), 17);
    assert_near(json_number_value(json_array_get(report_path(cache, "leave_one_out.mean_ms.range"), 1)), 23);
    assert_near(at(cache, "leave_one_out.capacity_rps.value"), 700);
    assert_near(at(cache, "leave_one_out.mean_ms.factor"), 3);
    /* alone: 5000 - 4990 = 10 ms [4900 - 5100, 5100 - 4880] */
    assert_near(at(cache, "add_one.mean_ms.value"), 10);
    assert_true(json_is_false(report_path(cache, "add_one.mean_ms.beyond_noise")));
    assert_true(json_is_true(report_path(cache, "leave_one_out.mean_ms.beyond_noise")));
    /* mean: [-200, 220] overlaps [17, 23]: within noise; capacity: [-0.3, 0.5] vs
     * [630, 770]: an interaction */
    assert_true(json_is_false(report_path(cache, "interaction.mean_ms")));
    assert_true(json_is_true(report_path(cache, "interaction.capacity_rps")));
    /* pool was not measured alone: no add-one effect, no interaction judged */
    assert_true(json_is_null(report_path(pool, "add_one.mean_ms.value")));
    assert_true(json_is_null(report_path(pool, "interaction.mean_ms")));
    /* rankings hold the measured effects only, largest first */
    {
        const json_t *loo = report_path(ab, "ranking.leave_one_out.capacity_rps");
        const json_t *add = report_path(ab, "ranking.add_one.mean_ms");
        assert_int_equal(json_array_size(loo), 2);
        assert_string_equal(json_string_value(json_array_get(loo, 0)), "cache");
        assert_string_equal(json_string_value(json_array_get(loo, 1)), "pool");
        assert_int_equal(json_array_size(add), 1);
        assert_string_equal(json_string_value(json_array_get(add, 0)), "cache");
    }
    /* the compositions: the role's build by name, "not measured" roles with a null build */
    {
        size_t i;
        json_t *c;
        int measured = 0;
        json_array_foreach(json_object_get(ab, "compositions"), i, c)
            measured += json_is_string(json_object_get(c, "build"));
        assert_int_equal(json_array_size(json_object_get(ab, "compositions")), 12);
        assert_int_equal(measured, 5);
    }
    /* report.md's section: both rankings, the flagged interaction, the plot */
    {
        json_t *summary = json_pack("{s:O}", "ablation", ab);
        char *md = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&md, &len);
        assert_int_equal(report_ablation_write_md(summary, out), 0);
        fclose(out);
        assert_non_null(strstr(md, "### Ranking by effect in the final build (leave-one-out)"));
        assert_non_null(strstr(md, "| 1 | cache: 20.0 [17.0, 23.0] (×3) |"));
        assert_non_null(strstr(md, "| cache | capacity gained (req/s) | 0.10 [-0.30, 0.50] | "
                                   "700.00 [630.00, 770.00] | **interaction** |"));
        assert_non_null(strstr(md, "1 interaction flagged."));
        assert_non_null(strstr(md, "![ablation](plots/ablation.png)"));
        free(md);
        json_decref(summary);
    }
    json_decref(ab);
    json_decref(builds);
}

static void test_one_repeat_noise(void **state)
{
    json_t *builds = json_array(), *ab, *b;
    const json_t *c;
    (void)state;
    json_array_append_new(builds, entry("final", 31, 1, (double[]){12, 12, 12},
                                        (double[]){40, 40, 40}, (double[]){100, 100, 100}, true));
    json_array_append_new(builds, entry("base", 0, 1, (double[]){500, 500, 500},
                                        (double[]){900, 900, 900}, (double[]){5, 5, 5}, true));
    b = entry("no-gzip", 31 & ~8, 1, (double[]){12, 12, 12}, (double[]){40, 40, 40},
              (double[]){100, 100, 100}, true);
    /* per-second means 10, 12, 14 (a second with no response nor failure is left out): sd 2,
     * standard error 2/sqrt(3); numbers, as summary.json holds them */
    json_object_set_new(json_object_get(b, "article_load"), "timeline",
                        json_pack("[{s:f,s:f},{s:f,s:f},{s:f,s:f},{s:f,s:f}]", "responses",
                                  10.0, "mean_ms", 10.0, "responses", 10.0, "mean_ms", 12.0,
                                  "responses", 10.0, "mean_ms", 14.0, "responses", 0.0,
                                  "mean_ms", 99.0));
    json_object_set_new(json_object_get(b, "capacity"), "upper", json_null());
    json_array_append_new(builds, b);
    ab = report_ablation_build(builds, 1);
    c = json_array_get(json_object_get(ab, "compositions"), 2 + 3); /* minus-gzip */
    assert_string_equal(json_string_value(json_object_get(c, "build")), "no-gzip");
    assert_string_equal(json_string_value(report_path(c, "mean_ms.noise")), "timeline");
    assert_near(json_number_value(json_array_get(report_path(c, "mean_ms.range"), 0)),
                        12 - 4 / sqrt(3));
    assert_string_equal(json_string_value(report_path(c, "p99_ms.noise")), "none");
    assert_false(json_is_true(report_path(c, "p99_ms.ranged")));
    /* capacity: the bracket; no upper (the generator's ceiling): open */
    assert_string_equal(json_string_value(report_path(c, "capacity_rps.noise")), "bracket");
    assert_true(json_is_null(json_array_get(report_path(c, "capacity_rps.range"), 1)));
    /* the final build's mean has no timeline here: unranged, so no mean interaction is
     * judged, and p99 never is with one repeat */
    assert_true(json_is_null(report_path(effect(ab, "gzip"), "interaction.mean_ms")));
    assert_true(json_is_null(report_path(effect(ab, "gzip"), "interaction.p99_ms")));
    json_decref(ab);
    json_decref(builds);
}

static void test_one_half_is_enough_but_not_none(void **state)
{
    json_t *builds = json_array(), *ab;
    (void)state;
    json_array_append_new(builds, entry("final", 31, 1, (double[]){1, 1, 1}, (double[]){1, 1, 1},
                                        (double[]){100, 100, 105}, true));
    json_array_append_new(builds, entry("base", 0, 1, (double[]){1, 1, 1}, (double[]){1, 1, 1},
                                        (double[]){1, 1, 1}, true));
    /* the two ends alone compare no optimisation */
    ab = report_ablation_build(builds, 1);
    assert_true(json_is_null(ab));
    json_decref(ab);
    /* leave-one-out without the baseline still ranks in the final build */
    json_array_remove(builds, 1);
    json_array_append_new(builds, entry("no-queue", 15, 1, (double[]){1, 1, 1},
                                        (double[]){1, 1, 1}, (double[]){40, 40, 42}, true));
    ab = report_ablation_build(builds, 1);
    assert_true(json_is_object(ab));
    assert_near(at(effect(ab, "queue"), "leave_one_out.capacity_rps.value"), 60);
    assert_true(isnan(at(effect(ab, "queue"), "add_one.capacity_rps.value")));
    json_decref(ab);
    /* neither end: nothing to measure an effect against */
    json_array_remove(builds, 0);
    ab = report_ablation_build(builds, 1);
    assert_true(json_is_null(ab));
    json_decref(ab);
    json_decref(builds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_latency_effect_is_time_saved_with_interval_range),
        cmocka_unit_test(test_capacity_effect_is_rate_gained),
        cmocka_unit_test(test_effect_unknown_or_unranged),
        cmocka_unit_test(test_interaction_needs_disjoint_ranges),
        cmocka_unit_test(test_rank_largest_first_unknown_last_stable),
        cmocka_unit_test(test_composition_from_needs),
        cmocka_unit_test(test_summary_block_ranks_and_flags),
        cmocka_unit_test(test_one_repeat_noise),
        cmocka_unit_test(test_one_half_is_enough_but_not_none),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
