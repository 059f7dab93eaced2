/* verify.c - HTTP exchanges, header rules and JSON shapes for `apibench verify`. */
#include "verify.h"

#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "apibench/strbuf.h"

struct capture {
    struct verify_response *resp;
    struct strbuf body;
};

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
    struct capture *c = userdata;
    strbuf_append(&c->body, data, size * n);
    return size * n;
}

static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
    struct capture *c = userdata;
    struct verify_response *r = c->resp;
    size_t len = size * n;
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* a new response (after a 100 Continue, say): forget earlier headers */
        for (int i = 0; i < r->nheaders; i++) {
            free(r->headers[i].name);
            free(r->headers[i].value);
        }
        r->nheaders = 0;
        return len;
    }
    const char *colon = memchr(data, ':', len);
    if (!colon || r->nheaders == VERIFY_MAX_HEADERS)
        return len;
    size_t nlen = (size_t)(colon - data);
    const char *v = colon + 1;
    size_t vlen = len - nlen - 1;
    while (vlen > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        vlen--;
    }
    while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
        vlen--;
    struct verify_header *h = &r->headers[r->nheaders++];
    h->name = xmalloc(nlen + 1);
    memcpy(h->name, data, nlen);
    h->name[nlen] = '\0';
    h->value = xmalloc(vlen + 1);
    memcpy(h->value, v, vlen);
    h->value[vlen] = '\0';
    return len;
}

/* Inflates a gzip member into out. Returns 0, or -1 when data is not valid gzip. */
static int gunzip(const char *data, size_t len, struct strbuf *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return -1;
    zs.next_in = (unsigned char *)(uintptr_t)data;
    zs.avail_in = (uInt)len;
    unsigned char buf[16384];
    int rc;
    do {
        zs.next_out = buf;
        zs.avail_out = sizeof buf;
        rc = inflate(&zs, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END)
            break;
        strbuf_append(out, (const char *)buf, sizeof buf - zs.avail_out);
    } while (rc != Z_STREAM_END);
    inflateEnd(&zs);
    return rc == Z_STREAM_END && zs.avail_in == 0 ? 0 : -1;
}

int verify_fetch(const char *method, const char *url, const char *api_key, const char *body,
                 size_t body_len, bool gzip, long timeout_ms, struct verify_response *resp)
{
    memset(resp, 0, sizeof *resp);
    struct capture cap = {.resp = resp};
    char curl_err[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL;
    char line[160];
    int rc = -1;
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(resp->error, sizeof resp->error, "cannot create a curl handle");
        return -1;
    }
    headers = curl_slist_append(headers, "Accept: application/json");
    headers = curl_slist_append(headers, "Expect:");
    if (api_key) {
        snprintf(line, sizeof line, "X-API-Key: %s", api_key);
        headers = curl_slist_append(headers, line);
    }
    if (gzip)
        headers = curl_slist_append(headers, "Accept-Encoding: gzip");
    if (body)
        headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROXY, ""); /* never through an http_proxy from the environment */
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_HTTP_CONTENT_DECODING, 0L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &cap);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &cap);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        snprintf(resp->error, sizeof resp->error, "%s",
                 curl_err[0] ? curl_err : curl_easy_strerror(cc));
        /* a server may answer 413 and close before reading the whole body */
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
        if (resp->status == 0)
            goto done;
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    }
    if (!cap.body.data)
        strbuf_append(&cap.body, "", 0);
    resp->raw = strbuf_steal(&cap.body, &resp->raw_len);
    const char *enc = verify_header(resp, "Content-Encoding");
    if (enc && strcasestr(enc, "gzip")) {
        struct strbuf plain = {0};
        if (gunzip(resp->raw, resp->raw_len, &plain) < 0)
            resp->gunzip_failed = true;
        strbuf_append(&plain, "", 0);
        resp->body = strbuf_steal(&plain, &resp->body_len);
    } else {
        resp->body = xmalloc(resp->raw_len + 1);
        memcpy(resp->body, resp->raw, resp->raw_len);
        resp->body[resp->raw_len] = '\0';
        resp->body_len = resp->raw_len;
    }
    resp->json = json_loadb(resp->body, resp->body_len, 0, NULL);
    rc = 0;
done:
    strbuf_free(&cap.body);
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    return rc;
}

void verify_response_free(struct verify_response *resp)
{
    for (int i = 0; i < resp->nheaders; i++) {
        free(resp->headers[i].name);
        free(resp->headers[i].value);
    }
    free(resp->raw);
    free(resp->body);
    json_decref(resp->json);
    memset(resp, 0, sizeof *resp);
}

const char *verify_header(const struct verify_response *resp, const char *name)
{
    for (int i = 0; i < resp->nheaders; i++)
        if (strcasecmp(resp->headers[i].name, name) == 0)
            return resp->headers[i].value;
    return NULL;
}

bool verify_json_headers(const struct verify_response *resp, char *why, size_t whylen)
{
    const char *ct = verify_header(resp, "Content-Type");
    if (!ct || strncasecmp(ct, "application/json", 16) != 0) {
        snprintf(why, whylen, "Content-Type is %s, expected application/json", ct ? ct : "missing");
        return false;
    }
    const char *cl = verify_header(resp, "Content-Length");
    const char *te = verify_header(resp, "Transfer-Encoding");
    if (cl) {
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        if (*end != '\0' || n != resp->raw_len) {
            snprintf(why, whylen, "Content-Length %s but %zu body bytes arrived", cl,
                     resp->raw_len);
            return false;
        }
    } else if (!te || !strcasestr(te, "chunked")) {
        snprintf(why, whylen, "neither Content-Length nor Transfer-Encoding: chunked");
        return false;
    }
    if (!verify_header(resp, "Date")) {
        snprintf(why, whylen, "no Date header");
        return false;
    }
    const char *enc = verify_header(resp, "Content-Encoding");
    if (enc && strcasestr(enc, "gzip")) {
        const char *vary = verify_header(resp, "Vary");
        if (!vary || !strcasestr(vary, "Accept-Encoding")) {
            snprintf(why, whylen, "gzip body without Vary: Accept-Encoding");
            return false;
        }
        if (resp->gunzip_failed) {
            snprintf(why, whylen, "Content-Encoding gzip but the body does not inflate");
            return false;
        }
    }
    return true;
}

static bool type_matches(const json_t *v, const char *types)
{
    static const struct {
        const char *name;
        int len;
    } names[] = {{"object", 6}, {"array", 5}, {"string", 6}, {"int", 3},
                 {"number", 6}, {"bool", 4},  {"null", 4}};
    const char *p = types;
    while (*p) {
        size_t len = strcspn(p, "|");
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            if (len != (size_t)names[i].len || strncmp(p, names[i].name, len) != 0)
                continue;
            switch (i) {
            case 0:
                if (json_is_object(v))
                    return true;
                break;
            case 1:
                if (json_is_array(v))
                    return true;
                break;
            case 2:
                if (json_is_string(v))
                    return true;
                break;
            case 3:
                if (json_is_integer(v))
                    return true;
                break;
            case 4:
                if (json_is_number(v))
                    return true;
                break;
            case 5:
                if (json_is_boolean(v))
                    return true;
                break;
            case 6:
                if (json_is_null(v))
                    return true;
                break;
            }
        }
        p += len;
        if (*p == '|')
            p++;
    }
    return false;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "int";
    case JSON_REAL:
        return "real";
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

static bool check_object(const json_t *v, const struct verify_shape *shape, const char *path,
                         char *why, size_t whylen)
{
    if (!json_is_object(v)) {
        snprintf(why, whylen, "%s: expected object, got %s", *path ? path : "body",
                 v ? type_name(v) : "nothing");
        return false;
    }
    for (const struct verify_shape *f = shape; f->key; f++) {
        char sub[256];
        snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", f->key);
        const json_t *m = json_object_get(v, f->key);
        if (!m) {
            snprintf(why, whylen, "%s: missing", sub);
            return false;
        }
        if (!type_matches(m, f->types)) {
            snprintf(why, whylen, "%s: expected %s, got %s", sub, f->types, type_name(m));
            return false;
        }
        if (!f->sub)
            continue;
        if (json_is_object(m) && !check_object(m, f->sub, sub, why, whylen))
            return false;
        if (json_is_array(m)) {
            size_t i;
            const json_t *e;
            json_array_foreach(m, i, e)
            {
                char elem[300];
                snprintf(elem, sizeof elem, "%s[%zu]", sub, i);
                if (!check_object(e, f->sub, elem, why, whylen))
                    return false;
            }
        }
    }
    return true;
}

bool verify_shape_check(const json_t *v, const struct verify_shape *shape, char *why, size_t whylen)
{
    return check_object(v, shape, "", why, whylen);
}

static const struct verify_shape error_inner[] = {
    {"status", "int", NULL}, {"message", "string", NULL}, {NULL, NULL, NULL}};
static const struct verify_shape error_shape[] = {{"error", "object", error_inner},
                                                  {NULL, NULL, NULL}};

bool verify_error_body(const struct verify_response *resp, char *why, size_t whylen)
{
    if (!verify_json_headers(resp, why, whylen))
        return false;
    if (!resp->json) {
        snprintf(why, whylen, "error body is not JSON");
        return false;
    }
    if (!verify_shape_check(resp->json, error_shape, why, whylen))
        return false;
    json_int_t st =
        json_integer_value(json_object_get(json_object_get(resp->json, "error"), "status"));
    if (st != resp->status) {
        snprintf(why, whylen, "error.status %lld differs from HTTP status %ld", (long long)st,
                 resp->status);
        return false;
    }
    if (json_string_length(json_object_get(json_object_get(resp->json, "error"), "message")) == 0) {
        snprintf(why, whylen, "error.message is empty");
        return false;
    }
    return true;
}

int verify_timestamp_cmp(const char *a, const char *b)
{
    int c = strncmp(a, b, 19);
    if (c != 0 || strlen(a) < 19 || strlen(b) < 19)
        return c;
    /* the fraction, padded to 6 digits */
    char fa[7] = "000000", fb[7] = "000000";
    for (int i = 0; i < 6 && a[19] == '.' && a[20 + i] >= '0' && a[20 + i] <= '9'; i++)
        fa[i] = a[20 + i];
    for (int i = 0; i < 6 && b[19] == '.' && b[20 + i] >= '0' && b[20 + i] <= '9'; i++)
        fb[i] = b[20 + i];
    return strcmp(fa, fb);
}
