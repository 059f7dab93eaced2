/* The lab binary apibench-lab-05: build 04-pool with the encoder strategy of solution.c
 * swapped in, or, built with LAB_REFERENCE (apibench-lab-05-reference), core's
 * encoder_gzip. Not edited by students. */
#include "lab.h"

#ifdef LAB_REFERENCE
#define LAB_STRATEGY encoder_gzip
#else
#define LAB_STRATEGY lab_encoder
#endif

int main(int argc, char **argv)
{
    static const struct build b = {
        .name = LAB_NAME,
        .connections = &connsrc_pool,
        .queries = &queries_optimised,
        .cache = &cache_tiered,
        .encoder = &LAB_STRATEGY,
        .jobs = &jobs_inline,
    };
    return server_main(&b, argc, argv);
}
