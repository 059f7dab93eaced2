/* clone.c - a database copied from a seeded template (clone.h). */
#include "clone.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "apibench/clock.h"
#include "apibench/urlmask.h"

#define SQLSTATE_OBJECT_IN_USE "55006"
#define SQLSTATE_INSUFFICIENT_PRIVILEGE "42501"

bool clone_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    return n >= 1 && n <= 63 && !(name[0] >= '0' && name[0] <= '9') &&
           strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

int clone_url_dbname(const char *url, char *out, size_t outlen)
{
    PQconninfoOption *opts = PQconninfoParse(url, NULL);
    int rc = -1;
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, "dbname") == 0 && o->val && *o->val &&
            (size_t)snprintf(out, outlen, "%s", o->val) < outlen)
            rc = 0;
    PQconninfoFree(opts);
    return rc;
}

/* Runs one statement without parameters (identifiers already quoted); PGresult cleared. On
 * failure returns -1, copies the SQLSTATE into state and the message into err. */
static int run(PGconn *c, const char *sql, char state[6], char *err, size_t errlen)
{
    PGresult *r = PQexec(c, sql);
    int rc = 0;
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        snprintf(state, 6, "%s", s ? s : "");
        snprintf(err, errlen, "%s", PQerrorMessage(c));
        err[strcspn(err, "\n")] = '\0';
        rc = -1;
    }
    PQclear(r);
    return rc;
}

/* 1 when database name exists, 0 when not, -1 on error. */
static int database_exists(PGconn *c, const char *name, char *err, size_t errlen)
{
    const char *params[] = {name};
    PGresult *r = PQexecParams(c, "SELECT 1 FROM pg_database WHERE datname = $1", 1, NULL,
                               params, NULL, NULL, 0);
    int rc;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "cannot list databases: %s", PQerrorMessage(c));
        err[strcspn(err, "\n")] = '\0';
        rc = -1;
    } else {
        rc = PQntuples(r) > 0;
    }
    PQclear(r);
    return rc;
}

/* How many other sessions are connected to name (-1 when unknown). */
static int sessions_on(PGconn *c, const char *name)
{
    const char *params[] = {name};
    PGresult *r = PQexecParams(c,
                               "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 "
                               "AND pid <> pg_backend_pid()",
                               1, NULL, params, NULL, NULL, 0);
    int n = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        sscanf(PQgetvalue(r, 0, 0), "%d", &n);
    PQclear(r);
    return n;
}

int clone_database(const char *target_url, const char *template_name, bool force,
                   bool *created, double *seconds, char *err, size_t errlen)
{
    char target[128], masked[512], state[6] = "", sql[512], detail[512] = "";
    *created = false;
    *seconds = 0;
    if (clone_url_dbname(target_url, target, sizeof target) != 0 || !clone_name_valid(target)) {
        snprintf(err, errlen, "bad target database in %s: want a name of [a-z_][a-z0-9_]{0,62}",
                 url_mask_password(target_url, masked, sizeof masked));
        return -1;
    }
    if (!clone_name_valid(template_name)) {
        snprintf(err, errlen, "bad --template '%s': want a name of [a-z_][a-z0-9_]{0,62}",
                 template_name);
        return -1;
    }
    if (strcmp(target, template_name) == 0) {
        snprintf(err, errlen, "cannot clone %s into itself", target);
        return -1;
    }
    const char *keys[] = {"dbname", "dbname", "application_name", "connect_timeout", NULL};
    const char *values[] = {target_url, "postgres", "apibench-seed", "10", NULL};
    PGconn *c = PQconnectdbParams(keys, values, 1);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        snprintf(err, errlen, "cannot connect to postgres at %s (database postgres): %s",
                 url_mask_password(target_url, masked, sizeof masked),
                 c ? PQerrorMessage(c) : "out of memory");
        err[strcspn(err, "\n")] = '\0';
        PQfinish(c);
        return -1;
    }
    int rc = -1;
    char *qtarget = PQescapeIdentifier(c, target, strlen(target));
    char *qtemplate = PQescapeIdentifier(c, template_name, strlen(template_name));
    if (!qtarget || !qtemplate) {
        snprintf(err, errlen, "cannot quote database names: %s", PQerrorMessage(c));
        goto done;
    }
    int have = database_exists(c, template_name, err, errlen);
    if (have < 0)
        goto done;
    if (!have) {
        snprintf(err, errlen, "no template database %s: seed it first (apibench seed "
                 "--database-url .../%s)", template_name, template_name);
        goto done;
    }
    have = database_exists(c, target, err, errlen);
    if (have < 0)
        goto done;
    if (have && !force) {
        rc = 0; /* left alone, as `apibench seed` leaves a complete seed alone */
        goto done;
    }
    if (have) {
        /* sql-format-ok: a database name cannot be a $n parameter; it was checked by
         * clone_name_valid and quoted by PQescapeIdentifier */
        snprintf(sql, sizeof sql, "DROP DATABASE %s WITH (FORCE)", qtarget);
        if (run(c, sql, state, detail, sizeof detail) != 0) {
            snprintf(err, errlen, "cannot drop %s: %s", target, detail);
            goto done;
        }
    }
    /* sql-format-ok: database names, checked by clone_name_valid and quoted by
     * PQescapeIdentifier (identifiers cannot be $n parameters) */
    snprintf(sql, sizeof sql, "CREATE DATABASE %s TEMPLATE %s", qtarget, qtemplate);
    int64_t start = clock_mono_us();
    if (run(c, sql, state, detail, sizeof detail) != 0) {
        if (strcmp(state, SQLSTATE_OBJECT_IN_USE) == 0)
            snprintf(err, errlen,
                     "cannot clone %s: it is in use by %d other session(s), and PostgreSQL "
                     "copies only an idle template; stop the servers, workers and psql "
                     "sessions connected to %s and run this again (%s)",
                     template_name, sessions_on(c, template_name), template_name, detail);
        else if (strcmp(state, SQLSTATE_INSUFFICIENT_PRIVILEGE) == 0)
            snprintf(err, errlen, "cannot create %s: the role needs CREATEDB (%s)", target,
                     detail);
        else
            snprintf(err, errlen, "cannot create %s from template %s: %s", target,
                     template_name, detail);
        goto done;
    }
    *seconds = (double)(clock_mono_us() - start) / 1e6;
    *created = true;
    rc = 0;
done:
    PQfreemem(qtarget);
    PQfreemem(qtemplate);
    PQfinish(c);
    return rc;
}
