/* encoder_gzip.c - the gzip encoding of 05-gzip on, through zlib.
 *
 * A body is compressed when it is at least the threshold (1 KB) and the client's
 * Accept-Encoding gives gzip a q-value above 0 and not below identity's. Every body that is
 * large enough carries Vary: Accept-Encoding, compressed or not, because for it the
 * representation depends on that header; smaller bodies never vary and get no Vary.
 *
 * Each thread keeps one z_stream, made on first use and reset (deflateReset) between
 * responses: deflateInit2 allocates and clears about 256 KB of window and hash tables, which
 * costs far more than compressing a 13 KB body (scripts/bench_gzip.c measures both). The
 * stream is freed by a pthread key destructor when the thread exits.
 *
 * Cached bodies are compressed by precompress, once when their cache entry is filled, with
 * the same stream; encode_entry then sends that stored encoding, so a cached response costs
 * a copy instead of a deflate (about 130 us for the 19.5 KB headline page, bench_gzip). */
#include "apibench/encoder.h"

#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "apibench/config.h"
#include "apibench/strbuf.h"

static int gzip_level = 6;
static size_t gzip_threshold = 1024;

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t stream_key;
static _Thread_local z_stream *thread_stream;
static _Thread_local int thread_level; /* the level thread_stream is set to */

/* Runs at thread exit with the thread's stream. */
static void stream_destroy(void *p)
{
    z_stream *zs = p;
    deflateEnd(zs);
    free(zs);
}

static void make_key(void)
{
    pthread_key_create(&stream_key, stream_destroy);
}

/* The calling thread's stream, created on first use. NULL when zlib cannot initialise. */
static z_stream *stream_get(void)
{
    if (thread_stream)
        return thread_stream;
    pthread_once(&key_once, make_key);
    z_stream *zs = xcalloc(1, sizeof *zs);
    /* windowBits 15 + 16: a gzip wrapper rather than zlib's */
    if (deflateInit2(zs, gzip_level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(zs);
        return NULL;
    }
    pthread_setspecific(stream_key, zs);
    thread_stream = zs;
    thread_level = gzip_level;
    return zs;
}

static int gzip_init(const struct config *cfg, char *err, size_t errlen)
{
    if (cfg->gzip_level < 1 || cfg->gzip_level > 9) {
        snprintf(err, errlen, "invalid gzip level %d: must be 1..9", cfg->gzip_level);
        return -1;
    }
    gzip_level = cfg->gzip_level;
    gzip_threshold = cfg->gzip_threshold;
    return 0;
}

static void identity(const char *body, size_t len, struct encoded *out)
{
    out->body = xmalloc(len + 1);
    if (len)
        memcpy(out->body, body, len);
    out->body[len] = '\0';
    out->len = len;
    out->content_encoding = NULL;
}

/* True when a body of len bytes goes to this client gzip'd: large enough, and gzip has a
 * q-value above 0 and not below identity's. */
static bool sends_gzip(const char *accept_encoding, size_t len)
{
    if (len < gzip_threshold)
        return false;
    double q = encoding_qvalue(accept_encoding, "gzip");
    return q > 0.0 && q >= encoding_qvalue(accept_encoding, "identity");
}

/* Compresses body with the thread's stream into a malloc'd *gz. Returns 0, or -1 when zlib
 * cannot be initialised or fails (nothing to free then). */
static int deflate_body(const char *body, size_t len, char **gz, size_t *gz_len)
{
    z_stream *zs = stream_get();
    if (!zs)
        return -1;
    deflateReset(zs);
    if (thread_level != gzip_level) { /* the setting changed since the stream was made */
        deflateParams(zs, gzip_level, Z_DEFAULT_STRATEGY);
        thread_level = gzip_level;
    }
    uLong cap = deflateBound(zs, (uLong)len);
    unsigned char *dst = xmalloc(cap);
    zs->next_in = (Bytef *)(uintptr_t)body; /* zlib does not write through next_in */
    zs->avail_in = (uInt)len;
    zs->next_out = dst;
    zs->avail_out = (uInt)cap;
    if (deflate(zs, Z_FINISH) != Z_STREAM_END) {
        /* cannot happen with a deflateBound buffer */
        free(dst);
        deflateReset(zs);
        return -1;
    }
    *gz = (char *)dst;
    *gz_len = cap - zs->avail_out;
    return 0;
}

static int gzip_encode(const char *accept_encoding, const char *body, size_t len,
                       struct encoded *out)
{
    out->vary = len >= gzip_threshold;
    char *gz;
    size_t gz_len;
    if (!sends_gzip(accept_encoding, len)) {
        identity(body, len, out);
        return 0;
    }
    if (deflate_body(body, len, &gz, &gz_len) != 0) {
        if (!thread_stream)
            return -1;
        identity(body, len, out); /* send the body as it is */
        return 0;
    }
    out->body = gz;
    out->len = gz_len;
    out->content_encoding = "gzip";
    return 0;
}

static int gzip_precompress(const char *body, size_t len, char **gzip, size_t *gzip_len)
{
    *gzip = NULL;
    *gzip_len = 0;
    if (len < gzip_threshold)
        return 0;
    if (deflate_body(body, len, gzip, gzip_len) != 0)
        return thread_stream ? 0 : -1; /* a zlib failure leaves the entry identity-only */
    return 0;
}

static int gzip_encode_entry(const char *accept_encoding, const char *body, size_t len,
                             const char *gzip, size_t gzip_len, struct encoded *out)
{
    out->vary = len >= gzip_threshold;
    if (!gzip || !sends_gzip(accept_encoding, len)) {
        identity(body, len, out);
        return 0;
    }
    identity(gzip, gzip_len, out); /* a copy: the response owns its buffer */
    out->content_encoding = "gzip";
    return 0;
}

char *gzip_decode(const char *gz, size_t gzlen, size_t max_len, size_t *len)
{
    /* the trailer's last 4 bytes give the decoded length (mod 2^32, little-endian) */
    if (gzlen < 18)
        return NULL;
    const unsigned char *t = (const unsigned char *)gz + gzlen - 4;
    size_t isize = (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 | (size_t)t[3] << 24;
    if (isize > max_len)
        return NULL;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 16) != Z_OK)
        return NULL;
    char *out = xmalloc(isize + 1);
    zs.next_in = (Bytef *)(uintptr_t)gz;
    zs.avail_in = (uInt)gzlen;
    zs.next_out = (Bytef *)out;
    zs.avail_out = (uInt)isize + 1; /* one spare byte shows a body longer than its trailer says */
    int rc = inflate(&zs, Z_FINISH);
    bool ok = rc == Z_STREAM_END && zs.total_out == isize && zs.avail_in == 0;
    inflateEnd(&zs);
    if (!ok) {
        free(out);
        return NULL;
    }
    out[isize] = '\0';
    *len = isize;
    return out;
}

const struct encoder_ops encoder_gzip = {
    .name = "gzip",
    .init = gzip_init,
    .encode = gzip_encode,
    .precompress = gzip_precompress,
    .encode_entry = gzip_encode_entry,
};

/* --- Accept-Encoding (RFC 9110 12.5.3) */

static const char *skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Parses a qvalue ("0", "0.5", "1.000") at p up to end; -1 when malformed. */
static double parse_qvalue(const char *p, const char *end)
{
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (p == end || (*p != '0' && *p != '1'))
        return -1;
    double q = *p - '0';
    p++;
    if (p < end) {
        if (*p != '.')
            return -1;
        p++;
        double scale = 0.1;
        for (int digits = 0; p < end; p++, digits++) {
            if (digits == 3 || !isdigit((unsigned char)*p))
                return -1;
            q += (*p - '0') * scale;
            scale /= 10;
        }
    }
    return q > 1.0 ? -1 : q;
}

static bool token_is(const char *tok, size_t n, const char *name)
{
    return strlen(name) == n && strncasecmp(tok, name, n) == 0;
}

/* True when the token names coding (x-gzip is gzip, RFC 9110 8.4.1.3). */
static bool names_coding(const char *tok, size_t n, const char *coding)
{
    if (token_is(tok, n, coding))
        return true;
    return strcasecmp(coding, "gzip") == 0 && token_is(tok, n, "x-gzip");
}

double encoding_qvalue(const char *accept_encoding, const char *coding)
{
    bool is_identity = strcasecmp(coding, "identity") == 0;
    /* no header: identity only (as most servers do, nothing is compressed unasked) */
    if (!accept_encoding)
        return is_identity ? 1.0 : 0.0;

    double explicit_q = -1, star_q = -1;
    const char *p = accept_encoding;
    while (*p) {
        /* one element: OWS token OWS *( ";" OWS param ) up to "," */
        const char *elem_end = strchr(p, ',');
        if (!elem_end)
            elem_end = p + strlen(p);
        const char *tok = skip_ows(p);
        const char *tok_end = tok;
        while (tok_end < elem_end && *tok_end != ';' && *tok_end != ' ' && *tok_end != '\t')
            tok_end++;
        size_t tok_len = (size_t)(tok_end - tok);

        double q = 1.0;
        const char *param = strchr(tok_end, ';');
        while (param && param < elem_end) {
            const char *name = skip_ows(param + 1);
            const char *next = strchr(name, ';');
            if (!next || next > elem_end)
                next = elem_end;
            if ((name[0] == 'q' || name[0] == 'Q')) {
                const char *eq = skip_ows(name + 1);
                if (*eq == '=')
                    q = parse_qvalue(skip_ows(eq + 1), next);
            }
            param = next < elem_end ? next : NULL;
        }

        if (tok_len > 0 && q >= 0) { /* empty or malformed elements are ignored */
            if (names_coding(tok, tok_len, coding)) {
                if (explicit_q < 0)
                    explicit_q = q; /* the first mention wins */
            } else if (token_is(tok, tok_len, "*")) {
                if (star_q < 0)
                    star_q = q;
            }
        }
        p = *elem_end ? elem_end + 1 : elem_end;
    }
    if (explicit_q >= 0)
        return explicit_q;
    if (star_q >= 0)
        return star_q;
    /* identity is acceptable unless excluded explicitly or by "*;q=0" */
    return is_identity ? 1.0 : 0.0;
}
