/* test_config.c - configuration: defaults are the article's settings, the environment
 * overrides them, flags override the environment, and bad input is one clear error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apibench/config.h"

static int parse(struct config *cfg, int argc, char **argv, char *err)
{
    config_defaults(cfg);
    return config_parse(cfg, "01-baseline", argc, argv, err, 256);
}

static int clear_env(void **state)
{
    (void)state;
    const char *vars[] = {"PORT", "APIBENCH_THREADS", "DATABASE_URL", "APP_DATABASE_URL",
                          "APIBENCH_GZIP_LEVEL", "APIBENCH_QUIET", "APIBENCH_MAX_BODY",
                          "APIBENCH_REDIS_PREFIX"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    return 0;
}

static void test_defaults(void **state)
{
    (void)state;
    struct config c;
    char err[256];
    char *argv[] = {"x", NULL};
    assert_int_equal(parse(&c, 1, argv, err), 0);
    assert_string_equal(c.bind_address, "127.0.0.1"); /* loopback unless told otherwise */
    assert_int_equal(c.pool_max, 20);
    assert_int_equal(c.pool_min, 5);
    assert_int_equal(c.pool_idle_ms, 30000);
    assert_int_equal(c.pool_acquire_timeout_ms, 2000);
    assert_int_equal(c.l1_ttl_ms, 5000);
    assert_int_equal(c.l2_static_ttl_s, 300);
    assert_int_equal(c.l2_dynamic_ttl_s, 30);
    assert_int_equal(c.gzip_level, 6);
    assert_int_equal(c.gzip_threshold, 1024);
    assert_int_equal(c.max_body_bytes, 1024 * 1024);
    assert_true(c.threads >= c.pool_max);
    assert_string_equal(c.redis_prefix, ""); /* today's Redis key names */
}

static void test_redis_prefix(void **state)
{
    (void)state;
    struct config c;
    char err[256];
    setenv("APIBENCH_REDIS_PREFIX", "alice:", 1);
    char *none[] = {"x", NULL};
    assert_int_equal(parse(&c, 1, none, err), 0);
    assert_string_equal(c.redis_prefix, "alice:");
    char *flag[] = {"x", "--redis-prefix", "bob:", NULL};
    assert_int_equal(parse(&c, 3, flag, err), 0);
    assert_string_equal(c.redis_prefix, "bob:");
    char *glob[] = {"x", "--redis-prefix", "b*b:", NULL};
    assert_int_equal(parse(&c, 3, glob, err), -1);
    assert_non_null(strstr(err, "invalid redis prefix"));
    char *space[] = {"x", "--redis-prefix=a b", NULL};
    assert_int_equal(parse(&c, 2, space, err), -1);
    unsetenv("APIBENCH_REDIS_PREFIX");
}

static void test_env_then_flags(void **state)
{
    (void)state;
    struct config c;
    char err[256];
    setenv("PORT", "9000", 1);
    setenv("APIBENCH_THREADS", "3", 1);
    setenv("DATABASE_URL", "postgresql://owner@h/db", 1);
    setenv("APP_DATABASE_URL", "postgresql://app@h/db", 1);
    setenv("APIBENCH_QUIET", "1", 1);
    char *argv[] = {"x", "--port", "9100", "--gzip-level=9", "--max-body", "64k", NULL};
    assert_int_equal(parse(&c, 6, argv, err), 0);
    assert_int_equal(c.port, 9100);                           /* flag beats env */
    assert_int_equal(c.threads, 3);                           /* env */
    assert_string_equal(c.database_url, "postgresql://app@h/db"); /* the server's role */
    assert_true(c.quiet);
    assert_int_equal(c.gzip_level, 9);
    assert_int_equal(c.max_body_bytes, 65536);
}

static void test_errors(void **state)
{
    (void)state;
    struct config c;
    char err[256];
    char *unknown[] = {"x", "--no-such-flag", NULL};
    assert_int_equal(parse(&c, 2, unknown, err), -1);
    assert_non_null(strstr(err, "unknown option '--no-such-flag'"));
    assert_null(strchr(err, '\n'));
    char *range[] = {"x", "--gzip-level", "10", NULL};
    assert_int_equal(parse(&c, 3, range, err), -1);
    assert_non_null(strstr(err, "--gzip-level"));
    char *missing[] = {"x", "--port", NULL};
    assert_int_equal(parse(&c, 2, missing, err), -1);
    char *text[] = {"x", "--threads", "many", NULL};
    assert_int_equal(parse(&c, 3, text, err), -1);
    char *pool[] = {"x", "--pool-min", "30", NULL};
    assert_int_equal(parse(&c, 3, pool, err), -1); /* min above max */
    setenv("APIBENCH_GZIP_LEVEL", "zero", 1);
    char *none[] = {"x", NULL};
    assert_int_equal(parse(&c, 1, none, err), -1);
    assert_non_null(strstr(err, "APIBENCH_GZIP_LEVEL"));
}

static void test_help(void **state)
{
    (void)state;
    struct config c;
    char err[256];
    char *argv[] = {"x", "--help", NULL};
    /* --help lists every option with its environment name and default */
    fflush(stdout);
    FILE *saved = stdout;
    char *buf = NULL;
    size_t len = 0;
    stdout = open_memstream(&buf, &len);
    int rc = parse(&c, 2, argv, err);
    fclose(stdout);
    stdout = saved;
    assert_int_equal(rc, 1);
    const char *expect[] = {"--port", "PORT", "--database-url", "DATABASE_URL", "--redis-url",
                            "--threads", "APIBENCH_THREADS", "--pool-max", "default 20",
                            "--pool-acquire-timeout-ms", "--l1-ttl-ms", "--l2-dynamic-ttl",
                            "--gzip-level", "--gzip-threshold", "--max-body", "--bind"};
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
        if (!strstr(buf, expect[i]))
            fail_msg("--help lacks %s", expect[i]);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, clear_env),
        cmocka_unit_test_setup_teardown(test_redis_prefix, clear_env, clear_env),
        cmocka_unit_test_setup(test_env_then_flags, clear_env),
        cmocka_unit_test_setup(test_errors, clear_env),
        cmocka_unit_test_setup(test_help, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
