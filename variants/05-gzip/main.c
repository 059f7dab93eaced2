/* One server build; README.md beside this file says what it changes and why. */
#include "apibench/build.h"

int main(int argc, char **argv)
{
    static const struct build b = {
        .name = "05-gzip",
        .connections = &connsrc_pool,
        .queries = &queries_optimised,
        .cache = &cache_tiered,
        .encoder = &encoder_gzip,
        .jobs = &jobs_inline,
    };
    return server_main(&b, argc, argv);
}
