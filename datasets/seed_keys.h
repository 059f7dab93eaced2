/* seed_keys.h - the seeded users' API keys, derived from the seed so that the harness and
 * the tests can compute them without reading the database (which stores only hashes).
 *
 * The key of user u for seed s is "ak_" followed by the first 32 hex digits of
 * SHA-256("apibench-key:<s>:<u>"), both numbers in decimal. api_keys.key_hash holds
 * SHA-256 of the whole key string and api_keys.prefix its first 8 characters. */
#ifndef APIBENCH_SEED_KEYS_H
#define APIBENCH_SEED_KEYS_H

#include <stdint.h>

#define SEED_KEY_LEN 35 /* strlen("ak_") + 32 */

/* Writes user_id's key for seed into out (NUL-terminated, SEED_KEY_LEN characters).
 * Returns 0, or -1 when user_id < 1 or libcrypto fails (out is then an empty string). */
int seed_api_key(uint64_t seed, int user_id, char out[40]);

/* SHA-256 of key (a NUL-terminated string) into out: what api_keys.key_hash stores and
 * what servers compare a presented X-API-Key with. Returns 0, or -1 when libcrypto fails. */
int seed_key_hash(const char *key, unsigned char out[32]);

#endif
