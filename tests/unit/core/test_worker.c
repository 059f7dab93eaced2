/* test_worker.c - apibench-worker's decisions: state transitions, SMTP backoff, when a
 * delivery is dead-lettered, what a claim result means, and option parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "apibench/worker.h"

static void test_startup_path(void **state)
{
    (void)state;
    /* connect -> setup -> recover own pending until none -> housekeep -> read */
    assert_int_equal(worker_next(WS_CONNECT, WE_OK), WS_SETUP);
    assert_int_equal(worker_next(WS_SETUP, WE_OK), WS_RECOVER);
    assert_int_equal(worker_next(WS_RECOVER, WE_OK), WS_RECOVER);
    assert_int_equal(worker_next(WS_RECOVER, WE_EMPTY), WS_HOUSEKEEP);
    assert_int_equal(worker_next(WS_HOUSEKEEP, WE_OK), WS_READ);
    assert_int_equal(worker_next(WS_READ, WE_OK), WS_HOUSEKEEP);
    assert_int_equal(worker_next(WS_READ, WE_EMPTY), WS_HOUSEKEEP);
}

static void test_errors_back_off_and_reconnect(void **state)
{
    (void)state;
    const enum worker_state all[] = {WS_CONNECT, WS_SETUP, WS_RECOVER, WS_HOUSEKEEP, WS_READ};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        assert_int_equal(worker_next(all[i], WE_ERROR), WS_BACKOFF);
    /* After a backoff the worker reconnects and re-reads its own pending entries. */
    enum worker_state s = worker_next(WS_BACKOFF, WE_OK);
    assert_int_equal(s, WS_CONNECT);
    s = worker_next(worker_next(s, WE_OK), WE_OK);
    assert_int_equal(s, WS_RECOVER);
}

static void test_stop_and_idle(void **state)
{
    (void)state;
    assert_int_equal(worker_next(WS_READ, WE_STOP), WS_DONE);
    assert_int_equal(worker_next(WS_BACKOFF, WE_STOP), WS_DONE);
    assert_int_equal(worker_next(WS_READ, WE_IDLE), WS_DONE);
    assert_int_equal(worker_next(WS_DONE, WE_OK), WS_DONE);
    assert_string_equal(worker_state_name(WS_HOUSEKEEP), "housekeep");
}

static void test_backoff_doubles_to_cap(void **state)
{
    (void)state;
    assert_int_equal(worker_backoff_ms(1, 200, 5000), 200);
    assert_int_equal(worker_backoff_ms(2, 200, 5000), 400);
    assert_int_equal(worker_backoff_ms(3, 200, 5000), 800);
    assert_int_equal(worker_backoff_ms(5, 200, 5000), 3200);
    assert_int_equal(worker_backoff_ms(6, 200, 5000), 5000);
    assert_int_equal(worker_backoff_ms(60, 200, 5000), 5000); /* no overflow */
    assert_int_equal(worker_backoff_ms(0, 200, 5000), 200);
}

static void test_dead_letter_after_max(void **state)
{
    (void)state;
    assert_false(worker_should_dead_letter(1, 5));
    assert_false(worker_should_dead_letter(5, 5));
    assert_true(worker_should_dead_letter(6, 5));
    assert_true(worker_should_dead_letter(2, 1));
}

static void test_claim_outcomes(void **state)
{
    (void)state;
    assert_int_equal(worker_classify_claim(true, NULL), WC_PROCESS);
    assert_int_equal(worker_classify_claim(false, "done"), WC_SKIP);
    assert_int_equal(worker_classify_claim(false, "failed"), WC_SKIP);
    assert_int_equal(worker_classify_claim(false, NULL), WC_FAIL);
    assert_int_equal(worker_classify_claim(false, "queued"), WC_FAIL);
}

static void test_report_id(void **state)
{
    (void)state;
    assert_int_equal(worker_parse_report_id("17"), 17);
    assert_int_equal(worker_parse_report_id("9007199254740993"), 9007199254740993LL);
    assert_int_equal(worker_parse_report_id("0"), -1);
    assert_int_equal(worker_parse_report_id("-3"), -1);
    assert_int_equal(worker_parse_report_id("12x"), -1);
    assert_int_equal(worker_parse_report_id(""), -1);
    assert_int_equal(worker_parse_report_id(NULL), -1);
}

static void test_options(void **state)
{
    (void)state;
    struct worker_config cfg;
    char err[200];
    worker_config_defaults(&cfg);
    assert_int_equal(cfg.max_deliveries, 5);
    assert_int_equal(cfg.claim_idle_ms, 30000);
    char *argv[] = {"w", "--database-url", "postgresql://x/y", "--max-deliveries", "3",
                    "--claim-idle-ms", "200", "--exit-when-idle", "--stream", "t:jobs", NULL};
    assert_int_equal(worker_config_parse(&cfg, 10, argv, err, sizeof(err)), 0);
    assert_int_equal(cfg.max_deliveries, 3);
    assert_int_equal(cfg.claim_idle_ms, 200);
    assert_true(cfg.exit_when_idle);
    assert_string_equal(cfg.stream, "t:jobs");
    char *bad[] = {"w", "--database-url", "x", "--max-deliveries", "0", NULL};
    assert_int_equal(worker_config_parse(&cfg, 5, bad, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "--max-deliveries"));
    worker_config_defaults(&cfg);
    assert_string_equal(cfg.redis_prefix, "");
    char *prefix[] = {"w", "--database-url", "x", "--redis-prefix", "alice:", NULL};
    assert_int_equal(worker_config_parse(&cfg, 5, prefix, err, sizeof(err)), 0);
    assert_string_equal(cfg.redis_prefix, "alice:");
    char *glob[] = {"w", "--database-url", "x", "--redis-prefix", "al*ce:", NULL};
    assert_int_equal(worker_config_parse(&cfg, 5, glob, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "invalid redis prefix"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_startup_path),
        cmocka_unit_test(test_errors_back_off_and_reconnect),
        cmocka_unit_test(test_stop_and_idle),
        cmocka_unit_test(test_backoff_doubles_to_cap),
        cmocka_unit_test(test_dead_letter_after_max),
        cmocka_unit_test(test_claim_outcomes),
        cmocka_unit_test(test_report_id),
        cmocka_unit_test(test_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
