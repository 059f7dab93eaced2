/* verify.h - the pieces of `apibench verify`: one HTTP exchange captured as it came over
 * the wire (status, headers, raw and un-gzipped body), header rules, and JSON shape rules.
 * verify_cli.c strings them into the checks it prints. */
#ifndef APIBENCH_VERIFY_H
#define APIBENCH_VERIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define VERIFY_MAX_HEADERS 64

struct verify_header {
    char *name; /* as sent */
    char *value;
};

struct verify_response {
    long status;     /* 0 when the transfer failed */
    char error[256]; /* curl's reason when status is 0 */
    struct verify_header headers[VERIFY_MAX_HEADERS];
    int nheaders;
    char *raw; /* the body as received (still gzipped if it was) */
    size_t raw_len;
    char *body; /* the body after un-gzipping (== raw otherwise), NUL-terminated */
    size_t body_len;
    bool gunzip_failed;
    json_t *json; /* body parsed, or NULL */
};

/* One request: method "GET"/"POST", url, optional api_key (NULL: no X-API-Key header),
 * optional body (POST, sent as application/json), gzip: send Accept-Encoding: gzip. curl's
 * own decoding is off, so the raw body and headers are what the server sent. Fills resp
 * (free with verify_response_free); returns 0, or -1 when no HTTP response came back
 * (resp->error says why). */
int verify_fetch(const char *method, const char *url, const char *api_key, const char *body,
                 size_t body_len, bool gzip, long timeout_ms, struct verify_response *resp);

/* Frees what resp holds. Accepts a zeroed response. */
void verify_response_free(struct verify_response *resp);

/* The value of the first header called name (case-insensitive), or NULL. Borrowed. */
const char *verify_header(const struct verify_response *resp, const char *name);

/* Checks the headers every JSON response must have: Content-Type application/json,
 * Content-Length (matching the raw body) or Transfer-Encoding: chunked, Date, and Vary
 * naming Accept-Encoding when Content-Encoding is gzip. Returns true, or false with the
 * first problem in why. */
bool verify_json_headers(const struct verify_response *resp, char *why, size_t whylen);

/* A JSON shape: a NULL-terminated list of required members. types is a '|'-separated list
 * of "object", "array", "string", "int", "number" (int or real), "bool", "null". For an
 * "object" member, sub describes it; for an "array" member, sub describes each element
 * (which must be an object). Members not listed are allowed. */
struct verify_shape {
    const char *key;
    const char *types;
    const struct verify_shape *sub;
};

/* Checks v against shape. Returns true, or false with the path of the first mismatch and
 * what was wrong in why (e.g. "readings[3].timestamp: expected string, got null"). */
bool verify_shape_check(const json_t *v, const struct verify_shape *shape, char *why,
                        size_t whylen);

/* Checks that resp is the API's error form: JSON {"error": {"status": N, "message": "..."}}
 * with N equal to the HTTP status, and the JSON headers. Returns true or false with why. */
bool verify_error_body(const struct verify_response *resp, char *why, size_t whylen);

/* Compares two API timestamps ("YYYY-MM-DDTHH:MM:SS[.ffffff]Z", the number of fraction
 * digits varies) by time: <0, 0 or >0 like strcmp. */
int verify_timestamp_cmp(const char *a, const char *b);

#endif
