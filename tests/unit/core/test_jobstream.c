/* test_jobstream.c - key names and stream id timestamps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "apibench/jobstream.h"

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
    /* the Redis key prefix goes before each key; "" keeps today's names */
    assert_int_equal(jobstream_names_init_prefixed(&n, "alice:", NULL, NULL), 0);
    assert_string_equal(n.stream, "alice:apibench:jobs");
    assert_string_equal(n.dead, "alice:apibench:jobs:dead");
    assert_string_equal(n.stats, "alice:apibench:jobs:stats");
    assert_string_equal(n.group, "apibench-workers");
    assert_int_equal(jobstream_names_init_prefixed(&n, "", NULL, NULL), 0);
    assert_string_equal(n.stream, "apibench:jobs");
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
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_id_ms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
