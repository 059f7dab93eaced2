/* student.h - what `--student NAME` means in a workshop room: the names that keep one
 * student's database, Redis keys and ports apart from everyone else's on one machine or
 * one shared PostgreSQL and Redis (docs/WORKSHOP.md, "Running the room").
 *
 *   NAME          [a-z0-9_]{1,32}
 *   database      apibench_<name>
 *   Redis prefix  "<name>:"  (the servers' and worker's --redis-prefix)
 *   ports         STUDENT_PORT_FIRST + 100 * slot .. + 99; the slot is NAME's line in
 *                 the roster (0-based) when there is one, so that no two students share
 *                 a block; without a roster, FNV-1a(NAME) mod STUDENT_SLOTS, which two
 *                 names can share (the caller warns).
 *
 * The block of 100 ports is what scripts/reproduce and `apibench lab check` use from
 * APIBENCH_PORT_BASE (a build at +NN, nginx at +90). */
#ifndef APIBENCH_STUDENT_H
#define APIBENCH_STUDENT_H

#include <stdbool.h>
#include <stddef.h>

#define STUDENT_NAME_MAX 32
#define STUDENT_SLOTS 100         /* port blocks: 20000..29999, below the ephemeral range */
#define STUDENT_PORT_FIRST 20000

struct student {
    char name[STUDENT_NAME_MAX + 1];
    char database[STUDENT_NAME_MAX + 10];     /* apibench_<name> */
    char redis_prefix[STUDENT_NAME_MAX + 2];  /* <name>: */
    int slot;                                 /* 0..STUDENT_SLOTS-1 */
    int port_base;                            /* STUDENT_PORT_FIRST + 100 * slot */
    bool slot_from_roster;                    /* false: hashed, may collide */
};

/* True when name is 1 to 32 characters from [a-z0-9_]. */
bool student_name_valid(const char *name);

/* Fills s for name. roster (NULL: none) is a file of student names, one a line ('#'
 * comments and blank lines skipped); the slot is name's position among the names. Returns 0,
 * or -1 with a message in err: a bad name, an unreadable roster, a roster that does not list
 * name, repeats a name or lists more than STUDENT_SLOTS names. */
int student_init(struct student *s, const char *name, const char *roster, char *err,
                 size_t errlen);

/* Reads a roster into names (room for STUDENT_SLOTS). Returns how many names it holds, or -1
 * with err: unreadable, a bad name, a name listed twice, more than STUDENT_SLOTS names. */
int student_roster_read(const char *roster, char names[][STUDENT_NAME_MAX + 1], char *err,
                        size_t errlen);

/* The three mappings on their own, for callers that hold only the name. Each returns 0, or -1
 * when name is not valid (or out is too small). */
int student_database(const char *name, char *out, size_t outlen);
int student_redis_prefix(const char *name, char *out, size_t outlen);
/* The hashed port base (no roster): STUDENT_PORT_FIRST + 100 * (FNV-1a(name) mod 100), or
 * -1 for a bad name. */
int student_port_base(const char *name);

/* Writes url with its database replaced by dbname into out: a URL
 * (postgresql://user@host:port/db?params) keeps its parameters; a keyword string gets
 * " dbname=<dbname>" appended (the last keyword wins in libpq). Returns 0, or -1 when out is
 * too small. */
int student_database_url(const char *url, const char *dbname, char *out, size_t outlen);

#endif
