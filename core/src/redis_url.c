/* redis_url.c - parsing REDIS_URL (see redis_url.h). */
#include "apibench/redis_url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int redis_url_parse(const char *url, struct redis_url *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->port = 6379;
    if (!url || strncmp(url, "redis://", 8) != 0) {
        snprintf(err, errlen, "bad redis url '%s': expected redis://host:port/db",
                 url ? url : "");
        return -1;
    }
    const char *p = url + 8;
    const char *at = strrchr(p, '@'); /* the password may hold '@', the host not */
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;
        snprintf(out->password, sizeof(out->password), "%.*s", (int)(at - pw), pw);
        p = at + 1;
    }
    size_t hostlen = strcspn(p, ":/");
    if (hostlen == 0 || hostlen >= sizeof(out->host)) {
        snprintf(err, errlen, "bad redis url '%s': no host", url);
        return -1;
    }
    memcpy(out->host, p, hostlen);
    p += hostlen;
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port <= 0 || port > 65535) {
            snprintf(err, errlen, "bad redis url '%s': bad port", url);
            return -1;
        }
        out->port = (int)port;
        p = end;
    }
    if (*p == '/' && p[1]) {
        char *end;
        long db = strtol(p + 1, &end, 10);
        if (end == p + 1 || *end || db < 0 || db > 1000) {
            snprintf(err, errlen, "bad redis url '%s': bad database number", url);
            return -1;
        }
        out->db = (int)db;
    } else if (*p && strcmp(p, "/") != 0) {
        snprintf(err, errlen, "bad redis url '%s': unexpected '%s'", url, p);
        return -1;
    }
    return 0;
}
