/* render.c - PostgreSQL text to JSON values, and a compact serialiser that keeps doubles
 * in their shortest round-trip form (jansson's own prints 17 significant digits). */
#include "apibench/render.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apibench/strbuf.h"

int render_timestamp(const char *pg, char *out, size_t outlen)
{
    /* "YYYY-MM-DD HH:MM:SS[.ffffff]+00" */
    size_t n = strlen(pg);
    if (n < 22 || pg[10] != ' ' || strcmp(pg + n - 3, "+00") != 0)
        return -1;
    size_t body = n - 3;
    if (body + 2 > outlen)
        return -1;
    memcpy(out, pg, body);
    out[10] = 'T';
    out[body] = 'Z';
    out[body + 1] = '\0';
    return 0;
}

json_t *render_ts(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return json_null();
    const char *v = PQgetvalue(r, row, col);
    char iso[48];
    if (render_timestamp(v, iso, sizeof iso) != 0)
        return json_string(v);
    return json_string(iso);
}

json_t *render_real(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return json_null();
    const char *v = PQgetvalue(r, row, col);
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || *end || end == v)
        return json_null(); /* NaN or Infinity: not representable in JSON */
    return json_real(d);
}

json_t *render_int(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return json_null();
    return json_integer(strtoll(PQgetvalue(r, row, col), NULL, 10));
}

json_t *render_text(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return json_null();
    return json_string(PQgetvalue(r, row, col));
}

static void put_string(struct strbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    strbuf_append(b, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        const char *esc = NULL;
        char u[7];
        switch (ch) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default:
            if (ch < 0x20) {
                u[0] = '\\'; u[1] = 'u'; u[2] = '0'; u[3] = '0';
                u[4] = hex[ch >> 4]; u[5] = hex[ch & 15]; u[6] = '\0';
                esc = u;
            }
        }
        if (esc) {
            strbuf_append(b, s + start, i - start);
            strbuf_append(b, esc, strlen(esc));
            start = i + 1;
        }
    }
    strbuf_append(b, s + start, n - start);
    strbuf_append(b, "\"", 1);
}

/* The shortest decimal that reads back as d, as PostgreSQL prints doubles; plain notation
 * (20, not 2e+01) between 1e-4 and 1e15, as PostgreSQL does. */
static void put_real(struct strbuf *b, double d)
{
    char buf[64];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    double mag = fabs(d);
    if (strchr(buf, 'e') && mag >= 1e-4 && mag < 1e15) {
        int exponent = (int)floor(log10(mag));
        int decimals = prec - 1 - exponent;
        snprintf(buf, sizeof buf, "%.*f", decimals > 0 ? decimals : 0, d);
    }
    strbuf_append(b, buf, strlen(buf));
}

static void put_value(struct strbuf *b, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *item;
        int first = 1;
        strbuf_append(b, "{", 1);
        json_t *obj = (json_t *)(uintptr_t)v; /* jansson's iteration API is not const */
        json_object_foreach(obj, key, item) {
            if (!first)
                strbuf_append(b, ",", 1);
            first = 0;
            put_string(b, key, strlen(key));
            strbuf_append(b, ":", 1);
            put_value(b, item);
        }
        strbuf_append(b, "}", 1);
        break;
    }
    case JSON_ARRAY:
        strbuf_append(b, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                strbuf_append(b, ",", 1);
            put_value(b, json_array_get(v, i));
        }
        strbuf_append(b, "]", 1);
        break;
    case JSON_STRING:
        put_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        strbuf_appendf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        put_real(b, json_real_value(v));
        break;
    case JSON_TRUE:
        strbuf_append(b, "true", 4);
        break;
    case JSON_FALSE:
        strbuf_append(b, "false", 5);
        break;
    case JSON_NULL:
        strbuf_append(b, "null", 4);
        break;
    }
}

char *render_json(const json_t *v, size_t *len)
{
    struct strbuf b = {0};
    if (v)
        put_value(&b, v);
    else
        strbuf_append(&b, "null", 4);
    return strbuf_steal(&b, len);
}

char *render_error(int status, const char *message, size_t *len)
{
    /* Messages may quote client input: keep them printable ASCII so the body stays JSON. */
    char clean[256];
    size_t n = 0;
    for (const char *p = message ? message : ""; *p && n + 1 < sizeof clean; p++)
        clean[n++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
    clean[n] = '\0';
    json_t *inner = json_object();
    json_object_set_new(inner, "status", json_integer(status));
    json_object_set_new(inner, "message", json_string(clean));
    json_t *outer = json_object();
    json_object_set_new(outer, "error", inner);
    char *s = render_json(outer, len);
    json_decref(outer);
    return s;
}
