/* test_redis_url.c - Redis URL parsing (curl_url), password masking, and the AUTH/SELECT
 * handshake of redis_url_connect against a fake hiredis (--wrap, test_redis_url.wrap). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "apibench/redis_url.h"
#include "apibench/urlmask.h"

/* --- parsing */

static void parse_ok(const char *url, struct redis_url *u)
{
    char err[512] = "";
    if (redis_url_parse(url, u, err, sizeof err) != 0)
        fail_msg("%s: %s", url, err);
}

static void test_host_port_db(void **state)
{
    (void)state;
    struct redis_url u;
    parse_ok("redis://127.0.0.1:56379/0", &u);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 56379);
    assert_int_equal(u.db, 0);
    assert_null(u.user);
    assert_null(u.password);
    redis_url_free(&u);

    parse_ok("redis://localhost", &u);
    assert_string_equal(u.host, "localhost");
    assert_int_equal(u.port, 6379);
    assert_int_equal(u.db, 0);
    redis_url_free(&u);

    parse_ok("REDIS://cache.example:7000/", &u);
    assert_string_equal(u.host, "cache.example");
    assert_int_equal(u.port, 7000);
    assert_int_equal(u.db, 0);
    redis_url_free(&u);

    parse_ok("redis://cache/15", &u);
    assert_int_equal(u.port, 6379);
    assert_int_equal(u.db, 15);
    redis_url_free(&u);
}

static void test_user_and_password(void **state)
{
    (void)state;
    struct redis_url u;
    parse_ok("redis://:s3cret@cache:7000/3", &u);
    assert_null(u.user);
    assert_string_equal(u.password, "s3cret");
    assert_string_equal(u.host, "cache");
    assert_int_equal(u.port, 7000);
    assert_int_equal(u.db, 3);
    redis_url_free(&u);

    parse_ok("redis://app:s3cret@cache", &u);
    assert_string_equal(u.user, "app");
    assert_string_equal(u.password, "s3cret");
    redis_url_free(&u);

    /* as redis-cli reads it: a lone user part is the password */
    parse_ok("redis://s3cret@cache", &u);
    assert_null(u.user);
    assert_string_equal(u.password, "s3cret");
    redis_url_free(&u);

    /* percent-decoding; a ':' after the first belongs to the password */
    parse_ok("redis://app%40site:p%3Aa%2Fs%25s%20w%40rd:x@cache/1", &u);
    assert_string_equal(u.user, "app@site");
    assert_string_equal(u.password, "p:a/s%s w@rd:x");
    assert_int_equal(u.db, 1);
    redis_url_free(&u);
}

static void test_long_password(void **state)
{
    (void)state;
    char pw[1001], url[1100];
    for (int i = 0; i < 1000; i++)
        pw[i] = (char)('a' + i % 26);
    pw[1000] = '\0';
    snprintf(url, sizeof url, "redis://app:%s@cache:6380/2", pw);
    struct redis_url u;
    parse_ok(url, &u);
    assert_string_equal(u.password, pw);
    assert_string_equal(u.user, "app");
    assert_string_equal(u.host, "cache");
    assert_int_equal(u.port, 6380);
    redis_url_free(&u);
}

static void test_ipv6(void **state)
{
    (void)state;
    struct redis_url u;
    parse_ok("redis://[::1]:6380/2", &u);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 6380);
    assert_int_equal(u.db, 2);
    redis_url_free(&u);

    parse_ok("redis://app:pw@[2001:db8::7]", &u);
    assert_string_equal(u.host, "2001:db8::7");
    assert_int_equal(u.port, 6379);
    assert_string_equal(u.password, "pw");
    redis_url_free(&u);

    parse_ok("redis://[fe80::1%25eth0]:7000", &u);
    assert_string_equal(u.host, "fe80::1%eth0");
    assert_int_equal(u.port, 7000);
    redis_url_free(&u);
}

/* Each bad URL is refused with "bad redis url", leaves out zeroed, and never shows the
 * password "hunter2" that some of them carry. */
static void test_bad_urls(void **state)
{
    (void)state;
    static const struct {
        const char *url, *why;
    } bad[] = {
        {NULL, "empty"},
        {"", "empty"},
        {"http://cache:6379", "expected redis://"},
        {"cache:6379", "expected redis://"},
        {"redis:/cache", "expected redis://"},
        {"rediss://app:hunter2@cache:6380", "TLS"},
        {"redis://", "no host"},
        {"redis:///0", "no host"},
        {"redis://app:hunter2@", "host"},
        {"redis://cache:0", "port"},
        {"redis://cache:99999", "ort"},
        {"redis://cache:12ab", "ort"},
        {"redis://app:hunter2@cache:1/x", "database"},
        {"redis://cache/0/1", "database"},
        {"redis://cache/-1", "database"},
        {"redis://cache/99999999999", "database"},
        {"redis://cache/0?db=1", "options"},
        {"redis://cache/0#x", "options"},
        {"redis://app:hunter2%00@cache", "decode"},
        {"redis://app:hunter2%0a@cache", "decode"},
        {"redis://app:hunt@er2@cache", "%40"},
        {"redis://hunter2 x@cache", ""},
        {"redis://[::1", ""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct redis_url u = {.host = NULL};
        char err[512] = "";
        if (redis_url_parse(bad[i].url, &u, err, sizeof err) != -1)
            fail_msg("accepted %s", bad[i].url);
        if (strncmp(err, "bad redis url", 13) != 0 || !strstr(err, bad[i].why))
            fail_msg("%s: message '%s' does not say '%s'", bad[i].url, err, bad[i].why);
        if (strstr(err, "hunter2") || strstr(err, "er2@"))
            fail_msg("%s: message shows the password: %s", bad[i].url, err);
        assert_null(u.host);
        assert_null(u.user);
        assert_null(u.password);
        redis_url_free(&u); /* a zeroed url is fine */
    }
}

static void test_mask(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"redis://app:hunter2@cache:6379/0", "redis://app:***@cache:6379/0"},
        {"redis://:hunter2@cache", "redis://:***@cache"},
        {"redis://hunter2@cache", "redis://***@cache"},
        {"redis://app:hunt@er2@cache", "redis://app:***@cache"},
        {"redis://app:p%40ss@[::1]:1/2", "redis://app:***@[::1]:1/2"},
        {"redis://cache:6379/0", "redis://cache:6379/0"},
        {"not a url", "not a url"},
        {"", ""},
    };
    char out[128];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        url_mask_redis_password(cases[i][0], out, sizeof out);
        assert_string_equal(out, cases[i][1]);
    }
    url_mask_redis_password(NULL, out, sizeof out);
    assert_string_equal(out, "");
    url_mask_redis_password("redis://app:hunter2@cache", out, 12); /* truncated, still masked */
    assert_string_equal(out, "redis://app");
}

/* --- the handshake, against a fake hiredis that logs commands */

static char sent[8][256]; /* each command as "ARG ARG ..." */
static int nsent;
static void *replies[8];
static int nreplies;
static bool refuse_auth;
static int live_contexts;

redisContext *__wrap_redisConnectWithTimeout(const char *ip, int port, const struct timeval tv);
redisContext *__wrap_redisConnect(const char *ip, int port);
int __wrap_redisSetTimeout(redisContext *c, const struct timeval tv);
void __wrap_redisFree(redisContext *c);
int __wrap_redisAppendCommandArgv(redisContext *c, int argc, const char **argv,
                                  const size_t *argvlen);
int __wrap_redisGetReply(redisContext *c, void **reply);

redisContext *__wrap_redisConnect(const char *ip, int port)
{
    check_expected(ip);
    check_expected(port);
    live_contexts++;
    return calloc(1, sizeof(redisContext));
}

redisContext *__wrap_redisConnectWithTimeout(const char *ip, int port, const struct timeval tv)
{
    (void)tv;
    return __wrap_redisConnect(ip, port);
}

int __wrap_redisSetTimeout(redisContext *c, const struct timeval tv)
{
    (void)c;
    (void)tv;
    return REDIS_OK;
}

void __wrap_redisFree(redisContext *c)
{
    if (c)
        live_contexts--;
    free(c);
}

static redisReply *reply(int type, const char *str)
{
    redisReply *r = calloc(1, sizeof *r);
    r->type = type;
    r->str = strdup(str);
    r->len = strlen(str);
    return r;
}

int __wrap_redisAppendCommandArgv(redisContext *c, int argc, const char **argv,
                                  const size_t *argvlen)
{
    (void)c;
    assert_null(argvlen);
    assert_true(nsent < 8);
    char *line = sent[nsent++];
    line[0] = '\0';
    for (int i = 0; i < argc; i++) {
        assert_non_null(argv[i]);
        size_t used = strlen(line);
        snprintf(line + used, 256 - used, "%s%s", i ? " " : "", argv[i]);
    }
    bool auth = strcmp(argv[0], "AUTH") == 0;
    replies[nreplies++] = auth && refuse_auth
                              ? reply(REDIS_REPLY_ERROR, "WRONGPASS invalid username-password pair")
                              : reply(REDIS_REPLY_STATUS, "OK");
    return REDIS_OK;
}

int __wrap_redisGetReply(redisContext *c, void **out)
{
    (void)c;
    assert_true(nreplies > 0);
    *out = replies[0];
    memmove(replies, replies + 1, (size_t)--nreplies * sizeof *replies);
    return REDIS_OK;
}

static int reset(void **state)
{
    (void)state;
    nsent = nreplies = live_contexts = 0;
    refuse_auth = false;
    return 0;
}

/* Connects to url (expecting host and port) and frees the context; true when connected,
 * false with err. */
static bool connect_to(const char *url, const char *host, int port, char *err, size_t errlen)
{
    struct redis_url u;
    parse_ok(url, &u);
    expect_string(__wrap_redisConnect, ip, host);
    expect_value(__wrap_redisConnect, port, port);
    redisContext *rc = redis_url_connect(&u, 100, 100, err, errlen);
    redis_url_free(&u);
    if (rc)
        redisFree(rc);
    assert_int_equal(live_contexts, 0);
    return rc != NULL;
}

static void test_connect_sends_auth_with_user(void **state)
{
    (void)state;
    char err[256];
    assert_true(connect_to("redis://app%40x:p%20w@[::1]:7000/4", "::1", 7000, err, sizeof err));
    assert_int_equal(nsent, 2);
    assert_string_equal(sent[0], "AUTH app@x p w");
    assert_string_equal(sent[1], "SELECT 4");
}

static void test_connect_sends_auth_password_only(void **state)
{
    (void)state;
    char err[256];
    assert_true(connect_to("redis://:pw@cache", "cache", 6379, err, sizeof err));
    assert_int_equal(nsent, 1);
    assert_string_equal(sent[0], "AUTH pw");
}

static void test_connect_without_password(void **state)
{
    (void)state;
    char err[256];
    assert_true(connect_to("redis://cache:1", "cache", 1, err, sizeof err));
    assert_int_equal(nsent, 0);
}

static void test_connect_refused_auth(void **state)
{
    (void)state;
    char err[256] = "";
    refuse_auth = true;
    assert_false(connect_to("redis://app:hunter2@[::1]:7000/4", "::1", 7000, err, sizeof err));
    assert_int_equal(nsent, 1); /* no SELECT after a refused AUTH */
    assert_string_equal(err, "cannot authenticate to redis at [::1]:7000: "
                             "WRONGPASS invalid username-password pair");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_port_db),
        cmocka_unit_test(test_user_and_password),
        cmocka_unit_test(test_long_password),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_mask),
        cmocka_unit_test_setup(test_connect_sends_auth_with_user, reset),
        cmocka_unit_test_setup(test_connect_sends_auth_password_only, reset),
        cmocka_unit_test_setup(test_connect_without_password, reset),
        cmocka_unit_test_setup(test_connect_refused_auth, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
