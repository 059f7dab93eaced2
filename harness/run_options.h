/* run_options.h - the options of `apibench run`, parsed and checked before anything runs,
 * so that bad input fails with one line and writes nothing. */
#ifndef APIBENCH_RUN_OPTIONS_H
#define APIBENCH_RUN_OPTIONS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "loadgen.h"
#include "mix.h"
#include "network.h"
#include "schedule.h"
#include "segment.h"
#include "slo.h"

#define RUN_MAX_HEADERS 16
#define RUN_TARGET_MAX 256
#define RUN_START_AT_LATE_MS 250 /* --start-at may be this far in the past, no further */

struct run_options {
    char target[RUN_TARGET_MAX];       /* without a trailing '/' */
    char target_shown[RUN_TARGET_MAX]; /* target with its password masked: for output */
    const char *mix_path;        /* NULL: --path, or the default mix */
    const char *path;            /* --path: one fixed GET path instead of a mix */
    bool closed;
    enum schedule_arrival arrival;
    double rate;
    bool rate_set;
    int64_t warmup_ns, duration_ns, cooldown_ns;
    long timeout_ms;
    int connections;
    int threads;
    uint64_t seed;
    const char *out; /* DIR/NAME; NULL: results/<label or run>-<UTC time> */
    const char *label;
    const char *slo_spec;
    struct slo slo;
    bool quiet;
    bool gzip;
    bool decode;    /* --decode: inflate gzip bodies to count decoded bytes (off: wire only) */
    bool busy_poll; /* --busy-poll: generator threads spin instead of sleeping */
    int backlog;
    /* --network: the client's link (loopback unless given); --network-shaped: what the
     * kernel already emulates (tc on lo), so that the generator emulates only the rest */
    struct network_profile network;
    bool network_kernel_rate, network_kernel_rtt;
    const char *headers[RUN_MAX_HEADERS];
    int nheaders;
    bool help;
    struct segment segment;      /* --segment I/N [--segment-sequence W,...]; 0/1: all */
    const char *segment_spec;    /* NULL: no --segment */
    int segment_connections;     /* this segment's share of --connections */
    int64_t start_at_ms;         /* --start-at EPOCH_MS; 0: start now */
};

/* Parses argv (argv[0] is the subcommand name) into o. Returns 0, or -1 with a one-line
 * reason in err: unknown option, missing value, rate <= 0, durations or timeouts out of
 * range, --rate with --mode closed, both --mix and --path, and so on. Pointers in o
 * borrow from argv. */
int run_options_parse(int argc, char **argv, struct run_options *o, char *err, size_t errlen);

/* Fills *out (zeroed first) with the load generator's configuration for the options o and
 * the mix m: the one mapping from run options to loadgen_config, shared by `apibench run`
 * and `apibench capacity`. progress: where progress lines go (NULL for none; o->quiet is
 * not consulted). out borrows from o and m, which must outlive it. Returns 0, or -1 with
 * a one-line reason in err when o is inconsistent (e.g. no rate in open loop). */
int run_options_to_loadgen_config(const struct run_options *o, const struct mix *m, FILE *progress,
                                  struct loadgen_config *out, char *err, size_t errlen);

/* Loads the mix o asks for: --path (one fixed GET), --mix FILE, or the default mix
 * (harness/mixes/default.json in the current folder or in the checkout of the binary).
 * Returns a new mix (mix_free), or NULL with a one-line reason in err. */
struct mix *run_options_load_mix(const struct run_options *o, char *err, size_t errlen);

/* The "config" object of a run JSON for o and m (new reference): target, mode, rate,
 * connections, timeouts, decode, busy_poll, ... (header values are left out). */
json_t *run_options_config_json(const struct run_options *o, const struct mix *m);

/* Who emulates o's network rate, and whether its RTT is emulated (by the kernel only). */
enum network_rate_by run_options_rate_by(const struct run_options *o);
bool run_options_rtt_emulated(const struct run_options *o);

/* Parses a duration: a number with an optional unit ms, s (default), m or h. Returns 0
 * with *ns set, or -1 (not a number, negative, unknown unit, above 24 h). */
int run_parse_duration(const char *text, int64_t *ns);

/* rel (e.g. "harness/mixes/default.json") in the current folder, else in the checkout the
 * binary was built in (build folders sit inside it): buf (at least PATH_MAX) or rel
 * itself, which then fails to open with a clear message. */
const char *run_checkout_path(const char *rel, char *buf, size_t len);

/* The usage text of `apibench run`. */
extern const char run_usage[];

#endif
