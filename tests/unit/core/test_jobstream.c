/* test_jobstream.c - Redis URL parsing, key names and stream id timestamps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "apibench/jobstream.h"

static void test_redis_url(void **state)
{
    (void)state;
    struct redis_url u;
    char err[200];
    assert_int_equal(redis_url_parse("redis://127.0.0.1:56379/0", &u, err, sizeof(err)), 0);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 56379);
    assert_int_equal(u.db, 0);
    assert_string_equal(u.password, "");
    assert_int_equal(redis_url_parse("redis://:s3cret@cache:7000/3", &u, err, sizeof(err)), 0);
    assert_string_equal(u.host, "cache");
    assert_int_equal(u.port, 7000);
    assert_int_equal(u.db, 3);
    assert_string_equal(u.password, "s3cret");
    assert_int_equal(redis_url_parse("redis://localhost", &u, err, sizeof(err)), 0);
    assert_int_equal(u.port, 6379);
    assert_int_equal(redis_url_parse("http://localhost", &u, err, sizeof(err)), -1);
    assert_int_equal(redis_url_parse("redis://h:99999", &u, err, sizeof(err)), -1);
    assert_int_equal(redis_url_parse("redis://h:1/x", &u, err, sizeof(err)), -1);
}

static void test_names(void **state)
{
    (void)state;
    struct jobstream_names n;
    assert_int_equal(jobstream_names_init(&n, NULL, NULL), 0);
    assert_string_equal(n.stream, "apibench:jobs");
    assert_string_equal(n.dead, "apibench:jobs:dead");
    assert_string_equal(n.stats, "apibench:jobs:stats");
    assert_string_equal(n.group, "apibench-workers");
    assert_int_equal(jobstream_names_init(&n, "t1:jobs", "g"), 0);
    assert_string_equal(n.dead, "t1:jobs:dead");
    char longname[300];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(jobstream_names_init(&n, longname, NULL), -1);
}

static void test_id_ms(void **state)
{
    (void)state;
    assert_true(jobstream_id_ms("1700000000123-7") == 1700000000123LL);
    assert_true(jobstream_id_ms("1700000000123") == 1700000000123LL);
    assert_true(jobstream_id_ms("x-1") == -1);
    assert_true(jobstream_id_ms(NULL) == -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redis_url),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_id_ms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
