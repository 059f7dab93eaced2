/* test_handlers.c - the routes behind the seams: every strategy (connection source, query
 * set, cache, jobs) is a fake function table that counts its calls, so the tests can see
 * the order of checks (400 for a bad id before any key check, 401 before 400 for bad
 * parameters), that a cache hit touches no connection at all (authentication included),
 * that an ingest invalidates what it made stale, the error mapping (405 with Allow,
 * 404, 503 with Retry-After), and that a read whose connection died is run once more on
 * a new one while a write is not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "apibench/auth.h"
#include "apibench/handlers.h"
#include "apibench/metrics.h"
#include "apibench/server.h"
#include "apibench/strbuf.h"

/* ---- fakes */

static int acquires, releases, authentications, latest_calls, ingests, submits;
static bool database_down;
static int connection_deaths; /* the next N query-set calls find their connection dead */
static char invalidated[8][64];
static int ninvalidated;
static struct dbconn the_conn;

static struct connsrc *src_open(const struct config *c, const char *n, char *e, size_t l)
{
    (void)c, (void)n, (void)e, (void)l;
    return (struct connsrc *)&the_conn;
}
static struct dbconn *src_acquire(struct connsrc *s, int *status, char *err, size_t len)
{
    (void)s;
    if (database_down) {
        *status = 503;
        strncpy(err, "connection refused", len);
        return NULL;
    }
    acquires++;
    the_conn.broken = false; /* a fresh connection */
    return &the_conn;
}
static void src_release(struct connsrc *s, struct dbconn *c)
{
    (void)s, (void)c;
    releases++;
}
static void src_close(struct connsrc *s)
{
    (void)s;
}
static const struct connsrc_ops fake_connections = {"fake", src_open, src_acquire, src_release,
                                                    src_close};

static int q_auth(struct dbconn *c, const unsigned char hash[32], struct caller *out,
                  struct apierr *err)
{
    (void)c;
    unsigned char good[32];
    authentications++;
    auth_hash_key("good-key", good);
    if (memcmp(hash, good, 32) != 0)
        return apierr_set(err, 401, "unknown api key");
    memset(out, 0, sizeof *out);
    out->user_id = 1;
    out->nsites = 2;
    out->sites[0] = 1;
    out->sites[1] = 2;
    return 0;
}
/* As db_query and qshape_db_error do when the socket turns out dead. */
static bool connection_died(struct dbconn *c, struct apierr *err)
{
    if (connection_deaths == 0)
        return false;
    connection_deaths--;
    c->broken = true;
    apierr_set(err, 503, "database unavailable: connection lost");
    return true;
}

static int q_latest(struct dbconn *c, const struct caller *who, const struct latest_params *p,
                    json_t **out, struct apierr *err)
{
    (void)who;
    latest_calls++;
    if (connection_died(c, err))
        return -1;
    *out = json_pack("{s:i,s:i}", "limit", p->limit, "call", latest_calls);
    return 0;
}
static int q_device_readings(struct dbconn *c, const struct caller *who, int id, int hours,
                             int limit, json_t **out, struct apierr *err)
{
    (void)c, (void)who;
    if (id == 404)
        return apierr_set(err, 404, "device %d not found", id);
    *out = json_pack("{s:i,s:i,s:i}", "device_id", id, "hours", hours, "limit", limit);
    return 0;
}
static int q_device(struct dbconn *c, const struct caller *who, int id, json_t **out,
                    struct apierr *err)
{
    (void)c, (void)who;
    if (id == 403)
        return apierr_set(err, 403, "device %d belongs to a site you cannot access", id);
    *out = json_pack("{s:i}", "id", id);
    return 0;
}
static bool ingest_locked; /* what the last ingest was asked for (--ingest-lock) */
static int q_ingest(struct dbconn *c, const struct caller *who, int id, const struct reading_in *rows,
                    size_t n, bool global_lock, int *site, json_t **out, struct apierr *err)
{
    (void)who, (void)rows;
    ingests++;
    ingest_locked = global_lock;
    if (connection_died(c, err))
        return -1;
    *site = 2;
    *out = json_pack("{s:i,s:I}", "device_id", id, "inserted", (json_int_t)n);
    return 0;
}
static const struct queries_ops fake_queries = {"fake", NULL, q_auth, q_latest,
                                                q_device_readings, q_device, q_ingest};

/* A cache that keeps everything until invalidated. */
static struct entry {
    char ns[64], key[256];
    char *body;
    size_t len;
} entries[64];
static int nentries;
static int c_handle;
static struct cache *c_open(const struct config *cfg, char *e, size_t l)
{
    (void)cfg, (void)e, (void)l;
    return (struct cache *)&c_handle;
}
static bool c_get(struct cache *c, const char *ns, const char *key, struct cache_entry *out,
                  const char **level)
{
    (void)c;
    *out = (struct cache_entry){0};
    for (int i = 0; i < nentries; i++)
        if (strcmp(entries[i].ns, ns) == 0 && strcmp(entries[i].key, key) == 0) {
            out->len = entries[i].len;
            *level = "l1";
            out->body = xmalloc(out->len + 1);
            memcpy(out->body, entries[i].body, out->len + 1);
            return true;
        }
    return false;
}
static void c_put(struct cache *c, const char *ns, const char *key, const struct cache_entry *in,
                  enum cache_class cls)
{
    (void)c, (void)cls;
    assert_true(nentries < 64);
    struct entry *e = &entries[nentries++];
    strcpy(e->ns, ns);
    strcpy(e->key, key);
    e->body = xmalloc(in->len + 1);
    memcpy(e->body, in->body, in->len);
    e->body[in->len] = '\0';
    e->len = in->len;
}
static void c_invalidate(struct cache *c, const char *ns)
{
    (void)c;
    strcpy(invalidated[ninvalidated++], ns);
    for (int i = 0; i < nentries; i++)
        if (strcmp(entries[i].ns, ns) == 0) {
            free(entries[i].body);
            entries[i--] = entries[--nentries];
        }
}
static void c_close(struct cache *c)
{
    (void)c;
}
static const struct cache_ops fake_cache = {"fake", c_open, c_get, c_put, c_invalidate, c_close};

static int j_submit(struct jobs *j, struct reqctx *ctx, const struct caller *who,
                    const struct report_request *req, struct job_reply *reply,
                    struct apierr *err)
{
    (void)j, (void)ctx, (void)err;
    submits++;
    assert_int_equal(who->user_id, 1);
    assert_string_equal(req->kind, "site");
    assert_int_equal(req->hours, 24);
    reply->status = 202;
    strcpy(reply->location, "/api/jobs/9");
    reply->body = json_pack("{s:{s:i}}", "job", "id", 9);
    return 0;
}
static const struct jobs_ops fake_jobs = {.name = "fake", .submit = j_submit};

static const struct build fake_build = {"99-test", &fake_connections, &fake_queries,
                                        &fake_cache, &encoder_identity, &fake_jobs};

/* ---- helpers */

static struct server srv;
static struct { const char *name, *value; } args[4];

static const char *arg(void *ctx, const char *name)
{
    (void)ctx;
    for (int i = 0; i < 4 && args[i].name; i++)
        if (strcmp(args[i].name, name) == 0)
            return args[i].value;
    return NULL;
}

/* Runs one request and returns the response (caller frees body). */
static struct api_response call(const char *method, const char *path, const char *key,
                                const char *body)
{
    struct reqctx ctx = {.srv = &srv};
    struct api_request req = {method, path, key, body, body ? strlen(body) : 0, arg, NULL, 1};
    struct api_response resp;
    handlers_dispatch(&srv, &ctx, &req, &resp);
    reqctx_release(&ctx);
    return resp;
}

static void expect(const char *method, const char *path, const char *key, const char *body,
                   int status, const char *want_body)
{
    struct api_response r = call(method, path, key, body);
    if (r.status != status)
        fail_msg("%s %s: status %d, expected %d (%s)", method, path, r.status, status, r.body);
    if (want_body && strcmp(r.body, want_body) != 0)
        fail_msg("%s %s: body %s, expected %s", method, path, r.body, want_body);
    free(r.body);
}

static int setup(void **state)
{
    (void)state;
    memset(&srv, 0, sizeof srv);
    srv.build = &fake_build;
    config_defaults(&srv.cfg);
    srv.connections = fake_connections.open(&srv.cfg, "t", NULL, 0);
    srv.cache = fake_cache.open(&srv.cfg, NULL, 0);
    acquires = releases = authentications = latest_calls = ingests = submits = 0;
    ninvalidated = 0;
    database_down = false;
    connection_deaths = 0;
    for (int i = 0; i < nentries; i++)
        free(entries[i].body);
    nentries = 0;
    memset(args, 0, sizeof args);
    return 0;
}

/* ---- tests */

static void test_cache_hit_needs_no_connection(void **state)
{
    (void)state;
    expect("GET", "/api/readings/latest", "good-key", NULL, 200, "{\"limit\":100,\"call\":1}");
    assert_int_equal(acquires, 1);
    assert_int_equal(releases, 1);
    assert_int_equal(authentications, 1);
    /* the same request again: the caller and the page come from the cache */
    expect("GET", "/api/readings/latest", "good-key", NULL, 200, "{\"limit\":100,\"call\":1}");
    assert_int_equal(acquires, 1);
    assert_int_equal(authentications, 1);
    /* another page size: the caller is cached, the page is not */
    args[0].name = "limit", args[0].value = "7";
    expect("GET", "/api/readings/latest", "good-key", NULL, 200, "{\"limit\":7,\"call\":2}");
    assert_int_equal(acquires, 2);
    assert_int_equal(authentications, 1);
}

static void test_order_of_checks(void **state)
{
    (void)state;
    /* a bad id is refused before the key is even looked at */
    expect("GET", "/api/devices/abc", NULL, NULL, 400, NULL);
    expect("GET", "/api/devices/0/readings", "good-key", NULL, 400, NULL);
    assert_int_equal(acquires, 0);
    /* no key: 401 without a connection */
    expect("GET", "/api/readings/latest", NULL, NULL, 401,
           "{\"error\":{\"status\":401,\"message\":\"missing api key: send it in the X-API-Key "
           "header\"}}");
    assert_int_equal(acquires, 0);
    /* a wrong key with a bad limit: 401 first */
    args[0].name = "limit", args[0].value = "0";
    expect("GET", "/api/readings/latest", "bad-key", NULL, 401, NULL);
    expect("GET", "/api/readings/latest", "good-key", NULL, 400, NULL);
    args[0].value = "9;DROP TABLE x";
    expect("GET", "/api/readings/latest", "good-key", NULL, 400, NULL);
    args[0].name = "cursor", args[0].value = "not-a-cursor";
    expect("GET", "/api/readings/latest", "good-key", NULL, 400, NULL);
    assert_int_equal(latest_calls, 0);
    /* the query set's own verdicts pass through */
    expect("GET", "/api/devices/403", "good-key", NULL, 403, NULL);
    expect("GET", "/api/devices/404/readings", "good-key", NULL, 404, NULL);
    args[0].name = "hours", args[0].value = "169";
    expect("GET", "/api/devices/5/readings", "good-key", NULL, 400, NULL);
    args[0].value = "168";
    expect("GET", "/api/devices/5/readings", "good-key", NULL, 200,
           "{\"device_id\":5,\"hours\":168,\"limit\":100}");
}

static void test_ingest_invalidates(void **state)
{
    (void)state;
    expect("GET", "/api/devices/7", "good-key", NULL, 200, "{\"id\":7}");
    expect("GET", "/api/readings/latest", "good-key", NULL, 200, NULL);
    expect("POST", "/api/devices/7/readings", "good-key", "{\"readings\":[{\"timestamp\":"
           "\"2026-11-27T10:00:00Z\",\"temperature\":1,\"humidity\":2,\"battery\":3,\"rssi\":-4}]}",
           201, "{\"device_id\":7,\"inserted\":1}");
    assert_int_equal(ingests, 1);
    assert_false(ingest_locked); /* no global lock unless --ingest-lock */
    assert_int_equal(ninvalidated, 2);
    assert_string_equal(invalidated[0], "latest");
    assert_string_equal(invalidated[1], "device:7");
    /* the next headline request is computed again */
    expect("GET", "/api/readings/latest", "good-key", NULL, 200, "{\"limit\":100,\"call\":2}");
    /* a malformed batch is refused before the query set sees it, and invalidates nothing */
    expect("POST", "/api/devices/7/readings", "good-key", "{\"readings\":[", 400, NULL);
    assert_int_equal(ingests, 1);
    assert_int_equal(ninvalidated, 2);
    /* --ingest-lock reaches the query set */
    srv.cfg.ingest_lock = true;
    expect("POST", "/api/devices/7/readings", "good-key", "{\"readings\":[{\"timestamp\":"
           "\"2026-11-27T10:00:00Z\",\"temperature\":1,\"humidity\":2,\"battery\":3,\"rssi\":-4}]}",
           201, "{\"device_id\":7,\"inserted\":1}");
    assert_int_equal(ingests, 2);
    assert_true(ingest_locked);
}

static void test_routes_and_methods(void **state)
{
    (void)state;
    struct api_response r = call("DELETE", "/api/devices/7", "good-key", NULL);
    assert_int_equal(r.status, 405);
    assert_string_equal(r.allow, "GET");
    free(r.body);
    r = call("PUT", "/api/devices/7/readings", "good-key", NULL);
    assert_int_equal(r.status, 405);
    assert_string_equal(r.allow, "GET, POST");
    free(r.body);
    expect("GET", "/api/nothing", "good-key", NULL, 404, NULL);
    expect("GET", "/api/devices/7/readings/extra", "good-key", NULL, 404, NULL);
    expect("GET", "/", NULL, NULL, 404, NULL);
    expect("GET", "/healthz", NULL, NULL, 200, "{\"status\":\"ok\",\"build\":\"99-test\"}");
    r = call("GET", "/metrics", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_false(r.encodable);
    assert_non_null(strstr(r.body, "apibench_build_info{build=\"99-test\"} 1"));
    free(r.body);
    assert_int_equal(acquires, 0);
}

static void test_database_down(void **state)
{
    (void)state;
    database_down = true;
    struct api_response r = call("GET", "/api/readings/latest", "good-key", NULL);
    assert_int_equal(r.status, 503);
    assert_true(r.retry_after_s >= 1);
    assert_non_null(strstr(r.body, "database unavailable"));
    free(r.body);
}

static void test_read_retried_once_on_new_connection(void **state)
{
    (void)state;
    uint64_t retries = metrics_get(C_DB_READ_RETRIES);
    connection_deaths = 1;
    expect("GET", "/api/readings/latest", "good-key", NULL, 200, "{\"limit\":100,\"call\":2}");
    assert_int_equal(acquires, 2); /* the dead one was given back, a new one taken */
    assert_int_equal(releases, 2);
    assert_int_equal(metrics_get(C_DB_READ_RETRIES) - retries, 1);
    /* only once: a second death is the client's 503 */
    connection_deaths = 2;
    args[0].name = "limit", args[0].value = "5";
    struct api_response r = call("GET", "/api/readings/latest", "good-key", NULL);
    assert_int_equal(r.status, 503);
    assert_true(r.retry_after_s >= 1);
    free(r.body);
    assert_int_equal(latest_calls, 4);
    assert_int_equal(metrics_get(C_DB_READ_RETRIES) - retries, 2);
}

static void test_write_not_retried(void **state)
{
    (void)state;
    uint64_t retries = metrics_get(C_DB_READ_RETRIES);
    connection_deaths = 1;
    struct api_response r = call("POST", "/api/devices/7/readings", "good-key",
                                 "{\"readings\":[{\"timestamp\":\"2026-11-27T10:00:00Z\","
                                 "\"temperature\":1,\"humidity\":2,\"battery\":3,\"rssi\":-4}]}");
    assert_int_equal(r.status, 503);
    assert_true(r.retry_after_s >= 1);
    free(r.body);
    assert_int_equal(ingests, 1);
    assert_int_equal(acquires, 1);
    assert_int_equal(ninvalidated, 0);
    assert_int_equal(metrics_get(C_DB_READ_RETRIES), retries);
}

static void test_reports(void **state)
{
    (void)state;
    expect("POST", "/api/reports", "good-key", "{\"kind\":\"moon\",\"id\":1,\"email\":\"a@b.co\"}",
           400, NULL);
    assert_int_equal(submits, 0);
    struct api_response r = call("POST", "/api/reports", "good-key",
                                 "{\"kind\":\"site\",\"id\":1,\"email\":\"a@b.co\"}");
    assert_int_equal(r.status, 202);
    assert_string_equal(r.location, "/api/jobs/9");
    assert_string_equal(r.body, "{\"job\":{\"id\":9}}");
    free(r.body);
    assert_int_equal(submits, 1);
}

static void test_ambiguous_requests(void **state)
{
    (void)state;
    /* a GET with a body: 400 on every route, before the key is looked at */
    expect("GET", "/api/readings/latest", "good-key", "{\"limit\":5}", 400,
           "{\"error\":{\"status\":400,\"message\":\"unexpected body: a GET request takes "
           "none\"}}");
    expect("GET", "/healthz", NULL, "x", 400, NULL);
    assert_int_equal(authentications, 0);
    /* two X-API-Key headers: 400, even when the first would authenticate */
    struct reqctx ctx = {.srv = &srv};
    struct api_request req = {"GET", "/api/readings/latest", "good-key", NULL, 0, arg, NULL, 2};
    struct api_response resp;
    handlers_dispatch(&srv, &ctx, &req, &resp);
    assert_int_equal(resp.status, 400);
    assert_non_null(strstr(resp.body, "duplicate X-API-Key"));
    free(resp.body);
    assert_int_equal(authentications, 0);
    /* one header (or a caller that does not count them) authenticates as before */
    req.api_key_headers = 1;
    handlers_dispatch(&srv, &ctx, &req, &resp);
    reqctx_release(&ctx);
    assert_int_equal(resp.status, 200);
    free(resp.body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_cache_hit_needs_no_connection, setup),
        cmocka_unit_test_setup(test_order_of_checks, setup),
        cmocka_unit_test_setup(test_ingest_invalidates, setup),
        cmocka_unit_test_setup(test_routes_and_methods, setup),
        cmocka_unit_test_setup(test_database_down, setup),
        cmocka_unit_test_setup(test_read_retried_once_on_new_connection, setup),
        cmocka_unit_test_setup(test_write_not_retried, setup),
        cmocka_unit_test_setup(test_reports, setup),
        cmocka_unit_test_setup(test_ambiguous_requests, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
