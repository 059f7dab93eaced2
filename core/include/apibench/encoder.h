/* encoder.h - response body encoding strategies. */
#ifndef APIBENCH_ENCODER_H
#define APIBENCH_ENCODER_H

#include <stdbool.h>
#include <stddef.h>

struct config;

struct encoded {
    char *body;                   /* malloc'd; the caller frees */
    size_t len;
    const char *content_encoding; /* "gzip" or NULL for identity */
    bool vary;                    /* add Vary: Accept-Encoding */
};

struct encoder_ops {
    const char *name;
    int (*init)(const struct config *cfg, char *err, size_t errlen);
    /* Encodes body (len bytes) for a client that sent accept_encoding (may be NULL).
     * Always fills out (identity copies). Returns 0, or -1 when out of memory. */
    int (*encode)(const char *accept_encoding, const char *body, size_t len, struct encoded *out);
};

extern const struct encoder_ops encoder_identity; /* 01-04 */
extern const struct encoder_ops encoder_gzip;     /* 05 on: zlib, level 6, threshold 1 KB */

/* The q-value the Accept-Encoding header gives coding ("gzip"), after "*" and
 * "identity" rules (RFC 9110 12.5.3): 0.0 when not acceptable. */
double encoding_qvalue(const char *accept_encoding, const char *coding);

#endif
