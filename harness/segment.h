/* segment.h - which share of one run's load a generator sends (`apibench run --segment
 * I/N [--segment-sequence W0,...]`, docs/SEGMENTS.md). The whole run's requests are
 * numbered 0, 1, 2, ...; segment I owns WI of every W0+...+W(N-1) consecutive numbers,
 * spread evenly through that cycle (smooth weighted round robin). With equal weights
 * segment I owns I, I+N, I+2N, ... The same description on every generator gives
 * disjoint shares whose union is the whole run. */
#ifndef APIBENCH_SEGMENT_H
#define APIBENCH_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEGMENT_MAX 64          /* segments in one run */
#define SEGMENT_MAX_CYCLE 10000 /* sum of the weights */

struct segment {
    int index;  /* 0-based, < count */
    int count;  /* 1: the whole run */
    int weights[SEGMENT_MAX];
    int cycle;  /* sum of the weights */
    uint8_t owner[SEGMENT_MAX_CYCLE]; /* owner of request number k is owner[k % cycle] */
};

/* The whole run as one segment (0/1). */
void segment_whole(struct segment *s);

/* Parses "I/N" (0 <= I < N <= SEGMENT_MAX) and, when sequence is not NULL, "W0,W1,..."
 * (N positive integers, summing to at most SEGMENT_MAX_CYCLE). Returns 0, or -1 with a
 * one-line reason in err. */
int segment_parse(const char *spec, const char *sequence, struct segment *s, char *err,
                  size_t errlen);

/* True when request number k of the whole run belongs to segment s. */
bool segment_owns(const struct segment *s, uint64_t k);

/* Segment s's share of total (e.g. connections): the weights' split of total with the
 * remainder given out by largest fraction, so the shares of all segments sum to total. */
int segment_share(const struct segment *s, int total);

/* s's weight over the sum of the weights (1.0 for the whole run). */
double segment_fraction(const struct segment *s);

#endif
