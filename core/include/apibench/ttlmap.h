/* ttlmap.h - the L1 cache: an in-process map from (namespace, key) to a body, with a TTL,
 * bounded in entries (and optionally bytes), evicting the least recently used entry when
 * full.
 *
 * Thread-safe: entries are spread over 16 shards (one for maps under 256 entries), each
 * with its own mutex held only for a lookup and a copy, so HTTP worker threads rarely
 * contend. Invalidating a namespace is
 * O(1): it bumps the namespace's generation, and entries stored under an older generation
 * are misses (freed when next seen). Generations live in a fixed table indexed by a hash of
 * the namespace, so two namespaces may share a slot; that costs an occasional extra miss,
 * never a stale hit. */
#ifndef APIBENCH_TTLMAP_H
#define APIBENCH_TTLMAP_H

#include <stddef.h>
#include <stdint.h>

struct ttlmap;

/* A monotonic clock in milliseconds; arg is the pointer given to ttlmap_new. */
typedef int64_t (*ttlmap_clock)(void *arg);

/* Creates a map holding at most max_entries (at least 1 per shard) for ttl_ms each.
 * clock may be NULL for CLOCK_MONOTONIC (tests pass their own). Never returns NULL
 * (allocation failure aborts). */
struct ttlmap *ttlmap_new(size_t max_entries, int ttl_ms, ttlmap_clock clock, void *clock_arg);

/* Also bounds the memory the entries hold (keys, bodies and bookkeeping) to about
 * max_bytes, split over the shards like the entry bound; 0 removes the byte bound. A body
 * larger than a shard's share is not cached. Call before the map is shared. */
void ttlmap_set_max_bytes(struct ttlmap *m, size_t max_bytes);

/* Frees the map and every entry. Accepts NULL. Must not race with other calls. */
void ttlmap_free(struct ttlmap *m);

/* The current generation of ns. Read it before fetching the data to cache and pass it to
 * ttlmap_put, so that data read before an invalidation is never stored as fresh. */
uint64_t ttlmap_generation(struct ttlmap *m, const char *ns);

/* Returns a malloc'd copy of the body (NUL-terminated; the caller frees) with *len set,
 * or NULL on a miss (absent, expired or invalidated; such entries are freed). */
char *ttlmap_get(struct ttlmap *m, const char *ns, const char *key, size_t *len);

/* Stores a copy of body under (ns, key) for ttl_ms (<= 0: the map's TTL; capped at the
 * map's TTL), replacing any previous entry and evicting the least recently used entry of
 * the shard when it is full. Dropped when gen is no longer ns's generation. */
void ttlmap_put(struct ttlmap *m, const char *ns, const char *key, const char *body, size_t len,
                int ttl_ms, uint64_t gen);

/* Drops every entry of ns (O(1); memory is reclaimed lazily). */
void ttlmap_invalidate(struct ttlmap *m, const char *ns);

/* Drops every entry of every namespace (O(number of generation slots)). */
void ttlmap_invalidate_all(struct ttlmap *m);

/* Number of entries stored, including expired ones not yet reclaimed. */
size_t ttlmap_count(struct ttlmap *m);

/* Bytes those entries hold. */
size_t ttlmap_bytes(struct ttlmap *m);

#endif
