/* test_params.c - request validation: query parameters, path ids and JSON bodies give the
 * right 4xx (always 400 here) with a message naming what was wrong, and accept what is
 * right. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "apibench/params.h"
#include "apibench/qshape.h"

static void test_int_params(void **state)
{
    (void)state;
    struct apierr err;
    int v = -1;
    assert_int_equal(params_int("limit", NULL, 1, 500, 100, &v, &err), 0);
    assert_int_equal(v, 100);
    assert_int_equal(params_int("limit", "1", 1, 500, 100, &v, &err), 0);
    assert_int_equal(v, 1);
    assert_int_equal(params_int("limit", "500", 1, 500, 100, &v, &err), 0);
    assert_int_equal(v, 500);
    const char *bad[] = {"0", "501", "-1", "abc", "", "1.5", " 5", "5 ", "1e2", "+5",
                         "5;DROP TABLE readings", "99999999999999999999", "0x10"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&err, 0, sizeof err);
        assert_int_equal(params_int("limit", bad[i], 1, 500, 100, &v, &err), -1);
        assert_int_equal(err.status, 400);
        assert_non_null(strstr(err.message, "limit"));
    }
}

static void test_ids(void **state)
{
    (void)state;
    struct apierr err;
    int64_t id;
    assert_int_equal(params_id("device", "42", INT32_MAX, &id, &err), 0);
    assert_true(id == 42);
    assert_int_equal(params_id("device", "2147483647", INT32_MAX, &id, &err), 0);
    const char *bad[] = {"0", "-3", "abc", "2147483648", "4'; DROP TABLE devices; --", "", "07x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(params_id("device", bad[i], INT32_MAX, &id, &err), -1);
        assert_int_equal(err.status, 400);
    }
    assert_int_equal(params_id("job", NULL, INT64_MAX, &id, &err), -1);
}

#define ROW(ts, t, h, b, r)                                                                 \
    "{\"timestamp\":\"" ts "\",\"temperature\":" t ",\"humidity\":" h ",\"battery\":" b    \
    ",\"rssi\":" r "}"

static int ingest(const char *body, struct reading_in **rows, size_t *n, struct apierr *err)
{
    memset(err, 0, sizeof *err);
    return params_ingest(body, strlen(body), rows, n, err);
}

static void test_ingest_body(void **state)
{
    (void)state;
    struct reading_in *rows;
    size_t n;
    struct apierr err;
    const char *good = "{\"readings\":[" ROW("2026-11-27T10:00:00Z", "21.5", "40", "88", "-70")
        "," ROW("2026-11-27T10:00:01.5Z", "-3", "0", "100", "-1") "]}";
    assert_int_equal(ingest(good, &rows, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(rows[1].timestamp, "2026-11-27T10:00:01.5Z");
    assert_true(rows[0].temperature == 21.5 && rows[0].humidity == 40 && rows[0].rssi == -70);
    free(rows);

    const char *bad[] = {
        "",
        "{",
        "[]",
        "{\"readings\":{}}",
        "{\"readings\":[]}",
        "{\"readings\":[1]}",
        "{\"readings\":[{}]}",
        "{\"readings\":[" ROW("2026-11-27 10:00:00", "1", "1", "1", "-1") "]}",
        "{\"readings\":[" ROW("2026-11-27T10:00:00+01:00", "1", "1", "1", "-1") "]}",
        "{\"readings\":[" ROW("2026-11-27T10:00:00Z", "\"1\"", "1", "1", "-1") "]}",
        "{\"readings\":[" ROW("2026-11-27T10:00:00Z", "1", "null", "1", "-1") "]}",
        "{\"readings\":[" ROW("2026-11-27T10:00:00Z", "1", "1", "true", "-1") "]}",
        "{\"readings\":[" ROW("2026-11-27T10:00:00Z", "1", "1", "1", "-1.5") "]}",
        "{\"readings\":[" ROW("2026-11-27T10:00:00Z", "1", "1", "1", "-1") "],"
        "\"readings\":[]}", /* duplicate key */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(ingest(bad[i], &rows, &n, &err), -1);
        assert_int_equal(err.status, 400);
        assert_null(rows);
    }

    /* 1000 rows pass, 1001 do not */
    const char *row = ROW("2026-11-27T10:00:00Z", "1", "1", "1", "-1") ",";
    size_t rl = strlen(row);
    char *big = malloc(20 + 1001 * rl);
    for (int count = 1000; count <= 1001; count++) {
        strcpy(big, "{\"readings\":[");
        for (int i = 0; i < count; i++)
            strcat(big, row);
        strcpy(big + strlen(big) - 1, "]}");
        int rc = ingest(big, &rows, &n, &err);
        assert_int_equal(rc, count == 1000 ? 0 : -1);
        free(rows);
    }
    free(big);
}

static void test_row_ranges(void **state)
{
    (void)state;
    struct apierr err;
    struct reading_in ok = {"2026-11-27T10:00:00Z", 21.5, 40, 88, -70};
    assert_int_equal(qshape_check_row(&ok, 0, &err), 0);
    struct reading_in r = ok;
    r.humidity = 100.5;
    assert_int_equal(qshape_check_row(&r, 3, &err), -1);
    assert_non_null(strstr(err.message, "readings[3].humidity"));
    r = ok;
    r.temperature = 1000;
    assert_int_equal(qshape_check_row(&r, 0, &err), -1);
    r = ok;
    r.rssi = 5;
    assert_int_equal(qshape_check_row(&r, 0, &err), -1);
    r = ok;
    r.battery = -1;
    assert_int_equal(qshape_check_row(&r, 0, &err), -1);
}

static void test_report_body(void **state)
{
    (void)state;
    struct report_request rr;
    struct apierr err;
    json_t *root;
    const char *good = "{\"kind\":\"site\",\"id\":3,\"email\":\"ops@example.com\"}";
    assert_int_equal(params_report(good, strlen(good), &rr, &root, &err), 0);
    assert_string_equal(rr.kind, "site");
    assert_int_equal(rr.target_id, 3);
    assert_int_equal(rr.hours, 24); /* default */
    assert_string_equal(rr.email, "ops@example.com");
    json_decref(root);

    const char *bad[] = {
        "nope",
        "[]",
        "{\"kind\":\"planet\",\"id\":1,\"email\":\"a@b.co\"}",
        "{\"kind\":\"device\",\"id\":\"1\",\"email\":\"a@b.co\"}",
        "{\"kind\":\"device\",\"id\":0,\"email\":\"a@b.co\"}",
        "{\"kind\":\"device\",\"id\":1,\"hours\":169,\"email\":\"a@b.co\"}",
        "{\"kind\":\"device\",\"id\":1,\"hours\":0,\"email\":\"a@b.co\"}",
        "{\"kind\":\"device\",\"id\":1,\"email\":\"no-at-sign\"}",
        "{\"kind\":\"device\",\"id\":1,\"email\":\"a@b.co\\r\\nRCPT TO:<x@y.z>\"}",
        "{\"kind\":\"device\",\"id\":1,\"email\":\"a b@c.de\"}",
        "{\"kind\":\"device\",\"id\":1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&err, 0, sizeof err);
        assert_int_equal(params_report(bad[i], strlen(bad[i]), &rr, &root, &err), -1);
        assert_int_equal(err.status, 400);
        assert_null(root);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int_params),  cmocka_unit_test(test_ids),
        cmocka_unit_test(test_ingest_body), cmocka_unit_test(test_row_ranges),
        cmocka_unit_test(test_report_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
