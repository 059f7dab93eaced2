/* test_urlmask.c - passwords are masked in every form a connection string takes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "apibench/urlmask.h"

static void expect_masked(const char *in, const char *want)
{
    char out[256];
    url_mask_password(in, out, sizeof out);
    if (strcmp(out, want) != 0)
        fail_msg("masking %s gave %s, expected %s", in, out, want);
}

static void test_forms(void **state)
{
    (void)state;
    expect_masked("postgresql://app:S3cret@127.0.0.1:5432/db",
                  "postgresql://app:***@127.0.0.1:5432/db");
    expect_masked("http://user:p%40ss@host:80/path?x=1", "http://user:***@host:80/path?x=1");
    expect_masked("redis://:pw@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0");
    expect_masked("smtp://u:a@b@mail:25", "smtp://u:***@mail:25"); /* unescaped '@' */
    expect_masked("postgresql://app@h/db?password=S3cret&sslmode=disable",
                  "postgresql://app@h/db?password=***&sslmode=disable");
    expect_masked("host=h user=app password='a b\\'c' dbname=x",
                  "host=h user=app password=*** dbname=x");
    expect_masked("host=h PASSWORD=x", "host=h PASSWORD=***");
    /* nothing to hide: unchanged */
    expect_masked("postgresql://app@127.0.0.1/db", "postgresql://app@127.0.0.1/db");
    expect_masked("http://127.0.0.1:18101/api?user=a:b@c", "http://127.0.0.1:18101/api?user=a:b@c");
    expect_masked("no_password=1", "no_password=1");
    expect_masked("", "");
}

static void test_truncates_safely(void **state)
{
    (void)state;
    char out[12];
    url_mask_password("postgresql://app:S3cret@h/db", out, sizeof out);
    assert_string_equal(out, "postgresql:");
    assert_null(strstr(out, "S3cret"));
    url_mask_password(NULL, out, sizeof out);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_truncates_safely),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
