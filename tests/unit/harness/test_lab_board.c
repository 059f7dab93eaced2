/* test_lab_board.c - the room's scoreboard: the three fixture result sets of
 * tests/data/lab_results (reference, scaffold, partial) ranked and rendered; damaged files
 * skipped with a warning; every truncation and many byte flips of a real result read
 * without a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lab_board.h"

#define FIXTURES APIBENCH_SOURCE_DIR "/tests/data/lab_results"

static char *render(const struct board *b)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    board_write_markdown(b, f);
    fclose(f);
    return text;
}

static void test_fixture_board(void **state)
{
    (void)state;
    struct board b = {0};
    char err[256];
    assert_int_equal(board_load(&b, FIXTURES, stderr, err, sizeof err), 0);
    assert_int_equal(b.skipped, 0);
    assert_int_equal(b.nlabs, 5);
    assert_string_equal(b.labs[0], "02-indexes");
    assert_string_equal(b.labs[4], "06-async");
    assert_int_equal(b.nrows, 3);
    /* sorted by labs passed: reference 5, partial 2, scaffold 0 */
    assert_string_equal(b.rows[0].student, "reference");
    assert_int_equal(b.rows[0].passed, 5);
    assert_string_equal(b.rows[1].student, "partial");
    assert_int_equal(b.rows[1].passed, 2);
    assert_string_equal(b.rows[2].student, "scaffold");
    assert_int_equal(b.rows[2].passed, 0);
    /* partial: 812.4/4.2, 9.8/1.9 and 4.1/3.9 as written; gzip incorrect and async absent
     * count as 1 */
    double expect = exp((log(193.429) + log(5.158) + log(1.051)) / 5);
    assert_true(fabs(b.rows[1].geomean - expect) < 0.01);
    assert_false(b.rows[1].cells[4].present);
    assert_string_equal(b.rows[1].cells[3].verdict, "incorrect");
    assert_true(isnan(b.rows[1].cells[3].speedup));

    char *md = render(&b);
    assert_non_null(strstr(md, "| # | student | passed | geo-mean | 02-indexes | 03-cache | "
                               "04-pool | 05-gzip | 06-async |"));
    assert_non_null(strstr(md, "| 1 | reference | 5/5 |"));
    assert_non_null(strstr(md, "| 2 | partial | 2/5 |"));
    assert_non_null(strstr(md, "| 3 | scaffold | 0/5 |"));
    assert_non_null(strstr(md, " 193.43× pass | 5.16× pass | 1.05× not fast enough | incorrect | · |"));
    assert_null(strstr(md, "could not be read"));
    free(md);

    char *dat = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&dat, &len);
    board_write_dat(&b, f);
    fclose(f);
    assert_non_null(strstr(dat, "lab reference partial scaffold\n02-indexes 270.8 193.429 "));
    assert_non_null(strstr(dat, "\n06-async 68.571 ? "));
    free(dat);
    board_free(&b);
}

static void test_ties_break_on_geomean_then_name(void **state)
{
    (void)state;
    struct board b = {.nlabs = 2};
    strcpy(b.labs[0], "03-cache");
    strcpy(b.labs[1], "02-indexes");
    b.nrows = 3;
    b.rows = calloc(3, sizeof *b.rows);
    const char *names[] = {"zed", "amy", "bob"};
    double speed[] = {4.0, 2.0, 2.0};
    for (int i = 0; i < 3; i++) {
        strcpy(b.rows[i].student, names[i]);
        b.rows[i].cells[0] = (struct board_cell){true, "pass", speed[i], 1.0};
        b.rows[i].cells[1] = (struct board_cell){true, "not fast enough", 1.0, 0.0};
    }
    board_rank(&b);
    assert_string_equal(b.labs[0], "02-indexes"); /* columns in lab order */
    assert_string_equal(b.rows[0].student, "zed");
    assert_string_equal(b.rows[1].student, "amy");
    assert_string_equal(b.rows[2].student, "bob");
    assert_string_equal(b.rows[0].cells[1].verdict, "pass"); /* cells moved with columns */
    assert_true(fabs(b.rows[0].geomean - 2.0) < 1e-9);
    board_free(&b);
}

static void put(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_damaged_files_are_skipped(void **state)
{
    (void)state;
    char dir[] = "/tmp/apibench-test-board-XXXXXX", sub[600], cmd[700];
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof sub, "%s/ann", dir);
    mkdir(sub, 0700);
    put(sub, "02-indexes.json", "{\"verdict\":\"pass\",\"speedup\":{\"median\":3.5}}");
    put(sub, "03-cache.json", "{\"verdict\":\"pass\",\"speedup\":{\"med");      /* truncated */
    put(sub, "04-pool.json", "");                                             /* empty */
    put(sub, "05-gzip.json", "{\"verdict\":\"great\"}");                      /* unknown */
    put(sub, "06-async.json", "{\"verdict\":\"pass\",\"speedup\":{\"median\":-2}}");
    put(sub, "07-x.json", "[1,2,3]");                                          /* not an object */
    put(sub, "08-y.json", "{\"verdict\":\"pass\",\"speedup\":\"fast\"}");
    put(sub, "09-z.json", "{\"verdict\":7}");
    put(sub, "a|b.json", "{\"verdict\":\"pass\"}");            /* would break the table */
    put(sub, "notes.txt", "not a result, not a warning");
    snprintf(sub, sizeof sub, "%s/ann/10-dir.json", dir);
    mkdir(sub, 0700);                                          /* a folder named .json */
    snprintf(sub, sizeof sub, "%s/b|d", dir);
    mkdir(sub, 0700);                                          /* a student name with '|' */
    put(sub, "02-indexes.json", "{\"verdict\":\"pass\"}");
    snprintf(sub, sizeof sub, "%s/empty", dir);
    mkdir(sub, 0700);                                          /* no results: no row */
    put(dir, "loose.json", "{\"verdict\":\"pass\"}");           /* not in a student folder */

    struct board b = {0};
    char err[256];
    FILE *warn = tmpfile();
    assert_int_equal(board_load(&b, dir, warn, err, sizeof err), 0);
    assert_int_equal(b.nrows, 1);
    assert_string_equal(b.rows[0].student, "ann");
    assert_int_equal(b.nlabs, 1);
    assert_true(fabs(b.rows[0].cells[0].speedup - 3.5) < 1e-9);
    assert_int_equal(b.skipped, 10);
    rewind(warn);
    char line[512];
    int lines = 0;
    bool saw_truncated = false;
    while (fgets(line, sizeof line, warn)) {
        lines++;
        assert_non_null(strstr(line, "apibench lab board: skipping "));
        saw_truncated |= strstr(line, "03-cache.json: not JSON") != NULL;
    }
    fclose(warn);
    assert_int_equal(lines, 10);
    assert_true(saw_truncated);
    char *md = render(&b);
    assert_non_null(strstr(md, "10 file(s) or folder(s) could not be read"));
    assert_null(strstr(md, "a|b"));
    free(md);
    board_free(&b);

    assert_int_equal(board_load(&b, "/nonexistent/room", NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot read /nonexistent/room"));
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_empty_room(void **state)
{
    (void)state;
    char dir[] = "/tmp/apibench-test-board-XXXXXX", err[256];
    assert_non_null(mkdtemp(dir));
    struct board b = {0};
    assert_int_equal(board_load(&b, dir, NULL, err, sizeof err), 0);
    assert_int_equal(b.nrows, 0);
    assert_int_equal(b.nlabs, 0);
    char *md = render(&b);
    assert_non_null(strstr(md, "No results yet."));
    free(md);
    board_free(&b);
    rmdir(dir);
}

/* Every prefix of a real result, and 1000 results with a few bytes changed: each is read
 * or refused, never a crash (ASan builds check for more). */
static void test_mangled_results_never_crash(void **state)
{
    (void)state;
    FILE *f = fopen(FIXTURES "/partial/04-pool.json", "r");
    assert_non_null(f);
    char text[8192];
    size_t n = fread(text, 1, sizeof text, f);
    fclose(f);
    assert_true(n > 100 && n < sizeof text);
    char path[] = "/tmp/apibench-test-result-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    struct board_cell cell;
    char why[256];
    int read_ok = 0;
    uint64_t x = 88172645463325252ULL;
    for (size_t i = 0; i < n + 1000; i++) {
        char buf[8192];
        size_t len = n;
        memcpy(buf, text, n);
        if (i < n) {
            len = i;
        } else {
            for (int k = 0; k < 3; k++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                buf[x % n] = (char)(x >> 32);
            }
        }
        f = fopen(path, "w");
        fwrite(buf, 1, len, f);
        fclose(f);
        int rc = board_read_result(path, &cell, why, sizeof why);
        assert_true(rc == 0 || rc == -1);
        if (rc == 0) {
            read_ok++;
            assert_true(cell.present);
            assert_true(isnan(cell.speedup) || (isfinite(cell.speedup) && cell.speedup > 0));
        }
    }
    assert_true(read_ok >= 1); /* the whole file at least, from the flips' unchanged cases */
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_board),
        cmocka_unit_test(test_ties_break_on_geomean_then_name),
        cmocka_unit_test(test_damaged_files_are_skipped),
        cmocka_unit_test(test_empty_room),
        cmocka_unit_test(test_mangled_results_never_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
