/* The lab binary apibench-lab-02: build 01-baseline with the queries strategy of
 * solution.c swapped in, or, built with LAB_REFERENCE (apibench-lab-02-reference), core's
 * queries_optimised. Not edited by students. */
#include "lab.h"

#ifdef LAB_REFERENCE
#define LAB_STRATEGY queries_optimised
#else
#define LAB_STRATEGY lab_queries
#endif

int main(int argc, char **argv)
{
    static const struct build b = {
        .name = LAB_NAME,
        .connections = &connsrc_per_request,
        .queries = &LAB_STRATEGY,
        .cache = &cache_none,
        .encoder = &encoder_identity,
        .jobs = &jobs_inline,
    };
    return server_main(&b, argc, argv);
}
