/* bench_gzip.c - what one gzip response costs with a compressor made per response
 * (deflateInit2 + deflate + deflateEnd) and with 05-gzip's reused per-thread stream
 * (encoder_gzip: deflateReset + deflate), on a 19.5 KB JSON body like the headline page of
 * /api/readings/latest (limit=100). It also prints what an identity answer from a cached
 * gzip entry costs: inflating it per response against copying an identity body kept beside
 * it (why L1 keeps both forms, cache_tiered.c). Prints medians and p90 over many repeats;
 * a figure, not a test.
 *
 *   build-dir/tests/bench_gzip [iterations] [level] [body.json]
 *
 * With a file (say, a saved response of the headline endpoint) that body is used instead. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "apibench/clock.h"
#include "apibench/config.h"
#include "apibench/encoder.h"
#include "apibench/strbuf.h"

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* A deterministic body shaped like the latest endpoint's JSON, about target bytes. */
static char *make_body(size_t target, size_t *len)
{
    size_t cap = target + 512, n = 0;
    char *b = xmalloc(cap);
    n += (size_t)snprintf(b + n, cap - n, "{\"data\":[");
    unsigned seed = 12345;
    for (int i = 0; n < target - 200; i++) {
        seed = seed * 1103515245u + 12345u;
        n += (size_t)snprintf(
            b + n, cap - n,
            "%s{\"device_id\":%u,\"device_name\":\"sensor-%05u\",\"site_id\":%u,"
            "\"timestamp\":\"2026-11-27T09:%02u:%02u.%03uZ\",\"temperature\":%u.%u,"
            "\"humidity\":%u.%u,\"battery\":%u,\"rssi\":-%u}",
            i ? "," : "", (seed >> 8) % 10000, (seed >> 8) % 10000, (seed >> 4) % 200,
            (seed >> 3) % 60, (seed >> 9) % 60, (seed >> 5) % 1000, 15 + (seed >> 6) % 20,
            (seed >> 7) % 10, 30 + (seed >> 11) % 50, (seed >> 13) % 10, (seed >> 2) % 101,
            40 + (seed >> 10) % 60);
    }
    n += (size_t)snprintf(b + n, cap - n, "],\"next_cursor\":\"eyJ0cyI6IjIwMjYtMTEtMjcifQ\"}");
    *len = n;
    return b;
}

/* One response with a compressor made and destroyed for it. Returns the output size. */
static size_t gzip_fresh(const char *body, size_t len, int level)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    uLong cap = deflateBound(&zs, (uLong)len);
    unsigned char *out = xmalloc(cap);
    zs.next_in = (Bytef *)(uintptr_t)body;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        abort();
    size_t n = cap - zs.avail_out;
    deflateEnd(&zs);
    free(out);
    return n;
}

/* Only making and destroying a compressor: the overhead a reused stream avoids. */
static void init_end_only(int level)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    deflateEnd(&zs);
}

static size_t gzip_reused(const char *body, size_t len)
{
    struct encoded e;
    if (encoder_gzip.encode("gzip", body, len, &e) != 0 || !e.content_encoding)
        abort();
    free(e.body);
    return e.len;
}

/* Compresses body once into *gz (caller frees); returns its length. */
static size_t gzip_once(const char *body, size_t len, char **gz)
{
    struct encoded e;
    if (encoder_gzip.encode("gzip", body, len, &e) != 0 || !e.content_encoding)
        abort();
    *gz = e.body;
    return e.len;
}

/* An identity answer from a gzip-only cache entry: inflate with a reused stream into a
 * new buffer of the known identity length. */
static void inflate_reused(z_stream *zs, const char *gz, size_t gzlen, size_t len)
{
    char *out = xmalloc(len + 1);
    inflateReset(zs);
    zs->next_in = (Bytef *)(uintptr_t)gz;
    zs->avail_in = (uInt)gzlen;
    zs->next_out = (Bytef *)out;
    zs->avail_out = (uInt)len + 1;
    if (inflate(zs, Z_FINISH) != Z_STREAM_END || zs->total_out != len)
        abort();
    free(out);
}

/* An identity answer from an entry that keeps the identity body beside the gzip one. */
static void copy_identity(const char *body, size_t len)
{
    char *out = xmalloc(len + 1);
    memcpy(out, body, len);
    __asm__ volatile("" : : "r"(out) : "memory"); /* keep the copy */
    free(out);
}

/* Reads path whole; NULL when it cannot. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = xmalloc(cap);
    size_t got;
    while ((got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            b = xrealloc(b, cap *= 2);
    }
    fclose(f);
    *len = n;
    return b;
}

static void report(const char *what, int64_t *ns, int n)
{
    qsort(ns, (size_t)n, sizeof *ns, cmp_i64);
    printf("%-34s median %8.1f us   p90 %8.1f us   min %8.1f us\n", what, ns[n / 2] / 1000.0,
           ns[n * 9 / 10] / 1000.0, ns[0] / 1000.0);
}

int main(int argc, char **argv)
{
    int iterations = argc > 1 ? atoi(argv[1]) : 2000;
    int level = argc > 2 ? atoi(argv[2]) : 6;
    if (iterations < 10 || level < 1 || level > 9) {
        fprintf(stderr, "usage: bench_gzip [iterations >= 10] [level 1..9] [body.json]\n");
        return 2;
    }
    struct config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.gzip_level = level;
    cfg.gzip_threshold = 1024;
    char err[128];
    if (encoder_gzip.init(&cfg, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    size_t len;
    char *body = argc > 3 ? read_file(argv[3], &len) : make_body(19500, &len);
    if (!body || len < cfg.gzip_threshold) {
        fprintf(stderr, "bench_gzip: cannot use %s: unreadable or under 1 KB\n", argv[3]);
        return 1;
    }
    int64_t *fresh = xcalloc((size_t)iterations, sizeof(int64_t));
    int64_t *reused = xcalloc((size_t)iterations, sizeof(int64_t));
    int64_t *overhead = xcalloc((size_t)iterations, sizeof(int64_t));
    size_t out = 0;
    for (int i = 0; i < 100; i++) /* warm-up: caches, allocator, the thread's stream */
        out = gzip_fresh(body, len, level) + gzip_reused(body, len);
    /* interleaved, so that a noisy neighbour hurts both the same */
    for (int i = 0; i < iterations; i++) {
        int64_t t0 = clock_mono_ns();
        out = gzip_fresh(body, len, level);
        int64_t t1 = clock_mono_ns();
        gzip_reused(body, len);
        int64_t t2 = clock_mono_ns();
        init_end_only(level);
        int64_t t3 = clock_mono_ns();
        fresh[i] = t1 - t0;
        reused[i] = t2 - t1;
        overhead[i] = t3 - t2;
    }
    printf("body %zu bytes of JSON -> %zu bytes gzip level %d (%.1f%% smaller, ratio %.2f), "
           "%d iterations\n",
           len, out, level, 100.0 * (1.0 - (double)out / (double)len), (double)len / (double)out,
           iterations);
    report("per response init+deflate+end:", fresh, iterations);
    report("reused stream (deflateReset):", reused, iterations);
    report("deflateInit2+deflateEnd alone:", overhead, iterations);
    printf("median ratio fresh/reused: %.1fx\n",
           (double)fresh[iterations / 2] / (double)reused[iterations / 2]);

    /* Identity clients of a cached gzip entry: inflate it, or copy a stored identity body */
    char *gz;
    size_t gzlen = gzip_once(body, len, &gz);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 16) != Z_OK)
        abort();
    for (int i = 0; i < iterations; i++) {
        int64_t t0 = clock_mono_ns();
        inflate_reused(&zs, gz, gzlen, len);
        int64_t t1 = clock_mono_ns();
        copy_identity(body, len);
        int64_t t2 = clock_mono_ns();
        fresh[i] = t1 - t0;
        reused[i] = t2 - t1;
    }
    inflateEnd(&zs);
    report("identity by inflating the gzip:", fresh, iterations);
    report("identity by copying it:", reused, iterations);
    printf("an entry keeping both holds %zu + %zu bytes (%.0f%% more than gzip alone)\n", gzlen,
           len, 100.0 * (double)len / (double)gzlen);
    free(gz);
    free(fresh);
    free(reused);
    free(overhead);
    free(body);
    return 0;
}
