/* test_hlog.c - HdrHistogram interval logs: the V2 encoding's bytes for a known
 * histogram, exact round trips through a written and read log (intervals and tagged
 * totals), and refusals: another histogram configuration, corrupt lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hist.h"
#include "hlog.h"

static void assert_same_counts(const struct hist *a, const struct hist *b)
{
    assert_int_equal(hist_count(a), hist_count(b));
    for (int i = 0; i < hist_counts_len(); i++)
        if (hist_count_at(a, i) != hist_count_at(b, i))
            fail_msg("index %d: %lld != %lld", i, (long long)hist_count_at(a, i),
                     (long long)hist_count_at(b, i));
}

/* One value of 1 us: the 40-byte header, then -1 (one zero: index 0) and 1 (index 1). */
static void test_encoding_bytes(void **state)
{
    (void)state;
    struct hist *h = hist_new();
    hist_record(h, 1);
    size_t len;
    uint8_t *enc = hlog_encode(h, &len);
    static const uint8_t want[] = {
        0x1c, 0x84, 0x93, 0x13, 0, 0, 0, 2,    0,    0,    0,    0,    0, 0, 0, 3, /* digits */
        0,    0,    0,    0,    0, 0, 0, 1,    0,    0,    0,    0,    0xd6, 0x93, 0xa4, 0x00,
        0x3f, 0xf0, 0,    0,    0, 0, 0, 0, /* 1.0 */
        0x01, 0x02};                                                                 /* -1, 1 */
    assert_int_equal(len, sizeof want);
    assert_memory_equal(enc, want, sizeof want);
    free(enc);
    /* a count of 300 at index 0 (value 0): zigzag 600 = LEB128 d8 04 */
    hist_reset(h);
    for (int i = 0; i < 300; i++)
        hist_record(h, 0);
    enc = hlog_encode(h, &len);
    assert_int_equal(len, 42);
    assert_int_equal(enc[40], 0xd8);
    assert_int_equal(enc[41], 0x04);
    free(enc);
    hist_free(h);
}

static void test_encode_decode_round_trip(void **state)
{
    (void)state;
    struct hist *h = hist_new(), *back = hist_new();
    static const int64_t values[] = {0, 1, 2, 999, 1000, 1023, 2047, 2048, 2049, 123456,
                                     5000000, HIST_MAX_US - 1, HIST_MAX_US};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        for (size_t k = 0; k <= i * 37; k++)
            hist_record(h, values[i]);
    size_t len;
    uint8_t *enc = hlog_encode(h, &len);
    char err[256];
    assert_int_equal(hlog_decode_add(enc, len, back, err, sizeof err), 0);
    assert_same_counts(h, back);
    /* the same buckets: every percentile names the same bucket (a decoded histogram knows
     * its max only to the bucket, so the top percentiles are not capped alike) */
    for (double p = 0; p <= 100.0; p += 0.5)
        assert_true(hist_values_equivalent(hist_value_at_percentile(back, p),
                                           hist_value_at_percentile(h, p)));
    /* adding twice doubles every count: decoding adds, it does not replace */
    assert_int_equal(hlog_decode_add(enc, len, back, err, sizeof err), 0);
    assert_int_equal(hist_count(back), 2 * hist_count(h));
    /* another configuration (2 significant digits) is refused with a clear reason */
    enc[15] = 2;
    assert_int_equal(hlog_decode_add(enc, len, back, err, sizeof err), -1);
    assert_non_null(strstr(err, "histogram configurations differ"));
    enc[15] = 3;
    enc[3] = 0x11; /* the V1 encoding cookie (0x1c849301 with word-size bits) */
    assert_int_equal(hlog_decode_add(enc, len, back, err, sizeof err), -1);
    free(enc);
    hist_free(h);
    hist_free(back);
}

struct tagged_seen {
    int n;
    struct hist *total;
};

static void on_tagged(const char *tag, const struct hist *h, void *ctx)
{
    struct tagged_seen *seen = ctx;
    seen->n++;
    if (strcmp(tag, "total") == 0)
        hist_merge(seen->total, h);
}

static void test_log_round_trip(void **state)
{
    (void)state;
    char path[] = "/tmp/apibench-test-hlog.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *out = fdopen(fd, "w");
    /* three seconds from two "threads", the second thread skipping second 1 */
    struct hlog_series a, b, joined;
    hlog_series_init(&a, 1000);
    hlog_series_init(&b, 1000);
    hlog_series_init(&joined, 1000);
    struct hist *total = hist_new(), *sec1 = hist_new();
    for (int i = 0; i < 3000; i++) {
        int64_t when = 1000 + (int64_t)i * 1000000LL, v = 100 + (i * 7919) % 90000;
        hlog_series_record(i % 2 || (i >= 1000 && i < 2000) ? &a : &b, when, v);
        hist_record(total, v);
        if (i >= 1000 && i < 2000)
            hist_record(sec1, v);
    }
    hlog_series_take(&joined, &a);
    hlog_series_take(&joined, &b);
    struct hlog_tagged tagged[] = {{"total", total}, {"route.latest", sec1}};
    assert_int_equal(hlog_write(out, 1795974859.5, &joined, tagged, 2, 3.0), 0);
    fclose(out);
    struct hlog_file f;
    struct tagged_seen seen = {0, hist_new()};
    char err[256];
    assert_int_equal(hlog_read(path, &f, on_tagged, &seen, err, sizeof err), 0);
    assert_int_equal(seen.n, 2);
    assert_same_counts(seen.total, total);
    assert_true(f.start_epoch_s > 1795974859.49 && f.start_epoch_s < 1795974859.51);
    assert_int_equal(f.intervals.nchunks, 3); /* one line per second, threads added */
    struct hist *sum = hist_new(), *one = hist_new();
    for (int i = 0; i < f.intervals.nchunks; i++) {
        const struct hlog_chunk *c = &f.intervals.chunks[i];
        assert_int_equal(hlog_decode_add(c->data, c->len, sum, err, sizeof err), 0);
        if (c->second == 1)
            assert_int_equal(hlog_decode_add(c->data, c->len, one, err, sizeof err), 0);
    }
    assert_same_counts(sum, total);
    assert_same_counts(one, sec1);
    assert_true(f.end_s > 2.99 && f.end_s < 3.01);
    hlog_file_free(&f);
    /* a corrupt histogram is an error naming the line */
    out = fopen(path, "a");
    fprintf(out, "3.000,1.000,1.0,HISTFAAAAB==\n");
    fclose(out);
    assert_int_equal(hlog_read(path, &f, NULL, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "line 11"));
    unlink(path);
    hlog_series_free(&joined);
    hlog_series_free(&a);
    hlog_series_free(&b);
    hist_free(total);
    hist_free(sec1);
    hist_free(sum);
    hist_free(one);
    hist_free(seen.total);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encoding_bytes),
        cmocka_unit_test(test_encode_decode_round_trip),
        cmocka_unit_test(test_log_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
