/* main.c - the apibench command: dispatches to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

struct command {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"seed", seed_main, "create the schema and load synthetic device data (COPY)"},
    {"freshen", freshen_main, "shift reading timestamps so that the last day is populated"},
    {"keys", keys_main, "print the API keys of the seeded users"},
    {"verify", verify_main, "check running builds: status, headers, JSON shape, equal bodies"},
    {"run", run_main, "offer measured HTTP load (open or closed loop) and write results"},
    {"capacity", capacity_main, "find the highest rate a target holds under the SLO (search)"},
    {"report", report_main, "write report.md for a results folder"},
    {"compare", compare_main, "compare two results folders (two machines or configurations)"},
    {"lab", lab_main, "workshop labs: setup a student, the room's board (apibench lab --help)"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: apibench COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'apibench COMMAND --help' describes a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].main(argc - 1, argv + 1);
    fprintf(stderr, "apibench: unknown command '%s' (see apibench --help)\n", argv[1]);
    return 2;
}
