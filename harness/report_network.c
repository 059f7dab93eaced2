/* report_network.c - the report's "Network profile" part (see report_network.h). */
#include "report_network.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "network.h"
#include "report_md.h"
#include "report_summary.h"

#define HEADLINE_ROUTE "latest"

static json_t *num_or_null(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static double get_num(const json_t *obj, const char *path)
{
    const json_t *v = report_path(obj, path);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* One load of a build under the profile (a run JSON): the rate, response times, the
 * headline's transfer time and bytes, all routes' bytes per response, the link's use. */
static json_t *load_entry(const char *path, const struct network_profile *p)
{
    json_t *run = json_load_file(path, 0, NULL);
    if (!run)
        return json_null();
    char route[64];
    snprintf(route, sizeof route, "routes.%s", HEADLINE_ROUTE);
    const json_t *h = report_path(run, route);
    double completed = get_num(run, "completed");
    double bytes = completed > 0 ? get_num(run, "bytes_received") / completed : NAN;
    double h_count = get_num(h, "count");
    double rate = get_num(run, "achieved_rate");
    /* the link's use by the load offered: a saturated link caps the achieved rate */
    double offered = get_num(run, "intended_rate");
    json_t *e =
        json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "intended_rate",
                  num_or_null(get_num(run, "intended_rate")), "achieved_rate", num_or_null(rate),
                  "mean_ms", num_or_null(get_num(run, "latency.mean_ms")), "p99_ms",
                  num_or_null(get_num(run, "latency.p99_ms")), "transfer_mean_ms",
                  num_or_null(get_num(run, "transfer_time.mean_ms")), "headline_mean_ms",
                  num_or_null(get_num(h, "latency.mean_ms")), "headline_transfer_mean_ms",
                  num_or_null(get_num(h, "transfer_time.mean_ms")), "headline_body_bytes",
                  num_or_null(h_count > 0 ? get_num(h, "bytes_received") / h_count : NAN),
                  "bytes_per_response", num_or_null(bytes), "link_use",
                  p->down_kbit > 0 && isfinite(bytes) && isfinite(offered)
                      ? json_real(network_utilisation(p, offered, bytes))
                      : json_null());
    json_decref(run);
    return e;
}

json_t *report_network_summary(const char *run_dir, const char *info, const json_t *builds)
{
    struct network_profile p;
    char err[256];
    const char *v;
    /* the figures as run.info recorded them (the profile file may have changed since) */
    network_profile_parse("", (v = report_kv(info, "network_profile")) && *v ? v : "loopback", &p,
                          err, sizeof err);
    v = report_kv(info, "network_down_kbit");
    p.down_kbit = v ? atof(v) : 0;
    v = report_kv(info, "network_up_kbit");
    p.up_kbit = v ? atof(v) : 0;
    v = report_kv(info, "network_rtt_ms");
    p.rtt_ms = v ? atof(v) : 0;
    json_t *out = json_pack("{s:s, s:f, s:f, s:f}", "profile", p.name, "down_kbit", p.down_kbit,
                            "up_kbit", p.up_kbit, "rtt_ms", p.rtt_ms);
    static const char *const texts[] = {"description", "rate_by",  "rtt",
                                        "kernel",      "rate_cap", "bytes_per_response"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char key[64];
        snprintf(key, sizeof key, "network_%s", texts[i]);
        v = report_kv(info, key);
        json_object_set_new(out, texts[i], v && *v ? json_string(v) : json_null());
    }
    json_t *list = json_array();
    size_t i;
    const json_t *b;
    json_array_foreach(builds, i, b)
    {
        const char *name = json_string_value(json_object_get(b, "build"));
        char common[4096], article[4096];
        if (!name || !REPORT_FMT_FITS(common, "%s/builds/%s/repeat-1/load.json", run_dir, name) ||
            !REPORT_FMT_FITS(article, "%s/builds/%s/repeat-1/article.json", run_dir, name))
            continue;
        json_array_append_new(list, json_pack("{s:s, s:o, s:o}", "build", name, "common",
                                              load_entry(common, &p), "article",
                                              load_entry(article, &p)));
    }
    json_object_set_new(out, "builds", list);
    return out;
}

static const json_t *find_entry(const json_t *list, const char *prefix)
{
    size_t i;
    const json_t *e;
    json_array_foreach(list, i, e)
    {
        const char *name = json_string_value(json_object_get(e, "build"));
        if (name && strncmp(name, prefix, strlen(prefix)) == 0)
            return e;
    }
    return NULL;
}

static const char *text_or(const json_t *net, const char *key, const char *dflt)
{
    const char *v = json_string_value(json_object_get(net, key));
    return v ? v : dflt;
}

/* The link's use as "43%", "**180%: the link is the bottleneck**" or "n/a". With the
 * generator's method (own_links) each connection has a link of its own, so a use above
 * 100% says what one shared link would suffer, not what this run did. */
static const char *use_text(const json_t *use, bool own_links, char *buf, size_t len)
{
    if (!json_is_number(use))
        return "n/a";
    double u = json_number_value(use);
    if (u < 1.0)
        snprintf(buf, len, "%.0f%%", 100 * u);
    else if (own_links)
        snprintf(buf, len, "%.0f%% (one shared link would be the bottleneck)", 100 * u);
    else
        snprintf(buf, len, "**%.0f%%: the link is the bottleneck**", 100 * u);
    return buf;
}

/* What gzip saves on this link: 05-gzip's headline transfer against 04-pool's. */
static void write_gzip_saving(FILE *out, const json_t *list, const char *profile)
{
    const json_t *pool = find_entry(list, "04-");
    const json_t *gz = find_entry(list, "05-");
    if (!pool || !gz) {
        fprintf(out, "What gzip saves on this link: not measured (04-pool and 05-gzip are both "
                     "needed).\n\n");
        return;
    }
    double t4 = get_num(pool, "common.headline_transfer_mean_ms");
    double t5 = get_num(gz, "common.headline_transfer_mean_ms");
    double m4 = get_num(pool, "common.headline_mean_ms");
    double m5 = get_num(gz, "common.headline_mean_ms");
    double b4 = get_num(pool, "common.headline_body_bytes");
    double b5 = get_num(gz, "common.headline_body_bytes");
    if (!isfinite(t4) || !isfinite(t5)) {
        fprintf(out, "What gzip saves on this link: not measured (no headline responses).\n\n");
        return;
    }
    fprintf(out,
            "**What gzip buys on %s:** the headline body takes %.1f ms to arrive with 05-gzip "
            "against %.1f ms with 04-pool: gzip saves %.1f ms of transfer per headline response "
            "(%.0f%%), with %.0f bytes on the wire against %.0f. Headline response time, mean: "
            "%.1f ms (05-gzip) against %.1f ms (04-pool).\n\n",
            profile, t5, t4, t4 - t5, t4 > 0 ? 100 * (t4 - t5) / t4 : 0.0, b5, b4, m5, m4);
}

int report_network_write(const json_t *summary, FILE *out)
{
    const json_t *net = json_object_get(summary, "network");
    const char *profile = text_or(net, "profile", "loopback");
    if (!json_is_object(net) || strcmp(profile, "loopback") == 0)
        return 0;
    const json_t *list = json_object_get(net, "builds");
    bool own_links = strncmp(text_or(net, "rate_by", ""), "generator", 9) == 0;
    fprintf(out, "## Network profile: %s\n\n", profile);
    fprintf(out, "%s (harness/networks/%s.conf).\n\n", text_or(net, "description", profile),
            profile);
    fprintf(out, "- Rate: %s\n", text_or(net, "rate_by", "not recorded"));
    fprintf(out, "- RTT: %s\n", text_or(net, "rtt", "not recorded"));
    fprintf(out, "- What this kernel offers: %s\n", text_or(net, "kernel", "not probed"));
    fprintf(out, "- Common rate: %s\n", text_or(net, "rate_cap", "not capped"));
    fprintf(out, "- Bytes per response used for it: %s\n",
            text_or(net, "bytes_per_response", "n/a"));
    fprintf(out, "- Capacity: not searched under a profile (it would measure the link)\n\n");
    fprintf(out, "At the common rate (repeat 1). Transfer: first response byte to last, as "
                 "the client saw it; bytes: the headline body on the wire (compressed for "
                 "gzip); link use: all responses' bytes at the offered rate against the "
                 "download rate of one link.\n\n");
    fprintf(out, "| build | rate (req/s) | response mean (ms) | p99 (ms) | headline mean (ms) | "
                 "headline transfer (ms) | headline bytes | bytes/response | link use |\n");
    fprintf(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
    size_t i;
    const json_t *e;
    char buf[96];
    json_array_foreach(list, i, e)
    {
        const json_t *c = json_object_get(e, "common");
        fprintf(out, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                json_string_value(json_object_get(e, "build")),
                report_fmt(json_object_get(c, "achieved_rate"), 'r'),
                report_fmt(json_object_get(c, "mean_ms"), 'm'),
                report_fmt(json_object_get(c, "p99_ms"), 'm'),
                report_fmt(json_object_get(c, "headline_mean_ms"), 'm'),
                report_fmt(json_object_get(c, "headline_transfer_mean_ms"), 'm'),
                report_fmt(json_object_get(c, "headline_body_bytes"), 'b'),
                report_fmt(json_object_get(c, "bytes_per_response"), 'b'),
                use_text(json_object_get(c, "link_use"), own_links, buf, sizeof buf));
    }
    fprintf(out, "\n");
    write_gzip_saving(out, list, profile);
    fprintf(out, "At the article's load:\n\n");
    json_array_foreach(list, i, e)
    {
        const json_t *a = json_object_get(e, "article");
        if (!json_is_object(a))
            continue;
        fprintf(out, "- %s: %s req/s achieved, mean %s ms, headline transfer %s ms, link use %s\n",
                json_string_value(json_object_get(e, "build")),
                report_fmt(json_object_get(a, "achieved_rate"), 'r'),
                report_fmt(json_object_get(a, "mean_ms"), 'm'),
                report_fmt(json_object_get(a, "headline_transfer_mean_ms"), 'm'),
                use_text(json_object_get(a, "link_use"), own_links, buf, sizeof buf));
    }
    fprintf(out, "\n");
    return ferror(out) ? -1 : 0;
}
