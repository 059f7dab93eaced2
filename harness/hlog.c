/* hlog.c - HdrHistogram interval logs (see hlog.h). */
#include "hlog.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "apibench/strbuf.h"

#define V2_ENCODING_COOKIE 0x1c849313u    /* 0x1c849303 | word-size bits 0x10 */
#define V2_COMPRESSION_COOKIE 0x1c849314u /* 0x1c849304 | word-size bits 0x10 */
#define COOKIE_BASE_MASK (~0xf0u)         /* readers ignore the word-size bits */
#define ENCODING_HEADER_LEN 40
#define COMPRESSION_HEADER_LEN 8
#define LEB128_MAX 9

/* ---------------------------------------------------------------- big-endian fields */

static void put_be(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | p[i];
    return v;
}

/* ---------------------------------------------------------------- zigzag LEB128 */

/* HdrHistogram's LEB128: 7 bits a byte with a continuation bit, except that a 9th byte
 * carries 8 bits, so any 64-bit value fits in 9 bytes. */
static size_t zigzag_put(uint8_t *p, int64_t signed_value)
{
    uint64_t v = ((uint64_t)signed_value << 1) ^ (uint64_t)(signed_value >> 63);
    size_t n = 0;
    while (n < LEB128_MAX - 1 && v >> 7) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Reads one value at *pos (< len); returns -1 when it runs past len. */
static int zigzag_get(const uint8_t *p, size_t len, size_t *pos, int64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < LEB128_MAX; i++) {
        if (*pos >= len)
            return -1;
        uint8_t b = p[(*pos)++];
        if (i == LEB128_MAX - 1) {
            v |= (uint64_t)b << 56;
            break;
        }
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80))
            break;
    }
    *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
    return 0;
}

/* ---------------------------------------------------------------- V2 encoding */

uint8_t *hlog_encode(const struct hist *h, size_t *len)
{
    /* counts up to the last non-zero one */
    int limit = 0;
    for (int i = hist_counts_len() - 1; i >= 0; i--)
        if (hist_count_at(h, i) != 0) {
            limit = i + 1;
            break;
        }
    uint8_t *buf = xmalloc(ENCODING_HEADER_LEN + (size_t)limit * LEB128_MAX);
    size_t pos = ENCODING_HEADER_LEN;
    for (int i = 0; i < limit;) {
        int64_t c = hist_count_at(h, i++);
        if (c != 0) {
            pos += zigzag_put(buf + pos, c);
            continue;
        }
        int64_t zeros = 1;
        while (i < limit && hist_count_at(h, i) == 0) {
            zeros++;
            i++;
        }
        pos += zigzag_put(buf + pos, -zeros);
    }
    double ratio = 1.0;
    uint64_t ratio_bits;
    memcpy(&ratio_bits, &ratio, sizeof ratio_bits);
    put_be(buf, V2_ENCODING_COOKIE, 4);
    put_be(buf + 4, pos - ENCODING_HEADER_LEN, 4); /* payload length in bytes */
    put_be(buf + 8, 0, 4);                         /* normalizing index offset */
    put_be(buf + 12, HIST_SIGNIFICANT_DIGITS, 4);
    put_be(buf + 16, 1, 8); /* lowest discernible value: 1 us */
    put_be(buf + 24, (uint64_t)HIST_MAX_US, 8);
    put_be(buf + 32, ratio_bits, 8);
    *len = pos;
    return buf;
}

int hlog_decode_add(const uint8_t *data, size_t len, struct hist *h, char *err, size_t errlen)
{
    if (len < ENCODING_HEADER_LEN ||
        ((uint32_t)get_be(data, 4) & COOKIE_BASE_MASK) != (V2_ENCODING_COOKIE & COOKIE_BASE_MASK)) {
        snprintf(err, errlen, "not a V2 histogram encoding");
        return -1;
    }
    size_t payload = (size_t)get_be(data + 4, 4);
    int64_t digits = (int32_t)get_be(data + 12, 4);
    int64_t lowest = (int64_t)get_be(data + 16, 8), highest = (int64_t)get_be(data + 24, 8);
    if (digits != HIST_SIGNIFICANT_DIGITS || lowest != 1 || highest != HIST_MAX_US ||
        get_be(data + 8, 4) != 0) {
        snprintf(err, errlen,
                 "histogram configurations differ: this one has %lld significant digits, "
                 "values %lld..%lld; apibench's has %d, 1..%lld",
                 (long long)digits, (long long)lowest, (long long)highest,
                 HIST_SIGNIFICANT_DIGITS, (long long)HIST_MAX_US);
        return -1;
    }
    if (payload > len - ENCODING_HEADER_LEN) {
        snprintf(err, errlen, "truncated histogram encoding");
        return -1;
    }
    const uint8_t *p = data + ENCODING_HEADER_LEN;
    size_t pos = 0;
    int index = 0;
    while (pos < payload) {
        int64_t v;
        if (zigzag_get(p, payload, &pos, &v) < 0) {
            snprintf(err, errlen, "truncated count in histogram encoding");
            return -1;
        }
        int64_t span = v < 0 ? -v : 1;
        if (span > hist_counts_len() - index) {
            snprintf(err, errlen, "histogram encoding longer than the layout");
            return -1;
        }
        if (v > 0)
            hist_add_at(h, index, v);
        index += (int)span;
    }
    return 0;
}

/* ---------------------------------------------------------------- compression, base64 */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64_put(struct strbuf *out, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        char q[4] = {b64_alphabet[v >> 18 & 63], b64_alphabet[v >> 12 & 63],
                     i + 1 < len ? b64_alphabet[v >> 6 & 63] : '=',
                     i + 2 < len ? b64_alphabet[v & 63] : '='};
        strbuf_append(out, q, 4);
    }
}

static int b64_value(char c)
{
    const char *at = c ? strchr(b64_alphabet, c) : NULL;
    return at ? (int)(at - b64_alphabet) : -1;
}

/* Decodes padded base64 text[0..len) into a new buffer. Returns NULL when malformed. */
static uint8_t *base64_get(const char *text, size_t len, size_t *outlen)
{
    if (len % 4 != 0)
        return NULL;
    uint8_t *out = xmalloc(len / 4 * 3 + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            bool tail = i + 4 == len && k >= 2 && text[i + k] == '=';
            if (tail && (k == 3 || text[i + 3] == '=')) {
                v[k] = 0;
                pad++;
            } else if ((v[k] = b64_value(text[i + k])) < 0) {
                free(out);
                return NULL;
            }
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        out[n++] = (uint8_t)(w >> 16);
        if (pad < 2)
            out[n++] = (uint8_t)(w >> 8);
        if (pad < 1)
            out[n++] = (uint8_t)w;
    }
    *outlen = n;
    return out;
}

/* Appends base64 of the compressed form of a V2 encoding to out. */
static void put_compressed(struct strbuf *out, const uint8_t *enc, size_t len)
{
    uLongf zlen = compressBound((uLong)len);
    uint8_t *buf = xmalloc(COMPRESSION_HEADER_LEN + zlen);
    if (compress(buf + COMPRESSION_HEADER_LEN, &zlen, enc, (uLong)len) != Z_OK)
        abort(); /* only out of memory: the buffer is compressBound's size */
    put_be(buf, V2_COMPRESSION_COOKIE, 4);
    put_be(buf + 4, zlen, 4);
    base64_put(out, buf, COMPRESSION_HEADER_LEN + zlen);
    free(buf);
}

/* The V2 encoding inside base64 text of a compressed histogram (new buffer), or NULL
 * with err set. */
static uint8_t *get_compressed(const char *text, size_t textlen, size_t *len, char *err,
                               size_t errlen)
{
    size_t n;
    uint8_t *raw = base64_get(text, textlen, &n), *enc = NULL;
    if (!raw || n < COMPRESSION_HEADER_LEN ||
        ((uint32_t)get_be(raw, 4) & COOKIE_BASE_MASK) != (V2_COMPRESSION_COOKIE & COOKIE_BASE_MASK)) {
        snprintf(err, errlen, "not a base64 compressed V2 histogram");
        goto out;
    }
    size_t zlen = (size_t)get_be(raw + 4, 4);
    if (zlen > n - COMPRESSION_HEADER_LEN) {
        snprintf(err, errlen, "truncated compressed histogram");
        goto out;
    }
    /* the encoding is at most the header plus 9 bytes per count */
    uLongf cap = ENCODING_HEADER_LEN + (uLongf)hist_counts_len() * LEB128_MAX;
    enc = xmalloc(cap);
    if (uncompress(enc, &cap, raw + COMPRESSION_HEADER_LEN, (uLong)zlen) != Z_OK) {
        snprintf(err, errlen, "cannot inflate a compressed histogram");
        free(enc);
        enc = NULL;
        goto out;
    }
    *len = cap;
out:
    free(raw);
    return enc;
}

/* ---------------------------------------------------------------- series */

void hlog_series_init(struct hlog_series *s, int64_t start_ns)
{
    memset(s, 0, sizeof *s);
    s->start_ns = start_ns;
    s->second = -1;
}

void hlog_series_add_chunk(struct hlog_series *s, int second, const uint8_t *data, size_t len)
{
    if (s->nchunks == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->chunks = xrealloc(s->chunks, (size_t)s->cap * sizeof *s->chunks);
    }
    uint8_t *copy = xmalloc(len);
    memcpy(copy, data, len);
    s->chunks[s->nchunks++] = (struct hlog_chunk){.second = second, .len = len, .data = copy};
}

/* Encodes the current interval into a chunk (if it holds anything) and empties it. */
static void flush_current(struct hlog_series *s)
{
    if (!s->current || hist_count(s->current) == 0)
        return;
    size_t len;
    uint8_t *enc = hlog_encode(s->current, &len);
    hlog_series_add_chunk(s, s->second, enc, len);
    free(enc);
    hist_reset(s->current);
}

void hlog_series_record(struct hlog_series *s, int64_t when_ns, int64_t value_us)
{
    int64_t sec = when_ns > s->start_ns ? (when_ns - s->start_ns) / 1000000000LL : 0;
    if (sec > s->second) {
        flush_current(s);
        s->second = (int)sec;
    }
    if (!s->current)
        s->current = hist_new();
    hist_record(s->current, value_us);
}

void hlog_series_close(struct hlog_series *s)
{
    flush_current(s);
    hist_free(s->current);
    s->current = NULL;
}

void hlog_series_take(struct hlog_series *dst, struct hlog_series *src)
{
    hlog_series_close(src);
    for (int i = 0; i < src->nchunks; i++) {
        if (dst->nchunks == dst->cap) {
            dst->cap = dst->cap ? 2 * dst->cap : 16;
            dst->chunks = xrealloc(dst->chunks, (size_t)dst->cap * sizeof *dst->chunks);
        }
        dst->chunks[dst->nchunks++] = src->chunks[i];
    }
    free(src->chunks);
    src->chunks = NULL;
    src->nchunks = src->cap = 0;
}

void hlog_series_free(struct hlog_series *s)
{
    for (int i = 0; i < s->nchunks; i++)
        free(s->chunks[i].data);
    free(s->chunks);
    hist_free(s->current);
    memset(s, 0, sizeof *s);
    s->second = -1;
}

/* ---------------------------------------------------------------- writing */

static int by_second(const void *a, const void *b)
{
    int x = ((const struct hlog_chunk *)a)->second, y = ((const struct hlog_chunk *)b)->second;
    return (x > y) - (x < y);
}

static void write_line(FILE *out, const char *tag, double start_s, double length_s,
                       const struct hist *h)
{
    struct strbuf b64 = {0};
    size_t len;
    uint8_t *enc = hlog_encode(h, &len);
    put_compressed(&b64, enc, len);
    free(enc);
    if (tag)
        fprintf(out, "Tag=%s,", tag);
    int64_t max = hist_count(h) ? hist_highest_equivalent(hist_max(h)) : 0;
    fprintf(out, "%.3f,%.3f,%.3f,%.*s\n", start_s, length_s, (double)max / 1000.0,
            (int)b64.len, b64.data);
    strbuf_free(&b64);
}

int hlog_write(FILE *out, double start_epoch_s, const struct hlog_series *series,
               const struct hlog_tagged *tagged, int ntagged, double window_s)
{
    time_t secs = (time_t)start_epoch_s;
    struct tm tm;
    char when[64];
    gmtime_r(&secs, &tm);
    strftime(when, sizeof when, "%a %b %d %H:%M:%S UTC %Y", &tm);
    fprintf(out, "#[Histogram log format version 1.3]\n");
    fprintf(out, "#[StartTime: %.3f (seconds since epoch), %s]\n", start_epoch_s, when);
    fprintf(out, "#[BaseTime: %.3f (seconds since epoch)]\n", start_epoch_s);
    fprintf(out, "#[apibench: values in microseconds; Interval_Max in milliseconds]\n");
    fprintf(out, "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\","
                 "\"Interval_Compressed_Histogram\"\n");
    struct hlog_chunk *sorted = NULL;
    if (series->nchunks > 0) {
        sorted = xmalloc((size_t)series->nchunks * sizeof *sorted);
        memcpy(sorted, series->chunks, (size_t)series->nchunks * sizeof *sorted);
        qsort(sorted, (size_t)series->nchunks, sizeof *sorted, by_second);
    }
    struct hist *sum = hist_new();
    char err[256];
    int rc = 0;
    for (int i = 0; i < series->nchunks;) {
        int second = sorted[i].second;
        hist_reset(sum);
        for (; i < series->nchunks && sorted[i].second == second; i++)
            if (hlog_decode_add(sorted[i].data, sorted[i].len, sum, err, sizeof err) < 0)
                rc = -1; /* cannot happen: the chunks are our own encodings */
        write_line(out, NULL, (double)second, 1.0, sum);
    }
    for (int i = 0; i < ntagged; i++)
        write_line(out, tagged[i].tag, 0.0, window_s, tagged[i].h);
    hist_free(sum);
    free(sorted);
    return rc < 0 || ferror(out) ? -1 : 0;
}

/* ---------------------------------------------------------------- reading */

void hlog_file_free(struct hlog_file *f)
{
    hlog_series_free(&f->intervals);
}

/* Parses one interval line (without its newline). Returns 0, or -1 with err set. */
static int read_interval(struct hlog_file *f, char *line, struct hist *scratch,
                         void (*on_tagged)(const char *, const struct hist *, void *), void *ctx,
                         char *err, size_t errlen)
{
    char tag[HLOG_TAG_MAX] = "";
    char *p = line;
    if (strncmp(p, "Tag=", 4) == 0) {
        char *comma = strchr(p, ',');
        if (!comma || (size_t)(comma - p - 4) >= sizeof tag) {
            snprintf(err, errlen, "bad tag");
            return -1;
        }
        memcpy(tag, p + 4, (size_t)(comma - p - 4));
        tag[comma - p - 4] = '\0';
        p = comma + 1;
    }
    char *end;
    errno = 0;
    double start = strtod(p, &end);
    if (end == p || *end != ',')
        goto bad;
    p = end + 1;
    double length = strtod(p, &end);
    if (end == p || *end != ',')
        goto bad;
    p = end + 1;
    (void)strtod(p, &end); /* Interval_Max: informative */
    if (end == p || *end != ',')
        goto bad;
    p = end + 1;
    size_t enclen;
    uint8_t *enc = get_compressed(p, strlen(p), &enclen, err, errlen);
    if (!enc)
        return -1;
    int rc = 0;
    if (tag[0]) {
        hist_reset(scratch);
        rc = hlog_decode_add(enc, enclen, scratch, err, errlen);
        if (rc == 0 && on_tagged)
            on_tagged(tag, scratch, ctx);
    } else {
        /* check the configuration now; the chunk is decoded again when written */
        hist_reset(scratch);
        rc = hlog_decode_add(enc, enclen, scratch, err, errlen);
        if (rc == 0) {
            hlog_series_add_chunk(&f->intervals, (int)floor(start + 1e-6), enc, enclen);
            if (start + length > f->end_s)
                f->end_s = start + length;
        }
    }
    free(enc);
    return rc;
bad:
    snprintf(err, errlen, "malformed interval line");
    return -1;
}

int hlog_read(const char *path, struct hlog_file *f,
              void (*on_tagged)(const char *tag, const struct hist *h, void *ctx), void *ctx,
              char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    hlog_series_init(&f->intervals, 0);
    FILE *in = fopen(path, "r");
    if (!in) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    struct hist *scratch = hist_new();
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0, rc = 0;
    bool have_base = false;
    char why[256];
    while ((n = getline(&line, &cap, in)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        double t;
        if (sscanf(line, "#[BaseTime: %lf", &t) == 1) {
            f->start_epoch_s = t;
            have_base = true;
        } else if (sscanf(line, "#[StartTime: %lf", &t) == 1) {
            if (!have_base)
                f->start_epoch_s = t;
        } else if (line[0] == '#' || line[0] == '"' || line[0] == '\0') {
            continue;
        } else if (read_interval(f, line, scratch, on_tagged, ctx, why, sizeof why) < 0) {
            snprintf(err, errlen, "%s line %d: %s", path, lineno, why);
            rc = -1;
            break;
        }
    }
    free(line);
    hist_free(scratch);
    fclose(in);
    if (rc < 0)
        hlog_file_free(f);
    return rc;
}
