/* encoder_identity.c - the identity encoding of builds 01-04: the body is sent as
 * rendered. Byte counters (before/after encoding) are the handler's job, not this one's. */
#include "apibench/encoder.h"

#include <string.h>

#include "apibench/strbuf.h"

static int identity_init(const struct config *cfg, char *err, size_t errlen)
{
    (void)cfg;
    (void)err;
    (void)errlen;
    return 0;
}

static int identity_encode(const char *accept_encoding, const char *body, size_t len,
                           struct encoded *out)
{
    (void)accept_encoding;
    out->body = xmalloc(len + 1);
    if (len)
        memcpy(out->body, body, len);
    out->body[len] = '\0';
    out->len = len;
    out->content_encoding = NULL;
    out->vary = false;
    return 0;
}

/* Nothing to keep beside a body: identity builds never pay for a gzip they never send. */
static int identity_precompress(const char *body, size_t len, char **gzip, size_t *gzip_len)
{
    (void)body;
    (void)len;
    *gzip = NULL;
    *gzip_len = 0;
    return 0;
}

static int identity_encode_entry(const char *accept_encoding, const char *body, size_t len,
                                 const char *gzip, size_t gzip_len, struct encoded *out)
{
    (void)gzip;
    (void)gzip_len;
    return identity_encode(accept_encoding, body, len, out);
}

const struct encoder_ops encoder_identity = {
    .name = "identity",
    .init = identity_init,
    .encode = identity_encode,
    .precompress = identity_precompress,
    .encode_entry = identity_encode_entry,
};
