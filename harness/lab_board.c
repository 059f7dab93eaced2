/* lab_board.c - the room's scoreboard (lab_board.h). */
#include "lab_board.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "apibench/strbuf.h"

static const char *const verdicts[] = {"pass", "not fast enough", "incorrect", "build error"};

/* A folder or lab name shown on the board: 1..64 of [A-Za-z0-9_.-], not starting with '.'
 * (which also keeps Markdown's '|' and gnuplot's quotes out). */
static bool name_ok(const char *s, size_t len)
{
    if (len == 0 || len > BOARD_NAME_MAX || s[0] == '.')
        return false;
    for (size_t i = 0; i < len; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", s[i]) ||
            s[i] == '\0')
            return false;
    return true;
}

/* A member that must be a positive finite number, or absent/null (NAN). Returns -1 for
 * anything else. */
static int optional_positive(const json_t *obj, const char *key, double *out)
{
    const json_t *v = obj ? json_object_get(obj, key) : NULL;
    *out = NAN;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_number(v))
        return -1;
    double d = json_number_value(v);
    if (!isfinite(d) || d <= 0)
        return -1;
    *out = d;
    return 0;
}

int board_read_result(const char *path, struct board_cell *cell, char *why, size_t whylen)
{
    memset(cell, 0, sizeof *cell);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, whylen, "not a readable file");
        return -1;
    }
    if (st.st_size > BOARD_MAX_FILE_BYTES) {
        snprintf(why, whylen, "%lld bytes: too large for a result", (long long)st.st_size);
        return -1;
    }
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) {
        snprintf(why, whylen, "not JSON: %s (line %d)", jerr.text, jerr.line);
        return -1;
    }
    int rc = -1;
    const char *verdict = json_string_value(json_object_get(root, "verdict"));
    size_t i;
    for (i = 0; verdict && i < sizeof verdicts / sizeof verdicts[0]; i++)
        if (strcmp(verdict, verdicts[i]) == 0)
            break;
    if (!json_is_object(root) || !verdict || i == sizeof verdicts / sizeof verdicts[0]) {
        snprintf(why, whylen, "no known verdict (want pass, not fast enough, incorrect or "
                              "build error)");
        goto done;
    }
    snprintf(cell->verdict, sizeof cell->verdict, "%s", verdict);
    const json_t *speedup = json_object_get(root, "speedup");
    if (speedup && !json_is_null(speedup) && !json_is_object(speedup)) {
        snprintf(why, whylen, "speedup is neither an object nor null");
        goto done;
    }
    if (optional_positive(speedup, "median", &cell->speedup) != 0) {
        snprintf(why, whylen, "speedup.median is not a positive number");
        goto done;
    }
    /* share_of_reference may be negative (slower than before): any finite number */
    const json_t *share = json_object_get(root, "share_of_reference");
    cell->share = json_is_number(share) && isfinite(json_number_value(share))
                      ? json_number_value(share)
                      : NAN;
    /* a build error or an incorrect build has no speed: ignore figures it may carry */
    if (strcmp(verdict, "incorrect") == 0 || strcmp(verdict, "build error") == 0)
        cell->speedup = cell->share = NAN;
    cell->present = true;
    rc = 0;
done:
    json_decref(root);
    return rc;
}

static int lab_index(struct board *b, const char *lab)
{
    for (int i = 0; i < b->nlabs; i++)
        if (strcmp(b->labs[i], lab) == 0)
            return i;
    if (b->nlabs == BOARD_MAX_LABS)
        return -1;
    snprintf(b->labs[b->nlabs], sizeof b->labs[0], "%s", lab);
    for (int i = 0; i < b->nrows; i++)
        b->rows[i].cells[b->nlabs] = (struct board_cell){0};
    return b->nlabs++;
}

static void warn_skip(struct board *b, FILE *warn, const char *path, const char *why)
{
    b->skipped++;
    if (warn)
        fprintf(warn, "apibench lab board: skipping %s: %s\n", path, why);
}

/* Reads one student's folder into a new row (none when it holds no result). */
static void load_student(struct board *b, const char *dir, const char *student, FILE *warn)
{
    struct strbuf path = {0};
    strbuf_appendf(&path, "%s/%s", dir, student);
    DIR *d = opendir(path.data);
    if (!d) {
        warn_skip(b, warn, path.data, strerror(errno));
        strbuf_free(&path);
        return;
    }
    struct board_row row = {0};
    snprintf(row.student, sizeof row.student, "%s", student);
    bool any = false;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        struct strbuf file = {0};
        strbuf_appendf(&file, "%s/%s", path.data, e->d_name);
        char lab[BOARD_NAME_MAX + 1], why[256];
        struct board_cell cell;
        if (!name_ok(e->d_name, len - 5)) {
            warn_skip(b, warn, file.data, "the lab's name is not [A-Za-z0-9_.-]{1,64}");
        } else if (board_read_result(file.data, &cell, why, sizeof why) != 0) {
            warn_skip(b, warn, file.data, why);
        } else {
            snprintf(lab, sizeof lab, "%.*s", (int)(len - 5), e->d_name);
            int li = lab_index(b, lab);
            if (li < 0) {
                warn_skip(b, warn, file.data, "more labs than the board has columns");
            } else {
                row.cells[li] = cell;
                any = true;
            }
        }
        strbuf_free(&file);
    }
    closedir(d);
    strbuf_free(&path);
    if (!any)
        return;
    b->rows = xrealloc(b->rows, (size_t)(b->nrows + 1) * sizeof *b->rows);
    b->rows[b->nrows++] = row;
}

int board_load(struct board *b, const char *dir, FILE *warn, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "cannot read %s: %s", dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        struct strbuf path = {0};
        strbuf_appendf(&path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path.data, &st) == 0 && S_ISDIR(st.st_mode)) {
            if (name_ok(e->d_name, strlen(e->d_name)))
                load_student(b, dir, e->d_name, warn);
            else
                warn_skip(b, warn, path.data, "the student's name is not [A-Za-z0-9_.-]{1,64}");
        }
        strbuf_free(&path);
    }
    closedir(d);
    board_rank(b);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static int by_rank(const void *pa, const void *pb)
{
    const struct board_row *a = pa, *b = pb;
    if (a->passed != b->passed)
        return a->passed > b->passed ? -1 : 1;
    if (a->geomean != b->geomean)
        return a->geomean > b->geomean ? -1 : 1;
    return strcmp(a->student, b->student);
}

void board_rank(struct board *b)
{
    /* labs in name order (02-indexes, 03-cache, ...), carrying every row's cells along */
    int order[BOARD_MAX_LABS];
    char sorted[BOARD_MAX_LABS][BOARD_NAME_MAX + 1];
    memcpy(sorted, b->labs, sizeof sorted);
    qsort(sorted, (size_t)b->nlabs, sizeof sorted[0], by_name);
    for (int i = 0; i < b->nlabs; i++)
        for (int j = 0; j < b->nlabs; j++)
            if (strcmp(sorted[i], b->labs[j]) == 0)
                order[i] = j;
    for (int r = 0; r < b->nrows; r++) {
        struct board_row *row = &b->rows[r];
        struct board_cell cells[BOARD_MAX_LABS];
        for (int i = 0; i < b->nlabs; i++)
            cells[i] = row->cells[order[i]];
        memcpy(row->cells, cells, sizeof cells[0] * (size_t)b->nlabs);
        double logsum = 0;
        row->passed = 0;
        for (int i = 0; i < b->nlabs; i++) {
            const struct board_cell *c = &row->cells[i];
            row->passed += c->present && strcmp(c->verdict, "pass") == 0;
            if (c->present && isfinite(c->speedup))
                logsum += log(c->speedup);
        }
        row->geomean = b->nlabs ? exp(logsum / b->nlabs) : 1;
    }
    memcpy(b->labs, sorted, sizeof sorted);
    if (b->nrows > 0) /* rows is NULL when there are none, and qsort wants a pointer */
        qsort(b->rows, (size_t)b->nrows, sizeof *b->rows, by_rank);
}

void board_write_markdown(const struct board *b, FILE *f)
{
    fprintf(f, "# Lab board\n\n"
               "Students sorted by labs passed, then by the geometric mean of their speed-ups "
               "over the previous build (a lab without a speed-up counts as 1). A cell is the "
               "median speed-up and the verdict of `apibench lab check`.\n\n");
    fprintf(f, "| # | student | passed | geo-mean |");
    for (int i = 0; i < b->nlabs; i++)
        fprintf(f, " %s |", b->labs[i]);
    fprintf(f, "\n| --: | --- | --: | --: |");
    for (int i = 0; i < b->nlabs; i++)
        fprintf(f, " --- |");
    fprintf(f, "\n");
    for (int r = 0; r < b->nrows; r++) {
        const struct board_row *row = &b->rows[r];
        fprintf(f, "| %d | %s | %d/%d | %.2f× |", r + 1, row->student, row->passed, b->nlabs,
                row->geomean);
        for (int i = 0; i < b->nlabs; i++) {
            const struct board_cell *c = &row->cells[i];
            if (!c->present)
                fprintf(f, " · |");
            else if (isfinite(c->speedup))
                fprintf(f, " %.2f× %s |", c->speedup, c->verdict);
            else
                fprintf(f, " %s |", c->verdict);
        }
        fprintf(f, "\n");
    }
    if (b->nrows == 0)
        fprintf(f, "\nNo results yet.\n");
    if (b->skipped)
        fprintf(f, "\n%d file(s) or folder(s) could not be read and were left out (see the "
                   "warnings of `apibench lab board`).\n",
                b->skipped);
}

void board_write_dat(const struct board *b, FILE *f)
{
    fprintf(f, "lab");
    for (int r = 0; r < b->nrows; r++)
        fprintf(f, " %s", b->rows[r].student);
    fprintf(f, "\n");
    for (int i = 0; i < b->nlabs; i++) {
        fprintf(f, "%s", b->labs[i]);
        for (int r = 0; r < b->nrows; r++) {
            const struct board_cell *c = &b->rows[r].cells[i];
            if (c->present && isfinite(c->speedup))
                fprintf(f, " %.6g", c->speedup);
            else
                fprintf(f, " ?");
        }
        fprintf(f, "\n");
    }
}

void board_free(struct board *b)
{
    free(b->rows);
    *b = (struct board){0};
}
