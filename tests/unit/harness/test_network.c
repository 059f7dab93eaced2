/* test_network.c - network profiles: the file format, the shipped profiles, the link
 * arithmetic, and how `apibench run --network` turns a profile into generator limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <stdlib.h>
#include <sys/stat.h>

#include "network.h"
#include "report_network.h"
#include "run_options.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void test_parse_values(void **state)
{
    (void)state;
    struct network_profile p;
    char err[256];
    const char *text = "# a comment\n"
                       "\n"
                       "description = slow: 1 Mbit/s\n"
                       "  down_kbit=1000   \n"
                       "up_kbit = 500\r\n"
                       "rtt_ms = 80.5\n";
    assert_int_equal(network_profile_parse(text, "slow", &p, err, sizeof err), 0);
    assert_string_equal(p.name, "slow");
    assert_string_equal(p.description, "slow: 1 Mbit/s");
    assert_true(p.down_kbit == 1000.0);
    assert_true(p.up_kbit == 500.0);
    assert_true(p.rtt_ms == 80.5);
    assert_int_equal(p.mss, NETWORK_DEFAULT_MSS);
    assert_true(network_profile_shapes(&p));

    /* an empty profile: nothing limited, nothing added, the name as description */
    assert_int_equal(network_profile_parse("", "plain", &p, err, sizeof err), 0);
    assert_false(network_profile_shapes(&p));
    assert_string_equal(p.description, "plain");

    /* RTT alone shapes; mss may be set or turned off */
    assert_int_equal(network_profile_parse("rtt_ms = 10\nmss = 0\n", "far", &p, err, sizeof err),
                     0);
    assert_true(network_profile_shapes(&p));
    assert_int_equal(p.mss, 0);
}

static void expect_parse_error(const char *text, const char *needle)
{
    struct network_profile p;
    char err[256] = "";
    assert_int_equal(network_profile_parse(text, "x", &p, err, sizeof err), -1);
    if (!strstr(err, needle))
        fail_msg("error '%s' does not mention '%s'", err, needle);
}

static void test_parse_errors(void **state)
{
    (void)state;
    expect_parse_error("latency = 5\n", "unknown key 'latency'");
    expect_parse_error("down_kbit = fast\nup_kbit = 1\n", "bad down_kbit 'fast'");
    expect_parse_error("down_kbit = -5\nup_kbit = 1\n", "bad down_kbit");
    expect_parse_error("down_kbit = 10kbit\nup_kbit = 1\n", "bad down_kbit");
    expect_parse_error("rtt_ms = 1e9\n", "bad rtt_ms");
    expect_parse_error("down_kbit = 1000\n", "give both down_kbit and up_kbit");
    expect_parse_error("up_kbit = 1000\n", "give both");
    expect_parse_error("just words\n", "line 1: expected key = value");
    expect_parse_error("# ok\nmss = 100\n", "line 2: bad mss");
    expect_parse_error("mss = 1448.5\n", "bad mss");
}

static void load_shipped(const char *name, struct network_profile *p)
{
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/harness/networks/%s.conf", APIBENCH_SOURCE_DIR, name);
    if (network_profile_load(path, p, err, sizeof err) < 0)
        fail_msg("%s: %s", path, err);
    assert_string_equal(p->name, name);
}

/* the profiles the issue asks for, with its figures */
static void test_shipped_profiles(void **state)
{
    (void)state;
    struct network_profile p;
    load_shipped("loopback", &p);
    assert_false(network_profile_shapes(&p));
    load_shipped("lan", &p);
    assert_true(p.down_kbit == 1000000 && p.up_kbit == 1000000 && p.rtt_ms == 0.2);
    load_shipped("wan", &p);
    assert_true(p.down_kbit == 50000 && p.up_kbit == 50000 && p.rtt_ms == 40);
    load_shipped("mobile", &p);
    assert_true(p.down_kbit == 1600 && p.up_kbit == 750 && p.rtt_ms == 150);
}

static void test_load_by_name(void **state)
{
    (void)state;
    struct network_profile p;
    char err[512] = "";
    assert_int_equal(chdir(APIBENCH_SOURCE_DIR), 0);
    assert_int_equal(network_profile_load("mobile", &p, err, sizeof err), 0);
    assert_true(p.rtt_ms == 150);
    assert_int_equal(network_profile_load("satellite", &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown network profile 'satellite'"));
    assert_non_null(strstr(err, "mobile")); /* the known ones are listed */
    /* a name is a name: no path tricks through it */
    assert_int_equal(network_profile_load("mob ile", &p, err, sizeof err), -1);
    assert_int_equal(network_profile_load("/nonexistent/x.conf", &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot read network profile"));
}

static void test_link_arithmetic(void **state)
{
    (void)state;
    struct network_profile p;
    char err[256];
    assert_int_equal(
        network_profile_parse("down_kbit = 1600\nup_kbit = 750\n", "m", &p, err, sizeof err), 0);
    assert_true(fabs(network_kbit_to_bytes(1600) - 200000.0) < 1e-9);
    /* 20 kB responses: 10 per second fill 1.6 Mbit/s; half of that is the most chosen */
    assert_true(fabs(network_utilisation(&p, 10, 20000) - 1.0) < 1e-9);
    assert_true(fabs(network_max_rate(&p, 20000) - 5.0) < 1e-9);
    assert_true(network_utilisation(&p, 2, 20000) < 0.5);
    struct network_profile lo;
    assert_int_equal(network_profile_parse("", "loopback", &lo, err, sizeof err), 0);
    assert_true(isinf(network_max_rate(&lo, 20000)));
    assert_true(network_utilisation(&lo, 1e6, 20000) == 0.0);
}

static void test_run_options_network(void **state)
{
    (void)state;
    struct run_options o;
    struct loadgen_config cfg;
    struct mix *m;
    char err[512];
    assert_int_equal(chdir(APIBENCH_SOURCE_DIR), 0);

    /* default: loopback, nothing emulated, no file needed */
    char *a0[] = {"run", "--target", "http://127.0.0.1:1", "--rate", "5", "--path", "/x"};
    assert_int_equal(run_options_parse(ARGC(a0), a0, &o, err, sizeof err), 0);
    assert_string_equal(o.network.name, "loopback");
    assert_int_equal(run_options_rate_by(&o), NETWORK_RATE_NONE);
    m = run_options_load_mix(&o, err, sizeof err);
    assert_non_null(m);
    assert_int_equal(run_options_to_loadgen_config(&o, m, NULL, &cfg, err, sizeof err), 0);
    assert_int_equal(cfg.recv_limit, 0);
    assert_int_equal(cfg.mss, 0);
    mix_free(m);

    /* the fallback: the generator limits each connection to the profile's rates */
    char *a1[] = {"run",    "--target", "http://127.0.0.1:1", "--rate", "5",
                  "--path", "/x",       "--network",          "mobile"};
    assert_int_equal(run_options_parse(ARGC(a1), a1, &o, err, sizeof err), 0);
    assert_int_equal(run_options_rate_by(&o), NETWORK_RATE_GENERATOR);
    assert_false(run_options_rtt_emulated(&o));
    m = run_options_load_mix(&o, err, sizeof err);
    assert_int_equal(run_options_to_loadgen_config(&o, m, NULL, &cfg, err, sizeof err), 0);
    assert_int_equal(cfg.recv_limit, 200000);
    assert_int_equal(cfg.send_limit, 93750);
    assert_int_equal(cfg.mss, 0);
    json_t *j = run_options_config_json(&o, m);
    json_t *net = json_object_get(j, "network");
    assert_string_equal(json_string_value(json_object_get(net, "profile")), "mobile");
    assert_string_equal(json_string_value(json_object_get(net, "rate_by")), "generator");
    assert_true(json_is_false(json_object_get(net, "rtt_emulated")));
    json_decref(j);
    mix_free(m);

    /* the kernel shapes: the generator leaves the rate alone and asks for small segments */
    char *a2[] = {"run",       "--target", "http://127.0.0.1:1", "--rate",  "5", "--path", "/x",
                  "--network", "mobile",   "--network-shaped",   "rate,rtt"};
    assert_int_equal(run_options_parse(ARGC(a2), a2, &o, err, sizeof err), 0);
    assert_int_equal(run_options_rate_by(&o), NETWORK_RATE_KERNEL);
    assert_true(run_options_rtt_emulated(&o));
    m = run_options_load_mix(&o, err, sizeof err);
    assert_int_equal(run_options_to_loadgen_config(&o, m, NULL, &cfg, err, sizeof err), 0);
    assert_int_equal(cfg.recv_limit, 0);
    assert_int_equal(cfg.send_limit, 0);
    assert_int_equal(cfg.mss, NETWORK_DEFAULT_MSS);
    mix_free(m);

    char *a3[] = {"run", "--target", "http://127.0.0.1:1", "--rate", "5", "--network", "moon"};
    assert_int_equal(run_options_parse(ARGC(a3), a3, &o, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown network profile 'moon'"));
    char *a4[] = {"run",       "--target", "http://127.0.0.1:1", "--rate", "5",
                  "--network", "wan",      "--network-shaped",   "rtt"};
    assert_int_equal(run_options_parse(ARGC(a4), a4, &o, err, sizeof err), -1);
    assert_non_null(strstr(err, "bad --network-shaped 'rtt'"));
}

static void put_load(const char *dir, const char *build, const char *name, double rate,
                     double headline_transfer_ms, long headline_bytes, long all_bytes)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/builds", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/builds/%s", dir, build);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/builds/%s/repeat-1", dir, build);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/builds/%s/repeat-1/%s.json", dir, build, name);
    json_t *run = json_pack(
        "{s:f, s:f, s:i, s:I, s:{s:f, s:f}, s:{s:f}, s:{s:{s:i, s:I, s:{s:f}, s:{s:f}}}}",
        "intended_rate", rate, "achieved_rate", rate, "completed", 100, "bytes_received",
        (json_int_t)(100 * all_bytes), "latency", "mean_ms", headline_transfer_ms + 5, "p99_ms",
        headline_transfer_ms + 50, "transfer_time", "mean_ms", headline_transfer_ms, "routes",
        "latest", "count", 10, "bytes_received", (json_int_t)(10 * headline_bytes), "latency",
        "mean_ms", headline_transfer_ms + 5, "transfer_time", "mean_ms", headline_transfer_ms);
    assert_int_equal(json_dump_file(run, path, 0), 0);
    json_decref(run);
}

/* The profile table from a results folder: every build, what gzip saves, and a load at
 * which the (kernel's, shared) link is the bottleneck flagged as such. */
static void test_report_section(void **state)
{
    (void)state;
    char dir[] = "/tmp/apibench-test-network-XXXXXX";
    assert_non_null(mkdtemp(dir));
    /* mobile: 200 kB/s down; 2 req/s of 20 kB is 20%, 167 req/s of 20 kB is 1670% */
    put_load(dir, "04-pool", "load", 2, 100.0, 20000, 20000);
    put_load(dir, "04-pool", "article", 167, 100.0, 20000, 20000);
    put_load(dir, "05-gzip", "load", 2, 10.0, 2000, 2000);
    const char *info = "network_profile=mobile\nnetwork_description=mobile: slow\n"
                       "network_down_kbit=1600\nnetwork_up_kbit=750\nnetwork_rtt_ms=150\n"
                       "network_rate_by=kernel: tc tbf on lo\n"
                       "network_rtt=RTT 150 ms: not emulated (netem: no)\n";
    json_t *builds = json_pack("[{s:s}, {s:s}]", "build", "04-pool", "build", "05-gzip");
    json_t *summary = json_pack("{s:o}", "network", report_network_summary(dir, info, builds));
    json_t *e = json_array_get(json_object_get(json_object_get(summary, "network"), "builds"), 0);
    assert_true(fabs(json_number_value(json_object_get(json_object_get(e, "common"), "link_use")) -
                     0.2) < 1e-9);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_int_equal(report_network_write(summary, out), 0);
    fclose(out);
    assert_non_null(strstr(text, "## Network profile: mobile"));
    assert_non_null(strstr(text, "- RTT: RTT 150 ms: not emulated (netem: no)"));
    assert_non_null(strstr(text, "| 04-pool | 2.00 |"));
    assert_non_null(strstr(text, "| 05-gzip | 2.00 |"));
    assert_non_null(strstr(text, "gzip saves 90.0 ms of transfer per headline response (90%)"));
    assert_non_null(strstr(text, "1670%: the link is the bottleneck"));
    free(text);

    /* loopback writes no section */
    json_t *lo = json_pack("{s:o}", "network", report_network_summary(dir, "", builds));
    out = open_memstream(&text, &len);
    assert_int_equal(report_network_write(lo, out), 0);
    fclose(out);
    assert_int_equal(len, 0);
    free(text);
    json_decref(lo);
    json_decref(summary);
    json_decref(builds);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_values),     cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_shipped_profiles), cmocka_unit_test(test_load_by_name),
        cmocka_unit_test(test_link_arithmetic),  cmocka_unit_test(test_run_options_network),
        cmocka_unit_test(test_report_section),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
