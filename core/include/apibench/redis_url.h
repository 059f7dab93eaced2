/* redis_url.h - redis://[:password@]host[:port][/db] URLs, as REDIS_URL gives them. */
#ifndef APIBENCH_REDIS_URL_H
#define APIBENCH_REDIS_URL_H

#include <stddef.h>

struct redis_url {
    char host[256];
    int port;         /* 6379 when the URL has none */
    int db;           /* 0 when the URL has none */
    char password[128];
};

/* Parses url into out. Returns 0, or -1 with a one-line message in err. */
int redis_url_parse(const char *url, struct redis_url *out, char *err, size_t errlen);

#endif
