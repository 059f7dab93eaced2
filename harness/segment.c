/* segment.c - a generator's share of the run's load (see segment.h). */
#include "segment.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fills s->owner: at each step every segment gains its weight, the one with the most
 * (lowest index on ties) takes the step and pays back the cycle. This spreads each
 * segment's steps evenly; with equal weights it gives 0, 1, ..., N-1. */
static void build_owner_table(struct segment *s)
{
    int current[SEGMENT_MAX] = {0};
    for (int k = 0; k < s->cycle; k++) {
        int best = 0;
        for (int i = 0; i < s->count; i++) {
            current[i] += s->weights[i];
            if (current[i] > current[best])
                best = i;
        }
        current[best] -= s->cycle;
        s->owner[k] = (uint8_t)best;
    }
}

void segment_whole(struct segment *s)
{
    memset(s, 0, sizeof *s);
    s->count = 1;
    s->weights[0] = 1;
    s->cycle = 1;
}

static int parse_int(const char *text, char **end, long lo, long hi, long *out)
{
    errno = 0;
    long v = strtol(text, end, 10);
    if (*end == text || errno != 0 || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int segment_parse(const char *spec, const char *sequence, struct segment *s, char *err,
                  size_t errlen)
{
    segment_whole(s);
    long index, count;
    char *end;
    if (parse_int(spec, &end, 0, SEGMENT_MAX - 1, &index) < 0 || *end != '/' ||
        parse_int(end + 1, &end, 1, SEGMENT_MAX, &count) < 0 || *end != '\0') {
        snprintf(err, errlen, "bad --segment '%s': expected I/N with 0 <= I < N <= %d", spec,
                 SEGMENT_MAX);
        return -1;
    }
    if (index >= count) {
        snprintf(err, errlen, "bad --segment '%s': I is 0-based, so it must be below N", spec);
        return -1;
    }
    s->index = (int)index;
    s->count = (int)count;
    s->cycle = 0;
    for (int i = 0; i < s->count; i++)
        s->weights[i] = 1;
    if (sequence) {
        const char *p = sequence;
        int n = 0;
        for (;;) {
            long w;
            if (n == SEGMENT_MAX || parse_int(p, &end, 1, SEGMENT_MAX_CYCLE, &w) < 0 ||
                (*end != ',' && *end != '\0')) {
                snprintf(err, errlen,
                         "bad --segment-sequence '%s': expected positive integer weights "
                         "W0,W1,... (one per segment)",
                         sequence);
                return -1;
            }
            s->weights[n++] = (int)w;
            if (*end == '\0')
                break;
            p = end + 1;
        }
        if (n != s->count) {
            snprintf(err, errlen, "bad --segment-sequence '%s': %d weights for %d segments",
                     sequence, n, s->count);
            return -1;
        }
    }
    for (int i = 0; i < s->count; i++)
        s->cycle += s->weights[i];
    if (s->cycle > SEGMENT_MAX_CYCLE) {
        snprintf(err, errlen, "bad --segment-sequence '%s': weights sum above %d", sequence,
                 SEGMENT_MAX_CYCLE);
        return -1;
    }
    build_owner_table(s);
    return 0;
}

bool segment_owns(const struct segment *s, uint64_t k)
{
    return s->owner[k % (uint64_t)s->cycle] == s->index;
}

int segment_share(const struct segment *s, int total)
{
    /* largest remainder: base shares, then one more to the largest fractions */
    long long given = 0;
    for (int i = 0; i < s->count; i++)
        given += (long long)total * s->weights[i] / s->cycle;
    long long left = total - given;
    long long mine_rem = (long long)total * s->weights[s->index] % s->cycle;
    int rank = 0; /* segments whose remainder beats mine (ties: lower index first) */
    for (int i = 0; i < s->count; i++) {
        long long rem = (long long)total * s->weights[i] % s->cycle;
        if (rem > mine_rem || (rem == mine_rem && i < s->index))
            rank++;
    }
    return (int)((long long)total * s->weights[s->index] / s->cycle + (rank < left ? 1 : 0));
}

double segment_fraction(const struct segment *s)
{
    return (double)s->weights[s->index] / (double)s->cycle;
}
