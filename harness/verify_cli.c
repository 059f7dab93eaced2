/* Placeholder until this command is implemented: says so and fails. */
#include <stdio.h>
#include "../harness/commands.h"

int verify_main(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "apibench %s: not built yet\n", argv[0]);
    return 2;
}
