/* seed_cli.c - `apibench seed`, `apibench freshen` and `apibench keys`. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness/commands.h"
#include "apibench/cliopt.h"
#include "clone.h"
#include "gen.h"
#include "load.h"
#include "seed_keys.h"

#define DEFAULT_SCALE 10
#define DEFAULT_SEED 1

static const char seed_usage[] =
    "usage: apibench seed [--scale S] [--seed N] [--database-url URL] [--force] [--quiet]\n"
    "                     [--copy-format binary|text]\n"
    "       apibench seed --template NAME [--database-url URL] [--force]\n"
    "\n"
    "Creates the apibench tables and loads synthetic data through COPY: 4+S sites,\n"
    "1000*S devices, 500000*S readings over the last 30 days, 5 users with API keys.\n"
    "The same seed and scale give the same rows; the checksum printed at the end covers\n"
    "them (timestamps as offsets before the seed's anchor time).\n"
    "\n"
    "  --scale S           size factor, 1..1000 (default 10: 10k devices, 5M readings)\n"
    "  --seed N            random seed, 1..9223372036854775807 (default 1)\n"
    "  --database-url URL  PostgreSQL to load (default $DATABASE_URL)\n"
    "  --force             replace an existing seed\n"
    "  --quiet             no progress or step lines, only the summary\n"
    "  --copy-format F     binary (default) or text: how readings travel; same rows\n"
    "  --template NAME     copy the already seeded database NAME into the URL's database\n"
    "                      (CREATE DATABASE ... TEMPLATE: a copy of its files, without\n"
    "                      generating rows or building indexes again); NAME must have no\n"
    "                      other sessions while it is copied. An existing target is left\n"
    "                      alone unless --force\n"
    "\n"
    "A database already holding this scale and seed is left alone (exit 0); a different\n"
    "seed is refused without --force. Ctrl-C rolls the load back.\n";

static const char freshen_usage[] =
    "usage: apibench freshen [--database-url URL] [--force] [--quiet]\n"
    "\n"
    "Moves every seeded timestamp forward by the time elapsed since the seed's anchor, so\n"
    "that data seeded days ago again covers the last day. Does nothing when the anchor is\n"
    "less than an hour old, unless --force.\n";

static const char keys_usage[] =
    "usage: apibench keys [--seed N]\n"
    "       apibench keys --revoke USER [...]  (apibench keys --revoke --help says more)\n"
    "\n"
    "Prints 'user_id email key' for each seeded user (the keys follow from the seed;\n"
    "default 1).\n";

/* Parses a whole decimal number in [min, max]. Returns 0 or -1. */
static int parse_number(const char *s, long long min, long long max, long long *out)
{
    if (!s || *s < '0' || *s > '9') /* no sign, no blanks, not empty */
        return -1;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

struct cli {
    struct load_options o;
    const char *template_name; /* --template */
    bool help;
};

enum { OPT_SCALE = 1, OPT_SEED = 2, OPT_URL = 4, OPT_FORCE = 8, OPT_QUIET = 16, OPT_FORMAT = 32,
       OPT_TEMPLATE = 64 };

/* Parses the options allowed by mask. Returns 0, or 2 (usage error, message printed). */
static int parse(const char *cmd, unsigned mask, int argc, char **argv, struct cli *cli)
{
    memset(cli, 0, sizeof *cli);
    cli->o.scale = DEFAULT_SCALE;
    cli->o.seed = DEFAULT_SEED;
    cli->o.database_url = getenv("DATABASE_URL");

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v;
        bool missing = false;
        long long n;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            cli->help = true;
            return 0;
        } else if ((mask & OPT_SCALE) && (v = cliopt_value(argc, argv, &i, "--scale", &missing))) {
            if (parse_number(v, 1, GEN_MAX_SCALE, &n) != 0) {
                fprintf(stderr, "apibench %s: bad --scale '%s' (a whole number from 1 to %d)\n",
                        cmd, v, GEN_MAX_SCALE);
                return 2;
            }
            cli->o.scale = (int)n;
        } else if ((mask & OPT_SEED) && (v = cliopt_value(argc, argv, &i, "--seed", &missing))) {
            if (parse_number(v, 1, INT64_MAX, &n) != 0) {
                fprintf(stderr,
                        "apibench %s: bad --seed '%s' (a whole number from 1 to %" PRId64 ")\n",
                        cmd, v, INT64_MAX);
                return 2;
            }
            cli->o.seed = (uint64_t)n;
        } else if ((mask & OPT_URL) &&
                   (v = cliopt_value(argc, argv, &i, "--database-url", &missing))) {
            cli->o.database_url = v;
        } else if ((mask & OPT_FORMAT) &&
                   (v = cliopt_value(argc, argv, &i, "--copy-format", &missing))) {
            if (strcmp(v, "text") != 0 && strcmp(v, "binary") != 0) {
                fprintf(stderr, "apibench %s: bad --copy-format '%s' (text or binary)\n", cmd, v);
                return 2;
            }
            cli->o.text_copy = strcmp(v, "text") == 0;
        } else if ((mask & OPT_TEMPLATE) &&
                   (v = cliopt_value(argc, argv, &i, "--template", &missing))) {
            cli->template_name = v;
        } else if ((mask & OPT_FORCE) && strcmp(arg, "--force") == 0) {
            cli->o.force = true;
        } else if ((mask & OPT_QUIET) && strcmp(arg, "--quiet") == 0) {
            cli->o.quiet = true;
        } else if (missing) {
            fprintf(stderr, "apibench %s: option '%s' needs a value\n", cmd, arg);
            return 2;
        } else {
            fprintf(stderr, "apibench %s: unknown option '%s' (see apibench %s --help)\n", cmd, arg,
                    cmd);
            return 2;
        }
    }
    if ((mask & OPT_URL) && (!cli->o.database_url || !*cli->o.database_url)) {
        fprintf(stderr, "apibench %s: no database: set DATABASE_URL or pass --database-url\n", cmd);
        return 2;
    }
    return 0;
}

static int finish(const char *cmd, enum load_status st, const char *err)
{
    if (st == LOAD_INTERRUPTED)
        fprintf(stderr, "apibench %s: interrupted\n", cmd);
    else if (st == LOAD_FAILED)
        fprintf(stderr, "apibench %s: %s\n", cmd, err);
    return (int)st;
}

/* `apibench seed --template NAME`: the clone, timed. */
static int seed_from_template(const struct cli *cli)
{
    char err[1024] = "";
    bool created;
    double seconds;
    if (clone_database(cli->o.database_url, cli->template_name, cli->o.force, &created,
                       &seconds, err, sizeof err) != 0) {
        fprintf(stderr, "apibench seed: %s\n", err);
        return 1;
    }
    char target[128] = "the target database";
    clone_url_dbname(cli->o.database_url, target, sizeof target);
    if (created)
        printf("cloned template %s into %s in %.2f s\n", cli->template_name, target, seconds);
    else
        printf("%s already exists: left alone (--force replaces it)\n", target);
    return 0;
}

int seed_main(int argc, char **argv)
{
    struct cli cli;
    char err[1024] = "";
    int rc = parse("seed",
                   OPT_SCALE | OPT_SEED | OPT_URL | OPT_FORCE | OPT_QUIET | OPT_FORMAT | OPT_TEMPLATE,
                   argc, argv, &cli);
    if (rc != 0)
        return rc;
    if (cli.help) {
        fputs(seed_usage, stdout);
        return 0;
    }
    if (cli.template_name)
        return seed_from_template(&cli);
    load_handle_sigint();
    return finish("seed", load_seed(&cli.o, err, sizeof err), err);
}

int freshen_main(int argc, char **argv)
{
    struct cli cli;
    char err[1024] = "";
    int rc = parse("freshen", OPT_URL | OPT_FORCE | OPT_QUIET, argc, argv, &cli);
    if (rc != 0)
        return rc;
    if (cli.help) {
        fputs(freshen_usage, stdout);
        return 0;
    }
    load_handle_sigint();
    return finish("freshen", load_freshen(&cli.o, err, sizeof err), err);
}

int keys_main(int argc, char **argv)
{
    struct cli cli;
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "--revoke", 8) == 0)
            return keys_revoke_main(argc, argv);
    int rc = parse("keys", OPT_SEED, argc, argv, &cli);
    if (rc != 0)
        return rc;
    if (cli.help) {
        fputs(keys_usage, stdout);
        return 0;
    }
    struct gen *g = gen_new(cli.o.seed, 1);
    if (!g)
        return 2;
    for (int id = 1; id <= GEN_USERS; id++) {
        struct gen_user u;
        char key[40];
        if (gen_user(g, id, &u) != 0 || seed_api_key(cli.o.seed, id, key) != 0) {
            fprintf(stderr, "apibench keys: cannot derive the key of user %d\n", id);
            gen_free(g);
            return 1;
        }
        printf("%d %s %s\n", u.id, u.email, key);
    }
    gen_free(g);
    return 0;
}
