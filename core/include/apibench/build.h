/* build.h - a server build is a choice of one implementation per strategy. Each
 * variants/NN-name/main.c fills one struct build and calls server_main(); the diff between
 * neighbouring builds is the one line that changes. */
#ifndef APIBENCH_BUILD_H
#define APIBENCH_BUILD_H

#include "cache.h"
#include "db.h"
#include "encoder.h"
#include "jobs.h"
#include "queries.h"

struct build {
    const char *name; /* "01-baseline" ... "06-async" */
    const struct connsrc_ops *connections;
    const struct queries_ops *queries;
    const struct cache_ops *cache;
    const struct encoder_ops *encoder;
    const struct jobs_ops *jobs;
};

/* Parses the configuration, checks the database (and the indexes the query set needs),
 * serves until SIGINT or SIGTERM, then drains and exits. Returns the process exit code. */
int server_main(const struct build *b, int argc, char **argv);

#endif
