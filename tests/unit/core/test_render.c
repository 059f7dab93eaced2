/* test_render.c - JSON rendering against golden files (tests/unit/core/data/, one JSON each): rows
 * shaped like PostgreSQL's text output go through the shared shapes (qshape.c) and the
 * serialiser (render.c), and must come out byte for byte as the file says. Set
 * APIBENCH_UPDATE_GOLDEN=1 to rewrite the files after an intended change (then review
 * the diff). Also: timestamp conversion and the number forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apibench/qshape.h"
#include "apibench/render.h"

/* A tuples result with the given column names and rows of text (NULL = SQL NULL). */
static PGresult *fake_result(int ncols, const char *const *names, int nrows,
                             const char *const *values)
{
    PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc attrs[32];
    memset(attrs, 0, sizeof attrs);
    for (int i = 0; i < ncols; i++) {
        attrs[i].name = (char *)(uintptr_t)names[i];
        attrs[i].typid = 25; /* text: render.c never looks at types */
        attrs[i].typlen = -1;
        attrs[i].atttypmod = -1;
    }
    assert_true(PQsetResultAttrs(r, ncols, attrs));
    for (int row = 0; row < nrows; row++)
        for (int col = 0; col < ncols; col++) {
            const char *v = values[row * ncols + col];
            assert_true(PQsetvalue(r, row, col, (char *)(uintptr_t)(v ? v : ""),
                                   v ? (int)strlen(v) : -1));
        }
    return r;
}

static void check_golden(const char *name, const char *got, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", APIBENCH_TEST_DATA, name);
    if (getenv("APIBENCH_UPDATE_GOLDEN")) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fwrite(got, 1, len, f);
        fputc('\n', f);
        fclose(f);
    }
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("missing golden file %s", path);
    char want[16384];
    size_t n = fread(want, 1, sizeof want - 1, f);
    fclose(f);
    while (n > 0 && want[n - 1] == '\n')
        n--;
    want[n] = '\0';
    if (n != len || memcmp(want, got, len) != 0)
        fail_msg("%s differs:\n got: %s\nwant: %s", name, got, want);
}

static const char *const latest_names[] = {"id",   "device_id", "device_name", "site_id",
                                           "site_name", "timestamp", "temperature",
                                           "humidity",  "battery",   "rssi"};
static const char *const latest_rows[] = {
    "500000", "398", "AQ-7-000398", "4", "Yokohama Warehouse 4", "2026-11-27 10:21:42.218+00",
    "18.68", "47.5", "36.9", "-73",
    "499999", "943", "TH-100-000943", "2", "Campinas \"Greenhouse\" 2\\", "2026-11-27 10:18:41+00",
    "-0.1", "100", "5", "-110",
    "499998", "7", "WX-500-000007", "1", NULL, "2026-11-27 10:17:22.000001+00",
    "1e-05", "0", "0.30000000000000004", "0",
};

static void test_latest_page_golden(void **state)
{
    (void)state;
    PGresult *r = fake_result(10, latest_names, 3, latest_rows);
    const struct reading_cols cols = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    json_t *readings = json_array();
    for (int i = 0; i < 3; i++)
        json_array_append_new(readings, qshape_reading(r, i, &cols, NULL));
    json_t *page = qshape_latest_page(readings, 3, true, 200);
    size_t len;
    char *s = render_json(page, &len);
    check_golden("latest_page.json", s, len);
    free(s);
    json_decref(page);

    /* the last page: no cursor */
    readings = json_array();
    json_array_append_new(readings, qshape_reading(r, 0, &cols, NULL));
    page = qshape_latest_page(readings, 100, false, 0);
    s = render_json(page, &len);
    check_golden("latest_last_page.json", s, len);
    free(s);
    json_decref(page);
    PQclear(r);
}

static void test_device_golden(void **state)
{
    (void)state;
    static const char *const names[] = {"id", "name", "site_id", "site_name", "model",
                                        "firmware", "status", "installed_at", "last_seen_at",
                                        "r_id", "timestamp", "temperature", "humidity",
                                        "battery", "rssi", "n", "tmin", "tmax", "tavg",
                                        "hmin", "hmax", "havg", "bmin", "bmax", "bavg"};
    static const char *const rows[] = {
        "398", "AQ-7-000398", "4", "Yokohama Warehouse 4", "AQ-7", "1.4.2", "active",
        "2026-06-02 10:50:02.236+00", "2026-11-27 10:21:42.218+00",
        "500000", "2026-11-27 10:21:42.218+00", "18.68", "47.5", "36.9", "-73",
        "466", "17.9", "20.82", "19.26", "38", "50.2", "44.17", "36.9", "38.4", "37.66",
        /* a device that never reported: no latest reading, empty stats */
        "12", "TH-210-000012", "1", "Lyon Lab 1", "TH-210", "2.0.1", "maintenance",
        "2026-01-02 00:00:00+00", NULL,
        NULL, NULL, NULL, NULL, NULL, NULL,
        "0", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    };
    PGresult *r = fake_result(25, names, 2, rows);
    const struct reading_cols rcols = {9, -1, -1, -1, -1, 10, 11, 12, 13, 14};
    const struct device_cols dcols = {0, 1, 2, 4, 5, 6, 7, 8};
    const char *golden[] = {"device_detail.json", "device_detail_empty.json"};
    for (int row = 0; row < 2; row++) {
        json_t *latest = PQgetisnull(r, row, 9) ? json_null() : qshape_reading(r, row, &rcols, NULL);
        json_t *stats = qshape_stats(render_int(r, row, 15), qshape_triple(r, row, 16),
                                     qshape_triple(r, row, 19), qshape_triple(r, row, 22));
        json_t *dev = qshape_device(r, row, &dcols, r, row, 3, latest, stats);
        size_t len;
        char *s = render_json(dev, &len);
        check_golden(golden[row], s, len);
        free(s);
        json_decref(dev);
    }
    PQclear(r);
}

static void test_error_golden(void **state)
{
    (void)state;
    size_t len;
    /* control characters and non-ASCII bytes from client input become '?' */
    char *s = render_error(400, "invalid limit: \"x\"\n\xc3\xa9", &len);
    check_golden("error_400.json", s, len);
    free(s);
}

static void test_timestamps(void **state)
{
    (void)state;
    char out[48];
    assert_int_equal(render_timestamp("2026-11-27 10:00:00.123+00", out, sizeof out), 0);
    assert_string_equal(out, "2026-11-27T10:00:00.123Z");
    assert_int_equal(render_timestamp("2026-11-27 10:00:00+00", out, sizeof out), 0);
    assert_string_equal(out, "2026-11-27T10:00:00Z");
    /* a session not in UTC is refused rather than mislabelled as Z */
    assert_int_equal(render_timestamp("2026-11-27 11:00:00+01", out, sizeof out), -1);
    assert_int_equal(render_timestamp("yesterday", out, sizeof out), -1);
    assert_int_equal(render_timestamp("2026-11-27 10:00:00.123+00", out, 10), -1);
}

static void test_numbers(void **state)
{
    (void)state;
    /* PostgreSQL's text for a double is its shortest round-trip form; so is ours */
    static const char *const cases[][2] = {
        {"21.5", "21.5"},   {"0.1", "0.1"},   {"20", "20"},         {"-70", "-70"},
        {"1e-05", "1e-05"}, {"100.25", "100.25"}, {"12345678.9", "12345678.9"},
        {"0.30000000000000004", "0.30000000000000004"}, {"-0", "-0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *v = json_real(strtod(cases[i][0], NULL));
        size_t len;
        char *s = render_json(v, &len);
        assert_string_equal(s, cases[i][1]);
        free(s);
        json_decref(v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_latest_page_golden), cmocka_unit_test(test_device_golden),
        cmocka_unit_test(test_error_golden),       cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
