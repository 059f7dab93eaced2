/* urlmask.h - hiding the passwords in connection strings before they are printed, logged
 * or written to results (run JSON, capacity.json, verify output, e-mail errors). */
#ifndef APIBENCH_URLMASK_H
#define APIBENCH_URLMASK_H

#include <stddef.h>

/* Copies url into out (outlen bytes, always NUL-terminated, truncated if need be) with
 * every password replaced by "***": the one of the userinfo (scheme://user:PASSWORD@host)
 * and the value of any "password=" parameter (libpq's ?password=... and key=value
 * conninfo "password=..."). Text without a password is copied unchanged. Returns out. */
char *url_mask_password(const char *url, char *out, size_t outlen);

/* The same for a Redis URL, where a userinfo without ':' (redis://SECRET@host) is the
 * password, as redis-cli reads it. */
char *url_mask_redis_password(const char *url, char *out, size_t outlen);

#endif
