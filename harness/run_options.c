/* run_options.c - `apibench run` option parsing (see run_options.h). */
#include "run_options.h"

#include <errno.h>
#include <stddef.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apibench/urlmask.h"

const char run_usage[] =
    "usage: apibench run --target URL [--mix FILE | --path PATH]\n"
    "                    [--rate R [--arrival constant|poisson] | --mode closed]\n"
    "                    [--connections N] [--threads N] [--warmup S] [--duration S]\n"
    "                    [--cooldown S] [--timeout-ms T] [--seed N] [--out DIR/NAME]\n"
    "                    [--label L] [--slo SPEC] [--header 'Name: value'] [--no-gzip]\n"
    "                    [--backlog N] [--decode] [--busy-poll] [--quiet]\n"
    "                    [--network PROFILE [--network-shaped rate|rate,rtt]]\n"
    "                    [--segment I/N [--segment-sequence W0,W1,...]] [--start-at MS]\n"
    "\n"
    "Offers HTTP load to TARGET and writes DIR/NAME.json plus .hgrm percentile spectra and\n"
    ".hlog interval logs (HdrHistogram formats).\n"
    "Open loop (default): R requests per second, each timed from its intended send time.\n"
    "Closed loop (--mode closed): each of N connections sends back to back.\n"
    "  --mix FILE        workload mix (default harness/mixes/default.json)\n"
    "  --path PATH       GET one fixed path instead of a mix (e.g. against nginx)\n"
    "  --connections N   connection pool size (default 64 open loop, 16 closed loop)\n"
    "  --threads N       generator threads, each with its share of rate and connections (1)\n"
    "  --warmup S        discarded warm-up (5s); --duration S measured (30s);\n"
    "  --cooldown S      discarded cool-down (0); units ms, s, m, h\n"
    "  --timeout-ms T    per-request timeout, counted as errors.timeout (30000); a\n"
    "                    failed request counts in latency as at least T\n"
    "  --seed N          PRNG seed for the mix and Poisson arrivals (1)\n"
    "  --slo SPEC        e.g. p99<100ms,errors<0.1%,rate>95%: exit 1 when breached\n"
    "  --backlog N       bound on due-but-unsent requests per thread (100000);\n"
    "                    beyond it requests count as errors.backlog\n"
    "  --decode          inflate gzip bodies to count their decoded size, as a browser\n"
    "                    would (default: count wire bytes and check status only)\n"
    "  --busy-poll       generator threads spin instead of sleeping: for a thread with\n"
    "                    a core of its own (lower send lag, one core at 100%)\n"
    "  --network PROFILE the client's link: loopback (default), lan, wan, mobile, or\n"
    "                    harness/networks/NAME.conf / a path; the generator gives each\n"
    "                    connection a link of its rates (a response counts as complete\n"
    "                    when its bytes would have arrived); its RTT is not added (only\n"
    "                    the kernel can: scripts/reproduce --network)\n"
    "  --network-shaped W  the kernel already emulates W (rate, or rate,rtt) with tc on\n"
    "                    lo: the generator leaves the rate to it; recorded in the JSON\n"
    "  --quiet           no progress lines\n"
    "  --segment I/N     send segment I (0-based) of N of this load: open loop, requests\n"
    "                    I, I+N, ... of the whole schedule; closed loop, a share of the\n"
    "                    connections. --rate, --connections and --seed stay the whole\n"
    "                    run's (docs/SEGMENTS.md); merge the N results: apibench merge\n"
    "  --segment-sequence W0,W1,...  unequal shares: integer weights, one per segment\n"
    "  --start-at MS     start the schedule at this wall-clock time (Unix milliseconds)\n"
    "Exit: 0 ok, 1 failure or SLO breach, 2 bad usage, 130 interrupted (partial results).\n";

int run_parse_duration(const char *text, int64_t *ns)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || errno != 0 || !isfinite(v) || v < 0)
        return -1;
    double scale;
    if (*end == '\0' || strcmp(end, "s") == 0)
        scale = 1e9;
    else if (strcmp(end, "ms") == 0)
        scale = 1e6;
    else if (strcmp(end, "m") == 0)
        scale = 60e9;
    else if (strcmp(end, "h") == 0)
        scale = 3600e9;
    else
        return -1;
    double total = v * scale;
    if (total > 86400e9)
        return -1;
    *ns = (int64_t)total;
    return 0;
}

static int parse_long(const char *text, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || errno != 0 || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int run_options_parse(int argc, char **argv, struct run_options *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->arrival = SCHEDULE_CONSTANT;
    o->warmup_ns = 5000000000LL;
    o->duration_ns = 30000000000LL;
    o->timeout_ms = 30000;
    o->threads = 1;
    o->seed = 1;
    o->gzip = true;
    o->backlog = 100000;
    const char *target = NULL, *mode = NULL, *sequence = NULL, *network = NULL, *shaped = NULL;
    bool connections_set = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        char name[64];
        const char *value = NULL;
        const char *eq = strchr(arg, '=');
        if (strncmp(arg, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument '%s' (see apibench run --help)", arg);
            return -1;
        }
        size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
        if (nlen >= sizeof name) {
            snprintf(err, errlen, "unknown option '%s' (see apibench run --help)", arg);
            return -1;
        }
        memcpy(name, arg, nlen);
        name[nlen] = '\0';
        /* flags take no value */
        static const struct {
            const char *name;
            size_t offset;
            bool value;
        } flags[] = {
            {"--help", offsetof(struct run_options, help), true},
            {"--quiet", offsetof(struct run_options, quiet), true},
            {"--no-gzip", offsetof(struct run_options, gzip), false},
            {"--decode", offsetof(struct run_options, decode), true},
            {"--busy-poll", offsetof(struct run_options, busy_poll), true},
        };
        bool is_flag = false;
        for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++) {
            if (strcmp(name, flags[k].name) != 0)
                continue;
            if (eq) {
                snprintf(err, errlen, "option %s takes no value", name);
                return -1;
            }
            *(bool *)((char *)o + flags[k].offset) = flags[k].value;
            is_flag = true;
        }
        if (is_flag)
            continue;
        static const char *const valued[] = {
            "--target",      "--mix",     "--path",          "--mode",     "--rate",
            "--arrival",     "--warmup",  "--duration",      "--cooldown", "--timeout-ms",
            "--connections", "--threads", "--backlog",       "--seed",     "--out",
            "--label",       "--slo",     "--header",        "--segment",  "--segment-sequence",
            "--start-at",    "--network", "--network-shaped"};
        bool known = false;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++)
            known = known || strcmp(name, valued[k]) == 0;
        if (!known) {
            snprintf(err, errlen, "unknown option '%s' (see apibench run --help)", name);
            return -1;
        }
        if (eq) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            snprintf(err, errlen, "option %s needs a value", name);
            return -1;
        }
        long l;
        if (strcmp(name, "--target") == 0) {
            target = value;
        } else if (strcmp(name, "--mix") == 0) {
            o->mix_path = value;
        } else if (strcmp(name, "--path") == 0) {
            o->path = value;
        } else if (strcmp(name, "--mode") == 0) {
            mode = value;
        } else if (strcmp(name, "--rate") == 0) {
            char *end;
            o->rate = strtod(value, &end);
            if (end == value || *end != '\0' || !isfinite(o->rate) || !(o->rate > 0) ||
                o->rate > 10000000) {
                snprintf(err, errlen,
                         "bad --rate '%s': must be a number of requests per second > 0", value);
                return -1;
            }
            o->rate_set = true;
        } else if (strcmp(name, "--arrival") == 0) {
            if (schedule_parse_arrival(value, &o->arrival) < 0) {
                snprintf(err, errlen, "bad --arrival '%s': use constant or poisson", value);
                return -1;
            }
        } else if (strcmp(name, "--warmup") == 0 || strcmp(name, "--duration") == 0 ||
                   strcmp(name, "--cooldown") == 0) {
            int64_t ns;
            if (run_parse_duration(value, &ns) < 0) {
                snprintf(err, errlen,
                         "bad %s '%s': a duration from 0 to 24h, e.g. 30, 30s, 500ms, 2m", name,
                         value);
                return -1;
            }
            if (name[2] == 'w')
                o->warmup_ns = ns;
            else if (name[2] == 'd')
                o->duration_ns = ns;
            else
                o->cooldown_ns = ns;
        } else if (strcmp(name, "--timeout-ms") == 0) {
            if (parse_long(value, 1, 3600000, &l) < 0) {
                snprintf(err, errlen, "bad --timeout-ms '%s': must be from 1 to 3600000", value);
                return -1;
            }
            o->timeout_ms = l;
        } else if (strcmp(name, "--connections") == 0) {
            if (parse_long(value, 1, 10000, &l) < 0) {
                snprintf(err, errlen, "bad --connections '%s': must be from 1 to 10000", value);
                return -1;
            }
            o->connections = (int)l;
            connections_set = true;
        } else if (strcmp(name, "--threads") == 0) {
            if (parse_long(value, 1, 256, &l) < 0) {
                snprintf(err, errlen, "bad --threads '%s': must be from 1 to 256", value);
                return -1;
            }
            o->threads = (int)l;
        } else if (strcmp(name, "--backlog") == 0) {
            if (parse_long(value, 1, 10000000, &l) < 0) {
                snprintf(err, errlen, "bad --backlog '%s': must be from 1 to 10000000", value);
                return -1;
            }
            o->backlog = (int)l;
        } else if (strcmp(name, "--seed") == 0) {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(value, &end, 10);
            if (end == value || *end != '\0' || errno != 0 || value[0] == '-') {
                snprintf(err, errlen, "bad --seed '%s': must be a non-negative integer", value);
                return -1;
            }
            o->seed = s;
        } else if (strcmp(name, "--out") == 0) {
            if (value[0] == '\0' || value[strlen(value) - 1] == '/') {
                snprintf(err, errlen, "bad --out '%s': must be DIR/NAME", value);
                return -1;
            }
            o->out = value;
        } else if (strcmp(name, "--segment") == 0) {
            o->segment_spec = value;
        } else if (strcmp(name, "--segment-sequence") == 0) {
            sequence = value;
        } else if (strcmp(name, "--start-at") == 0) {
            /* Unix milliseconds: after 2001 and before 2286 (13 digits) */
            if (parse_long(value, 1000000000000L, 9999999999999L, &l) < 0) {
                snprintf(err, errlen,
                         "bad --start-at '%s': must be a Unix time in milliseconds "
                         "(e.g. $(( $(date +%%s) * 1000 + 5000 )))",
                         value);
                return -1;
            }
            o->start_at_ms = l;
        } else if (strcmp(name, "--label") == 0) {
            o->label = value;
        } else if (strcmp(name, "--slo") == 0) {
            if (slo_parse(value, &o->slo, err, errlen) < 0)
                return -1;
            o->slo_spec = value;
        } else if (strcmp(name, "--network") == 0) {
            network = value;
        } else if (strcmp(name, "--network-shaped") == 0) {
            shaped = value;
        } else if (strcmp(name, "--header") == 0) {
            if (!strchr(value, ':') || value[0] == ':' || strpbrk(value, "\r\n")) {
                snprintf(err, errlen, "bad --header '%s': must be 'Name: value'", value);
                return -1;
            }
            if (o->nheaders == RUN_MAX_HEADERS) {
                snprintf(err, errlen, "too many --header options (at most %d)", RUN_MAX_HEADERS);
                return -1;
            }
            o->headers[o->nheaders++] = value;
        } else {
            snprintf(err, errlen, "unknown option '%s' (see apibench run --help)", name);
            return -1;
        }
    }
    if (o->help)
        return 0;
    /* without --network: loopback, built in (no file needed) */
    if (network ? network_profile_load(network, &o->network, err, errlen) < 0
                : network_profile_parse("description = loopback, not shaped", "loopback",
                                        &o->network, err, errlen) < 0)
        return -1;
    if (shaped) {
        if (strcmp(shaped, "rate") == 0) {
            o->network_kernel_rate = true;
        } else if (strcmp(shaped, "rate,rtt") == 0) {
            o->network_kernel_rate = o->network_kernel_rtt = true;
        } else {
            snprintf(err, errlen, "bad --network-shaped '%s': use rate or rate,rtt", shaped);
            return -1;
        }
    }
    if (!target) {
        snprintf(err, errlen, "missing --target URL (e.g. --target http://127.0.0.1:18101)");
        return -1;
    }
    size_t tlen = strlen(target);
    while (tlen > 0 && target[tlen - 1] == '/')
        tlen--;
    if ((strncmp(target, "http://", 7) != 0 && strncmp(target, "https://", 8) != 0) ||
        tlen >= sizeof o->target || tlen <= 8) {
        char shown[512];
        snprintf(err, errlen, "bad --target '%s': must be an http:// or https:// URL",
                 url_mask_password(target, shown, sizeof shown));
        return -1;
    }
    memcpy(o->target, target, tlen);
    o->target[tlen] = '\0';
    url_mask_password(o->target, o->target_shown, sizeof o->target_shown);
    if (mode && strcmp(mode, "closed") == 0)
        o->closed = true;
    else if (mode && strcmp(mode, "open") != 0) {
        snprintf(err, errlen, "bad --mode '%s': use open or closed", mode);
        return -1;
    }
    if (o->closed && o->rate_set) {
        snprintf(err, errlen, "--rate makes no sense with --mode closed (it sends back to back)");
        return -1;
    }
    if (!o->closed && !o->rate_set) {
        snprintf(err, errlen, "missing --rate (requests per second), or use --mode closed");
        return -1;
    }
    if (o->mix_path && o->path) {
        snprintf(err, errlen, "use --mix or --path, not both");
        return -1;
    }
    if (o->path && o->path[0] != '/') {
        snprintf(err, errlen, "bad --path '%s': must start with '/'", o->path);
        return -1;
    }
    if (o->duration_ns <= 0) {
        snprintf(err, errlen, "bad --duration: the measured phase must last more than 0 s");
        return -1;
    }
    if (!connections_set)
        o->connections = o->closed ? 16 : 64;
    if (o->connections < o->threads) {
        snprintf(err, errlen, "--connections (%d) must be at least --threads (%d)", o->connections,
                 o->threads);
        return -1;
    }
    if (sequence && !o->segment_spec) {
        snprintf(err, errlen, "--segment-sequence needs --segment I/N");
        return -1;
    }
    segment_whole(&o->segment);
    if (o->segment_spec && segment_parse(o->segment_spec, sequence, &o->segment, err, errlen) < 0)
        return -1;
    o->segment_connections = segment_share(&o->segment, o->connections);
    if (o->segment_connections < o->threads) {
        snprintf(err, errlen,
                 "segment %s gets %d of --connections %d, fewer than --threads (%d): raise "
                 "--connections (it is the whole run's)",
                 o->segment_spec, o->segment_connections, o->connections, o->threads);
        return -1;
    }
    return 0;
}

int run_options_to_loadgen_config(const struct run_options *o, const struct mix *m, FILE *progress,
                                  struct loadgen_config *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!m || o->target[0] == '\0') {
        snprintf(err, errlen, "no target or no mix to build a load from");
        return -1;
    }
    if (!o->closed && !(o->rate > 0)) {
        snprintf(err, errlen, "open loop needs a rate > 0");
        return -1;
    }
    if (o->threads < 1 || o->connections < o->threads || o->timeout_ms < 1 || o->backlog < 1) {
        snprintf(err, errlen, "bad load options: threads %d, connections %d, timeout %ld ms",
                 o->threads, o->connections, o->timeout_ms);
        return -1;
    }
    *out = (struct loadgen_config){
        .target = o->target,
        .mix = m,
        .closed = o->closed,
        .arrival = o->arrival,
        .rate = o->closed ? 0.0 : o->rate,
        .connections = o->segment_connections > 0 ? o->segment_connections : o->connections,
        .threads = o->threads,
        .warmup_ns = o->warmup_ns,
        .duration_ns = o->duration_ns,
        .cooldown_ns = o->cooldown_ns,
        .timeout_ms = o->timeout_ms,
        .seed = o->seed,
        .gzip = o->gzip,
        .decode = o->decode,
        .busy_poll = o->busy_poll,
        .backlog_max = o->backlog,
        .headers = o->headers,
        .nheaders = o->nheaders,
        .progress = progress,
        .segment = o->segment.count > 1 ? &o->segment : NULL,
        .start_at_ms = o->start_at_ms,
    };
    if (run_options_rate_by(o) == NETWORK_RATE_GENERATOR) {
        out->recv_limit = (int64_t)network_kbit_to_bytes(o->network.down_kbit);
        out->send_limit = (int64_t)network_kbit_to_bytes(o->network.up_kbit);
    }
    /* the kernel's tbf paces segments: lo's 64 KB ones would pass a small body at once */
    if (o->network_kernel_rate)
        out->mss = o->network.mss;
    return 0;
}

enum network_rate_by run_options_rate_by(const struct run_options *o)
{
    if (!(o->network.down_kbit > 0))
        return NETWORK_RATE_NONE;
    return o->network_kernel_rate ? NETWORK_RATE_KERNEL : NETWORK_RATE_GENERATOR;
}

bool run_options_rtt_emulated(const struct run_options *o)
{
    return o->network_kernel_rtt && o->network.rtt_ms > 0;
}

const char *run_checkout_path(const char *rel, char *buf, size_t len)
{
    if (access(rel, R_OK) == 0)
        return rel;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char joined[PATH_MAX + 32];
        snprintf(joined, sizeof joined, "%s/../%s", dirname(exe), rel);
        if (len >= PATH_MAX && realpath(joined, buf) && access(buf, R_OK) == 0)
            return buf;
    }
    return rel; /* fails later with a clear "cannot read ..." */
}

struct mix *run_options_load_mix(const struct run_options *o, char *err, size_t errlen)
{
    if (o->path) {
        struct mix *m = mix_fixed_path(o->path);
        if (!m)
            snprintf(err, errlen, "bad --path '%s': must start with '/' and be short", o->path);
        return m;
    }
    char buf[PATH_MAX];
    return mix_load(o->mix_path ? o->mix_path
                                : run_checkout_path("harness/mixes/default.json", buf, sizeof buf),
                    err, errlen);
}

json_t *run_options_config_json(const struct run_options *o, const struct mix *m)
{
    json_t *headers = json_array();
    for (int i = 0; i < o->nheaders; i++) {
        /* keep header names, not values: they may hold credentials */
        const char *colon = strchr(o->headers[i], ':');
        json_array_append_new(headers,
                              json_stringn(o->headers[i], (size_t)(colon - o->headers[i])));
    }
    json_t *segment = json_null();
    if (o->segment_spec) {
        json_t *weights = json_array();
        for (int i = 0; i < o->segment.count; i++)
            json_array_append_new(weights, json_integer(o->segment.weights[i]));
        segment = json_pack("{s:i, s:i, s:o, s:f, s:i}", "index", o->segment.index, "count",
                            o->segment.count, "weights", weights, "fraction",
                            segment_fraction(&o->segment), "connections", o->segment_connections);
    }
    return json_pack(
        "{s:s, s:s, s:s, s:o, s:i, s:i, s:f, s:f, s:f, s:I, s:s, s:I, s:o, "
        "s:b, s:b, s:b, s:i, s:o, s:o, s:o, s:o}",
        "target", o->target_shown, "mode", o->closed ? "closed" : "open", "arrival",
        schedule_arrival_name(o->arrival), "rate", o->closed ? json_null() : json_real(o->rate),
        "connections", o->connections, "threads", o->threads, "warmup_s",
        (double)o->warmup_ns / 1e9, "duration_s", (double)o->duration_ns / 1e9, "cooldown_s",
        (double)o->cooldown_ns / 1e9, "timeout_ms", (json_int_t)o->timeout_ms, "mix", mix_source(m),
        "seed", (json_int_t)o->seed, "slo", o->slo_spec ? json_string(o->slo_spec) : json_null(),
        "gzip", o->gzip, "decode", o->decode, "busy_poll", o->busy_poll, "backlog", o->backlog,
        "extra_headers", headers, "segment", segment, "start_at_ms",
        o->start_at_ms ? json_integer(o->start_at_ms) : json_null(), "network",
        network_json(&o->network, run_options_rate_by(o), run_options_rtt_emulated(o)));
}
