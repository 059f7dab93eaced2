/* cache_race.c - drives tests/integration/test_cache_race.sh against running servers.
 *
 *   apibench-cache-race race INGEST_URL READ_URLS KEY DEVICE SECONDS READERS SLACK_MS
 *     One thread ingests readings into DEVICE through INGEST_URL (numbered 1, 2, ... by
 *     their timestamps, each 1 ms newer than the last), in bursts of back-to-back requests
 *     separated by pauses; READERS threads per URL of READ_URLS (comma-separated) read the
 *     device's readings with random limits, so that pages keep missing and being stored
 *     while invalidations land. A read that starts after reading n was acknowledged must
 *     show n or newer: at once on the ingesting instance, and within SLACK_MS on the others
 *     (their L1 learns of the invalidation through pub/sub). Exits 1 on any older read.
 *
 *   apibench-cache-race distinct URL KEY DEVICE COUNT RATE
 *     COUNT reads of DEVICE's readings, each a distinct page (hours x limit), at most RATE
 *     per second: COUNT distinct cache keys in one namespace.
 *
 * Prints a summary line; timings use CLOCK_MONOTONIC. */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_INGESTS 100000
/* The race is judged on at least MIN_INGESTS acknowledged ingests: the run goes on past
 * its SECONDS until it has them (at most 4 x SECONDS), because on a shared machine a
 * single ingest has been seen to take seconds (cause not yet found). */
#define MIN_INGESTS 20
#define MAX_READERS 64

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_us(int64_t us)
{
    struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

struct buf {
    char *data;
    size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    struct buf *b = arg;
    char *d = realloc(b->data, b->len + size * n + 1);
    if (!d)
        return 0;
    memcpy(d + b->len, p, size * n);
    b->data = d;
    b->len += size * n;
    b->data[b->len] = '\0';
    return size * n;
}

/* One request on h; returns the status (0 on a transport error) with the body in b. */
static long request(CURL *h, const char *url, const char *key, const char *post, struct buf *b)
{
    char hdr[256];
    snprintf(hdr, sizeof hdr, "X-API-Key: %s", key);
    struct curl_slist *headers = curl_slist_append(NULL, hdr);
    if (post)
        headers = curl_slist_append(headers, "Content-Type: application/json");
    b->len = 0;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* gzip when offered, decoded here */
    if (post)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
    else
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    long status = 0;
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    else if (post)
        fprintf(stderr, "POST %s: %s\n", url, curl_easy_strerror(rc));
    curl_slist_free_all(headers);
    return status;
}

/* Reading n ingested here is timestamped base_ms + n ms, later than any seeded one. */
static int64_t base_ms;

/* Milliseconds since the epoch of "YYYY-MM-DDTHH:MM:SS[.fff...]Z"; -1 when malformed. */
static int64_t parse_ms(const char *s)
{
    struct tm tm = {0};
    int consumed = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    int64_t ms = (int64_t)timegm(&tm) * 1000;
    const char *p = s + consumed;
    if (*p == '.') {
        int scale = 100;
        for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
            ms += scale ? (*p - '0') * scale : 0;
    }
    return ms;
}

/* The newest reading's number in a readings page, from the first "timestamp" of the first
 * array member of the body: 0 for a seeded reading or an empty page, -1 when the body is not
 * such a page. */
static long newest_number(const char *body)
{
    json_t *root = json_loads(body, 0, NULL);
    long n = -1;
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v)
    {
        if (!json_is_array(v))
            continue;
        int64_t ms =
            parse_ms(json_string_value(json_object_get(json_array_get(v, 0), "timestamp")));
        n = json_array_size(v) == 0 ? 0 : ms < 0 ? -1 : ms <= base_ms ? 0 : (long)(ms - base_ms);
        break;
    }
    json_decref(root);
    return n;
}

/* --- race mode */

static const char *ingest_url, *api_key;
static int device, seconds;
static int64_t slowest_ingest_us; /* written by the ingester only */
static int64_t slack_us;
static _Atomic long acked;                /* the newest acknowledged reading number */
static int64_t acked_at[MAX_INGESTS + 1]; /* when each was acknowledged */
static _Atomic bool stop;
static _Atomic long reads, violations, read_errors;
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

struct reader {
    pthread_t thread;
    const char *base;
    bool ingesting_instance;
    unsigned seed;
};

static void *ingester(void *arg)
{
    (void)arg;
    CURL *h = curl_easy_init();
    struct buf b = {0};
    char url[512], body[512];
    snprintf(url, sizeof url, "%s/api/devices/%d/readings", ingest_url, device);
    int64_t start = mono_us(), end = start + (int64_t)seconds * 1000000,
            hard_end = start + (int64_t)seconds * 4000000;
    unsigned seed = 7;
    for (long n = 1;
         n <= MAX_INGESTS && (mono_us() < end || (n <= MIN_INGESTS && mono_us() < hard_end)); n++) {
        int64_t ms = base_ms + n;
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        char ts[32];
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(body, sizeof body,
                 "{\"readings\":[{\"timestamp\":\"%s.%03dZ\",\"temperature\":21.5,"
                 "\"humidity\":50,\"battery\":90,\"rssi\":-60}]}",
                 ts, (int)(ms % 1000));
        int64_t sent = mono_us();
        long st = request(h, url, api_key, body, &b);
        if (mono_us() - sent > slowest_ingest_us)
            slowest_ingest_us = mono_us() - sent;
        if (st != 201) {
            fprintf(stderr, "ingest %ld: status %ld: %s\n", n, st, b.data ? b.data : "");
            atomic_fetch_add(&read_errors, 1);
            break;
        }
        acked_at[n] = mono_us();
        atomic_store(&acked, n);
        /* bursts of about 8 back-to-back ingests, then a pause longer than the slack, so
         * that a stale entry left behind would be read for a while */
        seed = seed * 1103515245u + 12345u;
        if ((seed >> 8) % 8 == 0)
            sleep_us(slack_us + 300000);
    }
    atomic_store(&stop, true);
    free(b.data);
    curl_easy_cleanup(h);
    return NULL;
}

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    CURL *h = curl_easy_init();
    struct buf b = {0};
    char url[512];
    while (!atomic_load(&stop)) {
        r->seed = r->seed * 1103515245u + 12345u;
        snprintf(url, sizeof url, "%s/api/devices/%d/readings?hours=2&limit=%u", r->base, device,
                 1 + (r->seed >> 8) % 200);
        long before = atomic_load(&acked);
        int64_t started = mono_us();
        long st = request(h, url, api_key, NULL, &b);
        long seen = st == 200 ? newest_number(b.data) : -1;
        atomic_fetch_add(&reads, 1);
        if (seen < 0) {
            atomic_fetch_add(&read_errors, 1);
            continue;
        }
        if (seen >= before)
            continue;
        /* older than an acknowledged ingest: how long after the first newer ack it started */
        int64_t late_us = started - acked_at[seen + 1];
        if (!r->ingesting_instance && late_us <= slack_us)
            continue;
        if (atomic_fetch_add(&violations, 1) < 10) {
            pthread_mutex_lock(&print_lock);
            fprintf(stderr,
                    "stale read from %s (%s instance): shows reading %ld, started %.1f ms after "
                    "reading %ld was acknowledged (%s)\n",
                    r->base, r->ingesting_instance ? "the ingesting" : "another", seen,
                    (double)late_us / 1000.0, seen + 1, url);
            pthread_mutex_unlock(&print_lock);
        }
    }
    free(b.data);
    curl_easy_cleanup(h);
    return NULL;
}

static int run_race(char **argv)
{
    ingest_url = argv[0];
    base_ms = ((int64_t)time(NULL) + 600) * 1000; /* newer than anything seeded */
    char *bases = argv[1];
    api_key = argv[2];
    device = atoi(argv[3]);
    seconds = atoi(argv[4]);
    int per_base = atoi(argv[5]);
    slack_us = atoll(argv[6]) * 1000;
    static struct reader readers[MAX_READERS];
    int n = 0;
    for (char *save = NULL, *base = strtok_r(bases, ",", &save); base;
         base = strtok_r(NULL, ",", &save))
        for (int i = 0; i < per_base && n < MAX_READERS; i++, n++) {
            readers[n].base = base;
            readers[n].ingesting_instance = strcmp(base, ingest_url) == 0;
            readers[n].seed = 1000u + (unsigned)n;
        }
    pthread_t ing;
    pthread_create(&ing, NULL, ingester, NULL);
    for (int i = 0; i < n; i++)
        pthread_create(&readers[i].thread, NULL, reader_main, &readers[i]);
    pthread_join(ing, NULL);
    for (int i = 0; i < n; i++)
        pthread_join(readers[i].thread, NULL);
    printf("ingests %ld (slowest %.0f ms), reads %ld by %d readers, errors %ld, stale reads %ld\n",
           atomic_load(&acked), (double)slowest_ingest_us / 1000.0, atomic_load(&reads), n,
           atomic_load(&read_errors), atomic_load(&violations));
    return atomic_load(&violations) == 0 && atomic_load(&read_errors) == 0 &&
                   atomic_load(&acked) >= MIN_INGESTS && atomic_load(&reads) >= 100
               ? 0
               : 1;
}

/* --- distinct mode */

static int run_distinct(char **argv)
{
    const char *base = argv[0], *key = argv[1];
    int dev = atoi(argv[2]), count = atoi(argv[3]), rate = atoi(argv[4]);
    CURL *h = curl_easy_init();
    struct buf b = {0};
    char url[512];
    int64_t start = mono_us();
    int failed = 0;
    for (int i = 0; i < count; i++) {
        int64_t due = start + (int64_t)i * 1000000 / rate;
        int64_t now = mono_us();
        if (due > now)
            sleep_us(due - now);
        snprintf(url, sizeof url, "%s/api/devices/%d/readings?hours=%d&limit=%d", base, dev,
                 1 + i / 500, 1 + i % 500);
        failed += request(h, url, key, NULL, &b) != 200;
    }
    printf("%d distinct pages read in %.1f s, %d failed\n", count,
           (double)(mono_us() - start) / 1e6, failed);
    free(b.data);
    curl_easy_cleanup(h);
    return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = 2;
    if (argc == 9 && strcmp(argv[1], "race") == 0)
        rc = run_race(argv + 2);
    else if (argc == 7 && strcmp(argv[1], "distinct") == 0)
        rc = run_distinct(argv + 2);
    else
        fprintf(stderr, "usage: apibench-cache-race race INGEST_URL READ_URLS KEY DEVICE SECONDS "
                        "READERS SLACK_MS\n"
                        "       apibench-cache-race distinct URL KEY DEVICE COUNT RATE\n");
    curl_global_cleanup();
    return rc;
}
