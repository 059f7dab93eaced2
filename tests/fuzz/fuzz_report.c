/* fuzz_report.c - the report request (POST /api/reports): params_report. An accepted
 * request has a known kind, an id and hours in range, and an e-mail address free of the
 * characters that could end or extend an SMTP envelope line. */
#include "apibench/params.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct report_request rr;
    json_t *root = NULL;
    struct apierr err;
    if (params_report((const char *)data, size, &rr, &root, &err) == 0) {
        FUZZ_CHECK(strcmp(rr.kind, "device") == 0 || strcmp(rr.kind, "site") == 0);
        FUZZ_CHECK(rr.target_id >= 1 && rr.hours >= 1 && rr.hours <= PARAMS_HOURS_MAX);
        FUZZ_CHECK(strpbrk(rr.email, "\r\n<>") == NULL);
        json_decref(root);
    } else {
        FUZZ_CHECK(err.status == 400 && root == NULL);
    }
    return 0;
}
