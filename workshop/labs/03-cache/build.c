/* The lab binary apibench-lab-03: build 02-indexes with the cache strategy of solution.c
 * swapped in, or, built with LAB_REFERENCE (apibench-lab-03-reference), core's
 * cache_tiered. Not edited by students. */
#include "lab.h"

#ifdef LAB_REFERENCE
#define LAB_STRATEGY cache_tiered
#else
#define LAB_STRATEGY lab_cache
#endif

int main(int argc, char **argv)
{
    static const struct build b = {
        .name = LAB_NAME,
        .connections = &connsrc_per_request,
        .queries = &queries_optimised,
        .cache = &LAB_STRATEGY,
        .encoder = &encoder_identity,
        .jobs = &jobs_inline,
    };
    return server_main(&b, argc, argv);
}
