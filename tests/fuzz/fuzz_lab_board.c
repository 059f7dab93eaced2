/* fuzz_lab_board.c - the results reader of `apibench lab board` (harness/lab_board.c). The
 * input is one student's result file, DIR/s/02-indexes.json; the board is loaded, ranked
 * and rendered (Markdown and the chart's data). A result is read or skipped, never more. */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lab_board.h"

#include "fuzz.h"

static char dir[64], file[128];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/apibench-fuzz-board.XXXXXX");
        if (!mkdtemp(dir))
            abort();
        char sub[128];
        snprintf(sub, sizeof sub, "%s/s", dir);
        mkdir(sub, 0700);
        snprintf(file, sizeof file, "%s/02-indexes.json", sub);
    }
    FILE *f = fopen(file, "w");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
    struct board b = {0};
    char err[256];
    FUZZ_CHECK(board_load(&b, dir, NULL, err, sizeof err) == 0);
    FUZZ_CHECK(b.nrows + b.skipped == 1); /* one file: one row, or one warning */
    FILE *out = fopen("/dev/null", "w");
    if (!out)
        abort();
    board_write_markdown(&b, out);
    board_write_dat(&b, out);
    fclose(out);
    board_free(&b);
    return 0;
}
