/* server.c - server_main: configuration, the start-up checks, the strategies' lifetimes
 * and a graceful stop on SIGINT/SIGTERM. */
#include "apibench/build.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "apibench/accesslog.h"
#include "apibench/composition.h"
#include "apibench/db.h"
#include "apibench/http.h"
#include "apibench/indexes.h"
#include "apibench/server.h"

/* Checks the query set's indexes. Returns 0 to go on, -1 to refuse to start. An
 * unreachable database is not a reason to refuse: the server answers 503 until it is
 * back, and the check is then skipped (said on stderr). */
static int check_indexes(const struct server *srv, const char *prog)
{
    const char *const *required = srv->build->queries->required_indexes;
    char err[512];
    if (!required || !required[0])
        return 0;
    struct dbconn *c = db_connect(srv->cfg.database_url, srv->build->name, err, sizeof err);
    if (!c) {
        err[strcspn(err, "\n")] = '\0';
        fprintf(stderr, "%s: warning: index check skipped: %s\n", prog, err);
        return 0;
    }
    int rc = indexes_check(c, required, err, sizeof err);
    db_close(c);
    if (rc == -1) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return -1;
    }
    if (rc == -2)
        fprintf(stderr, "%s: warning: %s\n", prog, err);
    return 0;
}

int server_main(const struct build *b, int argc, char **argv)
{
    struct server srv = {.build = b};
    char prog[80], err[512];
    for (int a = 1; a < argc; a++)
        if (strcmp(argv[a], "--needs") == 0) {
            build_print_needs(b, stdout);
            return 0;
        }
    snprintf(prog, sizeof prog, "apibench-%s", b->name);
    config_defaults(&srv.cfg);
    int rc = config_parse(&srv.cfg, b->name, argc, argv, err, sizeof err);
    if (rc == 1)
        return 0;
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 2;
    }

    /* Handle SIGINT/SIGTERM in this thread only: block them before any thread starts. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    int exit_code = 1;
    struct http *h = NULL;
    if (srv.cfg.access_log && !srv.cfg.quiet && accesslog_open() != 0)
        fprintf(stderr, "%s: warning: no access log: cannot duplicate stderr\n", prog);
    if (b->encoder->init && b->encoder->init(&srv.cfg, err, sizeof err) != 0) {
        fprintf(stderr, "%s: cannot start encoder %s: %s\n", prog, b->encoder->name, err);
        goto out;
    }
    if (check_indexes(&srv, prog) != 0)
        goto out;
    if (!(srv.connections = b->connections->open(&srv.cfg, b->name, err, sizeof err))) {
        fprintf(stderr, "%s: cannot open connections (%s): %s\n", prog, b->connections->name,
                err);
        goto out;
    }
    if (!(srv.cache = b->cache->open(&srv.cfg, err, sizeof err))) {
        fprintf(stderr, "%s: cannot open cache %s: %s\n", prog, b->cache->name, err);
        goto out;
    }
    if (!(srv.jobs = b->jobs->open(&srv.cfg, err, sizeof err))) {
        fprintf(stderr, "%s: cannot open jobs %s: %s\n", prog, b->jobs->name, err);
        goto out;
    }
    if (!(h = http_start(&srv, err, sizeof err))) {
        fprintf(stderr, "%s: %s\n", prog, err);
        goto out;
    }
    fprintf(stderr,
            "%s: listening on http://%s:%d (threads %d; connections %s, queries %s, cache %s, "
            "encoder %s, jobs %s)\n",
            prog, srv.cfg.bind_address, srv.cfg.port, srv.cfg.threads, b->connections->name,
            b->queries->name, b->cache->name, b->encoder->name, b->jobs->name);

    /* Wait for SIGINT/SIGTERM, writing out the access log's buffer every second. */
    struct timespec second = {1, 0};
    int sig;
    while ((sig = sigtimedwait(&stop, NULL, &second)) < 0 && (errno == EAGAIN || errno == EINTR))
        accesslog_flush();
    fprintf(stderr, "%s: %s received, finishing requests in progress\n", prog,
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    exit_code = 0;
out:
    http_stop(h);
    if (srv.jobs)
        b->jobs->close(srv.jobs);
    if (srv.cache)
        b->cache->close(srv.cache);
    if (srv.connections)
        b->connections->close(srv.connections);
    curl_global_cleanup();
    accesslog_close();
    return exit_code;
}
