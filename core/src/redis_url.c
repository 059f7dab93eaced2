/* redis_url.c - Redis URLs through libcurl's curl_url() (see redis_url.h). */
#include "apibench/redis_url.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "apibench/strbuf.h"
#include "apibench/urlmask.h"

#define DEFAULT_PORT 6379
#define SYNTAX "redis://[user:]password@host[:port][/db]"

/* "bad redis url '<masked url>': <why>" into err; returns -1. */
static int bad_url(const char *url, char *err, size_t errlen, const char *why)
{
    char masked[256];
    url_mask_redis_password(url, masked, sizeof masked);
    snprintf(err, errlen, "bad redis url '%s': %s", masked, why);
    return -1;
}

/* Part of u, percent-decoded when decode; NULL when absent. *failed is set when the part is
 * present but cannot be had (a decode error). */
static char *url_part(CURLU *u, CURLUPart part, bool decode, bool *failed)
{
    char *s = NULL;
    CURLUcode rc = curl_url_get(u, part, &s, decode ? CURLU_URLDECODE : 0);
    if (rc != CURLUE_OK) {
        *failed |= rc != CURLUE_NO_USER && rc != CURLUE_NO_PASSWORD && rc != CURLUE_NO_PORT &&
                   rc != CURLUE_NO_QUERY && rc != CURLUE_NO_FRAGMENT && rc != CURLUE_NO_ZONEID;
        return NULL;
    }
    char *copy = xstrdup(s);
    curl_free(s);
    return copy;
}

/* The database number of path ("", "/" or "/N"). Returns 0 or -1. */
static int parse_db(const char *path, int *db)
{
    *db = 0;
    if (!path || !*path || strcmp(path, "/") == 0)
        return 0;
    if (path[0] != '/' || path[1] < '0' || path[1] > '9')
        return -1;
    char *end;
    errno = 0;
    long v = strtol(path + 1, &end, 10);
    if (errno || *end || v > INT_MAX)
        return -1;
    *db = (int)v;
    return 0;
}

int redis_url_parse(const char *url, struct redis_url *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!url || !*url)
        return bad_url("", err, errlen, "empty; expected " SYNTAX);
    const char *scheme_end = strstr(url, "://");
    size_t scheme_len = scheme_end ? (size_t)(scheme_end - url) : 0;
    if (scheme_len == 6 && strncasecmp(url, "rediss", 6) == 0)
        return bad_url(url, err, errlen,
                       "rediss:// (TLS) is not supported: hiredis is built without TLS here");
    if (scheme_len != 5 || strncasecmp(url, "redis", 5) != 0)
        return bad_url(url, err, errlen, "expected " SYNTAX);
    if (strchr("/?#", scheme_end[3])) /* curl reads "redis:///0" as the any-address */
        return bad_url(url, err, errlen, "no host");
    if (strchr(scheme_end, '@') != strrchr(scheme_end, '@'))
        return bad_url(url, err, errlen,
                       "more than one '@' (write '@' in a user or password as %40)");

    CURLU *u = curl_url();
    if (!u)
        return bad_url(url, err, errlen, "out of memory");
    int rc = -1;
    char *port = NULL, *path = NULL, *query = NULL, *fragment = NULL, *zone = NULL;
    bool failed = false;
    CURLUcode cc = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
    if (cc != CURLUE_OK) {
        char why[160];
        bool login = cc == CURLUE_BAD_LOGIN || cc == CURLUE_BAD_USER || cc == CURLUE_BAD_PASSWORD ||
                     cc == CURLUE_BAD_HOSTNAME;
        snprintf(why, sizeof why, "%s%s", curl_url_strerror(cc),
                 login ? " (write '@', ':' and '/' in a user or password as %40, %3A, %2F)" : "");
        why[0] = (char)tolower((unsigned char)why[0]); /* curl's "Bad port" -> "bad port" */
        bad_url(url, err, errlen, why);
        goto out;
    }
    out->host = url_part(u, CURLUPART_HOST, false, &failed);
    out->user = url_part(u, CURLUPART_USER, true, &failed);
    out->password = url_part(u, CURLUPART_PASSWORD, true, &failed);
    port = url_part(u, CURLUPART_PORT, false, &failed);
    path = url_part(u, CURLUPART_PATH, false, &failed);
    query = url_part(u, CURLUPART_QUERY, false, &failed);
    fragment = url_part(u, CURLUPART_FRAGMENT, false, &failed);
    zone = url_part(u, CURLUPART_ZONEID, true, &failed);
    if (failed || !out->host || !*out->host) {
        bad_url(url, err, errlen,
                failed ? "cannot decode the user or password (no control characters, no %00)"
                       : "no host");
        goto out;
    }
    if (query || fragment) {
        bad_url(url, err, errlen, "unexpected '?' or '#': options are not supported");
        goto out;
    }
    out->port = DEFAULT_PORT;
    if (port) {
        long p = strtol(port, NULL, 10); /* curl checked it is a number up to 65535 */
        if (p < 1) {
            bad_url(url, err, errlen, "bad port (1 to 65535)");
            goto out;
        }
        out->port = (int)p;
    }
    if (parse_db(path, &out->db) != 0) {
        bad_url(url, err, errlen, "bad database number (a whole number after the '/')");
        goto out;
    }
    /* hiredis wants an IPv6 literal bare, with its zone after '%' */
    size_t hl = strlen(out->host);
    if (out->host[0] == '[' && hl >= 2 && out->host[hl - 1] == ']') {
        size_t n = hl + (zone ? strlen(zone) : 0) + 1;
        char *bare = xmalloc(n);
        snprintf(bare, n, "%.*s%s%s", (int)(hl - 2), out->host + 1, zone ? "%" : "",
                 zone ? zone : "");
        free(out->host);
        out->host = bare;
    }
    /* redis-cli's reading: "redis://secret@host" names a password, not a user */
    if (out->user && !out->password) {
        out->password = out->user;
        out->user = NULL;
    }
    if (out->user && !*out->user) {
        free(out->user);
        out->user = NULL;
    }
    rc = 0;
out:
    if (rc != 0)
        redis_url_free(out);
    free(port);
    free(path);
    free(query);
    free(fragment);
    free(zone);
    curl_url_cleanup(u);
    return rc;
}

void redis_url_free(struct redis_url *u)
{
    if (!u)
        return;
    free(u->host);
    free(u->user);
    free(u->password);
    memset(u, 0, sizeof *u);
}

/* "host:port", or "[v6]:port" for an IPv6 address, into out: where messages say we went. */
static void where(const struct redis_url *u, char *out, size_t outlen)
{
    bool v6 = strchr(u->host, ':') != NULL;
    snprintf(out, outlen, "%s%s%s:%d", v6 ? "[" : "", u->host, v6 ? "]" : "", u->port);
}

/* Runs one handshake command and checks that its reply is not an error. Returns 0, or -1
 * with "cannot <what> at host:port: <detail>" in err; the arguments are never shown. */
static int handshake_command(redisContext *rc, const struct redis_url *u, int argc,
                             const char **argv, const char *what, char *err, size_t errlen)
{
    void *reply = NULL;
    char at[300];
    where(u, at, sizeof at);
    if (redisAppendCommandArgv(rc, argc, argv, NULL) != REDIS_OK ||
        redisGetReply(rc, &reply) != REDIS_OK || !reply) {
        snprintf(err, errlen, "cannot %s at %s: %s", what, at,
                 rc->errstr[0] ? rc->errstr : "no reply");
        return -1;
    }
    redisReply *r = reply;
    int rc_ = r->type == REDIS_REPLY_ERROR ? -1 : 0;
    if (rc_ != 0)
        snprintf(err, errlen, "cannot %s at %s: %s", what, at, r->str);
    freeReplyObject(r);
    return rc_;
}

redisContext *redis_url_connect(const struct redis_url *u, int connect_ms, int command_ms,
                                char *err, size_t errlen)
{
    char at[300];
    where(u, at, sizeof at);
    struct timeval tv = {connect_ms / 1000, (connect_ms % 1000) * 1000};
    redisContext *rc = connect_ms > 0 ? redisConnectWithTimeout(u->host, u->port, tv)
                                      : redisConnect(u->host, u->port);
    if (!rc || rc->err) {
        snprintf(err, errlen, "cannot connect to redis at %s: %s", at,
                 rc ? rc->errstr : "out of memory");
        goto fail;
    }
    if (command_ms > 0) {
        struct timeval ct = {command_ms / 1000, (command_ms % 1000) * 1000};
        if (redisSetTimeout(rc, ct) != REDIS_OK) {
            snprintf(err, errlen, "cannot set a timeout on redis at %s: %s", at, rc->errstr);
            goto fail;
        }
    }
    if (u->password) {
        const char *with_user[] = {"AUTH", u->user, u->password};
        const char *without[] = {"AUTH", u->password};
        if (handshake_command(rc, u, u->user ? 3 : 2, u->user ? with_user : without,
                              "authenticate to redis", err, errlen) != 0)
            goto fail;
    }
    if (u->db != 0) {
        char db[16];
        snprintf(db, sizeof db, "%d", u->db);
        const char *argv[] = {"SELECT", db};
        if (handshake_command(rc, u, 2, argv, "select the redis database", err, errlen) != 0)
            goto fail;
    }
    return rc;
fail:
    if (rc)
        redisFree(rc);
    return NULL;
}
