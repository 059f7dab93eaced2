/* accesslog.h - the server's optional access log (--access-log): one line per request on
 * stderr, written through a buffer that is flushed when full, every second and at exit,
 * so that a request costs no system call. Off by default. */
#ifndef APIBENCH_ACCESSLOG_H
#define APIBENCH_ACCESSLOG_H

#include <stddef.h>
#include <stdint.h>

/* Opens the log on a copy of stderr. Returns 0, or -1 (errno) when it cannot. */
int accesslog_open(void);

/* Appends "METHOD URL STATUS BYTES DURATIONms" to the buffer. Thread-safe; does nothing
 * when the log is not open. */
void accesslog_write(const char *method, const char *url, int status, size_t bytes,
                     int64_t duration_us);

/* Writes out what is buffered. Thread-safe; does nothing when the log is not open. */
void accesslog_flush(void);

/* Flushes and closes the log. Accepts a log that was never opened. */
void accesslog_close(void);

#endif
