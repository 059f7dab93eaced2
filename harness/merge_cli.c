/* merge_cli.c - `apibench merge OUT RUN...` (see merge.h, docs/SEGMENTS.md). */
#include <stdio.h>
#include <string.h>

#include "../harness/commands.h"
#include "merge.h"

#define MERGE_MAX_RUNS 256

static const char merge_usage[] =
    "usage: apibench merge OUT RUN [RUN...]\n"
    "\n"
    "Combines runs (each DIR/NAME as given to apibench run --out: the segments of one load,\n"
    "or one generator per server instance) into OUT.json, OUT.*.hgrm and OUT.*.hlog, as one\n"
    "run: histograms added exactly from the runs' .hlog files, counts, bytes and errors\n"
    "summed, rates over the union of the measured windows (docs/SEGMENTS.md).\n"
    "Exit: 0 ok, 1 a run missing or unreadable or histogram configurations that differ,\n"
    "2 bad usage.\n";

int merge_main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(merge_usage, stdout);
        return 0;
    }
    if (argc < 3) {
        fprintf(stderr, "apibench merge: needs OUT and at least one RUN (see --help)\n");
        return 2;
    }
    for (int i = 1; i < argc; i++)
        if (argv[i][0] == '-' || argv[i][0] == '\0') {
            fprintf(stderr, "apibench merge: unexpected argument '%s' (see --help)\n", argv[i]);
            return 2;
        }
    if (argc - 2 > MERGE_MAX_RUNS) {
        fprintf(stderr, "apibench merge: at most %d runs\n", MERGE_MAX_RUNS);
        return 2;
    }
    char err[1024];
    if (merge_runs(argv[1], argv + 2, argc - 2, stderr, err, sizeof err) < 0) {
        fprintf(stderr, "apibench merge: %s\n", err);
        return 1;
    }
    printf("merged %d run(s): %s.json\n", argc - 2, argv[1]);
    return 0;
}
