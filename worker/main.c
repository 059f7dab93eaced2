/* apibench-worker - the 06-async job consumer. See core/include/apibench/worker.h. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "apibench/worker.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1; /* finish or release the current job, then exit */
}

int main(int argc, char **argv)
{
    struct worker_config cfg;
    char err[300];
    worker_config_defaults(&cfg);
    int rc = worker_config_parse(&cfg, argc, argv, err, sizeof(err));
    if (rc == 1)
        return 0;
    if (rc != 0) {
        fprintf(stderr, "apibench-worker: %s\n", err);
        return 2;
    }
    if (cfg.compare)
        return worker_compare_reports(&cfg);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: a blocking read returns early */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return worker_run(&cfg, &stop_requested);
}
