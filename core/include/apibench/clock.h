/* clock.h - the clocks every module reads: monotonic time for durations and deadlines,
 * wall time only for timestamps that leave the process. One definition, inlined. */
#ifndef APIBENCH_CLOCK_H
#define APIBENCH_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t clock_mono_ns(void) { return clock_ns(CLOCK_MONOTONIC); }
static inline int64_t clock_mono_us(void) { return clock_ns(CLOCK_MONOTONIC) / 1000; }
static inline int64_t clock_mono_ms(void) { return clock_ns(CLOCK_MONOTONIC) / 1000000; }
static inline int64_t clock_wall_ms(void) { return clock_ns(CLOCK_REALTIME) / 1000000; }

/* The absolute time ms from now on clock id, for pthread_cond_timedwait with a condition
 * variable whose clock is id. */
static inline struct timespec clock_deadline_after_ms(clockid_t id, int ms)
{
    int64_t t = clock_ns(id) + (int64_t)ms * 1000000;
    return (struct timespec){.tv_sec = t / 1000000000, .tv_nsec = t % 1000000000};
}

#endif
