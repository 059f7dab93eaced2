/* fuzz_mix.c - the mix file parser (harness/mix.c): mix_parse, then a few requests drawn
 * from an accepted mix, whose paths must start with '/'. */
#include "mix.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    char err[256];
    struct mix *m = mix_parse(text, "fuzz", err, sizeof err);
    if (m) {
        struct rng r;
        struct mix_request req = {0};
        rng_seed(&r, 1);
        for (int i = 0; i < 8; i++) {
            mix_next(m, &r, 1764237600000, &req);
            FUZZ_CHECK(req.path[0] == '/');
            FUZZ_CHECK(req.user >= -1 && req.user < mix_user_count(m));
        }
        strbuf_free(&req.body);
        mix_free(m);
    }
    free(text);
    return 0;
}
