/* auth.h - API keys: hashing, constant-time comparison, resolving the X-API-Key header of
 * a request into a caller (through the response cache's "auth" namespace, so that a cached
 * build authenticates a repeat caller without a query), and revoking a user's keys. */
#ifndef APIBENCH_AUTH_H
#define APIBENCH_AUTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "request.h"

struct cache;
struct cache_ops;
struct dbconn;

#define AUTH_MAX_KEY_LEN 256

/* SHA-256 of key into out. Returns 0, or -1 if libcrypto fails. */
int auth_hash_key(const char *key, unsigned char out[32]);

/* The bytea text parameter for hash: "\x" and 64 hex digits, NUL-terminated. */
void auth_hash_param(const unsigned char hash[32], char out[67]);

/* True if pg_bytea (PostgreSQL's hex bytea text, "\x...") is exactly hash, compared in
 * constant time (CRYPTO_memcmp). */
bool auth_hash_matches(const char *pg_bytea, const unsigned char hash[32]);

/* Parses a PostgreSQL integer array text ("{1,2,3}") into who->sites, sorted ascending.
 * Returns 0, or -1 when malformed or longer than CALLER_MAX_SITES. */
int auth_parse_sites(const char *pg_array, struct caller *who);

/* The caller as a new JSON object {"user_id","email","sites"} and back (0 or -1). */
json_t *auth_caller_to_json(const struct caller *who);
int auth_caller_from_json(const char *text, size_t len, struct caller *who);

/* Resolves key (the X-API-Key header, may be NULL) into *who: the cache first, then the
 * build's query set. Returns 0, or -1 with err: 401 missing/unknown/revoked key, 503
 * when the database is unavailable. */
int auth_caller(struct reqctx *ctx, const char *key, struct caller *who, struct apierr *err);

/* True if site_id is one of who's sites. */
bool auth_may_see_site(const struct caller *who, int site_id);

/* Marks every live API key of user (a user id, or an e-mail address) revoked, in one
 * parameterised UPDATE. Sets *user_id and returns how many keys it revoked (0 when all
 * were revoked already), or -1 with a one-line message in err (no such user, or the
 * database's error). Servers then answer 401 "api key revoked", once their caches have
 * forgotten the caller (auth_forget_cached). */
int auth_revoke_keys(struct dbconn *c, const char *user, int *user_id, char *err, size_t errlen);

/* Drops every cached caller, here and on every instance sharing the cache: the "auth"
 * namespace, through the cache's own invalidation (Redis DEL + PUBLISH for cache_tiered). */
void auth_forget_cached(const struct cache_ops *ops, struct cache *c);

#endif
