/* cursor.c - opaque page cursors: base64url of "v1|timestamp|id|offset". */
#include "apibench/cursor.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64_value(char ch)
{
    const char *p = ch ? strchr(b64url, ch) : NULL;
    return p ? (int)(p - b64url) : -1;
}

/* Encodes n bytes of in; out must hold 4*ceil(n/3)+1. */
static size_t b64_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = b64url[(v >> 18) & 63];
        out[o++] = b64url[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = b64url[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = b64url[v & 63];
    }
    out[o] = '\0';
    return o;
}

/* Decodes unpadded base64url. Returns the byte count, or -1. Rejects non-canonical
 * trailing bits so that each cursor has exactly one spelling. */
static long b64_decode(const char *in, unsigned char *out, size_t outcap)
{
    size_t n = strlen(in), o = 0;
    if (n % 4 == 1)
        return -1;
    for (size_t i = 0; i < n; i += 4) {
        int v[4] = {0, 0, 0, 0};
        size_t chunk = n - i < 4 ? n - i : 4;
        for (size_t k = 0; k < chunk; k++)
            if ((v[k] = b64_value(in[i + k])) < 0)
                return -1;
        uint32_t bits = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
                        (uint32_t)v[3];
        size_t bytes = chunk - 1;
        if ((chunk == 2 && (bits & 0xffff)) || (chunk == 3 && (bits & 0xff)))
            return -1;
        if (o + bytes > outcap)
            return -1;
        for (size_t k = 0; k < bytes; k++)
            out[o++] = (unsigned char)(bits >> (16 - 8 * k));
    }
    return (long)o;
}

static bool digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

bool cursor_timestamp_valid(const char *s)
{
    /* 2026-11-27T10:00:00[.ffffff]Z */
    if (strlen(s) < 20 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
        !digits(s + 8, 2) || s[10] != 'T' || !digits(s + 11, 2) || s[13] != ':' ||
        !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
        return false;
    int year = atoi(s), month = atoi(s + 5), day = atoi(s + 8), hour = atoi(s + 11),
        min = atoi(s + 14), sec = atoi(s + 17);
    /* a real calendar date (PostgreSQL refuses 2026-02-31 and year 0 with an error) */
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (year < 1 || month < 1 || month > 12 || day < 1 ||
        day > mdays[month - 1] + (month == 2 && leap) || hour > 23 || min > 59 || sec > 59)
        return false;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        int n = 0;
        while (isdigit((unsigned char)p[n]))
            n++;
        if (n < 1 || n > 6)
            return false;
        p += n;
    }
    return p[0] == 'Z' && p[1] == '\0';
}

int cursor_encode(const struct cursor *c, char *out, size_t outlen)
{
    char plain[96];
    if (!cursor_timestamp_valid(c->timestamp) || c->reading_id <= 0 || c->offset < 0 ||
        c->offset > CURSOR_MAX_OFFSET)
        return -1;
    int n = snprintf(plain, sizeof plain, "v1|%s|%" PRId64 "|%" PRId64, c->timestamp,
                     c->reading_id, c->offset);
    if (n < 0 || (size_t)n >= sizeof plain)
        return -1;
    if (outlen < ((size_t)n + 2) / 3 * 4 + 1)
        return -1;
    b64_encode((const unsigned char *)plain, (size_t)n, out);
    return 0;
}

/* Parses a decimal int64 in [min, max] spanning all of s. */
static int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (!*s || !isdigit((unsigned char)*s) || (s[0] == '0' && s[1]))
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int cursor_decode(const char *text, struct cursor *c)
{
    unsigned char plain[97];
    if (!text || strlen(text) > CURSOR_TEXT_MAX)
        return -1;
    long n = b64_decode(text, plain, sizeof plain - 1);
    if (n <= 0)
        return -1;
    plain[n] = '\0';
    if (memchr(plain, '\0', (size_t)n))
        return -1;
    char *s = (char *)plain;
    if (strncmp(s, "v1|", 3) != 0)
        return -1;
    char *ts = s + 3;
    char *bar1 = strchr(ts, '|');
    if (!bar1)
        return -1;
    *bar1 = '\0';
    char *id = bar1 + 1;
    char *bar2 = strchr(id, '|');
    if (!bar2)
        return -1;
    *bar2 = '\0';
    char *off = bar2 + 1;
    if (strlen(ts) >= sizeof c->timestamp || !cursor_timestamp_valid(ts))
        return -1;
    struct cursor tmp;
    memset(&tmp, 0, sizeof tmp);
    strcpy(tmp.timestamp, ts);
    if (parse_i64(id, 1, INT64_MAX, &tmp.reading_id) != 0 ||
        parse_i64(off, 0, CURSOR_MAX_OFFSET, &tmp.offset) != 0)
        return -1;
    *c = tmp;
    return 0;
}
