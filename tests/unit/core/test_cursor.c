/* test_cursor.c - page cursors: encode/decode round trips, one spelling per cursor, and
 * rejection of anything a client could make up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "apibench/cursor.h"

static void test_round_trip(void **state)
{
    (void)state;
    const struct cursor cases[] = {
        {"2026-11-27T10:00:00Z", 1, 0},
        {"2026-11-27T10:00:00.1Z", 499998, 100},
        {"1999-01-31T23:59:59.123456Z", INT64_MAX, CURSOR_MAX_OFFSET},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[CURSOR_TEXT_MAX + 1];
        struct cursor back;
        assert_int_equal(cursor_encode(&cases[i], text, sizeof text), 0);
        /* base64url: no characters that need escaping in a query string */
        assert_int_equal(strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789-_"),
                         strlen(text));
        assert_int_equal(cursor_decode(text, &back), 0);
        assert_string_equal(back.timestamp, cases[i].timestamp);
        assert_true(back.reading_id == cases[i].reading_id);
        assert_true(back.offset == cases[i].offset);
    }
}

static void test_known_spelling(void **state)
{
    (void)state;
    /* "v1|2026-11-27T10:17:22.624Z|499998|3", as a server emitted it */
    struct cursor c;
    assert_int_equal(cursor_decode("djF8MjAyNi0xMS0yN1QxMDoxNzoyMi42MjRafDQ5OTk5OHwz", &c), 0);
    assert_string_equal(c.timestamp, "2026-11-27T10:17:22.624Z");
    assert_true(c.reading_id == 499998 && c.offset == 3);
}

static void test_encode_refuses_bad_values(void **state)
{
    (void)state;
    char text[CURSOR_TEXT_MAX + 1];
    struct cursor bad_ts = {"2026-11-27 10:00:00+00", 1, 0};
    struct cursor bad_id = {"2026-11-27T10:00:00Z", 0, 0};
    struct cursor bad_offset = {"2026-11-27T10:00:00Z", 1, CURSOR_MAX_OFFSET + 1};
    struct cursor ok = {"2026-11-27T10:00:00Z", 1, 0};
    assert_int_equal(cursor_encode(&bad_ts, text, sizeof text), -1);
    assert_int_equal(cursor_encode(&bad_id, text, sizeof text), -1);
    assert_int_equal(cursor_encode(&bad_offset, text, sizeof text), -1);
    assert_int_equal(cursor_encode(&ok, text, 8), -1); /* too small */
}

/* base64url of s without padding, for building hostile cursors */
static void b64(const char *s, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = strlen(s), o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)s[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)(unsigned char)s[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)s[i + 2];
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        if (i + 1 < n)
            out[o++] = a[v >> 6 & 63];
        if (i + 2 < n)
            out[o++] = a[v & 63];
    }
    out[o] = '\0';
}

static void test_decode_rejects_garbage(void **state)
{
    (void)state;
    struct cursor c;
    const char *raw[] = {"", "garbage!", "djF8", "' OR 1=1 --", "djF8MjAyNi0xMS0y=",
                         "djF8MjAyNi0xMS0yN1QxMDoxNzoyMi42MjRafDQ5OTk5OHwz="};
    for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++)
        assert_int_equal(cursor_decode(raw[i], &c), -1);

    const char *plain[] = {
        "v2|2026-11-27T10:00:00Z|1|0",           /* unknown version */
        "v1|2026-11-27T10:00:00Z|1",             /* missing offset */
        "v1|2026-11-27T10:00:00Z|1|0|9",         /* extra field */
        "v1|2026-13-27T10:00:00Z|1|0",           /* month 13 */
        "v1|2026-02-31T10:00:00Z|1|0",           /* no such day (PostgreSQL errors) */
        "v1|2025-02-29T10:00:00Z|1|0",           /* not a leap year */
        "v1|2026-04-31T10:00:00Z|1|0",           /* April has 30 days */
        "v1|0000-01-01T00:00:00Z|1|0",           /* year 0 */
        "v1|2026-11-27T10:00:00|1|0",            /* no Z */
        "v1|2026-11-27T10:00:00.1234567Z|1|0",   /* 7 fraction digits */
        "v1|2026-11-27T10:00:00Z'--|1|0",        /* SQL in the timestamp */
        "v1|2026-11-27T10:00:00Z|0|0",           /* id 0 */
        "v1|2026-11-27T10:00:00Z|-5|0",          /* negative id */
        "v1|2026-11-27T10:00:00Z|01|0",          /* leading zero */
        "v1|2026-11-27T10:00:00Z|99999999999999999999|0", /* overflow */
        "v1|2026-11-27T10:00:00Z|1|1000001",     /* offset above the maximum */
        "v1|2026-11-27T10:00:00Z|1| 5",          /* space */
    };
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        char text[256];
        b64(plain[i], text);
        assert_int_equal(cursor_decode(text, &c), -1);
    }
    /* the same construction accepts a good one, so the rejections above are real */
    char text[256];
    b64("v1|2026-11-27T10:00:00Z|1|10", text); /* 28 bytes: the last group is partial */
    assert_int_equal(cursor_decode(text, &c), 0);
    assert_true(c.offset == 10);
    /* ... and refuses the same bytes spelt with non-zero padding bits */
    size_t n = strlen(text);
    assert_true(text[n - 1] == 'A' || text[n - 1] == 'Q' || text[n - 1] == 'g' ||
                text[n - 1] == 'w');
    text[n - 1] = (char)(text[n - 1] + 1);
    assert_int_equal(cursor_decode(text, &c), -1);
    assert_int_equal(cursor_decode(NULL, &c), -1);
}

static void test_timestamp_calendar(void **state)
{
    (void)state;
    assert_true(cursor_timestamp_valid("2024-02-29T00:00:00Z"));  /* leap year */
    assert_true(cursor_timestamp_valid("2000-02-29T23:59:59.5Z")); /* 400-year rule */
    assert_true(cursor_timestamp_valid("2026-12-31T23:59:59.999999Z"));
    assert_true(cursor_timestamp_valid("0001-01-01T00:00:00Z"));
    assert_false(cursor_timestamp_valid("1900-02-29T00:00:00Z")); /* 100-year rule */
    assert_false(cursor_timestamp_valid("2026-06-31T00:00:00Z"));
    assert_false(cursor_timestamp_valid("2026-06-00T00:00:00Z"));
    assert_false(cursor_timestamp_valid("0000-06-01T00:00:00Z"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_known_spelling),
        cmocka_unit_test(test_encode_refuses_bad_values),
        cmocka_unit_test(test_decode_rejects_garbage),
        cmocka_unit_test(test_timestamp_calendar),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
