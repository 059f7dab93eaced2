/* One server build; README.md beside this file says what it changes and why. */
#include "apibench/build.h"

int main(int argc, char **argv)
{
    static const struct build b = {
        .name = "01-baseline",
        .connections = &connsrc_per_request,
        .queries = &queries_naive,
        .cache = &cache_none,
        .encoder = &encoder_identity,
        .jobs = &jobs_inline,
    };
    return server_main(&b, argc, argv);
}
