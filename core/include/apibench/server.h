/* server.h - one running server: its build, configuration and opened strategies. Shared
 * by the HTTP glue, the handlers and reqctx_db(); not a seam. */
#ifndef APIBENCH_SERVER_H
#define APIBENCH_SERVER_H

#include "build.h"
#include "config.h"

struct server {
    const struct build *build;
    struct config cfg;
    struct connsrc *connections;
    struct cache *cache;
    struct jobs *jobs;
};

/* Releases the request's connection, if it acquired one. Called once per request. */
struct reqctx;
void reqctx_release(struct reqctx *ctx);

#endif
