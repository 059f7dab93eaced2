/* fuzz_ingest.c - the ingest body (POST /api/devices/{id}/readings): params_ingest's JSON
 * validation, then the query sets' range check (qshape_check_row) on every parsed row, as
 * the server runs them before any SQL. */
#include "apibench/params.h"
#include "apibench/qshape.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct reading_in *rows = NULL;
    size_t nrows = 0;
    struct apierr err;
    if (params_ingest((const char *)data, size, &rows, &nrows, &err) == 0) {
        FUZZ_CHECK(nrows >= 1 && nrows <= PARAMS_MAX_ROWS);
        for (size_t i = 0; i < nrows; i++)
            if (qshape_check_row(&rows[i], i, &err) != 0)
                FUZZ_CHECK(err.status == 400);
    } else {
        FUZZ_CHECK(err.status == 400 && rows == NULL);
    }
    free(rows);
    return 0;
}
