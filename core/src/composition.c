/* composition.c - strategy names to ops tables, for apibench-server's flags, and what a
 * build needs around it (server --needs), decided from its strategies, never its name. */
#include "apibench/composition.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>

#include "apibench/strbuf.h"

/* One seam: its flag, and the implementations it can hold (by their ops' names). */
struct seam {
    const char *flag;
    size_t offset; /* of the ops pointer in struct build */
    const void *const impls[3];
};

#define SEAM(flag, field, ...) {flag, offsetof(struct build, field), {__VA_ARGS__, NULL}}

/* The first implementation of each seam is the baseline's. */
static const struct seam seams[] = {
    SEAM("connections", connections, &connsrc_per_request, &connsrc_pool),
    SEAM("queries", queries, &queries_naive, &queries_optimised),
    SEAM("cache", cache, &cache_none, &cache_tiered),
    SEAM("encoder", encoder, &encoder_identity, &encoder_gzip),
    SEAM("jobs", jobs, &jobs_inline, &jobs_queue),
};
#define NSEAMS (sizeof seams / sizeof seams[0])

/* Every ops table starts with its name. */
_Static_assert(offsetof(struct connsrc_ops, name) == 0, "name first");
_Static_assert(offsetof(struct queries_ops, name) == 0, "name first");
_Static_assert(offsetof(struct cache_ops, name) == 0, "name first");
_Static_assert(offsetof(struct encoder_ops, name) == 0, "name first");
_Static_assert(offsetof(struct jobs_ops, name) == 0, "name first");

static const char *impl_name(const void *ops)
{
    return *(const char *const *)ops;
}

static const void **seam_slot(struct build *b, const struct seam *s)
{
    return (const void **)(void *)((char *)b + s->offset);
}

static const void *seam_get(const struct build *b, const struct seam *s)
{
    return *(const void *const *)(const void *)((const char *)b + s->offset);
}

static bool valid_label(const char *label)
{
    if (!*label || *label == '.' || strlen(label) > 64)
        return false;
    for (const char *p = label; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
            return false;
    return true;
}

static int set_strategy(struct build *b, const struct seam *s, const char *value, char *err,
                        size_t errlen)
{
    struct strbuf known = {0};
    for (size_t i = 0; s->impls[i]; i++) {
        if (strcmp(impl_name(s->impls[i]), value) == 0) {
            *seam_slot(b, s) = s->impls[i];
            strbuf_free(&known);
            return 0;
        }
        strbuf_appendf(&known, "%s%s", i ? "|" : "", impl_name(s->impls[i]));
    }
    snprintf(err, errlen, "invalid --%s '%s': expected %s", s->flag, value, known.data);
    strbuf_free(&known);
    return -1;
}

/* Matches "--NAME V" or "--NAME=V" at argv[a]; sets *value and *used (1 or 2 arguments). */
static bool flag_value(char **argv, int argc, int a, const char *name, const char **value,
                       int *used)
{
    const char *arg = argv[a];
    size_t n = strlen(name);
    if (strncmp(arg, "--", 2) != 0 || strncmp(arg + 2, name, n) != 0)
        return false;
    if (arg[2 + n] == '=') {
        *value = arg + 3 + n, *used = 1;
        return true;
    }
    if (arg[2 + n] != '\0')
        return false;
    *value = a + 1 < argc ? argv[a + 1] : NULL, *used = 2;
    return true;
}

int composition_from_args(struct build *b, int *argc, char **argv, char *err, size_t errlen)
{
    for (size_t i = 0; i < NSEAMS; i++)
        *seam_slot(b, &seams[i]) = seams[i].impls[0];
    b->name = "custom";
    int out = 1;
    for (int a = 1; a < *argc;) {
        const char *value = NULL;
        int used = 0;
        const struct seam *s = NULL;
        for (size_t i = 0; i < NSEAMS && !s; i++)
            if (flag_value(argv, *argc, a, seams[i].flag, &value, &used))
                s = &seams[i];
        bool label = !s && flag_value(argv, *argc, a, "build-label", &value, &used);
        if (!s && !label) {
            argv[out++] = argv[a++];
            continue;
        }
        if (!value) {
            snprintf(err, errlen, "option '%s' needs a value", argv[a]);
            return -1;
        }
        if (s && set_strategy(b, s, value, err, errlen) != 0)
            return -1;
        if (label) {
            if (!valid_label(value)) {
                snprintf(err, errlen,
                         "invalid --build-label '%s': 1-64 of A-Z a-z 0-9 . _ -, not starting "
                         "with '.'",
                         value);
                return -1;
            }
            b->name = value;
        }
        a += used;
    }
    argv[out] = NULL;
    *argc = out;
    return 0;
}

void composition_print_help(FILE *out)
{
    fprintf(out, "Strategies (default: the baseline's, the first of each list):\n");
    for (size_t i = 0; i < NSEAMS; i++) {
        char list[64] = "";
        for (size_t k = 0; seams[i].impls[k]; k++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? "|" : "",
                     impl_name(seams[i].impls[k]));
        fprintf(out, "  --%s %s\n", seams[i].flag, list);
    }
    fprintf(out, "  --build-label LABEL            the name in /healthz, /metrics and results "
                 "(default custom)\n\n");
}

void build_print_needs(const struct build *b, FILE *out)
{
    const char *const *required = b->queries->required_indexes;
    fprintf(out, "indexes %s\n", required && required[0] ? "create" : "drop");
    if (b->jobs->schema_file)
        fprintf(out, "schema %s\n", b->jobs->schema_file);
    if (b->jobs->needs_worker)
        fprintf(out, "worker\n");
    fprintf(out, "composition");
    for (size_t i = 0; i < NSEAMS; i++)
        fprintf(out, " %s=%s", seams[i].flag, impl_name(seam_get(b, &seams[i])));
    fprintf(out, "\n");
}
