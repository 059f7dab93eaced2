/* The lab binary apibench-lab-04: build 03-cache with the connections strategy of
 * solution.c swapped in, or, built with LAB_REFERENCE (apibench-lab-04-reference), core's
 * connsrc_pool. Not edited by students. */
#include "lab.h"

#ifdef LAB_REFERENCE
#define LAB_STRATEGY connsrc_pool
#else
#define LAB_STRATEGY lab_connections
#endif

int main(int argc, char **argv)
{
    static const struct build b = {
        .name = LAB_NAME,
        .connections = &LAB_STRATEGY,
        .queries = &queries_optimised,
        .cache = &cache_tiered,
        .encoder = &encoder_identity,
        .jobs = &jobs_inline,
    };
    return server_main(&b, argc, argv);
}
