/* test_gen.c - the seeder's row generation: determinism, checksum, and distributions
 * within their bounds. Pure: no Postgres. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gen.h"
#include "seed_keys.h"

#define DAY_MS (86400LL * 1000)

static int cmp_desc(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

static void same_seed_same_rows(void **state)
{
    (void)state;
    struct gen *a = gen_new(7, 1), *b = gen_new(7, 1);
    assert_non_null(a);
    assert_non_null(b);
    for (int id = 1; id <= gen_rows(a, GEN_DEVICES); id++) {
        struct gen_device da, db;
        assert_int_equal(gen_device(a, id, &da), 0);
        assert_int_equal(gen_device(b, id, &db), 0);
        assert_string_equal(da.name, db.name);
        assert_int_equal(da.site_id, db.site_id);
        assert_int_equal(da.status, db.status);
        assert_int_equal(da.readings, db.readings);
        assert_int_equal(da.last_seen_off_ms, db.last_seen_off_ms);
    }
    struct gen_cursor *ca = gen_cursor_new(a, GEN_READINGS), *cb = gen_cursor_new(b, GEN_READINGS);
    struct gen_reading ra, rb;
    for (int i = 0; i < 20000; i++) {
        assert_true(gen_next_reading(ca, &ra));
        assert_true(gen_next_reading(cb, &rb));
        assert_int_equal(ra.id, rb.id);
        assert_int_equal(ra.device_id, rb.device_id);
        assert_int_equal(ra.off_ms, rb.off_ms);
        assert_int_equal(ra.temp_c100, rb.temp_c100);
        assert_int_equal(ra.humidity_x10, rb.humidity_x10);
        assert_int_equal(ra.battery_x10, rb.battery_x10);
        assert_int_equal(ra.rssi, rb.rssi);
    }
    gen_cursor_free(ca);
    gen_cursor_free(cb);
    assert_int_equal(gen_checksum(a), gen_checksum(b));
    gen_free(a);
    gen_free(b);
}

static void other_seed_other_rows(void **state)
{
    (void)state;
    struct gen *a = gen_new(1, 1), *b = gen_new(2, 1);
    assert_int_not_equal(gen_checksum(a), gen_checksum(b));
    int same_site = 0;
    for (int id = 1; id <= 1000; id++) {
        struct gen_device da, db;
        gen_device(a, id, &da);
        gen_device(b, id, &db);
        same_site += da.site_id == db.site_id;
    }
    assert_true(same_site < 500); /* 5 sites: about 200 by chance */
    /* the scale changes the rows too, not just their number */
    struct gen *c = gen_new(1, 2);
    assert_int_not_equal(gen_checksum(a), gen_checksum(c));
    gen_free(a);
    gen_free(b);
    gen_free(c);
}

/* The checksum covers offsets, so the anchor (seeding time) does not change it, while the
 * COPY text does change with it. */
static void checksum_ignores_the_anchor(void **state)
{
    (void)state;
    struct gen *g = gen_new(3, 1);
    uint64_t h1 = gen_checksum_init(), h2 = gen_checksum_init();
    char l1[GEN_MAX_ROW], l2[GEN_MAX_ROW];
    struct gen_cursor *c1 = gen_cursor_new(g, GEN_READINGS), *c2 = gen_cursor_new(g, GEN_READINGS);
    size_t n1, n2;
    int differing = 0;
    do {
        n1 = gen_next_copy_line(c1, 1700000000000LL, l1, &h1);
        n2 = gen_next_copy_line(c2, 1800000000000LL, l2, &h2);
        differing += n1 != n2 || memcmp(l1, l2, n1) != 0;
    } while (n1 > 0 && n2 > 0);
    assert_int_equal(n1, 0);
    assert_int_equal(n2, 0);
    assert_int_equal(h1, h2);
    assert_int_equal(differing, gen_rows(g, GEN_READINGS));
    gen_cursor_free(c1);
    gen_cursor_free(c2);
    gen_free(g);
}

static uint64_t read_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Binary COPY carries the same rows and folds the same checksum as text. */
static void binary_copy_matches_text(void **state)
{
    (void)state;
    struct gen *g = gen_new(11, 1);
    int64_t anchor = 1700000000000LL;
    uint64_t ht = gen_checksum_init(), hb = gen_checksum_init();
    struct gen_cursor *ct = gen_cursor_new(g, GEN_READINGS), *cb = gen_cursor_new(g, GEN_READINGS);
    struct gen_cursor *cr = gen_cursor_new(g, GEN_READINGS);
    char text[GEN_MAX_ROW];
    unsigned char bin[GEN_MAX_ROW];
    int64_t rows = 0;

    assert_int_equal(gen_copy_binary_header((char *)bin), 19);
    assert_memory_equal(bin, "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19);
    for (;;) {
        size_t nt = gen_next_copy_line(ct, anchor, text, &ht);
        size_t nb = gen_next_copy_binary(cb, anchor, (char *)bin, &hb);
        struct gen_reading r;
        bool more = gen_next_reading(cr, &r);
        if (nt == 0) {
            assert_int_equal(nb, 0);
            assert_false(more);
            break;
        }
        assert_int_equal(nb, 78);
        assert_true(more);
        rows++;
        if (rows % 997 != 1)
            continue;
        assert_int_equal(read_be(bin, 2), 7);
        assert_int_equal(read_be(bin + 2, 4), 8);
        assert_int_equal(read_be(bin + 6, 8), (uint64_t)r.id);
        assert_int_equal(read_be(bin + 14, 4), 4);
        assert_int_equal(read_be(bin + 18, 4), (uint64_t)r.device_id);
        /* microseconds since 2000-01-01 */
        assert_int_equal(read_be(bin + 26, 8),
                         (uint64_t)((anchor - r.off_ms - 946684800000LL) * 1000));
        uint64_t bits = read_be(bin + 38, 8);
        double temp;
        memcpy(&temp, &bits, sizeof temp);
        assert_true(temp ==
                    strtod(strchr(strchr(strchr(text, '\t') + 1, '\t') + 1, '\t') + 1, NULL));
        assert_int_equal((int32_t)read_be(bin + 74, 4), r.rssi);
    }
    assert_int_equal(rows, gen_rows(g, GEN_READINGS));
    assert_int_equal(ht, hb);
    assert_int_equal(gen_copy_binary_trailer((char *)bin), 2);
    assert_int_equal(read_be(bin, 2), 0xffff);
    gen_cursor_free(ct);
    gen_cursor_free(cb);
    gen_cursor_free(cr);
    gen_free(g);
}

static void bad_arguments_are_refused(void **state)
{
    (void)state;
    assert_null(gen_new(0, 1));
    assert_null(gen_new(1, 0));
    assert_null(gen_new(1, GEN_MAX_SCALE + 1));
    struct gen *g = gen_new(1, 1);
    struct gen_device d;
    struct gen_site s;
    assert_int_equal(gen_device(g, 0, &d), -1);
    assert_int_equal(gen_device(g, 1001, &d), -1);
    assert_int_equal(gen_site(g, 6, &s), -1);
    gen_free(g);
}

static void sizes_follow_the_scale(void **state)
{
    (void)state;
    struct gen *g = gen_new(1, 3);
    assert_int_equal(gen_rows(g, GEN_SITES), 7); /* 4 + S */
    assert_int_equal(gen_rows(g, GEN_DEVICES), 3000);
    assert_int_equal(gen_rows(g, GEN_READINGS), 1500000);
    assert_int_equal(gen_rows(g, GEN_USERS_TABLE), 5);
    assert_int_equal(gen_rows(g, GEN_API_KEYS), 5);
    int64_t sum = 0;
    for (int id = 1; id <= 3000; id++) {
        struct gen_device d;
        gen_device(g, id, &d);
        sum += d.readings;
    }
    assert_int_equal(sum, 1500000);
    gen_free(g);
}

static void device_statuses_are_mixed(void **state)
{
    (void)state;
    struct gen *g = gen_new(1, 10);
    int count[3] = {0, 0, 0}, indoor = 0;
    for (int id = 1; id <= 10000; id++) {
        struct gen_device d;
        assert_int_equal(gen_device(g, id, &d), 0);
        count[d.status]++;
        indoor += d.indoor;
        assert_true(d.site_id >= 1 && d.site_id <= 50);
        /* installed before its first reading */
        assert_true(d.last_seen_off_ms < d.installed_off_ms);
    }
    assert_in_range(count[GEN_ACTIVE], 6700, 7300);
    assert_in_range(count[GEN_INACTIVE], 1700, 2300);
    assert_in_range(count[GEN_MAINTENANCE], 800, 1200);
    assert_in_range(indoor, 5000, 7000);
    gen_free(g);
}

/* Walks every reading of scale 1 and checks ranges, order, per-device counts and skew. */
static void readings_are_plausible(void **state)
{
    (void)state;
    struct gen *g = gen_new(1, 1);
    int ndev = (int)gen_rows(g, GEN_DEVICES);
    int64_t *count = calloc((size_t)ndev, sizeof *count);
    int64_t *last_off = calloc((size_t)ndev, sizeof *last_off);
    int *last_bat = calloc((size_t)ndev, sizeof *last_bat);
    double *tsum = calloc((size_t)ndev, sizeof *tsum), *tsq = calloc((size_t)ndev, sizeof *tsq);
    struct gen_cursor *c = gen_cursor_new(g, GEN_READINGS);
    struct gen_reading r;
    int64_t n = 0, prev_off = INT64_MAX, last_day = 0, battery_rises = 0;

    while (gen_next_reading(c, &r)) {
        n++;
        assert_int_equal(r.id, n); /* ids 1..N in time order */
        assert_true(r.off_ms <= prev_off);
        prev_off = r.off_ms;
        assert_in_range(r.off_ms, 0, GEN_WINDOW_MS);
        last_day += r.off_ms < DAY_MS;
        assert_in_range(r.device_id, 1, ndev);
        int i = r.device_id - 1;
        struct gen_device d;
        if (count[i] == 0)
            gen_device(g, r.device_id, &d);
        assert_true(r.temp_c100 >= -1000 && r.temp_c100 <= 4000);
        assert_in_range(r.humidity_x10, 200, 900);
        assert_in_range(r.battery_x10, 0, 1000);
        assert_true(r.rssi >= -110 && r.rssi <= -40);
        /* batteries only drain, except when replaced (a jump to nearly full) */
        if (count[i] > 0 && r.battery_x10 > last_bat[i]) {
            assert_true(r.battery_x10 - last_bat[i] > 500);
            battery_rises++;
        }
        last_bat[i] = r.battery_x10;
        tsum[i] += r.temp_c100 / 100.0;
        tsq[i] += (r.temp_c100 / 100.0) * (r.temp_c100 / 100.0);
        count[i]++;
        last_off[i] = r.off_ms;
    }
    assert_int_equal(n, gen_rows(g, GEN_READINGS));
    assert_int_equal(gen_cursor_done(c), n);
    assert_true(battery_rises < ndev); /* rare */
    /* the last day holds about 1/30 of the readings, not none and not most */
    assert_in_range(last_day, n / 60, n / 10);

    int silent = 0, drifting = 0, indoor_out_of_range = 0;
    for (int id = 1; id <= ndev; id++) {
        struct gen_device d;
        gen_device(g, id, &d);
        assert_int_equal(count[id - 1], d.readings);
        if (d.readings == 0) {
            silent++;
            assert_int_equal(d.last_seen_off_ms, -1);
            continue;
        }
        assert_int_equal(last_off[id - 1], d.last_seen_off_ms);
        double mean = tsum[id - 1] / (double)count[id - 1];
        double var = tsq[id - 1] / (double)count[id - 1] - mean * mean;
        drifting += count[id - 1] > 50 && var > 0.25; /* stddev > 0.5 degC */
        if (d.indoor && (mean < 15.0 || mean > 30.0))
            indoor_out_of_range++;
    }
    assert_in_range(silent, 1, 20); /* a few devices never reported */
    assert_int_equal(indoor_out_of_range, 0);
    assert_true(drifting > ndev / 2);

    /* skew: the chattiest 10% of devices hold far more than 10% of the readings */
    qsort(count, (size_t)ndev, sizeof *count, cmp_desc);
    int64_t top = 0;
    for (int i = 0; i < ndev / 10; i++)
        top += count[i];
    assert_true(top > n * 35 / 100);
    assert_true(count[0] > 10 * (n / ndev));

    gen_cursor_free(c);
    free(count);
    free(last_off);
    free(last_bat);
    free(tsum);
    free(tsq);
    gen_free(g);
}

static void users_see_shares_of_sites(void **state)
{
    (void)state;
    struct gen *g = gen_new(5, 10); /* 14 sites */
    static const int want[GEN_USERS] = {14, 9, 7, 4, 1};
    int64_t total = 0;
    for (int u = 1; u <= GEN_USERS; u++) {
        int seen = 0;
        for (int s = 1; s <= 14; s++)
            seen += gen_user_sees(g, u, s);
        assert_int_equal(seen, want[u - 1]);
        total += seen;
    }
    assert_int_equal(gen_rows(g, GEN_USER_SITES), total);
    struct gen_cursor *c = gen_cursor_new(g, GEN_USER_SITES);
    struct gen_user_site us;
    int64_t n = 0;
    while (gen_next_user_site(c, &us)) {
        assert_true(gen_user_sees(g, us.user_id, us.site_id));
        n++;
    }
    assert_int_equal(n, total);
    gen_cursor_free(c);
    gen_free(g);

    /* scale 1 (5 sites): the smallest share still sees one site */
    g = gen_new(5, 1);
    int seen = 0;
    for (int s = 1; s <= 5; s++)
        seen += gen_user_sees(g, 5, s);
    assert_int_equal(seen, 1);
    gen_free(g);
}

static void api_keys_rows_match_the_derivation(void **state)
{
    (void)state;
    struct gen *g = gen_new(1, 1);
    struct gen_api_key k;
    assert_int_equal(gen_api_key(g, 1, &k), 0);
    assert_string_equal(k.key, "ak_79b08343953db126f5090e2ba88750dd");
    assert_string_equal(k.prefix, "ak_79b08");
    assert_int_equal(k.hash[0], 0x4d);
    assert_int_equal(k.hash[31], 0x2f);
    assert_int_equal(gen_api_key(g, 6, &k), -1);

    char line[GEN_MAX_ROW];
    uint64_t h = gen_checksum_init();
    struct gen_cursor *c = gen_cursor_new(g, GEN_API_KEYS);
    size_t n = gen_next_copy_line(c, 0, line, &h);
    line[n] = '\0';
    assert_non_null(strstr(line, "\tak_79b08\t\\\\x4db97841"));
    gen_cursor_free(c);
    gen_free(g);
}

static void times_are_formatted_in_utc(void **state)
{
    (void)state;
    char buf[32];
    assert_int_equal(gen_format_time(0, buf), 26);
    assert_string_equal(buf, "1970-01-01 00:00:00.000+00");
    gen_format_time(1700000000123LL, buf);
    assert_string_equal(buf, "2023-11-14 22:13:20.123+00");
    gen_format_time(951782400000LL + 86399999LL, buf);
    assert_string_equal(buf, "2000-02-29 23:59:59.999+00");
    gen_format_time(-1, buf);
    assert_string_equal(buf, "1969-12-31 23:59:59.999+00");
}

/* A COPY line has one field per column, and the reading's values print exactly. */
static void copy_lines_have_every_column(void **state)
{
    (void)state;
    struct gen *g = gen_new(1, 1);
    static const int tabs[GEN_NTABLES] = {4, 7, 3, 6, 1, 6};
    for (int t = 0; t < GEN_NTABLES; t++) {
        struct gen_cursor *c = gen_cursor_new(g, (enum gen_table)t);
        char line[GEN_MAX_ROW + 1];
        uint64_t h = gen_checksum_init();
        int rows = 0;
        size_t n;
        while (rows < 2000 && (n = gen_next_copy_line(c, 1700000000000LL, line, &h)) > 0) {
            assert_true(n < GEN_MAX_ROW);
            line[n] = '\0';
            int count = 0;
            for (size_t i = 0; i < n; i++)
                count += line[i] == '\t';
            assert_int_equal(count, tabs[t]);
            assert_int_equal(line[n - 1], '\n');
            rows++;
        }
        assert_true(rows > 0);
        gen_cursor_free(c);
    }
    /* the first reading's text against its struct */
    struct gen_cursor *c1 = gen_cursor_new(g, GEN_READINGS), *c2 = gen_cursor_new(g, GEN_READINGS);
    struct gen_reading r;
    char line[GEN_MAX_ROW + 1], want[GEN_MAX_ROW], ts[32];
    uint64_t h = 0;
    size_t n = gen_next_copy_line(c1, 1700000000000LL, line, &h);
    line[n] = '\0';
    gen_next_reading(c2, &r);
    gen_format_time(1700000000000LL - r.off_ms, ts);
    snprintf(want, sizeof want, "1\t%d\t%s\t%s%d.%02d\t%d.%d\t%d.%d\t%d\n", r.device_id, ts,
             r.temp_c100 < 0 ? "-" : "", abs(r.temp_c100) / 100, abs(r.temp_c100) % 100,
             r.humidity_x10 / 10, r.humidity_x10 % 10, r.battery_x10 / 10, r.battery_x10 % 10,
             r.rssi);
    assert_string_equal(line, want);
    gen_cursor_free(c1);
    gen_cursor_free(c2);
    gen_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_seed_same_rows),
        cmocka_unit_test(other_seed_other_rows),
        cmocka_unit_test(checksum_ignores_the_anchor),
        cmocka_unit_test(binary_copy_matches_text),
        cmocka_unit_test(bad_arguments_are_refused),
        cmocka_unit_test(sizes_follow_the_scale),
        cmocka_unit_test(device_statuses_are_mixed),
        cmocka_unit_test(readings_are_plausible),
        cmocka_unit_test(users_see_shares_of_sites),
        cmocka_unit_test(api_keys_rows_match_the_derivation),
        cmocka_unit_test(times_are_formatted_in_utc),
        cmocka_unit_test(copy_lines_have_every_column),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
