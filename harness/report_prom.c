/* report_prom.c - a small reader of the Prometheus text exposition format: one sample per
 * line, `name{label="value",...} number [timestamp]`, comments starting with '#'. */
#include "report_prom.h"

#include <stdlib.h>
#include <string.h>

#define PROM_MAX_LABELS 16
#define PROM_MAX_TEXT 256

struct prom_label {
    char key[PROM_MAX_TEXT];
    char value[PROM_MAX_TEXT];
};

struct prom_sample {
    char name[PROM_MAX_TEXT];
    struct prom_label labels[PROM_MAX_LABELS];
    int nlabels;
    double value;
};

/* Parses a label set `k="v",k2="v2"` starting at *p (just after '{') up to the closing
 * brace, into labels. Advances *p past the brace. Returns the count, or -1 when malformed. */
static int parse_labels(const char **p, struct prom_label *labels, int max)
{
    const char *s = *p;
    int n = 0;

    while (*s == ' ')
        s++;
    while (*s && *s != '}') {
        size_t k = 0, v = 0;
        if (n == max)
            return -1;
        while (*s && *s != '=' && *s != '}' && k + 1 < PROM_MAX_TEXT)
            labels[n].key[k++] = *s++;
        labels[n].key[k] = '\0';
        if (*s != '=' || s[1] != '"')
            return -1;
        s += 2;
        while (*s && *s != '"') {
            if (*s == '\\' && s[1])
                s++; /* \" \\ \n: keep the escaped character */
            if (v + 1 < PROM_MAX_TEXT)
                labels[n].value[v++] = *s;
            s++;
        }
        labels[n].value[v] = '\0';
        if (*s != '"')
            return -1;
        s++;
        n++;
        while (*s == ',' || *s == ' ')
            s++;
    }
    if (*s != '}')
        return -1;
    *p = s + 1;
    return n;
}

/* Parses one line (NUL-terminated, no newline) into out. Returns false for comments,
 * blank and malformed lines. */
static bool parse_line(const char *line, struct prom_sample *out)
{
    const char *s = line;
    size_t n = 0;
    char *end;

    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '#' || *s == '\0')
        return false;
    while (*s && *s != '{' && *s != ' ' && *s != '\t' && n + 1 < PROM_MAX_TEXT)
        out->name[n++] = *s++;
    out->name[n] = '\0';
    out->nlabels = 0;
    if (*s == '{') {
        s++;
        out->nlabels = parse_labels(&s, out->labels, PROM_MAX_LABELS);
        if (out->nlabels < 0)
            return false;
    }
    while (*s == ' ' || *s == '\t')
        s++;
    out->value = strtod(s, &end);
    return end != s;
}

static const char *label_value(const struct prom_sample *smp, const char *key)
{
    for (int i = 0; i < smp->nlabels; i++)
        if (strcmp(smp->labels[i].key, key) == 0)
            return smp->labels[i].value;
    return NULL;
}

/* Calls fn(sample, arg) for every sample line of text named name. */
static void each_sample(const char *text, const char *name,
                        void (*fn)(const struct prom_sample *, void *), void *arg)
{
    const char *line = text;
    struct prom_sample *smp = malloc(sizeof *smp);
    char buf[2048];

    if (smp == NULL)
        return;
    while (line && *line) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (len < sizeof buf) {
            memcpy(buf, line, len);
            buf[len] = '\0';
            if (parse_line(buf, smp) && strcmp(smp->name, name) == 0)
                fn(smp, arg);
        }
        line = nl ? nl + 1 : NULL;
    }
    free(smp);
}

struct sum_ctx {
    struct prom_label want[PROM_MAX_LABELS];
    int nwant;
    const char *exclude_label;
    const char *const *exclude_values;
    double sum;
    int matched;
};

static void add_if_matching(const struct prom_sample *smp, void *arg)
{
    struct sum_ctx *ctx = arg;

    for (int i = 0; i < ctx->nwant; i++) {
        const char *v = label_value(smp, ctx->want[i].key);
        if (v == NULL || strcmp(v, ctx->want[i].value) != 0)
            return;
    }
    if (ctx->exclude_label) {
        const char *v = label_value(smp, ctx->exclude_label);
        for (const char *const *x = ctx->exclude_values; v && x && *x; x++)
            if (strcmp(v, *x) == 0)
                return;
    }
    ctx->sum += smp->value;
    ctx->matched++;
}

int report_prom_sum(const char *text, const char *name, const char *want, double *sum)
{
    struct sum_ctx ctx = {0};

    *sum = 0;
    if (text == NULL)
        return 0;
    if (want && *want) {
        char braced[1024];
        const char *p = braced;
        size_t n = strlen(want);
        if (n + 2 > sizeof braced)
            return 0;
        memcpy(braced, want, n);
        braced[n] = '}';
        braced[n + 1] = '\0';
        ctx.nwant = parse_labels(&p, ctx.want, PROM_MAX_LABELS);
        if (ctx.nwant < 0)
            return 0;
    }
    each_sample(text, name, add_if_matching, &ctx);
    *sum = ctx.sum;
    return ctx.matched;
}

int report_prom_sum_except(const char *text, const char *name, const char *exclude_label,
                           const char *const *exclude_values, double *sum)
{
    struct sum_ctx ctx = {0};

    *sum = 0;
    if (text == NULL)
        return 0;
    ctx.exclude_label = exclude_label;
    ctx.exclude_values = exclude_values;
    each_sample(text, name, add_if_matching, &ctx);
    *sum = ctx.sum;
    return ctx.matched;
}
