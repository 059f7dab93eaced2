/* capacity_cli.c - `apibench capacity`: finds the highest offered rate a target holds
 * under the SLO (capacity.h's search, with the load generator as the probe), writing each
 * probe as an apibench-run result (DIR/probe-NN.json + .hgrm) and the bracket as
 * DIR/capacity.json. `apibench capacity --check RUN.json` answers whether one run held. */
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capacity.h"
#include "commands.h"
#include "envinfo.h"
#include "loadgen.h"
#include "mix.h"
#include "results.h"
#include "run_options.h"

#define CAPACITY_MAX_KNOWN 16
#define CAPACITY_MAX_PASS 128 /* load options passed through to run_options_parse */
#define CAPACITY_PROBES_LIMIT 99

static const char capacity_usage[] =
    "usage: apibench capacity --out DIR --start R --target URL [--mix FILE | --path PATH]\n"
    "                         [--ceiling R] [--min-rps R] [--tolerance 1.05]\n"
    "                         [--slo-p99-ms 500] [--max-lag-ms X] [--min-duration 5s]\n"
    "                         [--min-requests 2000] [--max-duration 60s] [--probe-warmup 1s]\n"
    "                         [--max-probes 20] [--known RUN.json]... [apibench run load options]\n"
    "       apibench capacity --check RUN.json [--slo-p99-ms 500] [--max-lag-ms X]\n"
    "\n"
    "Finds the highest offered rate TARGET holds: p99 < --slo-p99-ms, errors < 1%, >= 95% of\n"
    "the offered requests sent and >= 95% of those answered, not cut short, and send-lag p99\n"
    "<= --max-lag-ms when given. Open-loop probes from --start: x2 while they hold, /2 while\n"
    "they fail, then geometric bisection until upper/lower <= --tolerance, then one\n"
    "confirmation run at the lower bound (a failed one moves the bracket down).\n"
    "  --out DIR          writes DIR/probe-NN.json (+ .hgrm, as apibench run) and\n"
    "                     DIR/capacity.json (format apibench-capacity/1)\n"
    "  --start R          the first probe's rate (req/s)\n"
    "  --ceiling R        never probe above R (the load generator's ceiling); holding at R\n"
    "                     ends the search as \"limited by the generator\"\n"
    "  --min-rps R        never probe below R (0.1); failing at R gives [0, R]\n"
    "  --min-duration S   each probe measures max(S, --min-requests / rate) (5s),\n"
    "  --min-requests N   (2000), capped at --max-duration (60s), after --probe-warmup\n"
    "                     of discarded warm-up (1s)\n"
    "  --max-probes N     at most N probes (20; at most 99)\n"
    "  --known RUN.json   an earlier apibench-run result at some rate, used as a probe\n"
    "  load options       as for apibench run: --target, --mix, --path, --connections,\n"
    "                     --threads, --timeout-ms, --seed, --header, --no-gzip, --decode,\n"
    "                     --busy-poll, --arrival, --backlog, --label (not --rate, --mode,\n"
    "                     --warmup, --duration, --cooldown, --slo: the search sets them)\n"
    "  --check RUN.json   only judge that run: prints holds/fails and why; exit 0 / 1\n"
    "One line per probe on stderr. Exit: 0 a bracket was found, 1 none (probe budget,\n"
    "failure), 2 bad usage, 130 interrupted (capacity.json written, marked partial).\n";

struct capacity_cli {
    const char *out;
    const char *check;
    double start, ceiling, min_rps, tolerance, max_lag_ms, slo_p99_ms;
    int64_t min_duration_ns, max_duration_ns, warmup_ns;
    long min_requests;
    long max_probes;
    const char *known[CAPACITY_MAX_KNOWN];
    int nknown;
    bool help;
    char *pass[CAPACITY_MAX_PASS]; /* argv for run_options_parse */
    int npass;
};

/* What a probe needs: the parsed load options (rate and durations set per probe), the mix,
 * the environment, and where to write. */
struct probe_ctx {
    const struct capacity_cli *cli;
    struct run_options *o;
    const struct mix *m;
    const struct envinfo *env;
    int nrun;       /* probes run so far: probe-NN numbering */
    char err[1024]; /* why a probe could not run */
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
    loadgen_request_stop();
}

static int parse_rate(const char *name, const char *value, double lo, double *out, char *err,
                      size_t errlen)
{
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    if (end == value || *end != '\0' || errno != 0 || !isfinite(v) || !(v > lo) || v > 1e7) {
        snprintf(err, errlen, "bad %s '%s': must be a number > %g", name, value, lo);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_count(const char *name, const char *value, long lo, long hi, long *out, char *err,
                       size_t errlen)
{
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (end == value || *end != '\0' || errno != 0 || v < lo || v > hi) {
        snprintf(err, errlen, "bad %s '%s': must be from %ld to %ld", name, value, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

/* The options the search sets itself, refused when passed through. */
static bool search_sets(const char *name)
{
    static const char *const owned[] = {"--rate",     "--mode",     "--warmup",
                                        "--duration", "--cooldown", "--slo"};
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
        if (strcmp(name, owned[i]) == 0)
            return true;
    return false;
}

/* Parses the capacity options; everything else is kept in c->pass for run_options_parse.
 * Returns 0, or -1 with a one-line reason in err. */
static int parse_args(int argc, char **argv, struct capacity_cli *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->ceiling = 0;
    c->min_rps = 0.1;
    c->tolerance = 1.05;
    c->slo_p99_ms = 500;
    c->min_duration_ns = 5000000000LL;
    c->max_duration_ns = 60000000000LL;
    c->warmup_ns = 1000000000LL;
    c->min_requests = 2000;
    c->max_probes = 20;
    c->pass[c->npass++] = argv[0];
    bool start_set = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument '%s' (see apibench capacity --help)", arg);
            return -1;
        }
        char name[64];
        const char *eq = strchr(arg, '=');
        size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
        if (nlen >= sizeof name) {
            snprintf(err, errlen, "unknown option '%s' (see apibench capacity --help)", arg);
            return -1;
        }
        memcpy(name, arg, nlen);
        name[nlen] = '\0';
        if (strcmp(name, "--help") == 0) {
            c->help = true;
            continue;
        }
        static const char *const mine[] = {
            "--out",          "--start",      "--ceiling",      "--min-rps",      "--tolerance",
            "--slo-p99-ms",   "--max-lag-ms", "--min-duration", "--max-duration", "--probe-warmup",
            "--min-requests", "--max-probes", "--known",        "--check"};
        bool is_mine = false;
        for (size_t k = 0; k < sizeof mine / sizeof mine[0]; k++)
            is_mine = is_mine || strcmp(name, mine[k]) == 0;
        if (!is_mine) {
            if (search_sets(name)) {
                snprintf(err, errlen,
                         "%s is set by the search (use --start, --min-duration, --probe-warmup, "
                         "--slo-p99-ms)",
                         name);
                return -1;
            }
            /* a load option for run_options_parse, with its value when it has one */
            if (c->npass + 2 > CAPACITY_MAX_PASS - 2) {
                snprintf(err, errlen, "too many options");
                return -1;
            }
            c->pass[c->npass++] = argv[i];
            if (!eq && i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
                c->pass[c->npass++] = argv[++i];
            continue;
        }
        const char *value;
        if (eq) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            snprintf(err, errlen, "option %s needs a value", name);
            return -1;
        }
        int rc = 0;
        long l;
        if (strcmp(name, "--out") == 0) {
            if (value[0] == '\0') {
                snprintf(err, errlen, "bad --out '': must be a folder");
                return -1;
            }
            c->out = value;
        } else if (strcmp(name, "--check") == 0) {
            c->check = value;
        } else if (strcmp(name, "--start") == 0) {
            rc = parse_rate(name, value, 0, &c->start, err, errlen);
            start_set = true;
        } else if (strcmp(name, "--ceiling") == 0) {
            rc = parse_rate(name, value, 0, &c->ceiling, err, errlen);
        } else if (strcmp(name, "--min-rps") == 0) {
            rc = parse_rate(name, value, 0, &c->min_rps, err, errlen);
        } else if (strcmp(name, "--tolerance") == 0) {
            rc = parse_rate(name, value, 1, &c->tolerance, err, errlen);
        } else if (strcmp(name, "--slo-p99-ms") == 0) {
            rc = parse_rate(name, value, 0, &c->slo_p99_ms, err, errlen);
        } else if (strcmp(name, "--max-lag-ms") == 0) {
            rc = parse_rate(name, value, 0, &c->max_lag_ms, err, errlen);
        } else if (strcmp(name, "--min-duration") == 0 || strcmp(name, "--max-duration") == 0 ||
                   strcmp(name, "--probe-warmup") == 0) {
            int64_t ns;
            if (run_parse_duration(value, &ns) < 0) {
                snprintf(err, errlen, "bad %s '%s': a duration such as 5s, 500ms, 1m", name, value);
                return -1;
            }
            if (name[2] == 'p')
                c->warmup_ns = ns;
            else if (name[3] == 'i')
                c->min_duration_ns = ns;
            else
                c->max_duration_ns = ns;
        } else if (strcmp(name, "--min-requests") == 0) {
            rc = parse_count(name, value, 1, 100000000, &c->min_requests, err, errlen);
        } else if (strcmp(name, "--max-probes") == 0) {
            rc = parse_count(name, value, 1, CAPACITY_PROBES_LIMIT, &l, err, errlen);
            c->max_probes = l;
        } else if (strcmp(name, "--known") == 0) {
            if (c->nknown == CAPACITY_MAX_KNOWN) {
                snprintf(err, errlen, "too many --known runs (at most %d)", CAPACITY_MAX_KNOWN);
                return -1;
            }
            c->known[c->nknown++] = value;
        }
        if (rc < 0)
            return -1;
    }
    if (c->help)
        return 0;
    if (c->check) {
        if (c->npass > 1 || c->out || start_set || c->nknown) {
            snprintf(err, errlen, "--check takes only --slo-p99-ms and --max-lag-ms");
            return -1;
        }
        return 0;
    }
    if (!c->out) {
        snprintf(err, errlen, "missing --out DIR");
        return -1;
    }
    if (!start_set) {
        snprintf(err, errlen, "missing --start R (the first probe's rate, req/s)");
        return -1;
    }
    if (c->min_duration_ns <= 0) {
        snprintf(err, errlen, "bad --min-duration: must be more than 0 s");
        return -1;
    }
    if (c->max_duration_ns < c->min_duration_ns) {
        snprintf(err, errlen, "--max-duration must be at least --min-duration");
        return -1;
    }
    if (c->ceiling > 0 && c->ceiling < c->min_rps) {
        snprintf(err, errlen, "--ceiling (%g) is below --min-rps (%g)", c->ceiling, c->min_rps);
        return -1;
    }
    /* run_options_parse wants a rate in open loop; each probe sets its own */
    c->pass[c->npass++] = "--rate";
    c->pass[c->npass++] = "1";
    return 0;
}

static struct capacity_criteria criteria_of(const struct capacity_cli *c)
{
    struct capacity_criteria cr = capacity_criteria_default();
    cr.slo_p99_ms = c->slo_p99_ms;
    cr.max_lag_p99_ms = c->max_lag_ms;
    return cr;
}

/* `apibench capacity --check RUN.json`. */
static int check_main(const struct capacity_cli *c)
{
    json_error_t jerr;
    json_t *run = json_load_file(c->check, 0, &jerr);
    if (!run) {
        fprintf(stderr, "apibench capacity: cannot read %s: %s\n", c->check, jerr.text);
        return 1;
    }
    struct capacity_criteria cr = criteria_of(c);
    char why[CAPACITY_WHY_MAX];
    bool holds = capacity_run_holds(run, &cr, why, sizeof why);
    json_decref(run);
    printf("%s: %s (%s)\n", c->check, holds ? "holds" : "fails", why);
    return holds ? 0 : 1;
}

/* How long a probe at rate measures: max(min_duration, min_requests / rate), capped. */
static int64_t probe_duration_ns(const struct capacity_cli *c, double rate)
{
    double ns = (double)c->min_requests / rate * 1e9;
    if (ns < (double)c->min_duration_ns)
        ns = (double)c->min_duration_ns;
    if (ns > (double)c->max_duration_ns)
        ns = (double)c->max_duration_ns;
    return (int64_t)ceil(ns);
}

/* The probe: one in-process load run at rate, written as DIR/probe-NN.json and judged
 * from that very document (the same reading as --known and --check). */
static int run_probe(void *vctx, double rate, struct capacity_probe *out)
{
    struct probe_ctx *ctx = vctx;
    const struct capacity_cli *c = ctx->cli;
    int rc = -1;
    struct loadgen_result lg;
    memset(&lg, 0, sizeof lg);
    json_t *config = NULL, *doc = NULL;
    char base[PATH_MAX], started[32], finished[32];

    if (interrupted) {
        out->partial = true;
        return CAPACITY_PROBE_STOPPED;
    }
    int n = ++ctx->nrun;
    if (snprintf(base, sizeof base, "%s/probe-%02d", c->out, n) >= (int)sizeof base) {
        snprintf(ctx->err, sizeof ctx->err, "--out path too long");
        return -1;
    }
    ctx->o->rate = rate;
    ctx->o->warmup_ns = c->warmup_ns;
    ctx->o->duration_ns = probe_duration_ns(c, rate);
    ctx->o->cooldown_ns = 0;
    struct loadgen_config cfg;
    if (run_options_to_loadgen_config(ctx->o, ctx->m, NULL, &cfg, ctx->err, sizeof ctx->err) < 0)
        goto cleanup;
    config = run_options_config_json(ctx->o, ctx->m);
    results_utc_now(started, sizeof started);
    if (loadgen_run(&cfg, &lg, ctx->err, sizeof ctx->err) < 0)
        goto cleanup;
    results_utc_now(finished, sizeof finished);
    struct results_run rr = {
        .label = ctx->o->label,
        .config = config,
        .env = ctx->env,
        .lg = &lg,
        .closed = false,
        .intended_rate = rate,
        .started_at = started,
        .finished_at = finished,
        .slo_spec = NULL,
        .slo = NULL,
    };
    bool slo_passed;
    doc = results_run_json(&rr, &slo_passed);
    if (!doc) {
        snprintf(ctx->err, sizeof ctx->err, "cannot build the result of probe %d", n);
        goto cleanup;
    }
    if (results_write_all(base, &rr, doc, ctx->err, sizeof ctx->err) < 0)
        goto cleanup;
    capacity_probe_from_run(doc, out);
    snprintf(out->file, sizeof out->file, "probe-%02d.json", n);
    rc = lg.interrupted ? CAPACITY_PROBE_STOPPED : 0;

cleanup:
    json_decref(doc);
    json_decref(config);
    loadgen_result_free(&lg);
    return rc;
}

/* One line per probe on stderr. */
static void report_probe(void *vctx, const struct capacity_probe *p)
{
    (void)vctx;
    char head[CAPACITY_FILE_MAX + 32];
    if (p->n > 0)
        snprintf(head, sizeof head, "probe %d", p->n);
    else
        snprintf(head, sizeof head, "known %s", p->file);
    fprintf(stderr, "capacity: %s: %.6g req/s for %.1f s: %s (%s)\n", head, p->offered,
            isfinite(p->duration_s) ? p->duration_s : 0.0, p->holds ? "holds" : "fails", p->why);
}

/* The result in one line on stdout. */
static void print_result(const struct capacity_result *r, const char *path)
{
    if (r->limited_by == CAPACITY_LIMIT_GENERATOR)
        printf("capacity: >= %.6g req/s (limited by the load generator's ceiling)", r->lower);
    else if (r->limited_by == CAPACITY_LIMIT_SLO && r->lower <= 0)
        printf("capacity: < %.6g req/s (fails the SLO at the lightest load)", r->upper);
    else if (r->limited_by == CAPACITY_LIMIT_SLO)
        printf("capacity: [%.6g, %.6g] req/s", r->lower, r->upper);
    else
        printf("capacity: no bracket (lower %.6g, upper %s)", r->lower,
               r->upper > 0 ? "?" : "none");
    if (r->found && !r->converged)
        printf(", wider than the tolerance");
    if (r->found && r->lower > 0)
        printf(", %s", r->confirmed ? "confirmed" : "not confirmed");
    printf("%s; %s\n", r->interrupted ? ", PARTIAL" : "", path);
}

/* Loads the --known runs as probes. Returns 0 or -1 (err set). */
static int load_known(const struct capacity_cli *c, struct capacity_probe *known, char *err,
                      size_t errlen)
{
    for (int i = 0; i < c->nknown; i++) {
        json_error_t jerr;
        json_t *run = json_load_file(c->known[i], 0, &jerr);
        if (!run) {
            snprintf(err, errlen, "cannot read --known %s: %s", c->known[i], jerr.text);
            return -1;
        }
        capacity_probe_from_run(run, &known[i]);
        json_decref(run);
        if (!isfinite(known[i].offered) || known[i].offered <= 0) {
            snprintf(err, errlen, "--known %s is not an open-loop apibench run", c->known[i]);
            return -1;
        }
        snprintf(known[i].file, sizeof known[i].file, "%s", c->known[i]);
    }
    return 0;
}

int capacity_main(int argc, char **argv)
{
    struct capacity_cli c;
    char err[1024];
    if (parse_args(argc, argv, &c, err, sizeof err) < 0) {
        fprintf(stderr, "apibench capacity: %s\n", err);
        return 2;
    }
    if (c.help) {
        fputs(capacity_usage, stdout);
        return 0;
    }
    if (c.check)
        return check_main(&c);

    struct run_options o;
    if (run_options_parse(c.npass, c.pass, &o, err, sizeof err) < 0) {
        fprintf(stderr, "apibench capacity: %s\n", err);
        return 2;
    }
    struct capacity_probe known[CAPACITY_MAX_KNOWN];
    memset(known, 0, sizeof known);
    if (load_known(&c, known, err, sizeof err) < 0) {
        fprintf(stderr, "apibench capacity: %s\n", err);
        return 2;
    }
    struct mix *m = run_options_load_mix(&o, err, sizeof err);
    if (!m) {
        fprintf(stderr, "apibench capacity: %s\n", err);
        return 2;
    }

    int exit_code = 1;
    struct capacity_result res;
    memset(&res, 0, sizeof res);
    json_t *doc = NULL;
    char *text = NULL;
    char path[PATH_MAX];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (snprintf(path, sizeof path, "%s/capacity.json", c.out) >= (int)sizeof path) {
        fprintf(stderr, "apibench capacity: --out path too long\n");
        goto cleanup;
    }
    if (loadgen_preflight(o.target, o.timeout_ms, err, sizeof err) < 0 ||
        results_prepare_dir(path, err, sizeof err) < 0) {
        fprintf(stderr, "apibench capacity: %s\n", err);
        goto cleanup;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* notes the interrupt for the search, then stops the probe */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    struct envinfo env;
    envinfo_collect(&env);
    struct probe_ctx ctx = {.cli = &c, .o = &o, .m = m, .env = &env};
    struct capacity_search s = {
        .criteria = criteria_of(&c),
        .start = c.start,
        .ceiling = c.ceiling,
        .min_rps = c.min_rps,
        .tolerance = c.tolerance,
        .max_probes = (int)c.max_probes,
        .known = known,
        .nknown = (size_t)c.nknown,
        .probe = run_probe,
        .report = report_probe,
        .ctx = &ctx,
    };
    fprintf(stderr,
            "apibench capacity: %s, from %.6g req/s%s, p99 < %g ms%s; probes of %.1f-%.1f s "
            "after %.1f s warm-up, %d connections\n",
            o.target_shown, c.start, c.ceiling > 0 ? " up to the ceiling" : "", c.slo_p99_ms,
            c.max_lag_ms > 0 ? " and send-lag p99 bounded" : "", (double)c.min_duration_ns / 1e9,
            (double)c.max_duration_ns / 1e9, (double)c.warmup_ns / 1e9, o.connections);
    int rc = capacity_run(&s, &res, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "apibench capacity: %s%s%s\n", err, ctx.err[0] ? ": " : "", ctx.err);
    /* capacity.json is written whatever happened, so a failure leaves its evidence */
    doc = capacity_result_json(&s, &res);
    json_object_set_new(doc, "target", json_string(o.target_shown));
    if (rc < 0)
        json_object_set_new(doc, "error", json_string(ctx.err[0] ? ctx.err : err));
    text = json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    if (!text || results_write_atomic(path, text, strlen(text), err, sizeof err) < 0) {
        fprintf(stderr, "apibench capacity: %s\n", text ? err : "cannot format capacity.json");
        goto cleanup;
    }
    print_result(&res, path);
    if (res.interrupted || interrupted) {
        fprintf(stderr, "apibench capacity: interrupted: partial results in %s\n", path);
        exit_code = 130;
    } else if (rc == 0 && res.found) {
        exit_code = 0;
    }

cleanup:
    free(text);
    json_decref(doc);
    capacity_result_free(&res);
    mix_free(m);
    curl_global_cleanup();
    return exit_code;
}
