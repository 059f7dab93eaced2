/* lab_board.h - `apibench lab board DIR`: the room's scoreboard from the results that
 * `apibench lab check` wrote (DIR/<student>/<lab>.json, workshop/RESULTS-FORMAT.md). One row
 * per student, one column per lab; rows sorted by labs passed, then by the geometric mean
 * of the speed-ups, then by name (in the spirit of the 1BRC leaderboard). A file that is not
 * a readable result is skipped with a warning: a board is never refused because one
 * student's file is damaged. */
#ifndef APIBENCH_LAB_BOARD_H
#define APIBENCH_LAB_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define BOARD_MAX_LABS 16
#define BOARD_NAME_MAX 64
#define BOARD_MAX_FILE_BYTES (1 << 20) /* a result is a few hundred bytes */

/* One student's result for one lab. */
struct board_cell {
    bool present;
    char verdict[24]; /* "pass", "not fast enough", "incorrect", "build error" */
    double speedup;   /* speedup.median; NAN when the result has none */
    double share;     /* share_of_reference; NAN when none */
};

struct board_row {
    char student[BOARD_NAME_MAX + 1];
    struct board_cell cells[BOARD_MAX_LABS];
    int passed;
    double geomean; /* over every lab of the board; a lab without a speed-up counts as 1 */
};

struct board {
    int nlabs;
    char labs[BOARD_MAX_LABS][BOARD_NAME_MAX + 1]; /* sorted by name: 02-indexes, 03-cache... */
    int nrows;
    struct board_row *rows;
    int skipped; /* files skipped with a warning */
};

/* Reads one result file into cell. Returns 0, or -1 with why filled (unreadable, too
 * large, not JSON, no known verdict, a speed-up that is not a positive finite number). */
int board_read_result(const char *path, struct board_cell *cell, char *why, size_t whylen);

/* Reads every DIR/<student>/<lab>.json into b (zeroed by the caller), warning on warn (may be
 * NULL) for each file or folder skipped; then computes the totals and sorts. Returns 0, or -1
 * with err when DIR cannot be read. Free with board_free. */
int board_load(struct board *b, const char *dir, FILE *warn, char *err, size_t errlen);

/* Totals (passed, geomean) and the order of the rows. board_load calls it. */
void board_rank(struct board *b);

/* The Markdown scoreboard. */
void board_write_markdown(const struct board *b, FILE *f);

/* The chart's data: a header line "lab <student>...", then one line per lab with each
 * student's speed-up ("?" where there is none). */
void board_write_dat(const struct board *b, FILE *f);

void board_free(struct board *b);

#endif
