/* delay_server.c - a tiny HTTP server for the load harness's tests: every request is
 * answered after a fixed delay, by at most N requests at a time (N worker slots, taken in
 * turn whatever connection a request came on), so capacity is N / delay and a higher
 * offered rate queues in the server.
 *
 *   apibench-delay-server --port P [--delay-ms D] [--threads N] [--body-bytes B]
 *
 * --threads N is the number of worker slots (default 2).
 *
 * GET /anything answers 200 with a JSON body of about B bytes; "?delay_ms=X" overrides
 * the delay for that request (for timeout tests); "/status/NNN" answers with status NNN.
 * Listens on 127.0.0.1 only. Prints "ready" once listening; stops on SIGINT/SIGTERM. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static sem_t workers; /* free worker slots */
static long default_delay_ms = 10;
static char *body;
static size_t body_len;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0)
        ;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **state)
{
    (void)cls;
    (void)method;
    (void)version;
    (void)upload_data;
    static int first_call_marker;
    if (*state == NULL) {
        /* first call: headers only; answer once any body has been read */
        *state = &first_call_marker;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        *upload_size = 0; /* discard request bodies */
        return MHD_YES;
    }
    long delay = default_delay_ms;
    const char *d = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "delay_ms");
    if (d)
        delay = strtol(d, NULL, 10);
    unsigned status = MHD_HTTP_OK;
    if (strncmp(url, "/status/", 8) == 0)
        status = (unsigned)strtoul(url + 8, NULL, 10);
    if (status < 100 || status > 599)
        status = MHD_HTTP_OK;
    if (delay > 0) {
        /* hold one of the N slots for the delay: requests beyond N wait here */
        while (sem_wait(&workers) < 0)
            ;
        sleep_ms(delay);
        sem_post(&workers);
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(body_len, body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "Content-Type", "application/json");
    enum MHD_Result rc = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

int main(int argc, char **argv)
{
    long port = 0, threads = 2, body_bytes = 64;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0)
            port = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--delay-ms") == 0)
            default_delay_ms = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--threads") == 0)
            threads = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--body-bytes") == 0)
            body_bytes = strtol(argv[i + 1], NULL, 10);
        else {
            fprintf(stderr, "delay_server: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (port < 1 || port > 65535 || threads < 1 || threads > 64 || default_delay_ms < 0 ||
        body_bytes < 16 || body_bytes > 1000000) {
        fprintf(stderr, "usage: %s --port P [--delay-ms D] [--threads N] [--body-bytes B]\n",
                argv[0]);
        return 2;
    }
    body_len = (size_t)body_bytes;
    body = malloc(body_len);
    if (!body)
        return 1;
    /* {"pad":"xxxx...x"} */
    memset(body, 'x', body_len);
    memcpy(body, "{\"pad\":\"", 8);
    memcpy(body + body_len - 2, "\"}", 2);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (sem_init(&workers, 0, (unsigned)threads) < 0)
        return 1;
    /* a thread per connection, so that waiting for a slot never blocks other connections */
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, (uint16_t)port, NULL, NULL,
        on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_CONNECTION_LIMIT, 1000u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "delay_server: cannot listen on 127.0.0.1:%ld\n", port);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    printf("ready\n");
    fflush(stdout);
    while (!stop)
        pause();
    MHD_stop_daemon(d);
    free(body);
    return 0;
}
