/* verify_cli.c - `apibench verify`: checks one or more running builds before load. Each
 * route's status, headers and JSON shape; how bad parameters are refused; and, given
 * several targets, that they answer the same request sequence with the same bodies
 * (after un-gzipping). One PASS/FAIL line per check; exit 1 when any check fails. */
#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../harness/commands.h"
#include "apibench/strbuf.h"
#include "apibench/urlmask.h"
#include "seed_keys.h"
#include "verify.h"

#define MAX_TARGETS 8
#define MAX_SAVED 32
#define MAX_PROBES 40

static const char usage[] =
    "usage: apibench verify --target URL [--target URL2 ...] [--dataset-seed N] [--user ID]\n"
    "                       [--other-user ID] [--timeout-ms T] [--writes] [--quiet]\n"
    "\n"
    "Checks running builds before load: status codes, headers (Content-Type, Content-Length\n"
    "or chunked, Date, Vary with gzip), JSON shapes, bad-parameter handling (400/401/403/\n"
    "404/405/413), and with several targets that bodies are identical for the same requests.\n"
    "  --dataset-seed N  seed the database was seeded with: API keys derive from it (1)\n"
    "  --user ID         the user whose key makes the requests (1, who sees every site)\n"
    "  --other-user ID   a user who cannot see some of --user's devices, for 403 (5)\n"
    "  --timeout-ms T    per request (30000: the baseline takes seconds)\n"
    "  --writes          also POST an ingest batch and a report (changes the data)\n"
    "  --quiet           print FAIL lines and the summary only\n"
    "Exit: 0 all checks passed, 1 a check failed, 2 bad usage.\n";

/* What a target answered to one request of the shared sequence, for comparison. */
struct saved {
    char name[96];
    long status;
    char *body;
    size_t len;
};

struct target {
    const char *url;
    char shown[1024]; /* url with its password masked: for output */
    struct saved saved[MAX_SAVED];
    int nsaved;
    bool unreachable; /* no answer to /healthz: its other checks were skipped */
};

struct verify_run {
    struct target targets[MAX_TARGETS];
    int ntargets;
    char key[40], other_key[40];
    int user, other_user;
    long timeout_ms;
    bool writes, quiet;
    int passed, failed;
    /* the request sequence is fixed by the first target */
    int device_id;              /* a device of --user */
    int hidden_device;          /* a device --other-user cannot see, 0 until found */
    char cursor[512];           /* next_cursor of the first page of 5 */
    int candidates[MAX_PROBES]; /* devices on --user's headline page */
    int ncandidates;
};

static void result(struct verify_run *v, const struct target *t, bool ok, const char *check,
                   const char *why)
{
    if (ok)
        v->passed++;
    else
        v->failed++;
    if (ok && v->quiet)
        return;
    printf("%s %s %s%s%s\n", ok ? "PASS" : "FAIL", t ? t->shown : "all targets", check,
           ok ? "" : ": ", ok ? "" : why);
    fflush(stdout);
}

static void save(struct target *t, const char *name, const struct verify_response *r)
{
    if (t->nsaved == MAX_SAVED)
        return;
    struct saved *s = &t->saved[t->nsaved++];
    snprintf(s->name, sizeof s->name, "%s", name);
    s->status = r->status;
    s->len = r->body_len;
    s->body = xmalloc(r->body_len + 1);
    memcpy(s->body, r->body, r->body_len);
    s->body[r->body_len] = '\0';
}

static int fetch(struct verify_run *v, const struct target *t, const char *method, const char *path,
                 const char *key, const char *body, size_t body_len, bool gzip,
                 struct verify_response *r)
{
    char url[1024];
    snprintf(url, sizeof url, "%s%s", t->url, path);
    return verify_fetch(method, url, key, body, body_len, gzip, v->timeout_ms, r);
}

/* Checks that an answer has the wanted status, the JSON headers and (when given) shape;
 * prints one line named `check`. Returns whether it passed. */
static bool expect_json(struct verify_run *v, const struct target *t, const char *check,
                        const struct verify_response *r, long want,
                        const struct verify_shape *shape)
{
    char why[512];
    bool ok = false;
    if (r->status == 0)
        snprintf(why, sizeof why, "no response: %s", r->error);
    else if (r->status != want)
        snprintf(why, sizeof why, "status %ld, expected %ld (body %.120s)", r->status, want,
                 r->body ? r->body : "");
    else if (!verify_json_headers(r, why, sizeof why))
        ;
    else if (!r->json)
        snprintf(why, sizeof why, "body is not JSON: %.120s", r->body);
    else if (shape && !verify_shape_check(r->json, shape, why, sizeof why))
        ;
    else
        ok = true;
    result(v, t, ok, check, why);
    return ok;
}

/* A request that must be refused with status `want` and the API's JSON error form. */
static void expect_error(struct verify_run *v, struct target *t, const char *check,
                         const char *method, const char *path, const char *key, const char *body,
                         size_t body_len, long want)
{
    struct verify_response r;
    char why[512] = "";
    bool ok = false;
    fetch(v, t, method, path, key, body, body_len, true, &r);
    if (r.status == 0)
        snprintf(why, sizeof why, "no response: %s", r.error);
    else if (r.status != want)
        snprintf(why, sizeof why, "status %ld, expected %ld (body %.120s)", r.status, want,
                 r.body ? r.body : "");
    else
        ok = verify_error_body(&r, why, sizeof why);
    result(v, t, ok, check, why);
    if (r.status)
        save(t, check, &r);
    verify_response_free(&r);
}

/* ---- shapes (docs/API.md) */

static const struct verify_shape reading_full[] = {{"id", "int", NULL},
                                                   {"device_id", "int", NULL},
                                                   {"device_name", "string", NULL},
                                                   {"site_id", "int", NULL},
                                                   {"site_name", "string", NULL},
                                                   {"timestamp", "string", NULL},
                                                   {"temperature", "number|null", NULL},
                                                   {"humidity", "number|null", NULL},
                                                   {"battery", "number|null", NULL},
                                                   {"rssi", "int|null", NULL},
                                                   {NULL, NULL, NULL}};
static const struct verify_shape reading_min[] = {{"id", "int", NULL},
                                                  {"timestamp", "string", NULL},
                                                  {"temperature", "number|null", NULL},
                                                  {"humidity", "number|null", NULL},
                                                  {"battery", "number|null", NULL},
                                                  {"rssi", "int|null", NULL},
                                                  {NULL, NULL, NULL}};
static const struct verify_shape latest_page[] = {{"readings", "array", reading_full},
                                                  {"count", "int", NULL},
                                                  {"limit", "int", NULL},
                                                  {"next_cursor", "string|null", NULL},
                                                  {NULL, NULL, NULL}};
static const struct verify_shape device_readings[] = {{"device_id", "int", NULL},
                                                      {"hours", "int", NULL},
                                                      {"limit", "int", NULL},
                                                      {"count", "int", NULL},
                                                      {"readings", "array", reading_min},
                                                      {NULL, NULL, NULL}};
static const struct verify_shape stats_24h[] = {{"readings", "int", NULL},
                                                {"temperature", "object|null", NULL},
                                                {"humidity", "object|null", NULL},
                                                {"battery", "object|null", NULL},
                                                {NULL, NULL, NULL}};
static const struct verify_shape device_detail[] = {{"id", "int", NULL},
                                                    {"name", "string", NULL},
                                                    {"site_id", "int", NULL},
                                                    {"site_name", "string", NULL},
                                                    {"model", "string", NULL},
                                                    {"firmware", "string", NULL},
                                                    {"status", "string", NULL},
                                                    {"installed_at", "string", NULL},
                                                    {"last_seen_at", "string|null", NULL},
                                                    {"latest_reading", "object|null", NULL},
                                                    {"stats_24h", "object", stats_24h},
                                                    {NULL, NULL, NULL}};
static const struct verify_shape ingest_reply[] = {
    {"device_id", "int", NULL}, {"inserted", "int", NULL}, {NULL, NULL, NULL}};
static const struct verify_shape health[] = {{"status", "string", NULL}, {NULL, NULL, NULL}};

/* count == number of readings <= limit, and timestamps never increase. */
static bool page_consistent(const json_t *doc, char *why, size_t whylen)
{
    const json_t *readings = json_object_get(doc, "readings");
    json_int_t count = json_integer_value(json_object_get(doc, "count"));
    json_int_t limit = json_integer_value(json_object_get(doc, "limit"));
    if ((size_t)count != json_array_size(readings) || count > limit) {
        snprintf(why, whylen, "count %lld, %zu readings, limit %lld", (long long)count,
                 json_array_size(readings), (long long)limit);
        return false;
    }
    const char *prev = NULL;
    size_t i;
    const json_t *r;
    json_array_foreach(readings, i, r)
    {
        const char *ts = json_string_value(json_object_get(r, "timestamp"));
        if (prev && ts && verify_timestamp_cmp(ts, prev) > 0) {
            snprintf(why, whylen, "readings[%zu] is newer than the one before (%s > %s)", i, ts,
                     prev);
            return false;
        }
        prev = ts;
    }
    return true;
}

static void check_target(struct verify_run *v, struct target *t, bool first)
{
    struct verify_response r, plain;
    char why[512], path[1024];

    if (fetch(v, t, "GET", "/healthz", NULL, NULL, 0, false, &r) < 0) {
        /* nothing else can pass: one line instead of one per check */
        snprintf(why, sizeof why, "cannot connect to %s: %s", t->shown, r.error);
        result(v, t, false, "reachable", why);
        t->unreachable = true;
        verify_response_free(&r);
        return;
    }
    expect_json(v, t, "GET /healthz: 200, JSON, status", &r, 200, health);
    verify_response_free(&r);

    /* the headline endpoint, gzip offered */
    fetch(v, t, "GET", "/api/readings/latest?limit=100", v->key, NULL, 0, true, &r);
    if (expect_json(v, t, "GET /api/readings/latest?limit=100: 200, headers, shape", &r, 200,
                    latest_page)) {
        bool ok = page_consistent(r.json, why, sizeof why);
        result(v, t, ok, "latest: count matches, newest first", why);
        const json_t *readings = json_object_get(r.json, "readings");
        if (first && json_array_size(readings) > 0)
            v->device_id =
                (int)json_integer_value(json_object_get(json_array_get(readings, 0), "device_id"));
        /* distinct devices of the page: candidates for another user's 403 */
        for (size_t i = 0; first && i < json_array_size(readings) && v->ncandidates < MAX_PROBES;
             i++) {
            int id =
                (int)json_integer_value(json_object_get(json_array_get(readings, i), "device_id"));
            bool seen = false;
            for (int j = 0; j < v->ncandidates; j++)
                seen = seen || v->candidates[j] == id;
            if (!seen)
                v->candidates[v->ncandidates++] = id;
        }
    }
    if (r.status)
        save(t, "GET /api/readings/latest?limit=100", &r);
    /* the same without gzip: identity encoding, same body, and Vary when the server gzips */
    fetch(v, t, "GET", "/api/readings/latest?limit=100", v->key, NULL, 0, false, &plain);
    {
        const char *enc = verify_header(&plain, "Content-Encoding");
        bool gzips = r.status && verify_header(&r, "Content-Encoding") != NULL;
        const char *vary = verify_header(&plain, "Vary");
        bool ok = plain.status == 200 && !(enc && strcmp(enc, "identity") != 0);
        if (!ok)
            snprintf(why, sizeof why, "status %ld, Content-Encoding %s without Accept-Encoding",
                     plain.status, enc ? enc : "none");
        else if (gzips && (!vary || !strcasestr(vary, "Accept-Encoding"))) {
            ok = false;
            snprintf(why, sizeof why, "the server gzips but its identity answer lacks Vary");
        } else if (r.status == 200 &&
                   (plain.body_len != r.body_len || memcmp(plain.body, r.body, r.body_len) != 0)) {
            ok = false;
            snprintf(why, sizeof why, "un-gzipped body differs from the identity body");
        }
        result(v, t, ok,
               gzips ? "latest: gzip negotiated, identity without Accept-Encoding, same body"
                     : "latest: identity encoding (server does not gzip)",
               why);
    }
    verify_response_free(&plain);
    verify_response_free(&r);

    /* keyset paging: the second page continues the first */
    fetch(v, t, "GET", "/api/readings/latest?limit=5", v->key, NULL, 0, true, &r);
    if (expect_json(v, t, "GET /api/readings/latest?limit=5: 200, shape", &r, 200, latest_page)) {
        const char *cur = json_string_value(json_object_get(r.json, "next_cursor"));
        if (first)
            snprintf(v->cursor, sizeof v->cursor, "%s", cur ? cur : "");
        if (v->cursor[0]) {
            char *escaped = curl_easy_escape(NULL, v->cursor, 0);
            snprintf(path, sizeof path, "/api/readings/latest?limit=5&cursor=%s", escaped);
            curl_free(escaped);
            fetch(v, t, "GET", path, v->key, NULL, 0, true, &plain);
            if (expect_json(v, t, "GET latest?limit=5&cursor=next_cursor: 200, shape", &plain, 200,
                            latest_page)) {
                const json_t *a = json_object_get(r.json, "readings");
                const json_t *b = json_object_get(plain.json, "readings");
                const char *last = json_string_value(
                    json_object_get(json_array_get(a, json_array_size(a) - 1), "timestamp"));
                const char *next =
                    json_string_value(json_object_get(json_array_get(b, 0), "timestamp"));
                json_int_t last_id = json_integer_value(
                    json_object_get(json_array_get(a, json_array_size(a) - 1), "id"));
                json_int_t next_id =
                    json_integer_value(json_object_get(json_array_get(b, 0), "id"));
                bool ok = json_array_size(b) > 0 && last && next &&
                          verify_timestamp_cmp(next, last) <= 0 && next_id != last_id;
                snprintf(why, sizeof why,
                         "page 2 starts at %s (id %lld), page 1 ended at %s (id %lld)",
                         next ? next : "nothing", (long long)next_id, last ? last : "nothing",
                         (long long)last_id);
                result(v, t, ok, "cursor: page 2 continues after page 1", why);
            }
            if (plain.status)
                save(t, "GET latest?limit=5&cursor", &plain);
            verify_response_free(&plain);
        } else {
            result(v, t, false, "cursor: page 1 of 5 has a next_cursor", "next_cursor is null");
        }
    }
    verify_response_free(&r);

    if (v->device_id <= 0) {
        result(v, t, false, "device routes", "no device id: the latest page was empty or failed");
        return;
    }
    snprintf(path, sizeof path, "/api/devices/%d/readings?hours=24&limit=100", v->device_id);
    fetch(v, t, "GET", path, v->key, NULL, 0, true, &r);
    char check[1100];
    snprintf(check, sizeof check, "GET %s: 200, headers, shape", path);
    if (expect_json(v, t, check, &r, 200, device_readings)) {
        bool ok = page_consistent(r.json, why, sizeof why);
        if (ok && json_integer_value(json_object_get(r.json, "device_id")) != v->device_id) {
            ok = false;
            snprintf(why, sizeof why, "device_id is not %d", v->device_id);
        }
        result(v, t, ok, "device readings: the device asked for, count matches, newest first", why);
    }
    if (r.status)
        save(t, path, &r);
    verify_response_free(&r);

    snprintf(path, sizeof path, "/api/devices/%d", v->device_id);
    fetch(v, t, "GET", path, v->key, NULL, 0, true, &r);
    snprintf(check, sizeof check, "GET %s: 200, headers, shape", path);
    if (expect_json(v, t, check, &r, 200, device_detail)) {
        bool ok = json_integer_value(json_object_get(r.json, "id")) == v->device_id;
        result(v, t, ok, "device: the device asked for", "id differs");
    }
    if (r.status)
        save(t, path, &r);
    verify_response_free(&r);

    /* ---- bad parameters: each refused with the right status and a JSON error */
    char dev_readings[128], dev_path[64];
    snprintf(dev_readings, sizeof dev_readings, "/api/devices/%d/readings", v->device_id);
    snprintf(dev_path, sizeof dev_path, "/api/devices/%d", v->device_id);
    expect_error(v, t, "limit=0 -> 400", "GET", "/api/readings/latest?limit=0", v->key, NULL, 0,
                 400);
    expect_error(v, t, "limit=abc -> 400", "GET", "/api/readings/latest?limit=abc", v->key, NULL, 0,
                 400);
    expect_error(v, t, "limit=100000 -> 400", "GET", "/api/readings/latest?limit=100000", v->key,
                 NULL, 0, 400);
    expect_error(v, t, "bad cursor -> 400", "GET", "/api/readings/latest?cursor=not-a-cursor",
                 v->key, NULL, 0, 400);
    snprintf(path, sizeof path, "%s?hours=9999", dev_readings);
    expect_error(v, t, "hours=9999 -> 400", "GET", path, v->key, NULL, 0, 400);
    expect_error(v, t, "unknown device 999999999 -> 404", "GET", "/api/devices/999999999", v->key,
                 NULL, 0, 404);
    expect_error(v, t, "device id abc -> 400", "GET", "/api/devices/abc", v->key, NULL, 0, 400);
    expect_error(v, t, "device id 0 -> 400", "GET", "/api/devices/0", v->key, NULL, 0, 400);
    expect_error(v, t, "missing API key -> 401", "GET", "/api/readings/latest", NULL, NULL, 0, 401);
    expect_error(v, t, "invalid API key -> 401", "GET", "/api/readings/latest",
                 "ak_00000000000000000000000000000000", NULL, 0, 401);
    expect_error(v, t, "unknown route -> 404", "GET", "/api/nothing-here", v->key, NULL, 0, 404);
    expect_error(v, t, "DELETE latest -> 405", "DELETE", "/api/readings/latest", v->key, NULL, 0,
                 405);
    static const char malformed[] = "{\"readings\": [";
    expect_error(v, t, "malformed JSON ingest -> 400", "POST", dev_readings, v->key, malformed,
                 sizeof malformed - 1, 400);
    expect_error(v, t, "malformed JSON report -> 400", "POST", "/api/reports", v->key, malformed,
                 sizeof malformed - 1, 400);
    {
        /* 2 MiB: above the servers' default 1 MiB limit */
        size_t big = 2u << 20;
        char *body = xmalloc(big);
        memset(body, ' ', big);
        body[0] = '{';
        body[big - 1] = '}';
        expect_error(v, t, "2 MiB ingest body -> 413", "POST", dev_readings, v->key, body, big,
                     413);
        free(body);
    }
    /* someone else's device: the first target finds one the other user cannot see */
    for (int i = 0; first && i < v->ncandidates && !v->hidden_device; i++) {
        struct verify_response probe;
        snprintf(path, sizeof path, "/api/devices/%d", v->candidates[i]);
        fetch(v, t, "GET", path, v->other_key, NULL, 0, false, &probe);
        if (probe.status == 403)
            v->hidden_device = v->candidates[i];
        verify_response_free(&probe);
    }
    if (v->hidden_device) {
        snprintf(path, sizeof path, "/api/devices/%d", v->hidden_device);
        snprintf(check, sizeof check, "user %d reads user %d's device %d -> 403", v->other_user,
                 v->user, v->hidden_device);
        expect_error(v, t, check, "GET", path, v->other_key, NULL, 0, 403);
        snprintf(path, sizeof path, "/api/devices/%d/readings", v->hidden_device);
        snprintf(check, sizeof check, "user %d ingests into device %d -> 403", v->other_user,
                 v->hidden_device);
        static const char one[] = "{\"readings\":[{\"timestamp\":\"2020-01-01T00:00:00Z\","
                                  "\"temperature\":20.5,\"humidity\":40.0,\"battery\":90.0,"
                                  "\"rssi\":-60}]}";
        expect_error(v, t, check, "POST", path, v->other_key, one, sizeof one - 1, 403);
    } else {
        snprintf(why, sizeof why,
                 "no device of user %d among the latest readings is hidden from user %d", v->user,
                 v->other_user);
        result(v, t, false, "someone else's device -> 403", why);
    }
}

/* --writes: one ingest batch and one report per target, after every target's reads (an
 * ingest changes the headline page, which would break the body comparison). */
static void check_writes(struct verify_run *v, struct target *t)
{
    struct verify_response r;
    char check[256], dev_readings[128];
    if (v->device_id <= 0)
        return;
    snprintf(dev_readings, sizeof dev_readings, "/api/devices/%d/readings", v->device_id);
    {
        char body[512], ts[32];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
        snprintf(body, sizeof body,
                 "{\"readings\":[{\"timestamp\":\"%s\",\"temperature\":21.25,\"humidity\":45.5,"
                 "\"battery\":88.0,\"rssi\":-61}]}",
                 ts);
        fetch(v, t, "POST", dev_readings, v->key, body, strlen(body), true, &r);
        if (expect_json(v, t, "POST ingest (1 reading): 201, shape", &r, 201, ingest_reply)) {
            bool ok = json_integer_value(json_object_get(r.json, "inserted")) == 1;
            result(v, t, ok, "ingest: inserted 1", "inserted is not 1");
        }
        verify_response_free(&r);
        snprintf(body, sizeof body,
                 "{\"kind\":\"device\",\"id\":%d,\"hours\":24,\"email\":\"ops@example.com\"}",
                 v->device_id);
        fetch(v, t, "POST", "/api/reports", v->key, body, strlen(body), true, &r);
        long want = r.status == 202 ? 202 : 200; /* 06-async queues it */
        snprintf(check, sizeof check, "POST /api/reports: %ld, JSON", want);
        expect_json(v, t, check, &r, want, NULL);
        verify_response_free(&r);
    }
}

/* Several targets: the same request sequence must give the same status and body. */
static void compare_targets(struct verify_run *v)
{
    struct target *a = &v->targets[0];
    for (int k = 1; k < v->ntargets && !a->unreachable; k++) {
        struct target *b = &v->targets[k];
        if (b->unreachable)
            continue;
        for (int i = 0; i < a->nsaved; i++) {
            const struct saved *sa = &a->saved[i];
            const struct saved *sb = NULL;
            for (int j = 0; j < b->nsaved && !sb; j++)
                if (strcmp(b->saved[j].name, sa->name) == 0)
                    sb = &b->saved[j];
            char check[1400], why[600];
            snprintf(check, sizeof check, "same answer as %s: %s", a->shown, sa->name);
            bool ok = false;
            if (!sb) {
                snprintf(why, sizeof why, "no answer to compare");
            } else if (sb->status != sa->status) {
                snprintf(why, sizeof why, "status %ld vs %ld", sb->status, sa->status);
            } else if (sb->len != sa->len || memcmp(sb->body, sa->body, sa->len) != 0) {
                size_t at = 0;
                while (at < sa->len && at < sb->len && sa->body[at] == sb->body[at])
                    at++;
                snprintf(why, sizeof why, "bodies differ at byte %zu (%zu vs %zu bytes): ...%.60s",
                         at, sb->len, sa->len, sb->body + at);
            } else {
                ok = true;
            }
            result(v, b, ok, check, why);
        }
    }
}

int verify_main(int argc, char **argv)
{
    struct verify_run *v = xcalloc(1, sizeof *v);
    uint64_t seed = 1;
    int exit_code = 2;
    v->user = 1;
    v->other_user = 5;
    v->timeout_ms = 30000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            exit_code = 0;
            goto done;
        } else if (strcmp(a, "--writes") == 0) {
            v->writes = true;
        } else if (strcmp(a, "--quiet") == 0) {
            v->quiet = true;
        } else if (!val) {
            fprintf(stderr, "apibench verify: option %s needs a value (see --help)\n", a);
            goto done;
        } else if (strcmp(a, "--target") == 0) {
            if (v->ntargets == MAX_TARGETS ||
                (strncmp(val, "http://", 7) != 0 && strncmp(val, "https://", 8) != 0)) {
                char shown[1024];
                fprintf(stderr, "apibench verify: bad --target '%s': an http:// URL, at most %d\n",
                        url_mask_password(val, shown, sizeof shown), MAX_TARGETS);
                goto done;
            }
            v->targets[v->ntargets++].url = val;
            i++;
        } else if (strcmp(a, "--dataset-seed") == 0) {
            seed = strtoull(val, &end, 10);
            if (*end || seed < 1 || val[0] == '-') {
                fprintf(stderr, "apibench verify: bad --dataset-seed '%s'\n", val);
                goto done;
            }
            i++;
        } else if (strcmp(a, "--user") == 0 || strcmp(a, "--other-user") == 0) {
            long id = strtol(val, &end, 10);
            if (*end || id < 1 || id > 1000000) {
                fprintf(stderr, "apibench verify: bad %s '%s'\n", a, val);
                goto done;
            }
            *(a[2] == 'u' ? &v->user : &v->other_user) = (int)id;
            i++;
        } else if (strcmp(a, "--timeout-ms") == 0) {
            v->timeout_ms = strtol(val, &end, 10);
            if (*end || v->timeout_ms < 1 || v->timeout_ms > 3600000) {
                fprintf(stderr, "apibench verify: bad --timeout-ms '%s'\n", val);
                goto done;
            }
            i++;
        } else {
            fprintf(stderr, "apibench verify: unknown option '%s' (see --help)\n", a);
            goto done;
        }
    }
    if (v->ntargets == 0) {
        fprintf(stderr, "apibench verify: missing --target URL (e.g. http://127.0.0.1:18101)\n");
        goto done;
    }
    if (v->user == v->other_user) {
        fprintf(stderr, "apibench verify: --user and --other-user must differ\n");
        goto done;
    }
    if (seed_api_key(seed, v->user, v->key) < 0 ||
        seed_api_key(seed, v->other_user, v->other_key) < 0) {
        fprintf(stderr, "apibench verify: cannot derive the API keys for seed %llu\n",
                (unsigned long long)seed);
        exit_code = 1;
        goto done;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    for (int i = 0; i < v->ntargets; i++) {
        /* strip one trailing '/' so paths join cleanly */
        struct target *t = &v->targets[i];
        size_t len = strlen(t->url);
        char *copy = xstrdup(t->url);
        if (len > 8 && copy[len - 1] == '/')
            copy[len - 1] = '\0';
        t->url = copy;
        url_mask_password(t->url, t->shown, sizeof t->shown);
        check_target(v, t, i == 0);
    }
    if (v->ntargets > 1)
        compare_targets(v);
    for (int i = 0; v->writes && i < v->ntargets; i++)
        if (!v->targets[i].unreachable)
            check_writes(v, &v->targets[i]);
    printf("%s: %d passed, %d failed\n", v->failed ? "FAIL" : "PASS", v->passed, v->failed);
    exit_code = v->failed ? 1 : 0;
    for (int i = 0; i < v->ntargets; i++) {
        free((char *)(uintptr_t)v->targets[i].url);
        for (int j = 0; j < v->targets[i].nsaved; j++)
            free(v->targets[i].saved[j].body);
    }
    curl_global_cleanup();
done:
    free(v);
    return exit_code;
}
