/* test_encoder_gzip.c - Accept-Encoding negotiation, the gzip/identity decision, round
 * trips around the threshold, reuse of the per-thread stream, the level setting, and the
 * forms a cache entry keeps (precompress once, encode_entry without compressing, decode). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "apibench/config.h"
#include "apibench/encoder.h"

static void init_encoder(int level, size_t threshold)
{
    struct config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.gzip_level = level;
    cfg.gzip_threshold = threshold;
    char err[128] = "";
    assert_int_equal(encoder_gzip.init(&cfg, err, sizeof err), 0);
}

/* A JSON-like body of n bytes; seed varies its content. */
static char *make_body(size_t n, unsigned seed)
{
    char *b = malloc(n + 1);
    assert_non_null(b);
    size_t i = 0;
    while (i < n) {
        char item[96];
        seed = seed * 1103515245u + 12345u;
        int m =
            snprintf(item, sizeof item, "{\"device_id\":%u,\"temperature\":%u.%u,\"battery\":%u},",
                     (seed >> 8) % 10000, (seed >> 4) % 40, (seed >> 12) % 10, (seed >> 16) % 100);
        for (int k = 0; k < m && i < n; k++)
            b[i++] = item[k];
    }
    b[n] = '\0';
    return b;
}

/* Incompressible bytes (the output may be larger than the input). */
static char *make_noise(size_t n)
{
    char *b = malloc(n + 1);
    assert_non_null(b);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b[i] = (char)(x & 0xff);
    }
    b[n] = '\0';
    return b;
}

static void gunzip_and_compare(const struct encoded *e, const char *body, size_t len)
{
    assert_true(e->len >= 18);
    assert_int_equal((unsigned char)e->body[0], 0x1f);
    assert_int_equal((unsigned char)e->body[1], 0x8b);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
    char *out = malloc(len + 16);
    zs.next_in = (Bytef *)e->body;
    zs.avail_in = (uInt)e->len;
    zs.next_out = (Bytef *)out;
    zs.avail_out = (uInt)(len + 16);
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    assert_int_equal(zs.total_out, len);
    assert_int_equal(zs.avail_in, 0);
    assert_memory_equal(out, body, len);
    inflateEnd(&zs);
    free(out);
}

/* What a brand-new compressor produces for body at level. */
static unsigned char *fresh_gzip(const char *body, size_t len, int level, size_t *outlen)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    uLong cap = deflateBound(&zs, (uLong)len);
    unsigned char *out = malloc(cap);
    zs.next_in = (Bytef *)(uintptr_t)body;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *outlen = cap - zs.avail_out;
    deflateEnd(&zs);
    return out;
}

struct qcase {
    const char *header;
    const char *coding;
    double q;
};

static void test_qvalue_table(void **state)
{
    (void)state;
    static const struct qcase cases[] = {
        {NULL, "gzip", 0.0},
        {NULL, "identity", 1.0},
        {"", "gzip", 0.0},
        {"gzip", "gzip", 1.0},
        {"GZip", "gzip", 1.0},
        {"x-gzip", "gzip", 1.0},
        {"gzip;q=0", "gzip", 0.0},
        {"gzip;q=0.000", "gzip", 0.0},
        {"gzip; q=0.5", "gzip", 0.5},
        {"gzip ;q=0.5", "gzip", 0.5},
        {"gzip;Q=0.4", "gzip", 0.4},
        {"gzip;q=1", "gzip", 1.0},
        {"gzip;q=1.000", "gzip", 1.0},
        {"gzip;level=1;q=0.7", "gzip", 0.7},
        {"deflate, gzip;q=0.8", "gzip", 0.8},
        {"  gzip  ,  deflate ", "gzip", 1.0},
        {"deflate,br", "gzip", 0.0},
        {"br;q=1.0, gzip;q=0.001", "gzip", 0.001},
        {"*", "gzip", 1.0},
        {"*;q=0.3", "gzip", 0.3},
        {"*, gzip;q=0", "gzip", 0.0},
        {"gzip;q=0, *", "gzip", 0.0},
        {"*;q=0, gzip;q=0.2", "gzip", 0.2},
        {"identity", "gzip", 0.0},
        {"gzip;q=1.5", "gzip", 0.0}, /* malformed weight: element ignored */
        {"gzip;q=0.0001", "gzip", 0.0},
        {"gzip;q=abc", "gzip", 0.0},
        {"gzip;q=", "gzip", 0.0},
        {",,gzip,,", "gzip", 1.0},
        {"gzipx", "gzip", 0.0},
        {"gzip", "identity", 1.0},
        {"identity;q=0", "identity", 0.0},
        {"*;q=0", "identity", 0.0},
        {"*;q=0, identity", "identity", 1.0},
        {"identity;q=0.5, gzip", "identity", 0.5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double q = encoding_qvalue(cases[i].header, cases[i].coding);
        if (q < cases[i].q - 1e-9 || q > cases[i].q + 1e-9)
            fail_msg("Accept-Encoding \"%s\", %s: got q=%g, want %g",
                     cases[i].header ? cases[i].header : "(none)", cases[i].coding, q, cases[i].q);
    }
}

struct decision {
    const char *header;
    size_t len;
    const char *encoding; /* NULL: identity */
    bool vary;
};

static void test_encode_decisions(void **state)
{
    (void)state;
    init_encoder(6, 1024);
    static const struct decision cases[] = {
        {"gzip", 5000, "gzip", true},
        {"gzip, deflate, br", 5000, "gzip", true},
        {"gzip", 1024, "gzip", true}, /* at the threshold */
        {"gzip", 1023, NULL, false},  /* below: never compressed, never varies */
        {NULL, 5000, NULL, true},     /* no header: identity, but the body could vary */
        {"gzip;q=0", 5000, NULL, true},
        {"br", 5000, NULL, true},
        {"*", 5000, "gzip", true},
        {"gzip;q=0.5, identity", 5000, NULL, true}, /* identity preferred */
        {"gzip;q=0.5, identity;q=0.5", 5000, "gzip", true},
        {"gzip, identity;q=0", 5000, "gzip", true},
    };
    char *body = make_body(5000, 1);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct encoded e;
        memset(&e, 0, sizeof e);
        assert_int_equal(encoder_gzip.encode(cases[i].header, body, cases[i].len, &e), 0);
        if (cases[i].encoding) {
            assert_non_null(e.content_encoding);
            assert_string_equal(e.content_encoding, cases[i].encoding);
            gunzip_and_compare(&e, body, cases[i].len);
        } else {
            if (e.content_encoding)
                fail_msg("case %zu (\"%s\", %zu bytes): unexpected %s", i,
                         cases[i].header ? cases[i].header : "(none)", cases[i].len,
                         e.content_encoding);
            assert_int_equal(e.len, cases[i].len);
            assert_memory_equal(e.body, body, cases[i].len);
        }
        assert_int_equal(e.vary, cases[i].vary);
        free(e.body);
    }
    free(body);
}

static void test_round_trip_around_threshold(void **state)
{
    (void)state;
    init_encoder(6, 1024);
    static const size_t sizes[] = {1024, 1025, 1500, 4096, 13000, 65536, 300000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char *body = make_body(sizes[i], (unsigned)i);
        struct encoded e;
        assert_int_equal(encoder_gzip.encode("gzip", body, sizes[i], &e), 0);
        assert_non_null(e.content_encoding);
        assert_true(e.len < sizes[i]); /* JSON compresses */
        gunzip_and_compare(&e, body, sizes[i]);
        free(e.body);
        free(body);
    }
    /* incompressible input grows a little and still round-trips */
    char *noise = make_noise(200000);
    struct encoded e;
    assert_int_equal(encoder_gzip.encode("gzip", noise, 200000, &e), 0);
    assert_non_null(e.content_encoding);
    gunzip_and_compare(&e, noise, 200000);
    free(e.body);
    free(noise);
}

static void test_reuse_matches_fresh_compressor(void **state)
{
    (void)state;
    init_encoder(6, 1024);
    for (unsigned i = 0; i < 60; i++) {
        size_t len = 1024 + (size_t)i * 487;
        char *body = i % 10 == 9 ? make_noise(len) : make_body(len, i);
        struct encoded e;
        assert_int_equal(encoder_gzip.encode("gzip", body, len, &e), 0);
        size_t want_len;
        unsigned char *want = fresh_gzip(body, len, 6, &want_len);
        assert_int_equal(e.len, want_len);
        assert_memory_equal(e.body, want, want_len);
        free(want);
        free(e.body);
        free(body);
    }
}

static void test_level_setting(void **state)
{
    (void)state;
    char *body = make_body(13000, 42);
    size_t sizes[2];
    const int levels[2] = {1, 9};
    for (int i = 0; i < 2; i++) {
        init_encoder(levels[i], 1024); /* same thread: the stream follows the new level */
        struct encoded e;
        assert_int_equal(encoder_gzip.encode("gzip", body, 13000, &e), 0);
        size_t want_len;
        unsigned char *want = fresh_gzip(body, 13000, levels[i], &want_len);
        assert_int_equal(e.len, want_len);
        assert_memory_equal(e.body, want, want_len);
        sizes[i] = e.len;
        free(want);
        free(e.body);
    }
    assert_true(sizes[1] < sizes[0]); /* level 9 beats level 1 on this body */
    free(body);

    struct config cfg;
    memset(&cfg, 0, sizeof cfg);
    char err[128] = "";
    cfg.gzip_level = 0;
    assert_int_equal(encoder_gzip.init(&cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "gzip level"));
    cfg.gzip_level = 10;
    assert_int_equal(encoder_gzip.init(&cfg, err, sizeof err), -1);
    init_encoder(6, 1024);
}

static void *encode_in_thread(void *arg)
{
    const char *body = arg;
    struct encoded e;
    if (encoder_gzip.encode("gzip", body, strlen(body), &e) != 0 || !e.content_encoding)
        return (void *)1;
    free(e.body);
    return NULL;
}

/* Streams made by other threads are freed at their exit (LeakSanitizer checks this). */
static void test_streams_of_exited_threads_are_freed(void **state)
{
    (void)state;
    init_encoder(6, 1024);
    char *body = make_body(4000, 7);
    for (int i = 0; i < 4; i++) {
        pthread_t t;
        void *rv = (void *)2;
        assert_int_equal(pthread_create(&t, NULL, encode_in_thread, body), 0);
        pthread_join(t, &rv);
        assert_null(rv);
    }
    free(body);
}

static void test_identity_copies(void **state)
{
    (void)state;
    const char body[] = "{\"ok\":true}";
    struct encoded e;
    assert_int_equal(encoder_identity.encode("gzip", body, strlen(body), &e), 0);
    assert_null(e.content_encoding);
    assert_false(e.vary);
    assert_int_equal(e.len, strlen(body));
    assert_ptr_not_equal(e.body, body);
    assert_string_equal(e.body, body);
    free(e.body);
}

/* A gzip build's entry: compressed once; answered as gzip or identity from the stored forms,
 * with the same headers encode gives; decoded back byte for byte. */
static void test_entry_forms(void **state)
{
    (void)state;
    init_encoder(6, 1024);
    char *body = make_body(19500, 3);
    char *gz;
    size_t gz_len;
    assert_int_equal(encoder_gzip.precompress(body, 19500, &gz, &gz_len), 0);
    assert_non_null(gz);
    assert_true(gz_len < 19500 / 3);

    static const char *accepts[] = {"gzip", NULL, "identity", "gzip;q=0", "br, gzip;q=0.5"};
    for (size_t i = 0; i < sizeof accepts / sizeof accepts[0]; i++) {
        struct encoded fresh, stored;
        assert_int_equal(encoder_gzip.encode(accepts[i], body, 19500, &fresh), 0);
        assert_int_equal(encoder_gzip.encode_entry(accepts[i], body, 19500, gz, gz_len, &stored),
                         0);
        assert_true(stored.vary);
        assert_int_equal(fresh.vary, stored.vary);
        assert_int_equal(fresh.content_encoding == NULL, stored.content_encoding == NULL);
        if (stored.content_encoding) {
            assert_int_equal(stored.len, gz_len); /* the stored bytes, not a new deflate */
            assert_memory_equal(stored.body, gz, gz_len);
        } else {
            assert_int_equal(stored.len, 19500);
            assert_memory_equal(stored.body, body, 19500);
        }
        free(fresh.body);
        free(stored.body);
    }

    size_t len = 0;
    char *back = gzip_decode(gz, gz_len, 1 << 20, &len);
    assert_non_null(back);
    assert_int_equal(len, 19500);
    assert_memory_equal(back, body, 19500);
    assert_int_equal(back[len], '\0');
    free(back);
    assert_null(gzip_decode(gz, gz_len, 19499, &len));       /* over the limit */
    assert_null(gzip_decode(gz, gz_len - 1, 1 << 20, &len)); /* truncated */
    gz[gz_len / 2] ^= 0x55;
    assert_null(gzip_decode(gz, gz_len, 1 << 20, &len)); /* corrupt */
    free(gz);

    /* small bodies and identity builds keep no gzip */
    assert_int_equal(encoder_gzip.precompress(body, 1000, &gz, &gz_len), 0);
    assert_null(gz);
    assert_int_equal(encoder_identity.precompress(body, 19500, &gz, &gz_len), 0);
    assert_null(gz);
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qvalue_table),
        cmocka_unit_test(test_encode_decisions),
        cmocka_unit_test(test_round_trip_around_threshold),
        cmocka_unit_test(test_reuse_matches_fresh_compressor),
        cmocka_unit_test(test_level_setting),
        cmocka_unit_test(test_streams_of_exited_threads_are_freed),
        cmocka_unit_test(test_identity_copies),
        cmocka_unit_test(test_entry_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
