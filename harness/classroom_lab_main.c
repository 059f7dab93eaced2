/* classroom_lab_main.c - `apibench lab SUBCOMMAND` on the classroom branch alone.
 * MERGE NOTE: the labs branch has its own lab_main (harness/lab_cli.c: check, score); when
 * both are merged, delete this file and add "setup" and "board" to that lab_main, calling
 * lab_setup_main and lab_board_main (commands.h). */
#include <stdio.h>
#include <string.h>

#include "commands.h"

/* `apibench lab SUBCOMMAND`: the table the labs' `check` joins. */
static const struct {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *summary;
} lab_commands[] = {
    {"setup", lab_setup_main, "give a student their database, Redis prefix and ports"},
    {"board", lab_board_main, "write the room's scoreboard from the results of lab check"},
};

int lab_main(int argc, char **argv)
{
    size_t n = sizeof lab_commands / sizeof lab_commands[0];
    if (argc >= 2)
        for (size_t i = 0; i < n; i++)
            if (strcmp(argv[1], lab_commands[i].name) == 0)
                return lab_commands[i].main(argc - 1, argv + 1);
    FILE *out = argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr;
    fprintf(out, "usage: apibench lab SUBCOMMAND [OPTIONS]\n\n");
    for (size_t i = 0; i < n; i++)
        fprintf(out, "  %-8s %s\n", lab_commands[i].name, lab_commands[i].summary);
    return out == stdout ? 0 : 2;
}
