/* auth.c - API key checks. Keys are stored as SHA-256 digests; the database finds the
 * row by digest and the server re-checks the digest with CRYPTO_memcmp, so that no
 * comparison of secret-derived bytes in this process takes data-dependent time. */
#include "apibench/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apibench/build.h"
#include "apibench/cache.h"
#include "apibench/db.h"
#include "apibench/render.h"
#include "apibench/server.h"

#define AUTH_NS "auth"

/* Revokes the live keys of the user named by id ($1) or e-mail ($2; the other is NULL);
 * returns the user's id (NULL when there is none) and how many keys it revoked. */
static const struct stmt revoke_keys = {
    .id = 34,
    .name = "revoke_keys",
    .sql = "WITH u AS (SELECT id FROM users WHERE id = $1::int OR email = $2), "
           "r AS (UPDATE api_keys k SET revoked_at = now() FROM u "
           "WHERE k.user_id = u.id AND k.revoked_at IS NULL RETURNING k.id) "
           "SELECT (SELECT id FROM u), (SELECT count(*) FROM r)",
    .nparams = 2};

int auth_hash_key(const char *key, unsigned char out[32])
{
    return SHA256((const unsigned char *)key, strlen(key), out) ? 0 : -1;
}

void auth_hash_param(const unsigned char hash[32], char out[67])
{
    static const char hex[] = "0123456789abcdef";
    out[0] = '\\';
    out[1] = 'x';
    for (int i = 0; i < 32; i++) {
        out[2 + 2 * i] = hex[hash[i] >> 4];
        out[3 + 2 * i] = hex[hash[i] & 15];
    }
    out[66] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool auth_hash_matches(const char *pg_bytea, const unsigned char hash[32])
{
    unsigned char stored[32];
    if (!pg_bytea || strlen(pg_bytea) != 66 || pg_bytea[0] != '\\' || pg_bytea[1] != 'x')
        return false;
    for (int i = 0; i < 32; i++) {
        int hi = hexval(pg_bytea[2 + 2 * i]), lo = hexval(pg_bytea[3 + 2 * i]);
        if (hi < 0 || lo < 0)
            return false;
        stored[i] = (unsigned char)(hi << 4 | lo);
    }
    return CRYPTO_memcmp(stored, hash, 32) == 0;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int auth_parse_sites(const char *pg_array, struct caller *who)
{
    const char *p = pg_array;
    who->nsites = 0;
    if (!p || *p++ != '{')
        return -1;
    while (*p && *p != '}') {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 2147483647L || who->nsites >= CALLER_MAX_SITES)
            return -1;
        who->sites[who->nsites++] = (int)v;
        p = end;
        if (*p == ',')
            p++;
        else if (*p != '}')
            return -1;
    }
    if (*p != '}' || p[1] != '\0')
        return -1;
    qsort(who->sites, (size_t)who->nsites, sizeof who->sites[0], cmp_int);
    return 0;
}

bool auth_may_see_site(const struct caller *who, int site_id)
{
    int lo = 0, hi = who->nsites - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (who->sites[mid] == site_id)
            return true;
        if (who->sites[mid] < site_id)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return false;
}

json_t *auth_caller_to_json(const struct caller *who)
{
    json_t *sites = json_array();
    for (int i = 0; i < who->nsites; i++)
        json_array_append_new(sites, json_integer(who->sites[i]));
    json_t *o = json_object();
    json_object_set_new(o, "user_id", json_integer(who->user_id));
    json_object_set_new(o, "email", json_string(who->email));
    json_object_set_new(o, "sites", sites);
    return o;
}

int auth_caller_from_json(const char *text, size_t len, struct caller *who)
{
    json_t *o = json_loadb(text, len, 0, NULL);
    json_t *uid = json_object_get(o, "user_id"), *email = json_object_get(o, "email"),
           *sites = json_object_get(o, "sites");
    int rc = -1;
    if (!json_is_integer(uid) || !json_is_string(email) || !json_is_array(sites) ||
        json_array_size(sites) > CALLER_MAX_SITES)
        goto out;
    memset(who, 0, sizeof *who);
    who->user_id = (int)json_integer_value(uid);
    snprintf(who->email, sizeof who->email, "%s", json_string_value(email));
    for (size_t i = 0; i < json_array_size(sites); i++) {
        json_t *s = json_array_get(sites, i);
        if (!json_is_integer(s))
            goto out;
        who->sites[who->nsites++] = (int)json_integer_value(s);
    }
    rc = 0;
out:
    json_decref(o);
    return rc;
}

int auth_caller(struct reqctx *ctx, const char *key, struct caller *who, struct apierr *err)
{
    const struct build *b = ctx->srv->build;
    unsigned char hash[32];
    char hexkey[67];
    if (!key || !*key)
        return apierr_set(err, 401, "missing api key: send it in the X-API-Key header");
    if (strlen(key) > AUTH_MAX_KEY_LEN)
        return apierr_set(err, 401, "unknown api key");
    if (auth_hash_key(key, hash) != 0)
        return apierr_set(err, 500, "cannot hash api key");
    auth_hash_param(hash, hexkey);

    /* The digest, not the key, names the cache entry: a cache dump reveals no key. */
    struct cache_entry cached;
    const char *level = NULL;
    if (b->cache->get(ctx->srv->cache, AUTH_NS, hexkey + 2, &cached, &level)) {
        int rc = auth_caller_from_json(cached.body, cached.len, who);
        cache_entry_free(&cached);
        if (rc == 0)
            return 0;
    }

    struct dbconn *c = reqctx_db(ctx, err);
    if (!c)
        return -1;
    if (b->queries->authenticate(c, hash, who, err) != 0)
        return -1;
    json_t *j = auth_caller_to_json(who);
    size_t n;
    char *body = render_json(j, &n);
    json_decref(j);
    struct cache_entry entry = {.body = body, .len = n};
    b->cache->put(ctx->srv->cache, AUTH_NS, hexkey + 2, &entry, CACHE_STATIC);
    free(body);
    return 0;
}

int auth_revoke_keys(struct dbconn *c, const char *user, int *user_id, char *err, size_t errlen)
{
    if (!user || !*user) {
        snprintf(err, errlen, "no user given");
        return -1;
    }
    /* digits name a user id (up to 9 of them, so that it fits an int), anything else an
     * e-mail address */
    bool by_id = strspn(user, "0123456789") == strlen(user) && strlen(user) < 10;
    const char *params[] = {by_id ? user : NULL, by_id ? NULL : user};
    PGresult *r = db_query(c, &revoke_keys, params);
    int rc = -1;
    if (!db_ok(r)) {
        snprintf(err, errlen, "cannot revoke the keys of user '%s': %s", user,
                 PQerrorMessage(c->pg));
        err[strcspn(err, "\n")] = '\0';
    } else if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0)) {
        snprintf(err, errlen, "no user '%s' (give a user id or an e-mail address)", user);
    } else {
        *user_id = atoi(PQgetvalue(r, 0, 0));
        rc = atoi(PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    return rc;
}

void auth_forget_cached(const struct cache_ops *ops, struct cache *c)
{
    ops->invalidate(c, AUTH_NS);
}
