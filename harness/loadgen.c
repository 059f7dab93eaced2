/* loadgen.c - open- and closed-loop HTTP load from libcurl multi (see loadgen.h).
 *
 * One event loop per generator thread. Each loop owns a fixed set of request slots (one
 * easy handle each, as many as the thread's share of --connections), a multi handle
 * whose connection pool is capped at the same number, a FIFO backlog of intended send
 * times that are due but have no free slot, and an epoll set. curl tells the loop which
 * sockets to watch (CURLMOPT_SOCKETFUNCTION) and when it needs a timeout
 * (CURLMOPT_TIMERFUNCTION); the loop hands curl only the sockets that are ready
 * (curl_multi_socket_action), so the cost of a wake-up does not grow with the number of
 * connections. The loop sleeps in epoll_pwait2, whose nanosecond timeout wakes it at the
 * next intended send time; a gap shorter than LOADGEN_SPIN_NS is spun instead, because
 * arming a kernel timer costs more than that on a VM (perf: timerfd_settime was a third
 * of the generator's CPU at 25k req/s). With busy_poll the loop never sleeps. */
#include "loadgen.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "apibench/clock.h"
#include "apibench/strbuf.h"
#include "apibench/urlmask.h"

#define LOADGEN_STOP_GRACE_NS (2LL * 1000 * 1000 * 1000) /* wait for in-flight after a stop */
#define LOADGEN_POLL_MAX_NS (100LL * 1000 * 1000)        /* longest sleep without a reason */
#define LOADGEN_SPIN_NS (50LL * 1000)                    /* shorter gaps are spun, not slept */
#define LOADGEN_MAX_EVENTS 64

static atomic_int stop_requested;

void loadgen_request_stop(void)
{
    atomic_store(&stop_requested, 1);
}

static void on_stop_signal(int sig)
{
    (void)sig;
    loadgen_request_stop();
}

void loadgen_stop_on_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void loadgen_reset_stop(void)
{
    atomic_store(&stop_requested, 0);
}

int64_t loadgen_now_ns(void)
{
    return clock_mono_ns();
}

static const char *const error_names[LOADGEN_NERRORS] = {
    "connect", "timeout", "http_4xx", "http_5xx", "other", "backlog", "unsent",
};

const char *loadgen_error_name(enum loadgen_error e)
{
    return (unsigned)e < LOADGEN_NERRORS ? error_names[e] : "?";
}

void loadgen_stats_init(struct loadgen_stats *st)
{
    memset(st, 0, sizeof *st);
    st->latency = hist_new();
    st->latency_answered = hist_new();
    st->service = hist_new();
    st->lag = hist_new();
    st->transfer = hist_new();
    for (int r = 0; r < MIX_NROUTES; r++) {
        st->routes[r].latency = hist_new();
        st->routes[r].service = hist_new();
        st->routes[r].transfer = hist_new();
    }
}

void loadgen_stats_free(struct loadgen_stats *st)
{
    hist_free(st->latency);
    hist_free(st->latency_answered);
    hist_free(st->service);
    hist_free(st->lag);
    hist_free(st->transfer);
    for (int r = 0; r < MIX_NROUTES; r++) {
        hist_free(st->routes[r].latency);
        hist_free(st->routes[r].service);
        hist_free(st->routes[r].transfer);
    }
    memset(st, 0, sizeof *st);
}

void loadgen_stats_merge(struct loadgen_stats *dst, const struct loadgen_stats *src)
{
    dst->due += src->due;
    dst->sent += src->sent;
    dst->responses += src->responses;
    dst->aborted += src->aborted;
    dst->responses_in_window += src->responses_in_window;
    for (int e = 0; e < LOADGEN_NERRORS; e++)
        dst->errors[e] += src->errors[e];
    for (int c = 0; c < 6; c++)
        dst->status_class[c] += src->status_class[c];
    dst->header_bytes += src->header_bytes;
    dst->body_bytes_wire += src->body_bytes_wire;
    dst->body_bytes_decoded += src->body_bytes_decoded;
    dst->gzip_responses += src->gzip_responses;
    hist_merge(dst->latency, src->latency);
    hist_merge(dst->latency_answered, src->latency_answered);
    hist_merge(dst->service, src->service);
    hist_merge(dst->lag, src->lag);
    hist_merge(dst->transfer, src->transfer);
    for (int r = 0; r < MIX_NROUTES; r++) {
        struct loadgen_route_stats *d = &dst->routes[r];
        const struct loadgen_route_stats *s = &src->routes[r];
        d->sent += s->sent;
        d->responses += s->responses;
        d->errors += s->errors;
        d->body_bytes_wire += s->body_bytes_wire;
        d->body_bytes_decoded += s->body_bytes_decoded;
        hist_merge(d->latency, s->latency);
        hist_merge(d->service, s->service);
        hist_merge(d->transfer, s->transfer);
    }
}

int64_t loadgen_stats_errors(const struct loadgen_stats *st)
{
    int64_t n = 0;
    for (int e = 0; e < LOADGEN_NERRORS; e++)
        n += st->errors[e];
    return n;
}

void loadgen_result_free(struct loadgen_result *res)
{
    for (int p = 0; p < LOADGEN_NPHASES; p++)
        loadgen_stats_free(&res->phases[p]);
    free(res->timeline);
    res->timeline = NULL;
    res->timeline_len = 0;
    for (int k = 0; k < LOADGEN_NSERIES; k++)
        hlog_series_free(&res->intervals[k]);
}

/* A request slot's life. A slot is one easy handle, reused request after request, so
 * that curl keeps its connection alive in the multi handle's pool. */
enum slot_state {
    /* SLOT_IDLE: no transfer. Open loop: waits for the backlog to hold a due request.
     * Closed loop: is given the next request at once (while the run lasts). */
    SLOT_IDLE,
    /* SLOT_ACTIVE: added to the multi handle with its intended and actual send times set;
     * curl connects (or reuses a pooled connection), sends and receives. Left when curl
     * reports the transfer done (response, error or timeout) in curl_multi_info_read. */
    SLOT_ACTIVE,
    /* SLOT_HELD: curl has the whole response, but the link the generator emulates (a
     * network profile's rates, without the kernel) would still be carrying it: the slot
     * stays busy until release_ns, and the response is recorded as completed then. */
    SLOT_HELD,
};

struct slot {
    enum slot_state state;
    CURL *easy;
    int64_t intended_ns; /* when the request should have been sent */
    int64_t sent_ns;     /* when it was handed to curl */
    int phase;
    struct mix_request req;
    char url[MIX_PATH_MAX + 256];
    /* per response */
    bool gzipped;
    int64_t body_wire, body_decoded;
    CURLcode rc;              /* SLOT_HELD: the transfer's result */
    int64_t release_ns;       /* SLOT_HELD: when the emulated link has delivered the response */
    int64_t link_transfer_us; /* the emulated first-to-last byte time (0: not emulated) */
    z_stream zs;
    bool zs_ready;
    unsigned char scratch[16384];
};

/* A socket's place in the thread's epoll set (see sock_of). */
struct sock_state {
    bool registered;   /* in the epoll set, with these events */
    bool curl_watches; /* false: parked between transfers */
    uint32_t events;
};

/* Progress counters a generator thread shares with the thread printing progress. */
struct progress {
    atomic_llong sent, responses, errors;
    atomic_int phase; /* the phase the thread's clock is in */
    pthread_mutex_t lock;
    struct hist *interval; /* latencies completed since the last progress line */
};

struct gen_thread {
    int index;
    const struct loadgen_config *cfg;
    int nslots;
    int64_t start_ns, phase_end_ns[LOADGEN_NPHASES];
    pthread_t tid;
    CURLM *multi;
    int epoll_fd;
    int wake_fd;              /* eventfd: loadgen_run's stop request wakes the loop */
    int64_t curl_timeout_ns;  /* when curl wants curl_multi_socket_action(TIMEOUT); -1: never */
    struct sock_state *socks; /* by fd number */
    int nsocks;
    struct slot *slots;
    int *free_stack; /* indexes of the SLOT_IDLE slots */
    int nfree;
    int nheld;        /* slots in SLOT_HELD */
    int64_t *backlog; /* ring of intended send times */
    int backlog_head, backlog_len;
    struct curl_slist *get_headers[MIX_MAX_USERS + 1]; /* per user; last: no user */
    struct curl_slist *post_headers[MIX_MAX_USERS + 1];
    struct rng rng;
    struct loadgen_stats stats[LOADGEN_NPHASES];
    struct loadgen_second *timeline; /* the measured phase by intended second */
    int timeline_len;
    struct hlog_series intervals[LOADGEN_NSERIES]; /* the measured phase, per second */
    int64_t timeout_us;
    struct progress progress;
    int64_t stop_seen_ns;   /* when this thread saw the stop request (0: not yet) */
    int64_t drain_deadline; /* after the last phase: when unsent backlog is given up */
    atomic_int done;
    char err[256];
};

static int phase_of(const struct gen_thread *t, int64_t when_ns)
{
    for (int p = 0; p < LOADGEN_NPHASES; p++)
        if (when_ns < t->phase_end_ns[p])
            return p;
    return LOADGEN_NPHASES - 1;
}

/* Notes whether the response is gzipped (for gzip_responses and, with cfg->decode, for
 * on_body_decode). */
static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
    struct slot *s = userdata;
    size_t len = size * n;
    static const char name[] = "content-encoding:";
    if (len > sizeof name - 1 && (data[0] | 0x20) == 'c' &&
        strncasecmp(data, name, sizeof name - 1) == 0) {
        const char *v = data + sizeof name - 1;
        size_t vlen = len - (sizeof name - 1);
        s->gzipped = memmem(v, vlen, "gzip", 4) != NULL;
    }
    return len;
}

/* Counts body bytes as they arrive (still compressed: curl's decoding is off). Nothing is
 * kept; curl itself fails a body shorter than its Content-Length. */
static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
    (void)data;
    struct slot *s = userdata;
    s->body_wire += (int64_t)(size * n);
    return size * n;
}

/* on_body for --decode: also inflates gzip bodies to count how many bytes they decode to,
 * the work a browser-like client does. */
static size_t on_body_decode(char *data, size_t size, size_t n, void *userdata)
{
    struct slot *s = userdata;
    size_t len = size * n;
    s->body_wire += (int64_t)len;
    if (!s->gzipped) {
        s->body_decoded += (int64_t)len;
        return len;
    }
    if (!s->zs_ready) {
        memset(&s->zs, 0, sizeof s->zs);
        if (inflateInit2(&s->zs, 16 + MAX_WBITS) != Z_OK)
            return len; /* decoded size stays unknown; the load goes on */
        s->zs_ready = true;
    }
    s->zs.next_in = (unsigned char *)data;
    s->zs.avail_in = (uInt)len;
    while (s->zs.avail_in > 0) {
        s->zs.next_out = s->scratch;
        s->zs.avail_out = sizeof s->scratch;
        int rc = inflate(&s->zs, Z_NO_FLUSH);
        s->body_decoded += (int64_t)(sizeof s->scratch - s->zs.avail_out);
        if (rc == Z_STREAM_END) {
            inflateReset(&s->zs);
            if (s->zs.avail_in == 0)
                break;
        } else if (rc != Z_OK) {
            break;
        }
    }
    return len;
}

static struct curl_slist *build_headers(const struct loadgen_config *cfg, const char *key,
                                        bool post)
{
    struct curl_slist *list = NULL;
    char line[128];
    list = curl_slist_append(list, "Accept: application/json");
    if (post) {
        list = curl_slist_append(list, "Content-Type: application/json");
        list = curl_slist_append(list, "Expect:"); /* no 100-continue round trip */
    }
    if (key) {
        snprintf(line, sizeof line, "X-API-Key: %s", key);
        list = curl_slist_append(list, line);
    }
    for (int i = 0; i < cfg->nheaders; i++)
        list = curl_slist_append(list, cfg->headers[i]);
    if (!list)
        abort(); /* curl_slist_append fails only on out-of-memory */
    return list;
}

/* The epoll registration of a socket. A keep-alive connection leaves every transfer
 * (CURL_POLL_REMOVE) and rejoins the next one with the same interest, so the socket is
 * kept registered ("parked") in between instead of paying two epoll_ctl calls per request
 * (perf: 9% of the generator's time). A parked socket that becomes readable (the server
 * closed it) is unregistered then; curl's close callback forgets a closed one, because
 * the kernel drops closed fds from the set and the number may be reused. */
static struct sock_state *sock_of(struct gen_thread *t, curl_socket_t fd)
{
    if (fd < 0)
        return NULL;
    if (fd >= t->nsocks) {
        int n = t->nsocks ? t->nsocks : 64;
        while (n <= fd)
            n *= 2;
        t->socks = xrealloc(t->socks, (size_t)n * sizeof *t->socks);
        memset(t->socks + t->nsocks, 0, (size_t)(n - t->nsocks) * sizeof *t->socks);
        t->nsocks = n;
    }
    return &t->socks[fd];
}

/* curl: start, change or stop watching socket fd (what: CURL_POLL_IN/OUT/INOUT/REMOVE). */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    (void)socketp;
    struct gen_thread *t = userp;
    struct sock_state *ss = sock_of(t, fd);
    if (!ss)
        return -1;
    if (what == CURL_POLL_REMOVE) {
        ss->curl_watches = false; /* parked: stays registered until reused or readable */
        return 0;
    }
    uint32_t events =
        ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
    ss->curl_watches = true;
    if (ss->registered && ss->events == events)
        return 0;
    struct epoll_event ev = {.events = events, .data.fd = fd};
    int op = ss->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(t->epoll_fd, op, fd, &ev) < 0) {
        /* our record was stale (closed behind curl's back): try the other op */
        op = op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        if (epoll_ctl(t->epoll_fd, op, fd, &ev) < 0)
            return -1; /* curl fails the transfer */
    }
    ss->registered = true;
    ss->events = events;
    return 0;
}

/* curl: closes a socket; its registration goes with it (the kernel drops it from the set). */
static int on_curl_close(void *userp, curl_socket_t fd)
{
    struct gen_thread *t = userp;
    struct sock_state *ss = sock_of(t, fd);
    if (ss && ss->registered)
        epoll_ctl(t->epoll_fd, EPOLL_CTL_DEL, fd, NULL); /* in case the fd is shared */
    if (ss)
        *ss = (struct sock_state){0};
    return close(fd);
}

/* curl: call curl_multi_socket_action(CURL_SOCKET_TIMEOUT) in timeout_ms (-1: never). */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct gen_thread *t = userp;
    t->curl_timeout_ns = timeout_ms < 0 ? -1 : loadgen_now_ns() + (int64_t)timeout_ms * 1000000;
    return 0;
}

/* curl: a new socket; under a network profile shaped by the kernel, asks for segments of
 * cfg->mss bytes (both ways: the server learns it from the SYN), because tc's tbf paces
 * segments and lo's 64 KB ones would carry a whole body in one burst. */
static int on_curl_sockopt(void *userp, curl_socket_t fd, curlsocktype purpose)
{
    const struct loadgen_config *cfg = ((const struct gen_thread *)userp)->cfg;
    if (purpose == CURLSOCKTYPE_IPCXN && cfg->mss > 0 &&
        setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &cfg->mss, sizeof cfg->mss) < 0)
        return CURL_SOCKOPT_ERROR;
    return CURL_SOCKOPT_OK;
}

static int setup_thread(struct gen_thread *t)
{
    const struct loadgen_config *cfg = t->cfg;
    t->curl_timeout_ns = -1;
    t->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    t->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (t->epoll_fd < 0 || t->wake_fd < 0) {
        snprintf(t->err, sizeof t->err, "cannot create an epoll set: %s", strerror(errno));
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = t->wake_fd};
    if (epoll_ctl(t->epoll_fd, EPOLL_CTL_ADD, t->wake_fd, &ev) < 0) {
        snprintf(t->err, sizeof t->err, "cannot watch the wake-up eventfd: %s", strerror(errno));
        return -1;
    }
    t->multi = curl_multi_init();
    if (!t->multi) {
        snprintf(t->err, sizeof t->err, "cannot create a curl multi handle");
        return -1;
    }
    curl_multi_setopt(t->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(t->multi, CURLMOPT_SOCKETDATA, t);
    curl_multi_setopt(t->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(t->multi, CURLMOPT_TIMERDATA, t);
    curl_multi_setopt(t->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)t->nslots);
    curl_multi_setopt(t->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)t->nslots);
    curl_multi_setopt(t->multi, CURLMOPT_MAXCONNECTS, (long)t->nslots);
    int nusers = mix_user_count(cfg->mix);
    for (int u = 0; u <= nusers; u++) {
        const char *key = u < nusers ? mix_user_key(cfg->mix, u) : NULL;
        t->get_headers[u] = build_headers(cfg, key, false);
        t->post_headers[u] = build_headers(cfg, key, true);
    }
    t->slots = xcalloc((size_t)t->nslots, sizeof *t->slots);
    t->free_stack = xcalloc((size_t)t->nslots, sizeof *t->free_stack);
    for (int i = t->nslots - 1; i >= 0; i--)
        t->free_stack[t->nfree++] = i; /* slot 0 on top: reuse the same few when idle */
    for (int i = 0; i < t->nslots; i++) {
        struct slot *s = &t->slots[i];
        s->easy = curl_easy_init();
        if (!s->easy) {
            snprintf(t->err, sizeof t->err, "cannot create a curl easy handle");
            return -1;
        }
        curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
        /* straight to the target: an http_proxy in the environment must not interpose */
        curl_easy_setopt(s->easy, CURLOPT_PROXY, "");
        curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
        curl_easy_setopt(s->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
        curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, cfg->timeout_ms);
        curl_easy_setopt(s->easy, CURLOPT_CONNECTTIMEOUT_MS, cfg->timeout_ms);
        curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, cfg->decode ? on_body_decode : on_body);
        curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
        curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, s);
        curl_easy_setopt(s->easy, CURLOPT_CLOSESOCKETFUNCTION, on_curl_close);
        curl_easy_setopt(s->easy, CURLOPT_CLOSESOCKETDATA, t);
        /* a headline-sized body (~20 KB) in one recv instead of two */
        curl_easy_setopt(s->easy, CURLOPT_BUFFERSIZE, 65536L);
        if (cfg->recv_limit > 0 || cfg->send_limit > 0) {
            /* a network profile emulated here: curl's limits pace the reads of a body
             * longer than about a second's worth (the server then meets a slow reader);
             * link_release_ns times every body, however short */
            curl_easy_setopt(s->easy, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t)cfg->recv_limit);
            curl_easy_setopt(s->easy, CURLOPT_MAX_SEND_SPEED_LARGE, (curl_off_t)cfg->send_limit);
        }
        if (cfg->mss > 0) {
            curl_easy_setopt(s->easy, CURLOPT_SOCKOPTFUNCTION, on_curl_sockopt);
            curl_easy_setopt(s->easy, CURLOPT_SOCKOPTDATA, t);
        }
        /* ask for gzip but count the bytes as they travel: curl must not decode */
        if (cfg->gzip)
            curl_easy_setopt(s->easy, CURLOPT_ACCEPT_ENCODING, "gzip");
        curl_easy_setopt(s->easy, CURLOPT_HTTP_CONTENT_DECODING, 0L);
    }
    if (!cfg->closed) {
        int cap = cfg->backlog_max;
        t->backlog = xcalloc((size_t)cap, sizeof *t->backlog);
    }
    for (int p = 0; p < LOADGEN_NPHASES; p++)
        loadgen_stats_init(&t->stats[p]);
    t->timeline_len = (int)((cfg->duration_ns + 999999999LL) / 1000000000LL);
    t->timeline = xcalloc((size_t)t->timeline_len + 1, sizeof *t->timeline);
    t->timeout_us = (int64_t)cfg->timeout_ms * 1000;
    for (int k = 0; k < LOADGEN_NSERIES; k++)
        hlog_series_init(&t->intervals[k], t->phase_end_ns[LOADGEN_WARMUP]);
    return 0;
}

static void teardown_thread(struct gen_thread *t)
{
    for (int i = 0; t->slots && i < t->nslots; i++) {
        struct slot *s = &t->slots[i];
        if (s->state == SLOT_ACTIVE)
            curl_multi_remove_handle(t->multi, s->easy);
        curl_easy_cleanup(s->easy);
        if (s->zs_ready)
            inflateEnd(&s->zs);
        strbuf_free(&s->req.body);
    }
    free(t->slots);
    t->slots = NULL;
    free(t->free_stack);
    t->free_stack = NULL;
    for (int u = 0; u <= MIX_MAX_USERS; u++) {
        curl_slist_free_all(t->get_headers[u]);
        curl_slist_free_all(t->post_headers[u]);
        t->get_headers[u] = t->post_headers[u] = NULL;
    }
    if (t->multi)
        curl_multi_cleanup(t->multi);
    t->multi = NULL;
    if (t->epoll_fd >= 0)
        close(t->epoll_fd);
    if (t->wake_fd >= 0)
        close(t->wake_fd);
    t->epoll_fd = t->wake_fd = -1;
    free(t->backlog);
    t->backlog = NULL;
    free(t->timeline);
    t->timeline = NULL;
    for (int k = 0; k < LOADGEN_NSERIES; k++)
        hlog_series_free(&t->intervals[k]);
    free(t->socks);
    t->socks = NULL;
    t->nsocks = 0;
}

/* The timeline entry of a request intended at intended_ns, or NULL outside the measured
 * phase. */
static struct loadgen_second *second_of(struct gen_thread *t, int64_t intended_ns)
{
    int64_t from = t->phase_end_ns[LOADGEN_WARMUP];
    if (intended_ns < from || intended_ns >= t->phase_end_ns[LOADGEN_MEASURED])
        return NULL;
    int64_t i = (intended_ns - from) / 1000000000LL;
    return i < t->timeline_len ? &t->timeline[i] : NULL;
}

/* Counts value_us in interval series k when st is the measured phase's. */
static void record_interval(struct gen_thread *t, const struct loadgen_stats *st,
                            enum loadgen_series k, int64_t when_ns, int64_t value_us)
{
    if (st == &t->stats[LOADGEN_MEASURED])
        hlog_series_record(&t->intervals[k], when_ns, value_us);
}

/* Records a latency (responses and failures alike) in the phase's, route's (NULL: none),
 * timeline's and progress histograms. */
static void record_latency(struct gen_thread *t, struct loadgen_stats *st,
                           struct loadgen_route_stats *rs, int64_t intended_ns, int64_t latency_us)
{
    hist_record(st->latency, latency_us);
    record_interval(t, st, LOADGEN_SERIES_LATENCY, loadgen_now_ns(), latency_us);
    if (rs)
        hist_record(rs->latency, latency_us);
    struct loadgen_second *sec = second_of(t, intended_ns);
    if (sec) {
        sec->latency_sum_us += latency_us;
        sec->latency_count++;
        if (latency_us > sec->latency_max_us)
            sec->latency_max_us = latency_us;
    }
    pthread_mutex_lock(&t->progress.lock);
    hist_record(t->progress.interval, latency_us);
    pthread_mutex_unlock(&t->progress.lock);
}

/* A request intended at intended_ns failed (kind) at now_ns, sent or not: an error,
 * and a latency of at least the timeout, so that failures cannot hide from the
 * percentiles. */
static void record_failure(struct gen_thread *t, struct loadgen_stats *st,
                           struct loadgen_route_stats *rs, int64_t intended_ns, int64_t now_ns,
                           enum loadgen_error kind)
{
    st->errors[kind]++;
    if (rs)
        rs->errors++;
    struct loadgen_second *sec = second_of(t, intended_ns);
    if (sec)
        sec->errors++;
    atomic_fetch_add(&t->progress.errors, 1);
    int64_t elapsed_us = (now_ns - intended_ns) / 1000;
    record_latency(t, st, rs, intended_ns, elapsed_us > t->timeout_us ? elapsed_us : t->timeout_us);
}

/* A request became due at intended_ns (counted once, whatever happens to it). */
static void note_due(struct gen_thread *t, int64_t intended_ns)
{
    t->stats[phase_of(t, intended_ns)].due++;
    struct loadgen_second *sec = second_of(t, intended_ns);
    if (sec)
        sec->due++;
}

/* An idle slot (not taken off the free stack), or NULL when all are active. */
static struct slot *free_slot(struct gen_thread *t)
{
    return t->nfree > 0 ? &t->slots[t->free_stack[t->nfree - 1]] : NULL;
}

/* SLOT_IDLE -> SLOT_ACTIVE: draws the next request from the mix and hands it to curl. */
static void start_request(struct gen_thread *t, struct slot *s, int64_t intended_ns)
{
    const struct loadgen_config *cfg = t->cfg;
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    mix_next(cfg->mix, &t->rng, (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000, &s->req);
    char url[sizeof s->url];
    snprintf(url, sizeof url, "%s%s", cfg->target, s->req.path);
    int user = s->req.user >= 0 ? s->req.user : mix_user_count(cfg->mix);
    if (strcmp(url, s->url) != 0) {
        /* curl parses the URL on every set: skip it when the slot repeats its last one */
        memcpy(s->url, url, sizeof url);
        curl_easy_setopt(s->easy, CURLOPT_URL, s->url);
    }
    if (s->req.post) {
        curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, t->post_headers[user]);
        curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE, (long)s->req.body.len);
        curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->req.body.data);
    } else {
        curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, t->get_headers[user]);
        curl_easy_setopt(s->easy, CURLOPT_HTTPGET, 1L);
    }
    s->gzipped = false;
    s->body_wire = s->body_decoded = 0;
    if (s->zs_ready)
        inflateReset(&s->zs);
    s->intended_ns = intended_ns;
    s->phase = phase_of(t, intended_ns);
    s->sent_ns = loadgen_now_ns();
    s->state = SLOT_ACTIVE;
    t->nfree--; /* s is the top of the free stack (free_slot) */
    struct loadgen_stats *st = &t->stats[s->phase];
    st->sent++;
    st->routes[s->req.route].sent++;
    hist_record(st->lag, (s->sent_ns - intended_ns) / 1000);
    record_interval(t, st, LOADGEN_SERIES_LAG, s->sent_ns, (s->sent_ns - intended_ns) / 1000);
    atomic_fetch_add(&t->progress.sent, 1);
    if (curl_multi_add_handle(t->multi, s->easy) != CURLM_OK) {
        /* cannot happen with a valid handle; count it rather than lose it */
        s->state = SLOT_IDLE;
        t->free_stack[t->nfree++] = (int)(s - t->slots);
        record_failure(t, st, &st->routes[s->req.route], intended_ns, s->sent_ns,
                       LOADGEN_ERR_OTHER);
    }
}

static enum loadgen_error classify(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return LOADGEN_ERR_TIMEOUT;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return LOADGEN_ERR_CONNECT;
    default:
        return LOADGEN_ERR_OTHER;
    }
}

/* SLOT_ACTIVE or SLOT_HELD -> SLOT_IDLE: records what the finished transfer measured
 * (its handle is out of the multi handle; curl's info about it stays valid until the
 * slot is reused). */
static void record_finished(struct gen_thread *t, struct slot *s, CURLcode rc, int64_t now_ns)
{
    s->state = SLOT_IDLE;
    t->free_stack[t->nfree++] = (int)(s - t->slots);
    struct loadgen_stats *st = &t->stats[s->phase];
    struct loadgen_route_stats *rs = &st->routes[s->req.route];
    long status = 0;
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
    long header_size = 0;
    curl_easy_getinfo(s->easy, CURLINFO_HEADER_SIZE, &header_size);
    st->header_bytes += header_size;
    st->body_bytes_wire += s->body_wire;
    st->body_bytes_decoded += s->body_decoded;
    rs->body_bytes_wire += s->body_wire;
    rs->body_bytes_decoded += s->body_decoded;
    if (rc != CURLE_OK || status < 100) {
        enum loadgen_error e = rc == CURLE_OK ? LOADGEN_ERR_OTHER : classify(rc);
        record_failure(t, st, rs, s->intended_ns, now_ns, e);
        return;
    }
    if (now_ns >= t->start_ns && now_ns < t->phase_end_ns[LOADGEN_NPHASES - 1])
        t->stats[phase_of(t, now_ns)].responses_in_window++;
    /* now_ns is when the curl_multi_perform that finished the transfer returned: every
     * transfer it finished shares that instant, which can only add (its duration, a few
     * us per transfer) to their times, never hide any. curl's own per-transfer timer is
     * not used because it starts later than the send we timed. */
    int64_t latency_us = (now_ns - s->intended_ns) / 1000;
    int64_t service_us = (now_ns - s->sent_ns) / 1000;
    st->responses++;
    rs->responses++;
    if (s->gzipped)
        st->gzip_responses++;
    st->status_class[status / 100 <= 5 ? status / 100 : 5]++;
    struct loadgen_second *sec = second_of(t, s->intended_ns);
    if (sec)
        sec->responses++;
    record_latency(t, st, rs, s->intended_ns, latency_us);
    hist_record(st->latency_answered, latency_us);
    hist_record(st->service, service_us);
    record_interval(t, st, LOADGEN_SERIES_ANSWERED, now_ns, latency_us);
    record_interval(t, st, LOADGEN_SERIES_SERVICE, now_ns, service_us);
    hist_record(rs->service, service_us);
    curl_off_t first_byte_us = 0, total_us = 0;
    curl_easy_getinfo(s->easy, CURLINFO_STARTTRANSFER_TIME_T, &first_byte_us);
    curl_easy_getinfo(s->easy, CURLINFO_TOTAL_TIME_T, &total_us);
    int64_t transfer_us = total_us > first_byte_us ? (int64_t)(total_us - first_byte_us) : 0;
    if (s->link_transfer_us > transfer_us)
        transfer_us = s->link_transfer_us;
    hist_record(st->transfer, transfer_us);
    hist_record(rs->transfer, transfer_us);
    if (status >= 400) {
        /* a response, timed as one, and also an error */
        st->errors[status >= 500 ? LOADGEN_ERR_HTTP5XX : LOADGEN_ERR_HTTP4XX]++;
        rs->errors++;
        if (sec)
            sec->errors++;
        atomic_fetch_add(&t->progress.errors, 1);
    }
    atomic_fetch_add(&t->progress.responses, 1);
}

/* The generator's link emulation (cfg->recv_limit / send_limit: a network profile without
 * the kernel): the response's bytes at the download rate after its first byte, and the
 * request's at the upload rate. curl's own speed limits cannot do this: they pause
 * between reads, and a body that arrives in one read is never slowed. Sets
 * s->link_transfer_us and returns when the link would have delivered the last byte
 * (0: not emulated, or the transfer failed). */
static int64_t link_release_ns(const struct gen_thread *t, struct slot *s, CURLcode rc)
{
    const struct loadgen_config *cfg = t->cfg;
    s->link_transfer_us = 0;
    if (rc != CURLE_OK || cfg->recv_limit <= 0)
        return 0;
    long header_size = 0, request_size = 0;
    curl_off_t first_byte_us = 0;
    curl_easy_getinfo(s->easy, CURLINFO_HEADER_SIZE, &header_size);
    curl_easy_getinfo(s->easy, CURLINFO_REQUEST_SIZE, &request_size);
    curl_easy_getinfo(s->easy, CURLINFO_STARTTRANSFER_TIME_T, &first_byte_us);
    double down_s = (double)(header_size + s->body_wire) / (double)cfg->recv_limit;
    double up_s = cfg->send_limit > 0 ? (double)request_size / (double)cfg->send_limit : 0.0;
    s->link_transfer_us = (int64_t)(down_s * 1e6);
    return s->sent_ns + (int64_t)first_byte_us * 1000 + (int64_t)((down_s + up_s) * 1e9);
}

/* SLOT_ACTIVE -> SLOT_IDLE, or SLOT_HELD while the emulated link still carries it. */
static void finish_request(struct gen_thread *t, struct slot *s, CURLcode rc, int64_t now_ns)
{
    curl_multi_remove_handle(t->multi, s->easy);
    int64_t release = link_release_ns(t, s, rc);
    if (release > now_ns) {
        s->state = SLOT_HELD;
        s->rc = rc;
        s->release_ns = release;
        t->nheld++;
        return;
    }
    record_finished(t, s, rc, now_ns);
}

/* Records the held slots whose emulated delivery time has come (all of them when
 * everything is true), at that time. Returns the earliest release still ahead
 * (INT64_MAX: none). */
static int64_t release_held(struct gen_thread *t, int64_t now_ns, bool everything)
{
    int64_t next = INT64_MAX;
    for (int i = 0; t->nheld > 0 && i < t->nslots; i++) {
        struct slot *s = &t->slots[i];
        if (s->state != SLOT_HELD)
            continue;
        if (everything || s->release_ns <= now_ns) {
            t->nheld--;
            record_finished(t, s, s->rc, everything ? now_ns : s->release_ns);
        } else if (s->release_ns < next) {
            next = s->release_ns;
        }
    }
    return next;
}

static void backlog_push(struct gen_thread *t, int64_t intended_ns)
{
    int cap = t->cfg->backlog_max;
    t->backlog[(t->backlog_head + t->backlog_len) % cap] = intended_ns;
    t->backlog_len++;
}

static int64_t backlog_pop(struct gen_thread *t)
{
    int64_t v = t->backlog[t->backlog_head];
    t->backlog_head = (t->backlog_head + 1) % t->cfg->backlog_max;
    t->backlog_len--;
    return v;
}

/* Gives up the backlog at now_ns (counted as `kind` failures, or as aborted when
 * kind < 0). */
static void backlog_drop_all(struct gen_thread *t, int kind, int64_t now_ns)
{
    while (t->backlog_len > 0) {
        int64_t intended = backlog_pop(t);
        struct loadgen_stats *st = &t->stats[phase_of(t, intended)];
        if (kind < 0)
            st->aborted++;
        else
            record_failure(t, st, NULL, intended, now_ns, (enum loadgen_error)kind);
    }
}

/* Reports every finished transfer (done_at: when curl finished it). */
static void drain_messages(struct gen_thread *t, int64_t done_at)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(t->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct slot *done;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&done);
        finish_request(t, done, msg->data.result, done_at);
    }
}

/* Lets curl act on its expired timeout, if any (new transfers get a timeout of 0: this
 * is where curl sends them). */
static void run_curl_timeout(struct gen_thread *t)
{
    int running;
    while (t->curl_timeout_ns >= 0 && t->curl_timeout_ns <= loadgen_now_ns()) {
        t->curl_timeout_ns = -1; /* curl sets the next one from inside socket_action */
        curl_multi_socket_action(t->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
}

/* Waits for socket events until wake_ns (0: do not wait) and hands them to curl. */
static void wait_events(struct gen_thread *t, int64_t timeout_ns)
{
    struct epoll_event evs[LOADGEN_MAX_EVENTS];
    struct timespec ts = {.tv_sec = timeout_ns / 1000000000LL,
                          .tv_nsec = timeout_ns % 1000000000LL};
    int n = epoll_pwait2(t->epoll_fd, evs, LOADGEN_MAX_EVENTS, &ts, NULL);
    for (int i = 0; i < n; i++) {
        int fd = evs[i].data.fd;
        if (fd == t->wake_fd) {
            uint64_t v;
            if (read(fd, &v, sizeof v) < 0) {
                /* EAGAIN: already drained */
            }
            continue;
        }
        struct sock_state *ss = sock_of(t, fd);
        if (!ss->curl_watches) {
            /* a parked keep-alive socket spoke: the server closed it; stop watching */
            epoll_ctl(t->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
            ss->registered = false;
            continue;
        }
        int mask = ((evs[i].events & EPOLLIN) ? CURL_CSELECT_IN : 0) |
                   ((evs[i].events & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
                   ((evs[i].events & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
        int running;
        curl_multi_socket_action(t->multi, fd, mask, &running);
    }
}

static int active_count(const struct gen_thread *t)
{
    return t->nslots - t->nfree;
}

static void *thread_main(void *arg)
{
    struct gen_thread *t = arg;
    const struct loadgen_config *cfg = t->cfg;
    int64_t run_end = t->phase_end_ns[LOADGEN_NPHASES - 1];
    struct schedule sched;
    int64_t next_due = INT64_MAX;
    if (!cfg->closed) {
        /* one schedule for the whole run (every segment, every thread): this thread
         * sends every n-th request of its segment's share (schedule_set_share) */
        schedule_init(&sched, cfg->arrival, cfg->rate, t->start_ns, cfg->seed * 1000003ULL);
        schedule_set_share(&sched, cfg->segment, t->index, cfg->threads);
        next_due = schedule_next(&sched);
    }
    t->drain_deadline = run_end + (int64_t)cfg->timeout_ms * 1000000LL;
    for (;;) {
        int64_t now = loadgen_now_ns();
        atomic_store(&t->progress.phase, now < t->start_ns ? 0 : phase_of(t, now));
        if (t->nheld > 0)
            release_held(t, now, false);
        if (atomic_load(&stop_requested) && t->stop_seen_ns == 0) {
            t->stop_seen_ns = now;
            backlog_drop_all(t, -1, now);
        }
        bool stopping = t->stop_seen_ns != 0;
        /* due requests join the backlog, or count as errors when it is full */
        while (!stopping && !cfg->closed && next_due <= now && next_due < run_end) {
            note_due(t, next_due);
            if (t->backlog_len >= cfg->backlog_max) {
                record_failure(t, &t->stats[phase_of(t, next_due)], NULL, next_due, now,
                               LOADGEN_ERR_BACKLOG);
            } else {
                backlog_push(t, next_due);
            }
            next_due = schedule_next(&sched);
        }
        if (!stopping && !cfg->closed && now >= t->drain_deadline)
            backlog_drop_all(t, LOADGEN_ERR_UNSENT, now);
        /* free slots take work: the oldest due request, or (closed loop) a new one */
        struct slot *s;
        while (!stopping && (s = free_slot(t)) != NULL) {
            if (cfg->closed) {
                if (now < t->start_ns || now >= run_end)
                    break;
                note_due(t, now);
                start_request(t, s, now);
            } else if (t->backlog_len > 0) {
                start_request(t, s, backlog_pop(t));
            } else {
                break;
            }
        }
        /* curl sends what was just added (its timeout 0) and times out what is late */
        run_curl_timeout(t);
        drain_messages(t, loadgen_now_ns());
        /* finished? */
        int active = active_count(t);
        if (stopping) {
            if (active == 0)
                break;
            if (now - t->stop_seen_ns > LOADGEN_STOP_GRACE_NS) {
                release_held(t, now, true); /* delivered by now: recorded, not aborted */
                for (int i = 0; i < t->nslots; i++)
                    if (t->slots[i].state == SLOT_ACTIVE) {
                        curl_multi_remove_handle(t->multi, t->slots[i].easy);
                        t->slots[i].state = SLOT_IDLE;
                        t->free_stack[t->nfree++] = i;
                        t->stats[t->slots[i].phase].aborted++;
                    }
                break;
            }
        } else if (now >= run_end && (cfg->closed || next_due >= run_end) && t->backlog_len == 0 &&
                   active == 0) {
            break;
        }
        /* a slot freed by a completion takes waiting work at once, without sleeping */
        if (!stopping && free_slot(t) &&
            (t->backlog_len > 0 || (cfg->closed && now >= t->start_ns && now < run_end)))
            continue;
        /* wait until the next request is due, curl's timeout, a socket event or 100 ms */
        int64_t wake = now + LOADGEN_POLL_MAX_NS;
        if (!stopping && !cfg->closed && next_due < run_end && next_due < wake)
            wake = next_due;
        if (!stopping && cfg->closed && now < t->start_ns && t->start_ns < wake)
            wake = t->start_ns;
        if (!stopping && !cfg->closed && t->backlog_len > 0 && t->drain_deadline < wake)
            wake = t->drain_deadline;
        if (t->curl_timeout_ns >= 0 && t->curl_timeout_ns < wake)
            wake = t->curl_timeout_ns;
        int64_t next_release = t->nheld > 0 ? release_held(t, now, false) : INT64_MAX;
        if (next_release < wake)
            wake = next_release;
        int64_t now2 = loadgen_now_ns();
        /* busy-poll, or a gap too short to be worth a kernel timer: look, don't sleep */
        int64_t timeout_ns = cfg->busy_poll || wake - now2 <= LOADGEN_SPIN_NS ? 0 : wake - now2;
        wait_events(t, timeout_ns);
        drain_messages(t, loadgen_now_ns());
    }
    atomic_store(&t->done, 1);
    return NULL;
}

struct progress_state {
    struct hist *acc;   /* merged interval latencies */
    struct hist *fresh; /* an empty histogram to swap into a thread */
    int64_t last_done;
    int64_t last_ns;
};

/* Prints one pgbench-style progress line: elapsed, sent, completed, errors, the rate of
 * completions since the previous line, and that interval's p50/p99 latency. */
static void progress_line(const struct loadgen_config *cfg, struct gen_thread *threads, int n,
                          int64_t start_ns, struct progress_state *ps)
{
    static const char *const phase_names[LOADGEN_NPHASES] = {"warmup", "measured", "cooldown"};
    int64_t now = loadgen_now_ns();
    long long sent = 0, responses = 0, errors = 0;
    int phase = LOADGEN_WARMUP;
    hist_reset(ps->acc);
    for (int i = 0; i < n; i++) {
        struct gen_thread *t = &threads[i];
        sent += atomic_load(&t->progress.sent);
        responses += atomic_load(&t->progress.responses);
        errors += atomic_load(&t->progress.errors);
        int p = atomic_load(&t->progress.phase);
        phase = p > phase ? p : phase;
        /* swap in an empty histogram under the thread's lock, merge the full one outside */
        pthread_mutex_lock(&t->progress.lock);
        struct hist *full = t->progress.interval;
        t->progress.interval = ps->fresh;
        pthread_mutex_unlock(&t->progress.lock);
        hist_merge(ps->acc, full);
        hist_reset(full);
        ps->fresh = full;
    }
    double interval_s = (double)(now - ps->last_ns) / 1e9;
    long long done = responses + errors;
    double rate = interval_s > 0 ? (double)(done - ps->last_done) / interval_s : 0.0;
    fprintf(cfg->progress,
            "progress: %.1f s, sent %lld, completed %lld, errors %lld, %.1f req/s, "
            "p50 %.3f ms, p99 %.3f ms (%s)\n",
            (double)(now - start_ns) / 1e9, sent, responses, errors, rate,
            (double)hist_value_at_percentile(ps->acc, 50.0) / 1000.0,
            (double)hist_value_at_percentile(ps->acc, 99.0) / 1000.0, phase_names[phase]);
    fflush(cfg->progress);
    ps->last_done = done;
    ps->last_ns = now;
}

int loadgen_run(const struct loadgen_config *cfg, struct loadgen_result *res, char *err,
                size_t errlen)
{
    int rc = -1;
    int n = cfg->threads;
    struct gen_thread *threads = xcalloc((size_t)n, sizeof *threads);
    struct progress_state ps = {.acc = hist_new(), .fresh = hist_new()};
    int started = 0;
    for (int p = 0; p < LOADGEN_NPHASES; p++)
        loadgen_stats_init(&res->phases[p]);
    /* every thread shares the phase clock; a short lead lets them all get ready, or the
     * run starts at the wall-clock moment cfg->start_at_ms (the same on every machine) */
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    int64_t mono_now = loadgen_now_ns();
    int64_t wall_now = (int64_t)wall.tv_sec * 1000000000LL + wall.tv_nsec;
    int64_t start = mono_now + 50 * 1000000LL;
    if (cfg->start_at_ms > 0)
        start = mono_now + (cfg->start_at_ms * 1000000LL - wall_now);
    res->measured_start_epoch_s = (double)(wall_now + (start - mono_now) + cfg->warmup_ns) / 1e9;
    int64_t ends[LOADGEN_NPHASES] = {start + cfg->warmup_ns,
                                     start + cfg->warmup_ns + cfg->duration_ns,
                                     start + cfg->warmup_ns + cfg->duration_ns + cfg->cooldown_ns};
    for (int i = 0; i < n; i++) {
        threads[i].epoll_fd = threads[i].wake_fd = -1;
        pthread_mutex_init(&threads[i].progress.lock, NULL);
        threads[i].progress.interval = hist_new();
    }
    for (int i = 0; i < n; i++) {
        struct gen_thread *t = &threads[i];
        t->index = i;
        t->cfg = cfg;
        t->nslots = cfg->connections / n + (i < cfg->connections % n ? 1 : 0);
        t->start_ns = start;
        memcpy(t->phase_end_ns, ends, sizeof ends);
        /* each segment's threads draw their own request sequences from the mix */
        uint64_t segment_index = cfg->segment ? (uint64_t)cfg->segment->index : 0;
        rng_seed(&t->rng, cfg->seed * 0x9e3779b97f4a7c15ULL + (uint64_t)i + 1 +
                              segment_index * 0x100000001b3ULL);
        if (setup_thread(t) < 0) {
            snprintf(err, errlen, "cannot set up the load generator: %s", t->err);
            goto cleanup;
        }
    }
    /* generator threads leave SIGINT/SIGTERM to the caller's thread */
    sigset_t block, saved;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &saved);
    for (int i = 0; i < n; i++) {
        if (pthread_create(&threads[i].tid, NULL, thread_main, &threads[i]) != 0) {
            snprintf(err, errlen, "cannot start a generator thread: %s", strerror(errno));
            loadgen_request_stop();
            break;
        }
        started++;
    }
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    ps.last_ns = start;
    int64_t next_line = start + 1000000000LL;
    bool woke_for_stop = false;
    for (;;) {
        bool all_done = true;
        for (int i = 0; i < started; i++)
            all_done = all_done && atomic_load(&threads[i].done);
        if (all_done)
            break;
        if (atomic_load(&stop_requested) && !woke_for_stop) {
            for (int i = 0; i < started; i++) {
                uint64_t one = 1;
                if (write(threads[i].wake_fd, &one, sizeof one) < 0) {
                    /* the thread also re-checks the flag every 100 ms */
                }
            }
            woke_for_stop = true;
        }
        int64_t now = loadgen_now_ns();
        if (now >= next_line) {
            if (cfg->progress)
                progress_line(cfg, threads, started, start, &ps);
            next_line += 1000000000LL;
            continue;
        }
        /* sleep at most 50 ms so that a stop request or the end is noticed quickly */
        int64_t nap = next_line - now < 50000000LL ? next_line - now : 50000000LL;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)nap};
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < started; i++)
        pthread_join(threads[i].tid, NULL);
    if (started < n)
        goto cleanup;
    int64_t finished = loadgen_now_ns();
    int64_t stop_at = finished;
    res->timeline_len = threads[0].timeline_len;
    res->timeline = xcalloc((size_t)res->timeline_len + 1, sizeof *res->timeline);
    for (int i = 0; i < n; i++) {
        for (int p = 0; p < LOADGEN_NPHASES; p++)
            loadgen_stats_merge(&res->phases[p], &threads[i].stats[p]);
        for (int k = 0; k < res->timeline_len; k++) {
            struct loadgen_second *d = &res->timeline[k];
            const struct loadgen_second *src = &threads[i].timeline[k];
            d->due += src->due;
            d->responses += src->responses;
            d->errors += src->errors;
            d->latency_sum_us += src->latency_sum_us;
            d->latency_count += src->latency_count;
            if (src->latency_max_us > d->latency_max_us)
                d->latency_max_us = src->latency_max_us;
        }
        for (int k = 0; k < LOADGEN_NSERIES; k++)
            hlog_series_take(&res->intervals[k], &threads[i].intervals[k]);
        if (threads[i].stop_seen_ns && threads[i].stop_seen_ns < stop_at)
            stop_at = threads[i].stop_seen_ns;
    }
    res->interrupted = atomic_load(&stop_requested) != 0;
    res->decoded = cfg->decode;
    int64_t phase_start = start;
    for (int p = 0; p < LOADGEN_NPHASES; p++) {
        int64_t end = ends[p];
        if (res->interrupted && stop_at < end) {
            end = stop_at > phase_start ? stop_at : phase_start;
            if (end < ends[p] && ends[p] > phase_start)
                res->cut_short = true;
        }
        res->phase_s[p] = (double)(end - phase_start) / 1e9;
        phase_start = ends[p];
    }
    rc = 0;

cleanup:
    for (int i = 0; i < n; i++) {
        struct gen_thread *t = &threads[i];
        teardown_thread(t);
        for (int p = 0; p < LOADGEN_NPHASES; p++)
            loadgen_stats_free(&t->stats[p]);
        hist_free(t->progress.interval);
        pthread_mutex_destroy(&t->progress.lock);
    }
    free(threads);
    hist_free(ps.acc);
    hist_free(ps.fresh);
    return rc;
}

int loadgen_preflight(const char *target, long timeout_ms, char *err, size_t errlen)
{
    char curl_err[CURL_ERROR_SIZE] = "";
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(err, errlen, "cannot create a curl handle");
        return -1;
    }
    curl_easy_setopt(c, CURLOPT_URL, target);
    curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 5000 ? timeout_ms : 5000L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        char shown[512];
        snprintf(err, errlen, "cannot connect to %s: %s",
                 url_mask_password(target, shown, sizeof shown),
                 curl_err[0] ? curl_err : curl_easy_strerror(rc));
        return -1;
    }
    return 0;
}
