/* solution.c - lab 05-gzip: the response encoder of apibench-lab-05.
 *
 * It starts as 04-pool's encoder_identity: bodies go out as they are. Send gzip to
 * clients that accept it (encoding_qvalue in encoder.h reads Accept-Encoding), with
 * Vary: Accept-Encoding, and compress a cached body once, when its entry is filled
 * (precompress), not on every hit. zlib's deflateInit2 with windowBits 15 + 16 writes gzip. */
#include "lab.h"

static int lab_init(const struct config *cfg, char *err, size_t errlen)
{
    return encoder_identity.init(cfg, err, errlen);
}

static int lab_encode(const char *accept_encoding, const char *body, size_t len,
                      struct encoded *out)
{
    /* TODO: gzip when the client accepts it (and the body is worth it). */
    return encoder_identity.encode(accept_encoding, body, len, out);
}

static int lab_precompress(const char *body, size_t len, char **gzip, size_t *gzip_len)
{
    /* TODO: the gzip form a cache entry keeps. */
    return encoder_identity.precompress(body, len, gzip, gzip_len);
}

static int lab_encode_entry(const char *accept_encoding, const char *body, size_t len,
                            const char *gzip, size_t gzip_len, struct encoded *out)
{
    /* TODO: send the stored gzip form instead of compressing again. */
    return encoder_identity.encode_entry(accept_encoding, body, len, gzip, gzip_len, out);
}

const struct encoder_ops lab_encoder = {
    .name = "lab",
    .init = lab_init,
    .encode = lab_encode,
    .precompress = lab_precompress,
    .encode_entry = lab_encode_entry,
};
