/* test_composition.c - apibench-server's strategy flags: picked by name, taken out of argv
 * (the rest left in order for the server's own options), refused with a reason when
 * wrong; and what --needs prints, decided from the strategies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "apibench/composition.h"

/* Parses a space-separated command line (argv[0] included) into b; returns the result and
 * leaves the remaining arguments joined by spaces in rest. */
static int parse(const char *line, struct build *b, char *rest, size_t restlen, char *err)
{
    static char buf[512];
    static char *argv[32];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s", line);
    for (char *t = strtok(buf, " "); t && argc < 31; t = strtok(NULL, " "))
        argv[argc++] = t;
    argv[argc] = NULL;
    int rc = composition_from_args(b, &argc, argv, err, 256);
    rest[0] = '\0';
    for (int a = 1; a < argc; a++)
        snprintf(rest + strlen(rest), restlen - strlen(rest), "%s%s", a > 1 ? " " : "", argv[a]);
    if (rc == 0)
        assert_null(argv[argc]);
    return rc;
}

static void test_defaults_are_the_baseline(void **state)
{
    (void)state;
    struct build b;
    char rest[256], err[256];
    assert_int_equal(parse("apibench-server --port 8080", &b, rest, sizeof rest, err), 0);
    assert_string_equal(b.name, "custom");
    assert_ptr_equal(b.connections, &connsrc_per_request);
    assert_ptr_equal(b.queries, &queries_naive);
    assert_ptr_equal(b.cache, &cache_none);
    assert_ptr_equal(b.encoder, &encoder_identity);
    assert_ptr_equal(b.jobs, &jobs_inline);
    assert_string_equal(rest, "--port 8080");
}

static void test_flags_pick_and_leave_the_rest(void **state)
{
    (void)state;
    struct build b;
    char rest[256], err[256];
    assert_int_equal(parse("s --threads 4 --connections pool --queries=optimised --cache tiered "
                           "--quiet --encoder gzip --jobs=queue --build-label 06-minus-x "
                           "--port 9",
                           &b, rest, sizeof rest, err),
                     0);
    assert_ptr_equal(b.connections, &connsrc_pool);
    assert_ptr_equal(b.queries, &queries_optimised);
    assert_ptr_equal(b.cache, &cache_tiered);
    assert_ptr_equal(b.encoder, &encoder_gzip);
    assert_ptr_equal(b.jobs, &jobs_queue);
    assert_string_equal(b.name, "06-minus-x");
    assert_string_equal(rest, "--threads 4 --quiet --port 9");
}

static void test_bad_flags_say_why(void **state)
{
    (void)state;
    struct build b;
    char rest[256], err[256];
    assert_int_equal(parse("s --cache lru", &b, rest, sizeof rest, err), -1);
    assert_non_null(strstr(err, "--cache 'lru'"));
    assert_non_null(strstr(err, "none|tiered"));
    assert_int_equal(parse("s --jobs", &b, rest, sizeof rest, err), -1);
    assert_non_null(strstr(err, "needs a value"));
    assert_int_equal(parse("s --build-label a/b", &b, rest, sizeof rest, err), -1);
    assert_int_equal(parse("s --build-label .hidden", &b, rest, sizeof rest, err), -1);
    /* a longer flag that only starts like a strategy's is the server's business */
    assert_int_equal(parse("s --cache-size 3", &b, rest, sizeof rest, err), 0);
    assert_string_equal(rest, "--cache-size 3");
}

/* Captures build_print_needs. */
static void needs(const struct build *b, char *out, size_t len)
{
    FILE *f = fmemopen(out, len, "w");
    assert_non_null(f);
    build_print_needs(b, f);
    fclose(f);
}

static void test_needs_follow_the_strategies(void **state)
{
    (void)state;
    struct build b;
    char rest[256], err[256], out[512];
    assert_int_equal(parse("s --build-label 01-baseline", &b, rest, sizeof rest, err), 0);
    needs(&b, out, sizeof out);
    assert_string_equal(out, "indexes drop\ncomposition connections=per-request queries=naive "
                             "cache=none encoder=identity jobs=inline\n");
    /* a queue without indexes: the schema and the worker, and the indexes dropped */
    assert_int_equal(parse("s --jobs queue --build-label 06-async", &b, rest, sizeof rest, err), 0);
    needs(&b, out, sizeof out);
    assert_string_equal(out, "indexes drop\nschema sql/async.sql\nworker\ncomposition "
                             "connections=per-request queries=naive cache=none "
                             "encoder=identity jobs=queue\n");
    assert_int_equal(parse("s --queries optimised", &b, rest, sizeof rest, err), 0);
    needs(&b, out, sizeof out);
    assert_non_null(strstr(out, "indexes create\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_the_baseline),
        cmocka_unit_test(test_flags_pick_and_leave_the_rest),
        cmocka_unit_test(test_bad_flags_say_why),
        cmocka_unit_test(test_needs_follow_the_strategies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
