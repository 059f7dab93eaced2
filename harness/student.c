/* student.c - a student's database, Redis prefix and port block (student.h). */
#include "student.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

bool student_name_valid(const char *name)
{
    if (!name)
        return false;
    size_t n = strlen(name);
    return n >= 1 && n <= STUDENT_NAME_MAX &&
           strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

static bool fits(int n, size_t outlen)
{
    return n >= 0 && (size_t)n < outlen;
}

int student_database(const char *name, char *out, size_t outlen)
{
    if (!student_name_valid(name))
        return -1;
    return fits(snprintf(out, outlen, "apibench_%s", name), outlen) ? 0 : -1;
}

int student_redis_prefix(const char *name, char *out, size_t outlen)
{
    if (!student_name_valid(name))
        return -1;
    return fits(snprintf(out, outlen, "%s:", name), outlen) ? 0 : -1;
}

static int hashed_slot(const char *name)
{
    uint32_t h = 2166136261u;
    for (const char *p = name; *p; p++) {
        h ^= (unsigned char)*p;
        h *= 16777619u;
    }
    return (int)(h % STUDENT_SLOTS);
}

int student_port_base(const char *name)
{
    if (!student_name_valid(name))
        return -1;
    return STUDENT_PORT_FIRST + 100 * hashed_slot(name);
}

int student_roster_read(const char *roster, char names[][STUDENT_NAME_MAX + 1], char *err,
                        size_t errlen)
{
    FILE *f = fopen(roster, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read roster %s: %s", roster, strerror(errno));
        return -1;
    }
    char line[256];
    int count = 0, lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        char *s = line + strspn(line, " \t");
        s[strcspn(s, " \t#")] = '\0';
        if (!*s)
            continue;
        if (!student_name_valid(s)) {
            snprintf(err, errlen, "roster %s line %d: bad student name '%s' (want [a-z0-9_]{1,32})",
                     roster, lineno, s);
            goto fail;
        }
        for (int i = 0; i < count; i++)
            if (strcmp(names[i], s) == 0) {
                snprintf(err, errlen, "roster %s line %d: '%s' is listed twice", roster, lineno, s);
                goto fail;
            }
        if (count == STUDENT_SLOTS) {
            snprintf(err, errlen, "roster %s: more than %d students (one port block each)",
                     roster, STUDENT_SLOTS);
            goto fail;
        }
        snprintf(names[count++], STUDENT_NAME_MAX + 1, "%s", s);
    }
    fclose(f);
    return count;
fail:
    fclose(f);
    return -1;
}

/* Finds name in the roster: its 0-based position among the names, or -1 with err. */
static int roster_slot(const char *roster, const char *name, char *err, size_t errlen)
{
    char names[STUDENT_SLOTS][STUDENT_NAME_MAX + 1];
    int count = student_roster_read(roster, names, err, errlen);
    for (int i = 0; i < count; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    if (count >= 0)
        snprintf(err, errlen, "student '%s' is not in roster %s", name, roster);
    return -1;
}

int student_init(struct student *s, const char *name, const char *roster, char *err,
                 size_t errlen)
{
    memset(s, 0, sizeof *s);
    if (!student_name_valid(name)) {
        snprintf(err, errlen, "bad student name '%s': 1 to %d characters from a-z, 0-9 and _",
                 name ? name : "", STUDENT_NAME_MAX);
        return -1;
    }
    snprintf(s->name, sizeof s->name, "%s", name);
    student_database(name, s->database, sizeof s->database);
    student_redis_prefix(name, s->redis_prefix, sizeof s->redis_prefix);
    if (roster) {
        s->slot = roster_slot(roster, name, err, errlen);
        if (s->slot < 0)
            return -1;
        s->slot_from_roster = true;
    } else {
        s->slot = hashed_slot(name);
    }
    s->port_base = STUDENT_PORT_FIRST + 100 * s->slot;
    return 0;
}

int student_database_url(const char *url, const char *dbname, char *out, size_t outlen)
{
    const char *scheme = strstr(url, "://");
    if (!scheme || strncmp(url, "postgres", 8) != 0)
        return fits(snprintf(out, outlen, "%s dbname=%s", url, dbname), outlen) ? 0 : -1;
    const char *query = strchr(url, '?');
    size_t end = query ? (size_t)(query - url) : strlen(url);
    const char *authority = scheme + 3;
    const char *slash = memchr(authority, '/', end - (size_t)(authority - url));
    size_t base = slash ? (size_t)(slash - url) : end;
    return fits(snprintf(out, outlen, "%.*s/%s%s", (int)base, url, dbname, query ? query : ""),
                outlen)
               ? 0
               : -1;
}
