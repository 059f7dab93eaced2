/* clone.h - `apibench seed --template NAME`: a student's database made in seconds by copying
 * an already seeded one (CREATE DATABASE target TEMPLATE name), instead of generating and
 * loading the rows again. PostgreSQL copies the files: rows, indexes, statistics, grants
 * inside the database and seed_info all come along. */
#ifndef APIBENCH_CLONE_H
#define APIBENCH_CLONE_H

#include <stdbool.h>
#include <stddef.h>

/* True for a database name this command accepts: [a-z_][a-z0-9_]{0,62} (it is still
 * quoted as an identifier in the SQL). */
bool clone_name_valid(const char *name);

/* The database name of a URL or keyword string into out. Returns 0, or -1 when it names
 * none (or out is too small). */
int clone_url_dbname(const char *url, char *out, size_t outlen);

/* Creates the database named by target_url's dbname as a copy of template, over a
 * connection to the same server's "postgres" database. A target that already exists is
 * left alone (*created false) unless force, which drops it first (with its sessions).
 * *seconds is the time CREATE DATABASE took. Returns 0, or -1 with a one-line message in err
 * (bad names, no such template, the template in use by other sessions, no CREATEDB right). */
int clone_database(const char *target_url, const char *template_name, bool force,
                   bool *created, double *seconds, char *err, size_t errlen);

#endif
