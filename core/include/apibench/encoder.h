/* encoder.h - response body encoding strategies.
 *
 * Builds that cache (03 on) compress a cacheable body once, when its cache entry is filled
 * (precompress), and answer every later request from the stored forms (encode_entry), so no
 * cached response is compressed again. Uncached routes, and builds without a cache, go
 * through encode, which compresses per response. */
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
    /* Makes the encoded form a cache entry keeps beside body: *gzip is set to a malloc'd gzip
     * encoding (the caller frees), or to NULL when this encoder would never send one
     * (identity, or a body below the threshold). Returns 0, or -1 when out of memory. */
    int (*precompress)(const char *body, size_t len, char **gzip, size_t *gzip_len);
    /* Like encode, but where encode would compress it sends gzip (body's encoding from
     * precompress, not NULL) instead: never compresses. Always fills out with a new buffer.
     * Returns 0, or -1 when out of memory. */
    int (*encode_entry)(const char *accept_encoding, const char *body, size_t len, const char *gzip,
                        size_t gzip_len, struct encoded *out);
};

extern const struct encoder_ops encoder_identity; /* 01-04 */
extern const struct encoder_ops encoder_gzip;     /* 05 on: zlib, level 6, threshold 1 KB */

/* The q-value the Accept-Encoding header gives coding ("gzip"), after "*" and
 * "identity" rules (RFC 9110 12.5.3): 0.0 when not acceptable. */
double encoding_qvalue(const char *accept_encoding, const char *coding);

/* Decodes one gzip member (gz, gzlen) into a malloc'd, NUL-terminated buffer (the caller
 * frees) of *len bytes, at most max_len. Returns NULL when gz is not valid gzip or decodes
 * to more than max_len. */
char *gzip_decode(const char *gz, size_t gzlen, size_t max_len, size_t *len);

#endif
