/* test_capacity.c - the capacity search against a simulated server (a probe function with
 * a true capacity C, optionally noisy or drifting), and the one "holds" decision. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "capacity.h"
#include "report_summary.h"

/* ------------------------------------------------------------- the simulated server */

struct sim {
    double capacity;  /* holds every rate below this */
    double noise;     /* each probe sees capacity x (1 + noise x u), u in [-1, 1] */
    uint64_t state;   /* xorshift state for the noise */
    int calls;        /* probes run so far */
    int drop_at;      /* from this call on (1-based; 0: never) ... */
    double dropped;   /* ... the capacity is this */
    int stop_at;      /* this call reports an interrupt (0: never) */
    int fail_at;      /* this call cannot run (0: never) */
    double rates[64]; /* every rate probed, in order */
};

static double sim_uniform(struct sim *s)
{
    s->state ^= s->state << 13;
    s->state ^= s->state >> 7;
    s->state ^= s->state << 17;
    return (double)(s->state >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

/* An open-loop step against the simulated server: below capacity every request is served
 * in 10 ms; above it the excess queues, p99 grows and a share is never completed. */
static int sim_probe(void *ctx, double rate, struct capacity_probe *out)
{
    struct sim *s = ctx;
    s->calls++;
    if (s->calls <= 64)
        s->rates[s->calls - 1] = rate;
    if (s->fail_at && s->calls == s->fail_at)
        return -1;
    double cap = (s->drop_at && s->calls >= s->drop_at) ? s->dropped : s->capacity;
    if (s->noise > 0)
        cap *= 1 + s->noise * sim_uniform(s);
    out->duration_s = 5;
    out->requests = (int64_t)llround(rate * 5);
    out->sent = out->requests;
    out->lag_p99_ms = 0.1;
    out->p50_ms = 5;
    if (rate < cap) {
        out->completed = out->sent;
        out->achieved = rate;
        out->p99_ms = 10;
        out->mean_ms = 6;
        out->error_rate = 0;
    } else {
        out->completed = (int64_t)((double)out->sent * cap / rate);
        out->achieved = cap;
        out->p99_ms = 3000;
        out->mean_ms = 1500;
        out->error_rate = 0.02;
    }
    snprintf(out->file, sizeof out->file, "probe-%02d.json", s->calls);
    if (s->stop_at && s->calls == s->stop_at) {
        out->partial = true;
        return CAPACITY_PROBE_STOPPED;
    }
    return 0;
}

static struct capacity_search search_for(struct sim *sim, double start)
{
    struct capacity_search s = {
        .criteria = capacity_criteria_default(),
        .start = start,
        .ceiling = 0,
        .min_rps = 0.1,
        .tolerance = 1.05,
        .max_probes = 30,
        .probe = sim_probe,
        .ctx = sim,
    };
    return s;
}

static size_t count_phase(const struct capacity_result *r, const char *phase, int holds)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nprobes; i++)
        if (strcmp(r->probes[i].phase, phase) == 0 && (holds < 0 || r->probes[i].holds == holds))
            n++;
    return n;
}

/* The bracket contains C (lower held, so lower < C; upper failed, so upper >= C) and is
 * no wider than the tolerance. */
static void assert_brackets(const struct capacity_result *r, double cap)
{
    assert_true(r->found);
    assert_true(r->converged);
    assert_int_equal(r->limited_by, CAPACITY_LIMIT_SLO);
    if (!(r->lower < cap && cap <= r->upper))
        fail_msg("bracket [%g, %g] misses capacity %g", r->lower, r->upper, cap);
    if (!(r->upper / r->lower <= 1.05 + 1e-9))
        fail_msg("bracket [%g, %g] wider than 5%%", r->lower, r->upper);
}

/* ------------------------------------------------------------------------ the search */

static void test_brackets_capacity(void **state)
{
    (void)state;
    static const double caps[] = {0.7, 3, 50, 167, 999, 1234, 12345, 40000};
    static const double starts[] = {1, 100, 5000};
    char err[256];
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++)
        for (size_t j = 0; j < sizeof starts / sizeof starts[0]; j++) {
            struct sim sim = {.capacity = caps[i]};
            struct capacity_search s = search_for(&sim, starts[j]);
            struct capacity_result r;
            assert_int_equal(capacity_run(&s, &r, err, sizeof err), 0);
            assert_brackets(&r, caps[i]);
            assert_true(r.confirmed);
            assert_false(r.interrupted);
            /* x2 from start to C (at most 16 doublings or halvings here), about 4-5
             * bisections from a factor of 2 down to 5%, one confirmation */
            double octaves = fabs(log2(caps[i] / starts[j]));
            if ((double)sim.calls > octaves + 2 + 6 + 1)
                fail_msg("C %g from %g: %d probes", caps[i], starts[j], sim.calls);
            assert_int_equal(count_phase(&r, "confirm", -1), 1);
            assert_int_equal(r.nprobes, (size_t)sim.calls);
            for (size_t k = 0; k < r.nprobes; k++)
                assert_int_equal(r.probes[k].n, (int)k + 1);
            capacity_result_free(&r);
        }
}

static void test_exponential_then_bisect(void **state)
{
    (void)state;
    char err[256];
    struct sim sim = {.capacity = 1000};
    struct capacity_search s = search_for(&sim, 100);
    struct capacity_result r;
    assert_int_equal(capacity_run(&s, &r, err, sizeof err), 0);
    /* 100, 200, 400, 800 hold; 1600 fails */
    static const double expect[] = {100, 200, 400, 800, 1600};
    for (size_t i = 0; i < 5; i++) {
        assert_true(sim.rates[i] == expect[i]);
        assert_string_equal(r.probes[i].phase, "exponential");
    }
    /* then the geometric middle of [800, 1600], rounded to whole req/s */
    assert_true(sim.rates[5] == round(sqrt(800.0 * 1600.0)));
    assert_string_equal(r.probes[5].phase, "bisect");
    /* the last probe confirms the lower bound */
    assert_string_equal(r.probes[r.nprobes - 1].phase, "confirm");
    assert_true(r.probes[r.nprobes - 1].offered == r.lower);
    assert_brackets(&r, 1000);
    capacity_result_free(&r);
}

static void test_start_above_capacity(void **state)
{
    (void)state;
    char err[256];
    struct sim sim = {.capacity = 100};
    struct capacity_search s = search_for(&sim, 10000);
    struct capacity_result r;
    assert_int_equal(capacity_run(&s, &r, err, sizeof err), 0);
    assert_true(sim.rates[1] == 5000 && sim.rates[2] == 2500);
    assert_false(r.probes[0].holds);
    assert_brackets(&r, 100);
    capacity_result_free(&r);
}

static void test_noisy_server(void **state)
{
    (void)state;
    char err[256];
    for (uint64_t seed = 1; seed <= 40; seed++) {
        struct sim sim = {.capacity = 2000, .noise = 0.02, .state = seed * 0x9E3779B97F4A7C15ULL};
        struct capacity_search s = search_for(&sim, 100);
        struct capacity_result r;
        assert_int_equal(capacity_run(&s, &r, err, sizeof err), 0);
        assert_true(r.found);
        assert_true(r.converged);
        /* each answer is right for a capacity within 2% of C */
        if (!(r.lower < 2000 * 1.02 && r.upper >= 2000 * 0.98 && r.upper / r.lower <= 1.05 + 1e-9))
            fail_msg("seed %llu: bracket [%g, %g] for 2000 +- 2%%", (unsigned long long)seed,
                     r.lower, r.upper);
        assert_true(sim.calls <= 30);
        capacity_result_free(&r);
    }
}

static void test_ceiling_holds(void **state)
{
    (void)state;
    char err[256];
    struct sim sim = {.capacity = 50000};
    struct capacity_search s = search_for(&sim, 1000);
    s.ceiling = 20000;
    struct capacity_result r;
    assert_int_equal(capacity_run(&s, &r, err, sizeof err), 0);
    /* 1000 .. 16000 hold, then the ceiling itself, then its confirmation */
    assert_true(sim.rates[5] == 20000);
    assert_int_equal(sim.calls, 7);
    assert_true(r.found);
    assert_int_equal(r.limited_by, CAPACITY_LIMIT_GENERATOR);
    assert_true(r.lower == 20000);
    assert_true(r.upper == 0);
    assert_true(r.confirmed);
    for (size_t i = 0; i < r.nprobes; i++)
        assert_true(r.probes[i].offered <= 20000);

    json_t *doc = capacity_result_json(&s, &r);
    assert_string_equal(json_string_value(json_object_get(doc, "limited_by")), "generator");
    assert_true(json_is_null(json_object_get(doc, "upper")));
    assert_true(json_number_value(json_object_get(doc, "ceiling_rps")) == 20000);
    json_decref(doc);
    capacity_result_free(&r);

    /* just below the ceiling: an ordinary bracket, never above the ceiling */
    struct sim below = {.capacity = 19000};
    s = search_for(&below, 1000);
    s.ceiling = 20000;
    assert_int_equal(capacity_run(&s, &r, err, sizeof err), 0);
    assert_brackets(&r, 19000);
    for (size_t i = 0; i < r.nprobes; i++)
        assert_true(r.probes[i].offered <= 20000);
    capacity_result_free(&r);

    /* a start above the ceiling is clamped to it */
    struct sim big = {.capacity = 1e9};
    s = search_for(&big, 1e6);
    s.ceiling = 20000;
    assert_int_equal(capacity_run(&s, &r, err, sizeof err), 0);
    assert_true(big.rates[0] == 20000);
    assert_int_equal(big.calls, 2);
    assert_int_equal(r.limited_by, CAPACITY_LIMIT_GENERATOR);
    capacity_result_free(&r);
}

static void test_never_holds(void **state)
{
    (void)state;
    char err[256];
    struct sim sim = {.capacity = 0}; /* baseline-like: fails at every rate */
    struct capacity_search s = search_for(&sim, 16);
    s.min_rps = 1;
    struct capacity_result r;
    assert_int_equal(capacity_run(&s, &r, err, sizeof err), 0);
    /* 16, 8, 4, 2, 1, then stop: nothing lower is allowed */
    assert_int_equal(sim.calls, 5);
    assert_true(sim.rates[4] == 1);
    assert_true(r.found);
    assert_int_equal(r.limited_by, CAPACITY_LIMIT_SLO);
    assert_true(r.lower == 0);
    assert_true(r.upper == 1);
    assert_false(r.confirmed);

    json_t *doc = capacity_result_json(&s, &r);
    assert_true(json_number_value(json_object_get(doc, "lower")) == 0);
    assert_true(json_number_value(json_object_get(doc, "upper")) == 1);
    assert_string_equal(json_string_value(json_object_get(doc, "limited_by")), "slo");
    json_decref(doc);
    capacity_result_free(&r);

    /* min_rps not a power-of-two step below the start: the last probe is min_rps itself */
    struct sim sim2 = {.capacity = 0};
    s = search_for(&sim2, 10);
    s.min_rps = 3;
    assert_int_equal(capacity_run(&s, &r, err, sizeof err), 0);
    assert_true(sim2.rates[1] == 5 && sim2.rates[2] == 3);
    assert_int_equal(sim2.calls, 3);
    assert_true(r.upper == 3 && r.lower == 0);
    capacity_result_free(&r);
}

static void test_confirmation_fails(void **state)
{
    (void)state;
    char err[256];
    /* a stable server: how many probes until the confirmation */
    struct sim stable = {.capacity = 1000};
    struct capacity_search s = search_for(&stable, 100);
    struct capacity_result r;
    assert_int_equal(capacity_run(&s, &r, err, sizeof err), 0);
    int confirm_call = stable.calls;
    double first_lower = r.lower;
    capacity_result_free(&r);

    /* the same server loses 8% of its capacity just as the lower bound is confirmed */
    struct sim drift = {.capacity = 1000, .drop_at = confirm_call, .dropped = 920};
    s = search_for(&drift, 100);
    assert_int_equal(capacity_run(&s, &r, err, sizeof err), 0);
    assert_true(r.probes[confirm_call - 1].offered == first_lower);
    assert_string_equal(r.probes[confirm_call - 1].phase, "confirm");
    assert_false(r.probes[confirm_call - 1].holds);
    /* the bracket moved down below the failed confirmation and was confirmed again */
    assert_true(r.upper <= first_lower);
    assert_brackets(&r, 920);
    assert_true(r.confirmed);
    assert_true(count_phase(&r, "confirm", 0) >= 1);
    assert_int_equal(count_phase(&r, "confirm", 1), 1);
    assert_true(drift.calls <= confirm_call + 10);
    capacity_result_free(&r);

    /* a server whose confirmations always fail: bounded, and reported unconfirmed */
    struct sim sink = {.capacity = 1000, .drop_at = confirm_call, .dropped = 0};
    s = search_for(&sink, 100);
    assert_int_equal(capacity_run(&s, &r, err, sizeof err), 0);
    assert_false(r.confirmed);
    assert_true(count_phase(&r, "confirm", 0) <= CAPACITY_MAX_CONFIRMS);
    assert_true(sink.calls <= 30);
    capacity_result_free(&r);
}

static void test_known_probes(void **state)
{
    (void)state;
    char err[256];
    struct capacity_probe known[2];
    memset(known, 0, sizeof known);
    /* the article-load run held at 167 req/s; an earlier step failed at 200 */
    known[0] = (struct capacity_probe){.offered = 167,
                                       .duration_s = 60,
                                       .requests = 10020,
                                       .sent = 10020,
                                       .completed = 10020,
                                       .p50_ms = 5,
                                       .p99_ms = 20,
                                       .mean_ms = 6,
                                       .error_rate = 0,
                                       .lag_p99_ms = 0.1,
                                       .file = "article.json"};
    known[1] = known[0];
    known[1].offered = 200;
    known[1].p99_ms = 900;
    snprintf(known[1].file, sizeof known[1].file, "rate-200.json");
    struct sim sim = {.capacity = 180};
    struct capacity_search s = search_for(&sim, 1000);
    s.known = known;
    s.nknown = 2;
    struct capacity_result r;
    assert_int_equal(capacity_run(&s, &r, err, sizeof err), 0);
    /* start 1000 lies above the known failure: bisection starts right away */
    assert_true(sim.rates[0] > 167 && sim.rates[0] < 200);
    assert_string_equal(r.probes[0].phase, "known");
    assert_int_equal(r.probes[0].n, 0);
    assert_true(r.probes[0].holds);
    assert_false(r.probes[1].holds);
    assert_string_equal(r.probes[1].file, "rate-200.json");
    assert_string_equal(r.probes[2].phase, "bisect");
    assert_int_equal(r.probes[2].n, 1);
    assert_brackets(&r, 180);
    assert_true(sim.calls <= 5);
    assert_int_equal(r.nprobes, (size_t)sim.calls + 2);
    capacity_result_free(&r);

    /* a known pass only: doubling starts from it when the start lies below it */
    struct sim sim2 = {.capacity = 1000};
    s = search_for(&sim2, 10);
    s.known = known;
    s.nknown = 1;
    assert_int_equal(capacity_run(&s, &r, err, sizeof err), 0);
    assert_true(sim2.rates[0] == 334);
    assert_brackets(&r, 1000);
    capacity_result_free(&r);
}

static void test_budget_interrupt_and_errors(void **state)
{
    (void)state;
    char err[256];
    struct capacity_result r;

    /* the probe budget bounds the search; without a bracket nothing is claimed */
    struct sim sim = {.capacity = 1e6};
    struct capacity_search s = search_for(&sim, 1);
    s.max_probes = 4;
    assert_int_equal(capacity_run(&s, &r, err, sizeof err), 0);
    assert_int_equal(sim.calls, 4);
    assert_false(r.found);
    assert_int_equal(r.limited_by, CAPACITY_LIMIT_NONE);
    assert_true(r.lower == 8);
    json_t *doc = capacity_result_json(&s, &r);
    assert_true(json_is_null(json_object_get(doc, "limited_by")));
    json_decref(doc);
    capacity_result_free(&r);

    /* an interrupt ends the search; the cut probe is recorded but moves nothing */
    struct sim stop = {.capacity = 1000, .stop_at = 3};
    s = search_for(&stop, 100);
    assert_int_equal(capacity_run(&s, &r, err, sizeof err), 0);
    assert_true(r.interrupted);
    assert_int_equal(r.nprobes, 3);
    assert_true(r.probes[2].partial && !r.probes[2].holds);
    assert_true(r.lower == 200);
    doc = capacity_result_json(&s, &r);
    assert_true(json_is_true(json_object_get(doc, "partial")));
    json_decref(doc);
    capacity_result_free(&r);

    /* a probe that cannot run fails the search */
    struct sim broken = {.capacity = 1000, .fail_at = 2};
    s = search_for(&broken, 100);
    assert_int_equal(capacity_run(&s, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "probe 2"));
    capacity_result_free(&r);

    /* invalid searches */
    s = search_for(&broken, 100);
    s.tolerance = 1.0;
    assert_int_equal(capacity_run(&s, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "tolerance"));
    capacity_result_free(&r);
    s = search_for(&broken, 0);
    assert_int_equal(capacity_run(&s, &r, err, sizeof err), -1);
    capacity_result_free(&r);
    s = search_for(&broken, 10);
    s.ceiling = 0.01;
    assert_int_equal(capacity_run(&s, &r, err, sizeof err), -1);
    capacity_result_free(&r);
}

/* ------------------------------------------------------------------------ holds */

static struct capacity_probe good_probe(void)
{
    return (struct capacity_probe){.offered = 100,
                                   .duration_s = 10,
                                   .requests = 1000,
                                   .sent = 1000,
                                   .completed = 1000,
                                   .p50_ms = 5,
                                   .p99_ms = 20,
                                   .mean_ms = 6,
                                   .error_rate = 0,
                                   .lag_p99_ms = 0.5};
}

static void test_holds_edges(void **state)
{
    (void)state;
    struct capacity_criteria c = capacity_criteria_default();
    char why[CAPACITY_WHY_MAX];
    struct capacity_probe p = good_probe();
    assert_true(capacity_holds(&c, &p, why, sizeof why));
    assert_non_null(strstr(why, "p99 20.0 ms"));

    /* sent >= 95% of offered, less one: 949 of 1000 due holds, 948 does not */
    p.sent = 949;
    p.completed = 949;
    assert_true(capacity_holds(&c, &p, why, sizeof why));
    p.sent = 948;
    p.completed = 948;
    assert_false(capacity_holds(&c, &p, why, sizeof why));
    assert_non_null(strstr(why, "sent 94.8% of offered"));
    /* without a measured window the sent rule is skipped */
    p.duration_s = NAN;
    assert_true(capacity_holds(&c, &p, NULL, 0));

    /* completed >= 95% of sent */
    p = good_probe();
    p.completed = 950;
    assert_true(capacity_holds(&c, &p, why, sizeof why));
    p.completed = 949;
    assert_false(capacity_holds(&c, &p, why, sizeof why));
    assert_non_null(strstr(why, "completed 94.9% of sent"));
    p = good_probe();
    p.sent = p.completed = 0;
    assert_false(capacity_holds(&c, &p, why, sizeof why));

    /* p99 strictly below the SLO */
    p = good_probe();
    p.p99_ms = 500;
    assert_false(capacity_holds(&c, &p, why, sizeof why));
    assert_non_null(strstr(why, "p99 500.0 ms >= 500 ms"));
    p.p99_ms = 499.9;
    assert_true(capacity_holds(&c, &p, why, sizeof why));
    p.p99_ms = NAN;
    assert_false(capacity_holds(&c, &p, why, sizeof why));

    /* errors strictly below 1% */
    p = good_probe();
    p.error_rate = 0.01;
    assert_false(capacity_holds(&c, &p, why, sizeof why));
    assert_non_null(strstr(why, "errors 1.00%"));
    p.error_rate = 0.0099;
    assert_true(capacity_holds(&c, &p, why, sizeof why));

    /* partial never holds; several reasons are all given */
    p = good_probe();
    p.partial = true;
    p.p99_ms = 800;
    assert_false(capacity_holds(&c, &p, why, sizeof why));
    assert_non_null(strstr(why, "p99 800.0 ms"));
    assert_non_null(strstr(why, "cut short"));

    /* send lag: unchecked by default, at most the bound when asked for */
    p = good_probe();
    p.lag_p99_ms = 50;
    assert_true(capacity_holds(&c, &p, why, sizeof why));
    c.max_lag_p99_ms = 1;
    assert_false(capacity_holds(&c, &p, why, sizeof why));
    assert_non_null(strstr(why, "send-lag p99 50.00 ms > 1 ms"));
    p.lag_p99_ms = 1.0;
    assert_true(capacity_holds(&c, &p, why, sizeof why));
    p.lag_p99_ms = NAN;
    assert_false(capacity_holds(&c, &p, why, sizeof why));

    /* no offered rate: a closed-loop run */
    c = capacity_criteria_default();
    p = good_probe();
    p.offered = NAN;
    assert_false(capacity_holds(&c, &p, why, sizeof why));
    assert_non_null(strstr(why, "not an open-loop run"));

    /* a tiny buffer is still terminated */
    p = good_probe();
    p.p99_ms = 900;
    p.error_rate = 0.5;
    char tiny[8];
    assert_false(capacity_holds(&c, &p, tiny, sizeof tiny));
    assert_true(strlen(tiny) < sizeof tiny);
}

static void test_run_holds_json(void **state)
{
    (void)state;
    struct capacity_criteria c = capacity_criteria_default();
    char why[CAPACITY_WHY_MAX];
    json_t *run =
        json_pack("{s:s, s:b, s:f, s:f, s:f, s:I, s:I, s:I, s:f, s:{s:f, s:f, s:f}, s:{s:f}}",
                  "format", "apibench-run/1", "partial", 0, "intended_rate", 100.0, "achieved_rate",
                  99.5, "measured_s", 10.0, "due", (json_int_t)1000, "sent", (json_int_t)1000,
                  "completed", (json_int_t)1000, "error_rate", 0.0, "latency", "p50_ms", 5.0,
                  "p99_ms", 30.0, "mean_ms", 7.0, "send_lag", "p99_ms", 2.0);
    assert_non_null(run);
    assert_true(capacity_run_holds(run, &c, why, sizeof why));
    struct capacity_probe p;
    capacity_probe_from_run(run, &p);
    assert_true(p.offered == 100 && p.requests == 1000 && p.achieved == 99.5 && p.mean_ms == 7);
    /* report_step_holds asks the same decision */
    assert_true(report_step_holds(run, 500));
    assert_false(report_step_holds(run, 30));
    c.slo_p99_ms = 30;
    assert_false(capacity_run_holds(run, &c, why, sizeof why));
    c = capacity_criteria_default();
    c.max_lag_p99_ms = 1;
    assert_false(capacity_run_holds(run, &c, why, sizeof why));
    assert_non_null(strstr(why, "send-lag"));
    c = capacity_criteria_default();
    json_object_set_new(run, "partial", json_true());
    assert_false(capacity_run_holds(run, &c, why, sizeof why));
    assert_false(report_step_holds(run, 500));
    json_object_set_new(run, "partial", json_false());
    /* closed loop: intended_rate null */
    json_object_set_new(run, "intended_rate", json_null());
    assert_false(capacity_run_holds(run, &c, why, sizeof why));
    /* no latency block at all */
    json_object_set_new(run, "intended_rate", json_real(100));
    json_object_del(run, "latency");
    assert_false(capacity_run_holds(run, &c, why, sizeof why));
    assert_non_null(strstr(why, "no p99"));
    json_decref(run);
}

static void test_result_json(void **state)
{
    (void)state;
    char err[256];
    struct sim sim = {.capacity = 1000};
    struct capacity_search s = search_for(&sim, 100);
    struct capacity_result r;
    assert_int_equal(capacity_run(&s, &r, err, sizeof err), 0);
    json_t *doc = capacity_result_json(&s, &r);
    assert_string_equal(json_string_value(json_object_get(doc, "format")), "apibench-capacity/1");
    assert_true(json_is_false(json_object_get(doc, "partial")));
    assert_true(json_number_value(json_object_get(doc, "tolerance")) == 1.05);
    assert_true(json_is_null(json_object_get(doc, "ceiling_rps")));
    assert_true(json_number_value(json_object_get(doc, "lower")) == r.lower);
    assert_true(json_number_value(json_object_get(doc, "upper")) == r.upper);
    assert_true(json_is_true(json_object_get(doc, "confirmed")));
    const json_t *crit = json_object_get(doc, "criteria");
    assert_true(json_number_value(json_object_get(crit, "slo_p99_ms")) == 500);
    assert_true(json_is_null(json_object_get(crit, "max_lag_p99_ms")));
    const json_t *probes = json_object_get(doc, "probes");
    assert_int_equal(json_array_size(probes), r.nprobes);
    const json_t *p0 = json_array_get(probes, 0);
    static const char *const keys[] = {"n",      "offered", "achieved", "requests",   "duration_s",
                                       "p50_ms", "p99_ms",  "mean_ms",  "error_rate", "lag_p99_ms",
                                       "holds",  "why",     "file",     "phase"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!json_object_get(p0, keys[i]))
            fail_msg("probe has no %s", keys[i]);
    assert_string_equal(json_string_value(json_object_get(p0, "file")), "probe-01.json");
    assert_string_equal(json_string_value(json_object_get(p0, "phase")), "exponential");
    assert_int_equal(json_integer_value(json_object_get(p0, "requests")), 500);
    json_decref(doc);
    capacity_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_brackets_capacity),
        cmocka_unit_test(test_exponential_then_bisect),
        cmocka_unit_test(test_start_above_capacity),
        cmocka_unit_test(test_noisy_server),
        cmocka_unit_test(test_ceiling_holds),
        cmocka_unit_test(test_never_holds),
        cmocka_unit_test(test_confirmation_fails),
        cmocka_unit_test(test_known_probes),
        cmocka_unit_test(test_budget_interrupt_and_errors),
        cmocka_unit_test(test_holds_edges),
        cmocka_unit_test(test_run_holds_json),
        cmocka_unit_test(test_result_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
