/* accesslog.c - the buffered access log. One stdio stream on a duplicate of stderr with a
 * 64 KB buffer: stdio's own lock serialises the threads' lines, the buffer turns a line
 * per request into one write per 64 KB, and server_main flushes it every second so that
 * a quiet server's last lines still appear. */
#include "apibench/accesslog.h"

#include <stdio.h>
#include <unistd.h>

#define ACCESSLOG_BUFFER (64 * 1024)

static FILE *log_stream;

int accesslog_open(void)
{
    int fd = dup(STDERR_FILENO);
    if (fd < 0)
        return -1;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        return -1;
    }
    setvbuf(f, NULL, _IOFBF, ACCESSLOG_BUFFER);
    log_stream = f;
    return 0;
}

void accesslog_write(const char *method, const char *url, int status, size_t bytes,
                     int64_t duration_us)
{
    if (log_stream)
        fprintf(log_stream, "%s %s %d %zu %.3fms\n", method, url, status, bytes,
                (double)duration_us / 1000.0);
}

void accesslog_flush(void)
{
    if (log_stream)
        fflush(log_stream);
}

void accesslog_close(void)
{
    if (log_stream)
        fclose(log_stream);
    log_stream = NULL;
}
