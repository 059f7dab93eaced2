/* urlmask.c - passwords out of URLs before they are shown (see urlmask.h). */
#include "apibench/urlmask.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#define MASK "***"

/* Appends n bytes of s to out at *o, keeping room for the NUL. */
static void put(char *out, size_t outlen, size_t *o, const char *s, size_t n)
{
    while (n-- > 0 && *o + 1 < outlen)
        out[(*o)++] = *s++;
}

/* Length of a "password=" value at p: up to '&', '#' or whitespace, or a quoted conninfo
 * value ('...' with backslash escapes) as a whole. */
static size_t password_value_len(const char *p)
{
    size_t n = 0;
    if (p[0] == '\'') {
        for (n = 1; p[n] && p[n] != '\''; n++)
            if (p[n] == '\\' && p[n + 1])
                n++;
        return p[n] ? n + 1 : n;
    }
    while (p[n] && p[n] != '&' && p[n] != '#' && p[n] != ' ' && p[n] != '\t' && p[n] != '\n')
        n++;
    return n;
}

/* bare_secret: a userinfo without ':' (scheme://SECRET@host) is a password, not a user. */
static char *mask(const char *url, char *out, size_t outlen, bool bare_secret)
{
    size_t o = 0;
    if (outlen == 0)
        return out;
    if (!url)
        url = "";
    /* the userinfo's password: between the first ':' after "://" and the authority's '@' */
    const char *scheme_end = strstr(url, "://");
    const char *p = url;
    if (scheme_end) {
        const char *auth = scheme_end + 3;
        size_t auth_len = strcspn(auth, "/?#");
        const char *at = NULL;
        for (size_t i = 0; i < auth_len; i++)
            if (auth[i] == '@')
                at = auth + i; /* the last '@': a password may hold an unescaped '@' */
        const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        const char *secret = colon ? colon + 1 : at && bare_secret ? auth : NULL;
        if (secret) {
            put(out, outlen, &o, url, (size_t)(secret - url));
            put(out, outlen, &o, MASK, strlen(MASK));
            p = at;
        }
    }
    /* every "password=" parameter after that */
    while (*p) {
        bool starts_word = p == url || strchr("?& \t\n", p[-1]);
        if (starts_word && strncasecmp(p, "password=", 9) == 0) {
            put(out, outlen, &o, p, 9);
            put(out, outlen, &o, MASK, strlen(MASK));
            p += 9;
            p += password_value_len(p);
            continue;
        }
        put(out, outlen, &o, p, 1);
        p++;
    }
    out[o] = '\0';
    return out;
}

char *url_mask_password(const char *url, char *out, size_t outlen)
{
    return mask(url, out, outlen, false);
}

char *url_mask_redis_password(const char *url, char *out, size_t outlen)
{
    return mask(url, out, outlen, true);
}
