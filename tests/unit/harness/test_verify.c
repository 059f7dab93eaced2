/* test_verify.c - verify's rules on canned responses: JSON shapes, the header rules
 * (Content-Type, Content-Length vs bytes, chunked, Date, Vary with gzip) and the API's
 * error form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "apibench/strbuf.h"
#include "verify.h"

static const struct verify_shape inner[] = {{"n", "int", NULL}, {NULL, NULL, NULL}};
static const struct verify_shape shape[] = {
    {"name", "string", NULL},  {"when", "string|null", NULL},   {"value", "number", NULL},
    {"items", "array", inner}, {"child", "object|null", inner}, {NULL, NULL, NULL}};

static bool check_text(const char *text, char *why, size_t whylen)
{
    json_t *v = json_loads(text, 0, NULL);
    assert_non_null(v);
    bool ok = verify_shape_check(v, shape, why, whylen);
    json_decref(v);
    return ok;
}

static void test_shapes(void **state)
{
    (void)state;
    char why[256];
    assert_true(check_text("{\"name\":\"a\",\"when\":null,\"value\":1.5,\"items\":[{\"n\":1}],"
                           "\"child\":{\"n\":2},\"extra\":true}",
                           why, sizeof why));
    assert_true(
        check_text("{\"name\":\"a\",\"when\":\"x\",\"value\":3,\"items\":[],\"child\":null}", why,
                   sizeof why));
    assert_false(
        check_text("{\"name\":\"a\",\"value\":1,\"items\":[],\"child\":null}", why, sizeof why));
    assert_string_equal(why, "when: missing");
    assert_false(
        check_text("{\"name\":\"a\",\"when\":null,\"value\":\"1\",\"items\":[],\"child\":null}",
                   why, sizeof why));
    assert_string_equal(why, "value: expected number, got string");
    assert_false(
        check_text("{\"name\":\"a\",\"when\":null,\"value\":1,\"items\":[{\"n\":1},{\"n\":1.5}],"
                   "\"child\":null}",
                   why, sizeof why));
    assert_string_equal(why, "items[1].n: expected int, got real");
    assert_false(check_text("{\"name\":\"a\",\"when\":null,\"value\":1,\"items\":[],\"child\":{}}",
                            why, sizeof why));
    assert_string_equal(why, "child.n: missing");
    assert_false(check_text("[1]", why, sizeof why));
}

/* A canned response with the given headers (name, value pairs) and body. */
static void canned(struct verify_response *r, long status, const char *body,
                   const char *const *headers)
{
    memset(r, 0, sizeof *r);
    r->status = status;
    r->raw = xstrdup(body);
    r->raw_len = strlen(body);
    r->body = xstrdup(body);
    r->body_len = r->raw_len;
    r->json = json_loads(body, 0, NULL);
    for (int i = 0; headers[i]; i += 2) {
        r->headers[r->nheaders].name = xstrdup(headers[i]);
        r->headers[r->nheaders].value = xstrdup(headers[i + 1]);
        r->nheaders++;
    }
}

static void test_headers(void **state)
{
    (void)state;
    struct verify_response r;
    char why[256];
    const char *body = "{\"a\":1}";
    const char *good[] = {"Content-Type",
                          "application/json; charset=utf-8",
                          "Content-Length",
                          "7",
                          "Date",
                          "Fri, 27 Nov 2026 10:00:00 GMT",
                          NULL};
    canned(&r, 200, body, good);
    assert_true(verify_json_headers(&r, why, sizeof why));
    assert_string_equal(verify_header(&r, "content-length"), "7");
    verify_response_free(&r);

    const char *chunked[] = {
        "Content-Type", "application/json", "Transfer-Encoding", "chunked", "Date", "x", NULL};
    canned(&r, 200, body, chunked);
    assert_true(verify_json_headers(&r, why, sizeof why));
    verify_response_free(&r);

    const char *badlen[] = {
        "Content-Type", "application/json", "Content-Length", "8", "Date", "x", NULL};
    canned(&r, 200, body, badlen);
    assert_false(verify_json_headers(&r, why, sizeof why));
    assert_non_null(strstr(why, "Content-Length 8 but 7 body bytes"));
    verify_response_free(&r);

    const char *nolen[] = {"Content-Type", "application/json", "Date", "x", NULL};
    canned(&r, 200, body, nolen);
    assert_false(verify_json_headers(&r, why, sizeof why));
    verify_response_free(&r);

    const char *nodate[] = {"Content-Type", "application/json", "Content-Length", "7", NULL};
    canned(&r, 200, body, nodate);
    assert_false(verify_json_headers(&r, why, sizeof why));
    assert_string_equal(why, "no Date header");
    verify_response_free(&r);

    const char *html[] = {"Content-Type", "text/html", "Content-Length", "7", "Date", "x", NULL};
    canned(&r, 200, body, html);
    assert_false(verify_json_headers(&r, why, sizeof why));
    verify_response_free(&r);

    const char *novary[] = {"Content-Type",
                            "application/json",
                            "Content-Length",
                            "7",
                            "Date",
                            "x",
                            "Content-Encoding",
                            "gzip",
                            NULL};
    canned(&r, 200, body, novary);
    assert_false(verify_json_headers(&r, why, sizeof why));
    assert_string_equal(why, "gzip body without Vary: Accept-Encoding");
    verify_response_free(&r);

    const char *vary[] = {"Content-Type",
                          "application/json",
                          "Content-Length",
                          "7",
                          "Date",
                          "x",
                          "Content-Encoding",
                          "gzip",
                          "Vary",
                          "Accept-Encoding",
                          NULL};
    canned(&r, 200, body, vary);
    assert_true(verify_json_headers(&r, why, sizeof why));
    verify_response_free(&r);
}

static void test_error_form(void **state)
{
    (void)state;
    struct verify_response r;
    char why[256];
    const char *body = "{\"error\":{\"status\":400,\"message\":\"invalid limit\"}}";
    char len[16];
    snprintf(len, sizeof len, "%zu", strlen(body));
    const char *h[] = {
        "Content-Type", "application/json", "Content-Length", len, "Date", "x", NULL};
    canned(&r, 400, body, h);
    assert_true(verify_error_body(&r, why, sizeof why));
    r.status = 404; /* the body says 400 */
    assert_false(verify_error_body(&r, why, sizeof why));
    assert_non_null(strstr(why, "differs from HTTP status 404"));
    verify_response_free(&r);

    const char *plain = "{\"message\":\"nope\"}";
    snprintf(len, sizeof len, "%zu", strlen(plain));
    canned(&r, 400, plain, h);
    assert_false(verify_error_body(&r, why, sizeof why));
    assert_string_equal(why, "error: missing");
    verify_response_free(&r);
}

static void test_timestamps(void **state)
{
    (void)state;
    /* as strings "...11Z" sorts after "...11.198Z"; as times it is before */
    assert_true(verify_timestamp_cmp("2026-11-27T10:52:11Z", "2026-11-27T10:52:11.198Z") < 0);
    assert_true(verify_timestamp_cmp("2026-11-27T10:52:11.2Z", "2026-11-27T10:52:11.198Z") > 0);
    assert_int_equal(verify_timestamp_cmp("2026-11-27T10:52:11.5Z", "2026-11-27T10:52:11.500Z"), 0);
    assert_true(verify_timestamp_cmp("2026-11-27T10:52:12Z", "2026-11-27T10:52:11.999999Z") > 0);
    assert_true(verify_timestamp_cmp("2025-12-31T23:59:59.9Z", "2026-01-01T00:00:00Z") < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_error_form),
        cmocka_unit_test(test_timestamps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
