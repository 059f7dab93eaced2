/* network.c - network profiles: parsing and link arithmetic (see network.h). */
#include "network.h"

#include "run_options.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NETWORK_FILE_MAX 4096

/* Strips leading and trailing blanks in place; returns the start. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

static int parse_number(const char *text, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || errno != 0 || !isfinite(v) || v < 0 || v > hi)
        return -1;
    *out = v;
    return 0;
}

int network_profile_parse(const char *text, const char *name, struct network_profile *p, char *err,
                          size_t errlen)
{
    memset(p, 0, sizeof *p);
    if (!name || name[0] == '\0' || strlen(name) >= sizeof p->name) {
        snprintf(err, errlen, "bad network profile name");
        return -1;
    }
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->description, sizeof p->description, "%s", name);
    p->mss = NETWORK_DEFAULT_MSS;
    const char *line = text;
    for (int lineno = 1; *line; lineno++) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char buf[256];
        if (len >= sizeof buf) {
            snprintf(err, errlen, "network profile %s, line %d: too long", name, lineno);
            return -1;
        }
        memcpy(buf, line, len);
        buf[len] = '\0';
        line += len + (nl ? 1 : 0);
        char *s = trim(buf);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "network profile %s, line %d: expected key = value", name,
                     lineno);
            return -1;
        }
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        double v;
        int bad = 0;
        if (strcmp(key, "description") == 0) {
            snprintf(p->description, sizeof p->description, "%s", value);
        } else if (strcmp(key, "down_kbit") == 0) {
            bad = parse_number(value, 1e9, &p->down_kbit);
        } else if (strcmp(key, "up_kbit") == 0) {
            bad = parse_number(value, 1e9, &p->up_kbit);
        } else if (strcmp(key, "rtt_ms") == 0) {
            bad = parse_number(value, 60000, &p->rtt_ms);
        } else if (strcmp(key, "mss") == 0) {
            bad = parse_number(value, 65535, &v);
            bad = bad || (v != 0 && (v < 536 || v != floor(v)));
            p->mss = (int)v;
        } else {
            snprintf(err, errlen,
                     "network profile %s, line %d: unknown key '%s' (known: description, "
                     "down_kbit, up_kbit, rtt_ms, mss)",
                     name, lineno, key);
            return -1;
        }
        if (bad) {
            snprintf(err, errlen, "network profile %s, line %d: bad %s '%s'", name, lineno, key,
                     value);
            return -1;
        }
    }
    if ((p->down_kbit > 0) != (p->up_kbit > 0)) {
        snprintf(err, errlen,
                 "network profile %s: give both down_kbit and up_kbit (or neither: unlimited)",
                 name);
        return -1;
    }
    return 0;
}

/* The names of the profiles in dir, comma-separated, for an error message. */
static void known_profiles(const char *dir, char *out, size_t len)
{
    out[0] = '\0';
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    size_t used = 0;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n <= 5 || strcmp(e->d_name + n - 5, ".conf") != 0)
            continue;
        int w =
            snprintf(out + used, len - used, "%s%.*s", used ? ", " : "", (int)(n - 5), e->d_name);
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
    }
    closedir(d);
}

int network_profile_load(const char *spec, struct network_profile *p, char *err, size_t errlen)
{
    char path[PATH_MAX + 64], dir[PATH_MAX], name[NETWORK_NAME_MAX];
    bool is_path = strchr(spec, '/') != NULL;
    size_t slen = strlen(spec);
    if (slen == 0 || slen >= sizeof name + 5) {
        snprintf(err, errlen, "bad network profile '%s'", spec);
        return -1;
    }
    char found[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", run_checkout_path("harness/networks", found, sizeof found));
    if (is_path) {
        snprintf(path, sizeof path, "%s", spec);
        const char *base = strrchr(spec, '/') + 1;
        size_t blen = strlen(base);
        if (blen > 5 && strcmp(base + blen - 5, ".conf") == 0)
            blen -= 5;
        snprintf(name, sizeof name, "%.*s", (int)blen, base);
    } else {
        for (const char *c = spec; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_')) {
                snprintf(err, errlen,
                         "bad network profile '%s': a name of a-z, 0-9, '-', '_' or a path", spec);
                return -1;
            }
        snprintf(name, sizeof name, "%s", spec);
        snprintf(path, sizeof path, "%s/%s.conf", dir, spec);
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        char known[512];
        known_profiles(dir, known, sizeof known);
        if (is_path)
            snprintf(err, errlen, "cannot read network profile %s: %s", path, strerror(errno));
        else
            snprintf(err, errlen, "unknown network profile '%s' (known: %s; or a path to a .conf)",
                     spec, known[0] ? known : "none found in harness/networks");
        return -1;
    }
    char text[NETWORK_FILE_MAX];
    size_t n = fread(text, 1, sizeof text - 1, f);
    bool too_long = !feof(f);
    fclose(f);
    if (too_long) {
        snprintf(err, errlen, "network profile %s: longer than %d bytes", path,
                 NETWORK_FILE_MAX - 1);
        return -1;
    }
    text[n] = '\0';
    return network_profile_parse(text, name, p, err, errlen);
}

bool network_profile_shapes(const struct network_profile *p)
{
    return p->down_kbit > 0 || p->up_kbit > 0 || p->rtt_ms > 0;
}

double network_kbit_to_bytes(double kbit)
{
    return kbit * 1000.0 / 8.0;
}

double network_max_rate(const struct network_profile *p, double bytes_per_response)
{
    if (!(p->down_kbit > 0) || !(bytes_per_response > 0))
        return INFINITY;
    return NETWORK_MAX_UTILISATION * network_kbit_to_bytes(p->down_kbit) / bytes_per_response;
}

double network_utilisation(const struct network_profile *p, double rate, double bytes_per_response)
{
    if (!(p->down_kbit > 0))
        return 0.0;
    return rate * bytes_per_response / network_kbit_to_bytes(p->down_kbit);
}

static const char *const rate_by_names[] = {"none", "kernel", "generator"};

const char *network_rate_by_name(enum network_rate_by by)
{
    return (unsigned)by < 3 ? rate_by_names[by] : "?";
}

int network_rate_by_parse(const char *text, enum network_rate_by *by)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(text, rate_by_names[i]) == 0) {
            *by = (enum network_rate_by)i;
            return 0;
        }
    return -1;
}

json_t *network_json(const struct network_profile *p, enum network_rate_by by, bool rtt_emulated)
{
    return json_pack("{s:s, s:s, s:f, s:f, s:f, s:s, s:b, s:i}", "profile", p->name, "description",
                     p->description, "down_kbit", p->down_kbit, "up_kbit", p->up_kbit, "rtt_ms",
                     p->rtt_ms, "rate_by", network_rate_by_name(by), "rtt_emulated", rtt_emulated,
                     "mss", network_profile_shapes(p) ? p->mss : 0);
}
