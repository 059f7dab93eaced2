/* apibench-server: any composition of the five strategies, chosen by flags, for ablation
 * (scripts/reproduce --ablation). The six variants/NN-name builds stay the canonical steps;
 * tests/integration/test_compositions.sh shows each equals its composition here. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "apibench/composition.h"

int main(int argc, char **argv)
{
    static struct build b;
    char err[256];
    bool help = false;
    for (int a = 1; a < argc; a++)
        help = help || strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0;
    if (composition_from_args(&b, &argc, argv, err, sizeof err) != 0) {
        fprintf(stderr, "apibench-server: %s\n", err);
        return 2;
    }
    if (help) {
        b.name = "server";
        int rc = server_main(&b, argc, argv);
        putchar('\n');
        composition_print_help(stdout);
        return rc;
    }
    return server_main(&b, argc, argv);
}
