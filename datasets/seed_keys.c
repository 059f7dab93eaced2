/* seed_keys.c - API keys derived from the seed (see seed_keys.h). */
#include "seed_keys.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

/* SHA-256 of len bytes at data into out. Returns 0 or -1. */
static int sha256(const void *data, size_t len, unsigned char out[32])
{
    unsigned int outlen = 0;
    if (EVP_Digest(data, len, out, &outlen, EVP_sha256(), NULL) != 1 || outlen != 32)
        return -1;
    return 0;
}

int seed_api_key(uint64_t seed, int user_id, char out[40])
{
    static const char hex[] = "0123456789abcdef";
    char material[64];
    unsigned char digest[32];

    out[0] = '\0';
    if (user_id < 1)
        return -1;
    int n = snprintf(material, sizeof material, "apibench-key:%" PRIu64 ":%d", seed, user_id);
    if (n < 0 || (size_t)n >= sizeof material || sha256(material, (size_t)n, digest) != 0)
        return -1;
    memcpy(out, "ak_", 3);
    for (int i = 0; i < 16; i++) {
        out[3 + 2 * i] = hex[digest[i] >> 4];
        out[4 + 2 * i] = hex[digest[i] & 15];
    }
    out[SEED_KEY_LEN] = '\0';
    return 0;
}

int seed_key_hash(const char *key, unsigned char out[32])
{
    return sha256(key, strlen(key), out);
}
