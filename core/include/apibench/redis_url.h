/* redis_url.h - Redis URLs (REDIS_URL, --redis-url): parsing them with libcurl's URL parser,
 * masking their password for messages, and connecting to the server one names.
 *
 *   redis://[user:]password@host[:port][/db]
 *
 * host is a name, an IPv4 address or a bracketed IPv6 literal ([::1], [fe80::1%25eth0]).
 * The user and the password are percent-decoded, so '@', ':', '/' and '%' in them are
 * written %40, %3A, %2F and %25. As redis-cli reads it, a user part without ':' is the
 * password ("redis://secret@host"). rediss:// (TLS) is refused: hiredis is built here
 * without TLS. */
#ifndef APIBENCH_REDIS_URL_H
#define APIBENCH_REDIS_URL_H

#include <hiredis/hiredis.h>
#include <stddef.h>

struct redis_url {
    char *host;     /* IPv6 without brackets, with "%zone" when the URL has one */
    int port;       /* 6379 when the URL has none */
    int db;         /* 0 when the URL has none */
    char *user;     /* NULL when the URL has none (AUTH password) */
    char *password; /* NULL when the URL has none (no AUTH) */
};

/* Parses url into out, whose strings are new (free them with redis_url_free). Returns 0,
 * or -1 with out zeroed and a one-line message in err that shows url with its password
 * masked. */
int redis_url_parse(const char *url, struct redis_url *out, char *err, size_t errlen);

/* Frees u's strings and zeroes u; a zeroed u is fine. u itself is the caller's. */
void redis_url_free(struct redis_url *u);

/* Connects to u (connect timeout connect_ms, command timeout command_ms; 0 = none), sends
 * AUTH [user] password when u has a password and SELECT when u->db is not 0. Returns a
 * context the caller frees with redisFree, or NULL with err ("cannot connect to redis at
 * host:port: ..."), which never holds the password. */
redisContext *redis_url_connect(const struct redis_url *u, int connect_ms, int command_ms,
                                char *err, size_t errlen);

#endif
