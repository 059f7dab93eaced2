/* classroom_cli.c - the classroom's `apibench lab` subcommands: `lab setup` gives a student
 * their database, Redis prefix and ports (student.h); `lab board` writes the room's
 * scoreboard (lab_board.h). */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../datasets/clone.h"
#include "apibench/cliopt.h"
#include "apibench/strbuf.h"
#include "commands.h"
#include "lab_board.h"
#include "report_plots.h"
#include "student.h"

static const char board_usage[] =
    "usage: apibench lab board DIR [--out OUTDIR] [--no-plot]\n"
    "\n"
    "Reads every DIR/<student>/<lab>.json that `apibench lab check` wrote and writes the\n"
    "room's scoreboard: OUTDIR/board.md (students x labs, each cell the median speed-up and\n"
    "the verdict, sorted by labs passed, then the geometric mean of the speed-ups), and\n"
    "OUTDIR/board.dat, board.png and board.svg (each student's speed-up per lab, gnuplot).\n"
    "OUTDIR defaults to DIR. A file that is not a readable result is skipped with a warning.\n";

static const char setup_usage[] =
    "usage: apibench lab setup --student NAME [--roster FILE] [--template DB]\n"
    "                          [--database-url URL] [--force] [--no-clone]\n"
    "       apibench lab setup --all --roster FILE [--template DB] [--database-url URL]\n"
    "                          [--force]\n"
    "\n"
    "Gives student NAME ([a-z0-9_]{1,32}) their own database apibench_NAME, cloned from the\n"
    "seeded database DB (default: the one in --database-url / $DATABASE_URL) in seconds,\n"
    "and prints the environment that points the servers, the worker and `apibench lab\n"
    "check` at it: database URLs, APIBENCH_REDIS_PREFIX=NAME: and APIBENCH_PORT_BASE (a\n"
    "block of 100 ports). Use it as:  eval \"$(apibench lab setup --student alice)\"\n"
    "\n"
    "  --roster FILE  the room's names, one a line: a student's port block is their line,\n"
    "                 so that no two collide (without one, a hash of the name picks one of\n"
    "                 100 blocks, and two names may share it). Also $APIBENCH_ROSTER.\n"
    "  --all          every student of the roster (the instructor, before the day); prints\n"
    "                 no environment\n"
    "  --force        replace an existing apibench_NAME with a fresh clone\n"
    "  --no-clone     print the environment only (what `apibench lab check --student`\n"
    "                 evaluates); the database is neither checked nor made\n";

int lab_board_main(int argc, char **argv)
{
    const char *dir = NULL, *out = NULL, *v;
    bool plot = true;
    for (int i = 1; i < argc; i++) {
        bool missing = false;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(board_usage, stdout);
            return 0;
        } else if ((v = cliopt_value(argc, argv, &i, "--out", &missing))) {
            out = v;
        } else if (strcmp(argv[i], "--no-plot") == 0) {
            plot = false;
        } else if (missing || argv[i][0] == '-' || dir) {
            fprintf(stderr, "apibench lab board: unexpected argument '%s' (see --help)\n",
                    argv[i]);
            return 2;
        } else {
            dir = argv[i];
        }
    }
    if (!dir) {
        fputs(board_usage, stderr);
        return 2;
    }
    if (!out)
        out = dir;
    struct board b = {0};
    char err[512] = "";
    if (board_load(&b, dir, stderr, err, sizeof err) != 0) {
        fprintf(stderr, "apibench lab board: %s\n", err);
        return 1;
    }
    mkdir(out, 0777);
    int rc = 0;
    struct strbuf md = {0}, dat = {0};
    strbuf_appendf(&md, "%s/board.md", out);
    strbuf_appendf(&dat, "%s/board.dat", out);
    FILE *f = fopen(md.data, "w");
    FILE *g = fopen(dat.data, "w");
    if (!f || !g) {
        fprintf(stderr, "apibench lab board: cannot write %s: %m\n", !f ? md.data : dat.data);
        rc = 1;
    } else {
        board_write_markdown(&b, f);
        board_write_dat(&b, g);
    }
    if (f && fclose(f) != 0)
        rc = 1;
    if (g && fclose(g) != 0)
        rc = 1;
    if (rc == 0 && plot && b.nrows > 0 && b.nlabs > 0) {
        struct strbuf vars = {0};
        strbuf_appendf(&vars, "boarddir='%s'; nstudents=%d", out, b.nrows);
        if (strchr(out, '\'')) {
            fprintf(stderr, "apibench lab board: cannot plot into a folder named with a quote\n");
            rc = 1;
        } else if (report_gnuplot("plot_lab_board.gp", vars.data, err, sizeof err) != 0) {
            fprintf(stderr, "apibench lab board: %s (--no-plot writes the table alone)\n", err);
            rc = 1;
        }
        strbuf_free(&vars);
    }
    if (rc == 0)
        printf("wrote %s: %d student(s), %d lab(s), %d file(s) skipped\n", md.data, b.nrows,
               b.nlabs, b.skipped);
    strbuf_free(&md);
    strbuf_free(&dat);
    board_free(&b);
    return rc;
}

/* Prints `export NAME='value'` with the value quoted for a POSIX shell. */
static void print_export(const char *name, const char *value)
{
    printf("export %s='", name);
    for (const char *p = value; *p; p++)
        if (*p == '\'')
            fputs("'\\''", stdout);
        else
            putchar(*p);
    printf("'\n");
}

/* What `lab setup` does for every student: the template, the base URL and the switches. */
struct setup {
    const char *url, *roster;
    char tmpl[128];
    bool force, clone, print_env;
};

/* Clones one student's database (unless --no-clone), says so on stderr and prints their
 * environment when asked. Returns the exit status: 0, 1 (the clone failed) or 2. */
static int setup_student(const struct setup *o, const char *name)
{
    struct student s;
    char err[1024] = "";
    if (student_init(&s, name, o->roster, err, sizeof err) != 0) {
        fprintf(stderr, "apibench lab setup: %s\n", err);
        return 2;
    }
    char target[2048], app[2048], worker[2048];
    const char *app_base = getenv("APP_DATABASE_URL"), *worker_base = getenv("WORKER_DATABASE_URL");
    if (student_database_url(o->url, s.database, target, sizeof target) != 0 ||
        student_database_url(app_base && *app_base ? app_base : o->url, s.database, app,
                             sizeof app) != 0 ||
        student_database_url(worker_base && *worker_base ? worker_base : o->url, s.database,
                             worker, sizeof worker) != 0) {
        fprintf(stderr, "apibench lab setup: database URL too long\n");
        return 2;
    }
    bool created = false;
    double seconds = 0;
    if (o->clone &&
        clone_database(target, o->tmpl, o->force, &created, &seconds, err, sizeof err) != 0) {
        fprintf(stderr, "apibench lab setup: %s: %s\n", s.name, err);
        return 1;
    }
    if (created)
        fprintf(stderr, "%s: database %s cloned from %s in %.2f s\n", s.name, s.database,
                o->tmpl, seconds);
    else if (o->clone)
        fprintf(stderr, "%s: database %s already exists: kept (--force replaces it)\n", s.name,
                s.database);
    fprintf(stderr, "%s: Redis prefix %s, ports %d-%d (%s)\n", s.name, s.redis_prefix,
            s.port_base, s.port_base + 99,
            s.slot_from_roster ? "the roster's slot"
                               : "slot from the name's hash: use a roster so that no two "
                                 "students share it");
    if (!o->print_env)
        return 0;
    print_export("DATABASE_URL", target);
    print_export("APP_DATABASE_URL", app);
    print_export("WORKER_DATABASE_URL", worker);
    print_export("APIBENCH_REDIS_PREFIX", s.redis_prefix);
    char port[16];
    snprintf(port, sizeof port, "%d", s.port_base);
    print_export("APIBENCH_PORT_BASE", port);
    print_export("APIBENCH_STUDENT", s.name);
    return 0;
}

int lab_setup_main(int argc, char **argv)
{
    struct setup o = {.url = getenv("DATABASE_URL"), .roster = getenv("APIBENCH_ROSTER"),
                      .clone = true, .print_env = true};
    const char *name = NULL, *template_name = NULL, *v;
    bool all = false;
    for (int i = 1; i < argc; i++) {
        bool missing = false;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(setup_usage, stdout);
            return 0;
        } else if ((v = cliopt_value(argc, argv, &i, "--student", &missing))) {
            name = v;
        } else if ((v = cliopt_value(argc, argv, &i, "--roster", &missing))) {
            o.roster = v;
        } else if ((v = cliopt_value(argc, argv, &i, "--template", &missing))) {
            template_name = v;
        } else if ((v = cliopt_value(argc, argv, &i, "--database-url", &missing))) {
            o.url = v;
        } else if (strcmp(argv[i], "--force") == 0) {
            o.force = true;
        } else if (strcmp(argv[i], "--no-clone") == 0) {
            o.clone = false;
        } else if (strcmp(argv[i], "--all") == 0) {
            all = true;
        } else {
            fprintf(stderr, "apibench lab setup: %s '%s' (see --help)\n",
                    missing ? "option needs a value:" : "unexpected argument", argv[i]);
            return 2;
        }
    }
    if (o.roster && !*o.roster)
        o.roster = NULL;
    const char *problem = !o.url || !*o.url ? "no database: set DATABASE_URL or pass --database-url"
                          : all && name     ? "--all and --student exclude each other"
                          : all && !o.roster ? "--all needs a roster (--roster or APIBENCH_ROSTER)"
                          : !all && !name    ? "--student NAME (or --all with a roster) is required"
                                             : NULL;
    if (problem) {
        fprintf(stderr, "apibench lab setup: %s\n", problem);
        return 2;
    }
    if (template_name)
        snprintf(o.tmpl, sizeof o.tmpl, "%s", template_name);
    else if (clone_url_dbname(o.url, o.tmpl, sizeof o.tmpl) != 0)
        snprintf(o.tmpl, sizeof o.tmpl, "apibench");
    if (!all)
        return setup_student(&o, name);

    /* the whole room: every student's database, no environment (it is per student) */
    char names[STUDENT_SLOTS][STUDENT_NAME_MAX + 1], err[512];
    int n = student_roster_read(o.roster, names, err, sizeof err);
    if (n < 0) {
        fprintf(stderr, "apibench lab setup: %s\n", err);
        return 2;
    }
    o.print_env = false;
    int worst = 0;
    for (int i = 0; i < n; i++) {
        int rc = setup_student(&o, names[i]);
        worst = rc > worst ? rc : worst;
    }
    return worst;
}
