/* run_cli.c - `apibench run`: checks the options, the mix and the target, offers the
 * load, writes the results and prints a summary. Nothing is written unless the options
 * are valid and the target accepts a connection. */
#include <curl/curl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../harness/commands.h"
#include "clock_offset.h"
#include "envinfo.h"
#include "loadgen.h"
#include "mix.h"
#include "results.h"
#include "run_options.h"

static void summary_row(const char *name, const struct hist *h, int64_t errors)
{
    printf("%-16s %9lld %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f %8lld\n", name,
           (long long)hist_count(h), hist_mean(h) / 1000.0,
           (double)hist_value_at_percentile(h, 50.0) / 1000.0,
           (double)hist_value_at_percentile(h, 90.0) / 1000.0,
           (double)hist_value_at_percentile(h, 99.0) / 1000.0,
           (double)hist_value_at_percentile(h, 99.9) / 1000.0, (double)hist_max(h) / 1000.0,
           (long long)errors);
}

static void print_summary(const struct run_options *o, const struct loadgen_result *lg,
                          const char *base, bool slo_passed)
{
    const struct loadgen_stats *st = &lg->phases[LOADGEN_MEASURED];
    double secs = lg->phase_s[LOADGEN_MEASURED];
    printf("\n%s%s: %s, %.1f s measured", lg->interrupted ? "PARTIAL " : "", o->target_shown,
           o->closed ? "closed loop" : "open loop", secs);
    if (!o->closed)
        printf(", intended %.1f req/s (%s)", o->rate * segment_fraction(&o->segment),
               schedule_arrival_name(o->arrival));
    if (o->segment_spec)
        printf(", segment %s", o->segment_spec);
    printf(", achieved %.1f req/s\n", secs > 0 ? (double)st->responses_in_window / secs : 0.0);
    printf("%-16s %9s %9s %9s %9s %9s %9s %9s %8s\n", "latency (ms)", "count", "mean", "p50", "p90",
           "p99", "p99.9", "max", "errors");
    summary_row("all (corrected)", st->latency, loadgen_stats_errors(st));
    summary_row("answered", st->latency_answered,
                st->errors[LOADGEN_ERR_HTTP4XX] + st->errors[LOADGEN_ERR_HTTP5XX]);
    summary_row("all (service)", st->service, loadgen_stats_errors(st));
    summary_row("send lag", st->lag, 0);
    if (network_profile_shapes(&o->network))
        summary_row("transfer", st->transfer, 0);
    for (int i = 0; i < MIX_NROUTES; i++)
        if (st->routes[i].sent > 0)
            summary_row(mix_route_name((enum mix_route)i), st->routes[i].latency,
                        st->routes[i].errors);
    printf("errors:");
    for (int e = 0; e < LOADGEN_NERRORS; e++)
        printf(" %s %lld", loadgen_error_name((enum loadgen_error)e), (long long)st->errors[e]);
    printf("; bytes received %lld (bodies %lld on the wire",
           (long long)(st->header_bytes + st->body_bytes_wire), (long long)st->body_bytes_wire);
    if (lg->decoded)
        printf(", %lld decoded", (long long)st->body_bytes_decoded);
    printf(")\n");
    if (loadgen_stats_errors(st) >
        st->errors[LOADGEN_ERR_HTTP4XX] + st->errors[LOADGEN_ERR_HTTP5XX])
        printf("(failed requests count in 'all' as at least --timeout-ms %ld; 'answered' "
               "has responses only)\n",
               o->timeout_ms);
    int64_t behind = st->errors[LOADGEN_ERR_BACKLOG] + st->errors[LOADGEN_ERR_UNSENT];
    if (behind > 0)
        fprintf(stderr,
                "apibench run: warning: %lld requests were never sent (backlog %lld, unsent "
                "%lld): the generator's connections could not keep up with the schedule; "
                "they count as errors (raise --connections, --threads or --backlog)\n",
                (long long)behind, (long long)st->errors[LOADGEN_ERR_BACKLOG],
                (long long)st->errors[LOADGEN_ERR_UNSENT]);
    if (network_profile_shapes(&o->network))
        printf("network %s: rate by %s, RTT %s\n", o->network.name,
               network_rate_by_name(run_options_rate_by(o)),
               run_options_rtt_emulated(o) ? "emulated by the kernel" : "not emulated");
    if (o->slo_spec)
        printf("slo %s: %s\n", o->slo_spec, slo_passed ? "passed" : "BREACHED");
    printf("results: %s.json\n", base);
}

int run_main(int argc, char **argv)
{
    struct run_options o;
    char err[1024];
    int exit_code = 1;
    if (run_options_parse(argc, argv, &o, err, sizeof err) < 0) {
        fprintf(stderr, "apibench run: %s\n", err);
        return 2;
    }
    if (o.help) {
        fputs(run_usage, stdout);
        return 0;
    }
    struct mix *m = run_options_load_mix(&o, err, sizeof err);
    if (!m) {
        fprintf(stderr, "apibench run: %s\n", err);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct loadgen_result lg;
    memset(&lg, 0, sizeof lg);
    json_t *config = NULL, *doc = NULL;
    char base[PATH_MAX], started[32], finished[32];
    if (loadgen_preflight(o.target, o.timeout_ms, err, sizeof err) < 0) {
        fprintf(stderr, "apibench run: %s\n", err);
        goto cleanup;
    }
    /* a shared start: this clock against the others', and not a moment already gone */
    struct clock_offset clock;
    bool shared_start = o.segment_spec || o.start_at_ms;
    if (shared_start) {
        clock_offset_measure(o.target, o.timeout_ms, &clock);
        if (!clock.known)
            fprintf(stderr, "apibench run: warning: clock offset unknown (%s)\n", clock.detail);
        else if (clock_offset_warn(&clock))
            fprintf(stderr, "apibench run: warning: clock offset %.3f ms +- %.3f ms, above %g ms "
                    "or not known to within it (%s)\n",
                    clock.offset_ms, clock.resolution_ms, CLOCK_OFFSET_WARN_MS, clock.detail);
    }
    if (o.start_at_ms) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        long long now_ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
        if (o.start_at_ms < now_ms - RUN_START_AT_LATE_MS) {
            fprintf(stderr,
                    "apibench run: --start-at %lld is %lld ms in the past (at most %d ms "
                    "late is accepted): pick a start time further ahead\n",
                    (long long)o.start_at_ms, now_ms - (long long)o.start_at_ms,
                    RUN_START_AT_LATE_MS);
            exit_code = 2;
            goto cleanup;
        }
        if (!o.quiet && o.start_at_ms > now_ms)
            fprintf(stderr, "apibench run: starting in %.3f s (--start-at %lld)\n",
                    (double)(o.start_at_ms - now_ms) / 1000.0, (long long)o.start_at_ms);
    }
    results_utc_now(started, sizeof started);
    if (o.out) {
        snprintf(base, sizeof base, "%s", o.out);
    } else {
        char stamp[32];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
        snprintf(base, sizeof base, "results/%s-%s", o.label ? o.label : "run", stamp);
    }
    if (results_prepare_dir(base, err, sizeof err) < 0) {
        fprintf(stderr, "apibench run: %s\n", err);
        goto cleanup;
    }
    loadgen_stop_on_signals();
    struct envinfo env;
    envinfo_collect(&env);
    config = run_options_config_json(&o, m);
    if (!o.quiet)
        fprintf(stderr,
                "apibench run: %s, %s, %d connections, %d thread(s); warm-up %.1f s, "
                "measured %.1f s, cool-down %.1f s\n",
                o.target_shown, o.closed ? "closed loop" : "open loop", o.connections, o.threads,
                (double)o.warmup_ns / 1e9, (double)o.duration_ns / 1e9,
                (double)o.cooldown_ns / 1e9);
    struct loadgen_config cfg;
    if (run_options_to_loadgen_config(&o, m, o.quiet ? NULL : stderr, &cfg, err, sizeof err) < 0) {
        fprintf(stderr, "apibench run: %s\n", err);
        goto cleanup;
    }
    if (loadgen_run(&cfg, &lg, err, sizeof err) < 0) {
        fprintf(stderr, "apibench run: %s\n", err);
        goto cleanup;
    }
    results_utc_now(finished, sizeof finished);
    struct results_run rr = {
        .label = o.label,
        .config = config,
        .env = &env,
        .lg = &lg,
        .closed = o.closed,
        .intended_rate = o.closed ? 0.0 : o.rate * segment_fraction(&o.segment),
        .started_at = started,
        .finished_at = finished,
        .slo_spec = o.slo_spec,
        .slo = &o.slo,
    };
    bool slo_passed;
    doc = results_run_json(&rr, &slo_passed);
    json_object_set(doc, "segment", json_object_get(config, "segment"));
    if (shared_start)
        json_object_set_new(doc, "clock", clock_offset_json(&clock));
    if (results_write_all(base, &rr, doc, err, sizeof err) < 0) {
        fprintf(stderr, "apibench run: %s\n", err);
        goto cleanup;
    }
    print_summary(&o, &lg, base, slo_passed);
    if (lg.interrupted) {
        fprintf(stderr, "apibench run: interrupted: partial results in %s.json\n", base);
        exit_code = 130;
    } else if (!slo_passed) {
        fprintf(stderr, "apibench run: slo breached: %s\n", o.slo_spec);
        exit_code = 1;
    } else {
        exit_code = 0;
    }

cleanup:
    json_decref(doc);
    json_decref(config);
    loadgen_result_free(&lg);
    mix_free(m);
    curl_global_cleanup();
    return exit_code;
}
