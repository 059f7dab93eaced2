/* lab.h - the strategy each lab's solution.c defines. A lab binary is the previous build
 * with one of these swapped in (workshop/labs/NN-name/build.c). */
#ifndef APIBENCH_LAB_H
#define APIBENCH_LAB_H

#include "apibench/build.h"

extern const struct queries_ops lab_queries;     /* 02-indexes */
extern const struct cache_ops lab_cache;         /* 03-cache */
extern const struct connsrc_ops lab_connections; /* 04-pool */
extern const struct encoder_ops lab_encoder;     /* 05-gzip */
extern const struct jobs_ops lab_jobs;           /* 06-async */

#endif
