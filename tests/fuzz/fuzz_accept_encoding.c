/* fuzz_accept_encoding.c - Accept-Encoding parsing (encoding_qvalue in
 * core/src/encoder_gzip.c): every q-value it returns lies in [0, 1]. */
#include "apibench/encoder.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *header = fuzz_cstr(data, size);
    static const char *const codings[] = {"gzip", "identity", "br"};
    for (size_t i = 0; i < sizeof codings / sizeof codings[0]; i++) {
        double q = encoding_qvalue(header, codings[i]);
        FUZZ_CHECK(q >= 0.0 && q <= 1.0);
    }
    free(header);
    return 0;
}
