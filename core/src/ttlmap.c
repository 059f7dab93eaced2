/* ttlmap.c - sharded, bounded, LRU-evicting TTL map (the L1 cache). See ttlmap.h. */
#include "apibench/ttlmap.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apibench/clock.h"
#include "apibench/strbuf.h"

#define TTLMAP_SHARDS 16      /* power of two */
#define TTLMAP_GEN_SLOTS 4096 /* power of two */

/* One cached body. ns, key and body are stored after the struct in one allocation. */
struct entry {
    struct entry *chain_next;          /* bucket chain */
    struct entry *lru_prev, *lru_next; /* shard's recency list */
    uint64_t hash;
    uint64_t gen; /* generation of its namespace slot when stored */
    uint32_t gen_slot;
    int64_t expires_ms;
    size_t ns_len, key_len, body_len;
    char data[]; /* ns NUL key NUL body NUL */
};

struct shard {
    pthread_mutex_t lock;
    struct entry **buckets;
    size_t nbuckets; /* power of two */
    size_t count, cap;
    size_t bytes, max_bytes; /* memory held by the entries; max 0: no byte bound */
    struct entry lru;        /* sentinel: lru.lru_next is the most recently used */
};

struct ttlmap {
    int ttl_ms;
    unsigned nshards; /* 1 or TTLMAP_SHARDS */
    ttlmap_clock clock;
    void *clock_arg;
    _Atomic uint64_t gens[TTLMAP_GEN_SLOTS];
    struct shard shards[TTLMAP_SHARDS];
};

static int64_t monotonic_ms(void *arg)
{
    (void)arg;
    return clock_mono_ms();
}

/* FNV-1a over s, continuing from h. */
static uint64_t fnv1a(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

#define FNV_OFFSET 0xcbf29ce484222325ULL

static uint32_t gen_slot_of(const char *ns)
{
    return (uint32_t)(fnv1a(FNV_OFFSET, ns, strlen(ns)) & (TTLMAP_GEN_SLOTS - 1));
}

static uint64_t hash_of(const char *ns, size_t ns_len, const char *key, size_t key_len)
{
    uint64_t h = fnv1a(FNV_OFFSET, ns, ns_len);
    h = fnv1a(h, "", 1); /* separator, so ("a","bc") and ("ab","c") differ */
    h = fnv1a(h, key, key_len);
    /* final mix so that low (bucket) and high (shard) bits are both well spread */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static struct shard *shard_of(struct ttlmap *m, uint64_t hash)
{
    return &m->shards[(hash >> 59) & (m->nshards - 1)];
}

static size_t pow2_at_least(size_t n)
{
    size_t p = 8;
    while (p < n)
        p *= 2;
    return p;
}

struct ttlmap *ttlmap_new(size_t max_entries, int ttl_ms, ttlmap_clock clock, void *clock_arg)
{
    struct ttlmap *m = xcalloc(1, sizeof *m);
    m->ttl_ms = ttl_ms > 0 ? ttl_ms : 1;
    m->clock = clock ? clock : monotonic_ms;
    m->clock_arg = clock_arg;
    for (size_t i = 0; i < TTLMAP_GEN_SLOTS; i++)
        atomic_init(&m->gens[i], 1);
    /* Small maps use one shard, so that the bound and the LRU order are exact; larger ones
     * split the bound over the shards (rounding up: the total is >= max_entries) and evict
     * the least recently used entry of the shard being filled. */
    m->nshards = max_entries >= 16 * TTLMAP_SHARDS ? TTLMAP_SHARDS : 1;
    size_t per_shard = (max_entries + m->nshards - 1) / m->nshards;
    if (per_shard == 0)
        per_shard = 1;
    for (size_t i = 0; i < m->nshards; i++) {
        struct shard *s = &m->shards[i];
        pthread_mutex_init(&s->lock, NULL);
        s->cap = per_shard;
        s->nbuckets = pow2_at_least(per_shard + per_shard / 2);
        s->buckets = xcalloc(s->nbuckets, sizeof *s->buckets);
        s->lru.lru_next = s->lru.lru_prev = &s->lru;
    }
    return m;
}

void ttlmap_free(struct ttlmap *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nshards; i++) {
        struct shard *s = &m->shards[i];
        struct entry *e = s->lru.lru_next;
        while (e != &s->lru) {
            struct entry *next = e->lru_next;
            free(e);
            e = next;
        }
        free(s->buckets);
        pthread_mutex_destroy(&s->lock);
    }
    free(m);
}

uint64_t ttlmap_generation(struct ttlmap *m, const char *ns)
{
    return atomic_load_explicit(&m->gens[gen_slot_of(ns)], memory_order_acquire);
}

void ttlmap_invalidate(struct ttlmap *m, const char *ns)
{
    atomic_fetch_add_explicit(&m->gens[gen_slot_of(ns)], 1, memory_order_acq_rel);
}

void ttlmap_invalidate_all(struct ttlmap *m)
{
    for (size_t i = 0; i < TTLMAP_GEN_SLOTS; i++)
        atomic_fetch_add_explicit(&m->gens[i], 1, memory_order_acq_rel);
}

/* --- shard internals; the caller holds s->lock */

static void lru_unlink(struct entry *e)
{
    e->lru_prev->lru_next = e->lru_next;
    e->lru_next->lru_prev = e->lru_prev;
}

static void lru_push_front(struct shard *s, struct entry *e)
{
    e->lru_prev = &s->lru;
    e->lru_next = s->lru.lru_next;
    s->lru.lru_next->lru_prev = e;
    s->lru.lru_next = e;
}

/* Finds (ns, key), or NULL. */
static struct entry *shard_find(struct shard *s, uint64_t hash, const char *ns, size_t ns_len,
                                const char *key, size_t key_len)
{
    struct entry **p = &s->buckets[hash & (s->nbuckets - 1)];
    for (; *p; p = &(*p)->chain_next) {
        struct entry *e = *p;
        if (e->hash == hash && e->ns_len == ns_len && e->key_len == key_len &&
            memcmp(e->data, ns, ns_len) == 0 && memcmp(e->data + ns_len + 1, key, key_len) == 0) {
            return e;
        }
    }
    return NULL;
}

static size_t entry_size(const struct entry *e)
{
    return sizeof *e + e->ns_len + e->key_len + e->body_len + 3;
}

/* Unlinks e from its chain and the recency list; the caller frees it after unlocking. */
static void shard_remove(struct shard *s, struct entry *e)
{
    struct entry **p = &s->buckets[e->hash & (s->nbuckets - 1)];
    while (*p != e)
        p = &(*p)->chain_next;
    *p = e->chain_next;
    lru_unlink(e);
    s->count--;
    s->bytes -= entry_size(e);
}

static bool entry_fresh(struct ttlmap *m, const struct entry *e, int64_t now)
{
    return e->expires_ms > now &&
           e->gen == atomic_load_explicit(&m->gens[e->gen_slot], memory_order_acquire);
}

char *ttlmap_get(struct ttlmap *m, const char *ns, const char *key, size_t *len)
{
    size_t ns_len = strlen(ns), key_len = strlen(key);
    uint64_t hash = hash_of(ns, ns_len, key, key_len);
    struct shard *s = shard_of(m, hash);
    int64_t now = m->clock(m->clock_arg);
    struct entry *dead = NULL;
    char *copy = NULL;

    pthread_mutex_lock(&s->lock);
    struct entry *e = shard_find(s, hash, ns, ns_len, key, key_len);
    if (e && !entry_fresh(m, e, now)) {
        shard_remove(s, e);
        dead = e;
    } else if (e) {
        lru_unlink(e);
        lru_push_front(s, e);
        copy = xmalloc(e->body_len + 1);
        memcpy(copy, e->data + ns_len + 1 + key_len + 1, e->body_len + 1);
        if (len)
            *len = e->body_len;
    }
    pthread_mutex_unlock(&s->lock);
    free(dead);
    return copy;
}

void ttlmap_put(struct ttlmap *m, const char *ns, const char *key, const char *body, size_t len,
                int ttl_ms, uint64_t gen)
{
    uint32_t slot = gen_slot_of(ns);
    if (gen != atomic_load_explicit(&m->gens[slot], memory_order_acquire))
        return; /* the data predates an invalidation of ns */
    if (ttl_ms <= 0 || ttl_ms > m->ttl_ms)
        ttl_ms = m->ttl_ms;

    /* build the entry before taking the lock */
    size_t ns_len = strlen(ns), key_len = strlen(key);
    struct entry *e = xmalloc(sizeof *e + ns_len + 1 + key_len + 1 + len + 1);
    e->hash = hash_of(ns, ns_len, key, key_len);
    e->gen = gen;
    e->gen_slot = slot;
    e->expires_ms = m->clock(m->clock_arg) + ttl_ms;
    e->ns_len = ns_len;
    e->key_len = key_len;
    e->body_len = len;
    char *p = e->data;
    memcpy(p, ns, ns_len + 1);
    p += ns_len + 1;
    memcpy(p, key, key_len + 1);
    p += key_len + 1;
    if (len)
        memcpy(p, body, len);
    p[len] = '\0';

    struct shard *s = shard_of(m, e->hash);
    size_t size = entry_size(e);
    struct entry *dead = NULL; /* removed entries, chained through chain_next */
    pthread_mutex_lock(&s->lock);
    struct entry *old = shard_find(s, e->hash, ns, ns_len, key, key_len);
    if (old) {
        shard_remove(s, old);
        old->chain_next = dead;
        dead = old;
    }
    if (s->max_bytes && size > s->max_bytes) {
        /* larger than the shard's whole budget: not cached (the old value is gone too) */
        e->chain_next = dead;
        dead = e;
        e = NULL;
    }
    /* evict least recently used entries until it fits in count and bytes */
    while (e && s->count > 0 &&
           (s->count >= s->cap || (s->max_bytes && s->bytes + size > s->max_bytes))) {
        struct entry *victim = s->lru.lru_prev;
        shard_remove(s, victim);
        victim->chain_next = dead;
        dead = victim;
    }
    if (e) {
        struct entry **head = &s->buckets[e->hash & (s->nbuckets - 1)];
        e->chain_next = *head;
        *head = e;
        lru_push_front(s, e);
        s->count++;
        s->bytes += size;
    }
    pthread_mutex_unlock(&s->lock);
    while (dead) {
        struct entry *next = dead->chain_next;
        free(dead);
        dead = next;
    }
}

void ttlmap_set_max_bytes(struct ttlmap *m, size_t max_bytes)
{
    for (size_t i = 0; i < m->nshards; i++)
        m->shards[i].max_bytes = max_bytes ? (max_bytes + m->nshards - 1) / m->nshards : 0;
}

size_t ttlmap_bytes(struct ttlmap *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nshards; i++) {
        pthread_mutex_lock(&m->shards[i].lock);
        n += m->shards[i].bytes;
        pthread_mutex_unlock(&m->shards[i].lock);
    }
    return n;
}

size_t ttlmap_count(struct ttlmap *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nshards; i++) {
        pthread_mutex_lock(&m->shards[i].lock);
        n += m->shards[i].count;
        pthread_mutex_unlock(&m->shards[i].lock);
    }
    return n;
}
