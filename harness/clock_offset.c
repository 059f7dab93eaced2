/* clock_offset.c - this machine's clock against a reference (see clock_offset.h). */
#include "clock_offset.h"

#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int clock_offset_parse_chronyc(const char *line, double *offset_ms)
{
    double seconds;
    char direction[8];
    if (sscanf(line, " System time : %lf seconds %7s of NTP time", &seconds, direction) != 2)
        return -1;
    if (strcmp(direction, "fast") == 0)
        *offset_ms = seconds * 1000.0;
    else if (strcmp(direction, "slow") == 0)
        *offset_ms = -seconds * 1000.0;
    else
        return -1;
    return 0;
}

static bool measure_chronyc(struct clock_offset *out)
{
    FILE *p = popen("chronyc -n tracking 2>/dev/null", "r");
    if (!p)
        return false;
    char line[256];
    bool found = false;
    while (fgets(line, sizeof line, p))
        if (!found && clock_offset_parse_chronyc(line, &out->offset_ms) == 0)
            found = true;
    pclose(p);
    if (!found)
        return false;
    out->method = "chronyc";
    out->known = true;
    out->resolution_ms = 0.001; /* chronyc prints nanoseconds; its own error is not known here */
    snprintf(out->detail, sizeof out->detail, "chronyc tracking: system time %.6f ms %s of NTP",
             fabs(out->offset_ms), out->offset_ms >= 0 ? "fast" : "slow");
    return true;
}

static double wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

struct date_header {
    bool found;
    time_t when;
};

static size_t on_header(char *buf, size_t size, size_t n, void *arg)
{
    struct date_header *d = arg;
    size_t len = size * n;
    char line[128];
    if (len < sizeof line && len > 5 && strncasecmp(buf, "date:", 5) == 0) {
        memcpy(line, buf + 5, len - 5);
        line[len - 5] = '\0';
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *p = line + strspn(line, " \t");
        if (strptime(p, "%a, %d %b %Y %H:%M:%S GMT", &tm)) {
            d->when = timegm(&tm);
            d->found = true;
        }
    }
    return len;
}

/* One HEAD request on c: the Date header's second and the local wall-clock times (ms)
 * just before sending and just after the answer. Returns false when it failed. */
static bool probe_date(CURL *c, time_t *date, double *before, double *after, CURLcode *rc)
{
    struct date_header d = {0};
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &d);
    *before = wall_ms();
    *rc = curl_easy_perform(c);
    *after = wall_ms();
    *date = d.when;
    return *rc == CURLE_OK && d.found;
}

/* The target's Date header has whole seconds only. Probing every few milliseconds until
 * it ticks over brackets the target's second boundary between the send of the last probe
 * before the tick and the answer to the first after it: the offset is then known to
 * within half that bracket (a few ms on a LAN). Without a tick within the probe budget,
 * the offset is known only to about half a second. */
static bool measure_http_date(const char *target, long timeout_ms, struct clock_offset *out)
{
    CURL *c = curl_easy_init();
    if (!c)
        return false;
    curl_easy_setopt(c, CURLOPT_URL, target);
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms < 5000 ? timeout_ms : 5000L);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    time_t first, date;
    double first_before, before, after, prev_before;
    CURLcode rc;
    bool ok = probe_date(c, &first, &first_before, &after, &rc);
    if (!ok) {
        snprintf(out->detail, sizeof out->detail,
                 "no chronyc, and the target sent no Date header (%s)",
                 rc != CURLE_OK ? curl_easy_strerror(rc) : "none in the response");
        curl_easy_cleanup(c);
        return false;
    }
    out->method = "http-date";
    out->known = true;
    /* coarse: the target's time at some instant of the first probe is in [date, date+1 s) */
    out->offset_ms = (first_before + after) / 2.0 - ((double)first * 1000.0 + 500.0);
    out->resolution_ms = 500.0 + (after - first_before) / 2.0;
    prev_before = first_before;
    for (int i = 0; i < CLOCK_OFFSET_PROBES && ok; i++) {
        struct timespec gap = {0, CLOCK_OFFSET_PROBE_GAP_MS * 1000000L};
        nanosleep(&gap, NULL);
        ok = probe_date(c, &date, &before, &after, &rc);
        if (ok && date != first) {
            /* the target's clock read date + 0.000 at an instant of [prev_before, after] */
            out->offset_ms = (prev_before + after) / 2.0 - (double)date * 1000.0;
            out->resolution_ms = (after - prev_before) / 2.0;
            break;
        }
        prev_before = before;
    }
    curl_easy_cleanup(c);
    snprintf(out->detail, sizeof out->detail,
             "HTTP Date of the target (1 s steps), %s: offset known to +-%.1f ms",
             out->resolution_ms < 400.0 ? "timed at its tick" : "no tick seen",
             out->resolution_ms);
    return true;
}

void clock_offset_measure(const char *target, long timeout_ms, struct clock_offset *out)
{
    memset(out, 0, sizeof *out);
    out->method = "none";
    if (measure_chronyc(out))
        return;
    measure_http_date(target, timeout_ms, out);
}

bool clock_offset_warn(const struct clock_offset *c)
{
    return !c->known || fabs(c->offset_ms) > CLOCK_OFFSET_WARN_MS ||
           c->resolution_ms > CLOCK_OFFSET_WARN_MS;
}

json_t *clock_offset_json(const struct clock_offset *c)
{
    return json_pack("{s:s, s:b, s:o, s:o, s:s, s:b}", "method", c->method, "known", c->known,
                     "offset_ms", c->known ? json_real(c->offset_ms) : json_null(),
                     "resolution_ms", c->known ? json_real(c->resolution_ms) : json_null(),
                     "detail", c->detail, "warning", clock_offset_warn(c));
}
