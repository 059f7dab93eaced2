/* envinfo.h - what machine and software a run was measured on, for the results file. */
#ifndef APIBENCH_ENVINFO_H
#define APIBENCH_ENVINFO_H

#include <jansson.h>
#include <stdint.h>

struct envinfo {
    char hostname[256];
    char cpu_model[256];  /* /proc/cpuinfo "model name", "unknown" when absent */
    int cores;            /* online processors */
    int64_t memory_bytes; /* physical memory */
    char kernel[400];     /* uname: sysname release version machine */
    char os[256];         /* /etc/os-release PRETTY_NAME */
    char libcurl[64];
    char commit[48];     /* git HEAD of the current folder or the binary's checkout, or "" */
    char build_type[64]; /* optimisation, assertions and sanitizers compiled in */
};

/* Fills e; never fails (unknown fields read "unknown" or ""). */
void envinfo_collect(struct envinfo *e);

/* e as a JSON object (new reference; the field names of docs/RESULTS.md). */
json_t *envinfo_json(const struct envinfo *e);

#endif
