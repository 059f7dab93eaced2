/* fuzz_params.c - query parameters and path ids (core/src/params.c): params_int for
 * limit/hours and params_id for device and job ids. The first input byte picks the range,
 * the rest is the parameter's text. An accepted value must lie in its range. */
#include "apibench/params.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *text = fuzz_cstr(data + 1, size - 1);
    struct apierr err;
    int v;
    int64_t id;
    switch (data[0] % 4) {
    case 0:
        if (params_int("limit", text, 1, PARAMS_LIMIT_MAX, PARAMS_LIMIT_DEFAULT, &v, &err) == 0)
            FUZZ_CHECK(v >= 1 && v <= PARAMS_LIMIT_MAX);
        else
            FUZZ_CHECK(err.status == 400);
        break;
    case 1:
        if (params_int("hours", text, 1, PARAMS_HOURS_MAX, PARAMS_HOURS_DEFAULT, &v, &err) == 0)
            FUZZ_CHECK(v >= 1 && v <= PARAMS_HOURS_MAX);
        break;
    case 2:
        if (params_id("device", text, INT32_MAX, &id, &err) == 0)
            FUZZ_CHECK(id >= 1 && id <= INT32_MAX);
        else
            FUZZ_CHECK(err.status == 400);
        break;
    default:
        if (params_id("job", text, INT64_MAX, &id, &err) == 0)
            FUZZ_CHECK(id >= 1);
        break;
    }
    free(text);
    return 0;
}
