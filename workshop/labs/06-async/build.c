/* The lab binary apibench-lab-06: build 05-gzip with the jobs strategy of solution.c
 * swapped in, or, built with LAB_REFERENCE (apibench-lab-06-reference), core's jobs_queue.
 * Not edited by students. */
#include "lab.h"

#ifdef LAB_REFERENCE
#define LAB_STRATEGY jobs_queue
#else
#define LAB_STRATEGY lab_jobs
#endif

int main(int argc, char **argv)
{
    static const struct build b = {
        .name = LAB_NAME,
        .connections = &connsrc_pool,
        .queries = &queries_optimised,
        .cache = &cache_tiered,
        .encoder = &encoder_gzip,
        .jobs = &LAB_STRATEGY,
    };
    return server_main(&b, argc, argv);
}
