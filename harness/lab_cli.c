/* lab_cli.c - `apibench lab`: the workshop's lab check.
 *
 *   apibench lab check NN [...]  runs scripts/lab-check (build, correctness, speed), which
 *                                starts the servers and the loads and then calls
 *   apibench lab score [...]     the verdict from the measured figures: speed-ups, share
 *                                of the reference's, Mann-Whitney U; writes the results
 *                                JSON (workshop/RESULTS-FORMAT.md) and prints a summary.
 * Exit: 0 pass, 1 any other verdict, 2 bad usage. */
#include <errno.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../harness/commands.h"
#include "lab_stats.h"

#ifndef APIBENCH_SOURCE_DIR
#define APIBENCH_SOURCE_DIR "."
#endif

static const char usage[] =
    "usage: apibench lab check NN [--student NAME] [--reference] [...]  (lab check --help)\n"
    "       apibench lab score [options]   (used by lab check; see below)\n"
    "\n"
    "lab check NN: builds apibench-lab-NN from workshop/labs/NN-name/solution.c, checks\n"
    "that it answers exactly as the previous build (apibench verify, byte-identical bodies)\n"
    "and passes the lab's own check, then measures the previous build, the lab build and\n"
    "the reference build at the same load, interleaved, 5 runs each. Verdict: pass (at\n"
    "least 50% of the reference's speed-up, significant by a one-sided Mann-Whitney U test\n"
    "at alpha 0.05), not fast enough, incorrect or build error. Writes\n"
    "workshop/results/STUDENT/NN-name.json. 'apibench lab check --help' lists its options.\n"
    "\n"
    "lab score: --lab NAME --student S --out FILE --started-at ISO --check-seconds S and\n"
    "either --build-error TEXT, --incorrect TEXT, or --metric TEXT --unit U\n"
    "--previous-build B [--lab-build B] --reference-build B --previous V,V,.. --lab-runs V,..\n"
    "--reference V,.. (figures where lower is better, run i of each measured together)\n"
    "Exit: 0 pass, 1 another verdict, 2 bad usage.\n";

/* Parses "1.5,2,3" into v; returns the count, or -1. */
static int parse_list(const char *s, double *v)
{
    int n = 0;
    const char *p = s;
    while (*p) {
        if (n == LAB_MAX_RUNS)
            return -1;
        char *end;
        errno = 0;
        v[n] = strtod(p, &end);
        if (end == p || errno || !isfinite(v[n]))
            return -1;
        n++;
        if (*end == ',')
            end++;
        else if (*end)
            return -1;
        p = end;
    }
    return n;
}

static json_t *runs_json(const char *build, const double *v, int n)
{
    double lo = v[0], hi = v[0];
    json_t *runs = json_array();
    for (int i = 0; i < n; i++) {
        lo = fmin(lo, v[i]);
        hi = fmax(hi, v[i]);
        json_array_append_new(runs, json_real(v[i]));
    }
    return json_pack("{s:s, s:f, s:f, s:f, s:o}", "build", build, "median",
                     lab_median(v, (size_t)n), "min", lo, "max", hi, "runs", runs);
}

/* One line of the summary: a build's median and range, from its runs_json object. */
static void print_runs(const char *role, json_t *res, const char *key)
{
    json_t *o = json_object_get(res, key);
    printf("  %-9s %-26s %10.3f [%.3f..%.3f]\n", role,
           json_string_value(json_object_get(o, "build")),
           json_real_value(json_object_get(o, "median")),
           json_real_value(json_object_get(o, "min")), json_real_value(json_object_get(o, "max")));
}

struct score_args {
    const char *lab, *student, *out, *started_at, *build_error, *incorrect;
    const char *metric, *unit, *previous_build, *lab_build, *reference_build;
    double check_seconds;
    double prev[LAB_MAX_RUNS], mine[LAB_MAX_RUNS], ref[LAB_MAX_RUNS];
    int nprev, nmine, nref;
};

static int parse_score_args(int argc, char **argv, struct score_args *a)
{
    memset(a, 0, sizeof *a);
    a->nprev = a->nmine = a->nref = -1;
    a->lab_build = "lab";
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "apibench lab score: %s needs a value\n", f);
            return -1;
        }
        i++;
        if (!strcmp(f, "--lab"))
            a->lab = v;
        else if (!strcmp(f, "--student"))
            a->student = v;
        else if (!strcmp(f, "--out"))
            a->out = v;
        else if (!strcmp(f, "--started-at"))
            a->started_at = v;
        else if (!strcmp(f, "--check-seconds"))
            a->check_seconds = atof(v);
        else if (!strcmp(f, "--build-error"))
            a->build_error = v;
        else if (!strcmp(f, "--incorrect"))
            a->incorrect = v;
        else if (!strcmp(f, "--metric"))
            a->metric = v;
        else if (!strcmp(f, "--unit"))
            a->unit = v;
        else if (!strcmp(f, "--previous-build"))
            a->previous_build = v;
        else if (!strcmp(f, "--reference-build"))
            a->reference_build = v;
        else if (!strcmp(f, "--lab-build"))
            a->lab_build = v;
        else if (!strcmp(f, "--previous"))
            a->nprev = parse_list(v, a->prev);
        else if (!strcmp(f, "--lab-runs"))
            a->nmine = parse_list(v, a->mine);
        else if (!strcmp(f, "--reference"))
            a->nref = parse_list(v, a->ref);
        else {
            fprintf(stderr, "apibench lab score: unknown option %s\n", f);
            return -1;
        }
    }
    if (!a->lab || !a->student || !a->out || !a->started_at) {
        fprintf(stderr,
                "apibench lab score: --lab, --student, --out and --started-at are required\n");
        return -1;
    }
    if (a->build_error || a->incorrect)
        return 0;
    if (!a->metric || !a->unit || !a->previous_build || !a->reference_build) {
        fprintf(stderr, "apibench lab score: --metric, --unit, --previous-build and "
                        "--reference-build are required\n");
        return -1;
    }
    if (a->nprev < 2 || a->nprev != a->nmine || a->nprev != a->nref) {
        fprintf(stderr,
                "apibench lab score: --previous, --lab-runs and --reference need the same "
                "number (2..%d) of comma-separated figures\n",
                LAB_MAX_RUNS);
        return -1;
    }
    return 0;
}

/* The verdict and its figures into res; returns true on pass. */
static bool score_speed(const struct score_args *a, json_t *res, char *reason, size_t rlen)
{
    size_t n = (size_t)a->nprev;
    struct lab_judgement j;
    if (!lab_judge(a->prev, a->mine, a->ref, n, &j)) {
        snprintf(reason, rlen, "a measured figure was not positive: the load failed?");
        return false;
    }
    json_object_set_new(res, "metric", json_string(a->metric));
    json_object_set_new(res, "unit", json_string(a->unit));
    json_object_set_new(res, "previous", runs_json(a->previous_build, a->prev, a->nprev));
    json_object_set_new(res, "lab_build", runs_json(a->lab_build, a->mine, a->nmine));
    json_object_set_new(res, "reference", runs_json(a->reference_build, a->ref, a->nref));
    json_object_set_new(res, "speedup",
                        json_pack("{s:f, s:f, s:f}", "median", j.speedup_median, "min",
                                  j.speedup_min, "max", j.speedup_max));
    json_object_set_new(res, "reference_speedup", json_real(j.reference_speedup));
    json_object_set_new(res, "share_of_reference",
                        j.reference_faster ? json_real(j.share) : json_null());
    json_object_set_new(res, "mann_whitney",
                        json_pack("{s:f, s:f, s:f, s:b}", "u", j.u, "p", j.p, "alpha", LAB_ALPHA,
                                  "significant", j.significant));
    printf("%s (%s), median [min..max] of %zu runs:\n", a->metric, a->unit, n);
    print_runs("previous", res, "previous");
    print_runs("lab", res, "lab_build");
    print_runs("reference", res, "reference");
    printf("speed-up %.2fx [%.2f..%.2f]; reference %.2fx; share of the reference's ",
           j.speedup_median, j.speedup_min, j.speedup_max, j.reference_speedup);
    if (j.reference_faster)
        printf("%.0f%%\n", 100.0 * j.share);
    else
        printf("n/a\n");
    printf("Mann-Whitney U = %.1f, p = %.4f (one-sided, exact): %s at alpha %.2f\n", j.u, j.p,
           j.significant ? "significant" : "not significant", LAB_ALPHA);
    if (!j.reference_faster)
        snprintf(reason, rlen,
                 "the reference was not faster than %s here (%.2fx): the machine "
                 "is too busy to judge; run the check again",
                 a->previous_build, j.reference_speedup);
    else if (!j.pass)
        snprintf(reason, rlen,
                 "speed-up %.2fx is %.0f%% of the reference's %.2fx (pass: %.0f%%), "
                 "p = %.4f%s",
                 j.speedup_median, 100.0 * j.share, j.reference_speedup, 100.0 * LAB_PASS_SHARE,
                 j.p, j.significant ? "" : " (not significant)");
    return j.pass;
}

static int write_json(const char *path, json_t *res)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp ||
        json_dump_file(res, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6)) !=
            0 ||
        rename(tmp, path) != 0) {
        fprintf(stderr, "apibench lab score: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int score_main(int argc, char **argv)
{
    struct score_args a;
    if (parse_score_args(argc, argv, &a) != 0)
        return 2;
    json_t *res = json_pack("{s:i, s:s, s:s}", "format", 1, "student", a.student, "lab", a.lab);
    char reason[1024] = "";
    const char *verdict;
    json_t *first_difference = json_null();
    if (a.build_error) {
        verdict = "build error";
        snprintf(reason, sizeof reason, "%s", a.build_error);
    } else if (a.incorrect) {
        verdict = "incorrect";
        snprintf(reason, sizeof reason, "%s", a.incorrect);
        json_decref(first_difference);
        first_difference = json_string(a.incorrect);
    } else {
        verdict = score_speed(&a, res, reason, sizeof reason) ? "pass" : "not fast enough";
    }
    static const char *const speed_keys[] = {
        "metric",      "unit",    "previous",          "lab_build",
        "reference",   "speedup", "reference_speedup", "share_of_reference",
        "mann_whitney"};
    for (size_t i = 0; i < sizeof speed_keys / sizeof speed_keys[0]; i++)
        if (!json_object_get(res, speed_keys[i]))
            json_object_set_new(res, speed_keys[i], json_null());
    json_object_set_new(res, "verdict", json_string(verdict));
    json_object_set_new(res, "reason", json_string(reason));
    json_object_set_new(res, "first_difference", first_difference);
    json_object_set_new(res, "check_seconds", json_real(a.check_seconds));
    json_object_set_new(res, "started_at", json_string(a.started_at));
    int rc = write_json(a.out, res);
    json_decref(res);
    if (rc != 0)
        return 1;
    printf("verdict: %s%s%s\nresults: %s\n", verdict, reason[0] ? ": " : "", reason, a.out);
    return strcmp(verdict, "pass") == 0 ? 0 : 1;
}

/* Runs scripts/lab-check from the source tree this binary was built from, telling it
 * where the binaries are (the folder of this executable). */
static int check_main(int argc, char **argv)
{
    char self[PATH_MAX], script[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "apibench lab check: cannot find this executable: %s\n", strerror(errno));
        return 1;
    }
    self[n] = '\0';
    const char *src = getenv("APIBENCH_ROOT") ? getenv("APIBENCH_ROOT") : APIBENCH_SOURCE_DIR;
    snprintf(script, sizeof script, "%s/scripts/lab-check", src);
    if (access(script, X_OK) != 0) {
        fprintf(stderr, "apibench lab check: %s: %s (set APIBENCH_ROOT to the source tree)\n",
                script, strerror(errno));
        return 1;
    }
    setenv("APIBENCH_BUILD_DIR", dirname(self), 0);
    char **args = calloc((size_t)argc + 1, sizeof *args);
    if (!args)
        return 1;
    args[0] = script;
    for (int i = 1; i < argc; i++)
        args[i] = argv[i];
    execv(script, args);
    fprintf(stderr, "apibench lab check: cannot run %s: %s\n", script, strerror(errno));
    free(args);
    return 1;
}

int lab_main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "check"))
        return check_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "score"))
        return score_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "setup"))
        return lab_setup_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "board"))
        return lab_board_main(argc - 1, argv + 1);
    fprintf(stderr, "apibench lab: unknown subcommand '%s' (check, score, setup or board)\n",
            argv[1]);
    return 2;
}
