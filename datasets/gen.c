/* gen.c - synthetic rows as a pure function of (seed, scale); see gen.h.
 *
 * Randomness comes from splitmix64: every entity (site, device, user) has its own stream,
 * keyed by a hash of (seed, kind, id), so a row never depends on the rows generated
 * before it. A device's reading times come from one stream indexed by the reading's number
 * (so its last reading time is known without generating the others) and its sensor values
 * from a second, sequential stream. Readings of all devices are merged by time with a heap,
 * which fixes their ids. */
#include "gen.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apibench/strbuf.h"
#include "seed_keys.h"

#define DAY_MS (86400LL * 1000)
#define HOUR_MS (3600LL * 1000)
#define TWO_PI 6.283185307179586

/* ---- randomness */

enum stream_kind { K_SITE = 1, K_DEVICE, K_TIMES, K_VALUES, K_USER, K_ACCESS, K_SILENT };

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The starting state of the stream of one entity. */
static uint64_t stream_key(uint64_t seed, enum stream_kind kind, uint64_t id)
{
    return mix64(mix64(seed ^ ((uint64_t)kind << 56)) ^ id);
}

struct rng {
    uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
    r->s += 0x9e3779b97f4a7c15ULL;
    uint64_t z = r->s;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double unit(uint64_t x)
{
    return (double)(x >> 11) * 0x1.0p-53;
}

static double uniform(struct rng *r, double lo, double hi)
{
    return lo + (hi - lo) * unit(rng_next(r));
}

/* Standard normal by Box-Muller (for per-entity parameters). */
static double normal(struct rng *r)
{
    double u1 = unit(rng_next(r)), u2 = unit(rng_next(r));
    return sqrt(-2.0 * log(1.0 - u1)) * cos(TWO_PI * u2);
}

/* Roughly normal, mean 0, variance 1, bounded by +-3.5 (sum of four uniforms): cheap noise
 * for every reading. */
static double noise(struct rng *r)
{
    double s = unit(rng_next(r)) + unit(rng_next(r)) + unit(rng_next(r)) + unit(rng_next(r));
    return (s - 2.0) * 1.7320508075688772;
}

/* ---- static vocabularies */

struct region {
    const char *name, *timezone, *city;
    double outdoor_mean; /* degC */
};

static const struct region regions[] = {
    {"eu-west", "Europe/Dublin", "Dublin", 10.0},
    {"eu-central", "Europe/Berlin", "Berlin", 9.5},
    {"eu-north", "Europe/Stockholm", "Stockholm", 4.0},
    {"us-east", "America/New_York", "Newark", 13.0},
    {"us-west", "America/Los_Angeles", "Oakland", 16.0},
    {"sa-east", "America/Sao_Paulo", "Campinas", 21.0},
    {"ap-south", "Asia/Kolkata", "Pune", 26.0},
    {"ap-northeast", "Asia/Tokyo", "Yokohama", 15.0},
    {"me-central", "Asia/Dubai", "Dubai", 28.0},
    {"af-south", "Africa/Johannesburg", "Midrand", 17.0},
};
#define NREGIONS (sizeof regions / sizeof regions[0])

static const char *const site_kinds[] = {"Warehouse",  "Plant", "Office",
                                         "Greenhouse", "Depot", "Lab"};
#define NKINDS (sizeof site_kinds / sizeof site_kinds[0])

struct model {
    const char *name;
    bool indoor;
};

static const struct model models[] = {
    {"TH-100", true}, {"TH-210", true}, {"AQ-7", true}, {"ENV-3", false}, {"WX-500", false},
};

static const char *const firmwares[] = {"1.2.0", "1.4.2", "1.4.3", "2.0.1", "2.1.0"};
#define NFIRMWARES (sizeof firmwares / sizeof firmwares[0])

/* Users see a share num/den of the sites (at least one), chosen per seed. */
static const struct {
    const char *email, *name;
    int num, den;
} users[GEN_USERS] = {
    {"admin@apibench.test", "Ada Admin", 1, 1},
    {"manager@apibench.test", "Max Manager", 2, 3},
    {"engineer@apibench.test", "Erin Engineer", 1, 2},
    {"technician@apibench.test", "Theo Technician", 1, 4},
    {"auditor@apibench.test", "Aud Auditor", 1, 10},
};

static const char *const table_names[GEN_NTABLES] = {"sites",    "devices",    "users",
                                                     "api_keys", "user_sites", "readings"};
static const char *const table_columns[GEN_NTABLES] = {
    "(id, name, region, timezone, created_at)",
    "(id, site_id, name, model, firmware, status, installed_at, last_seen_at)",
    "(id, email, name, created_at)",
    "(id, user_id, prefix, key_hash, created_at, last_used_at, revoked_at)",
    "(user_id, site_id)",
    "(id, device_id, \"timestamp\", temperature, humidity, battery, rssi)",
};

/* ---- per-entity parameters, computed once in gen_new */

struct site_param {
    int region;
    double climate_offset; /* this site's outdoor mean minus its region's */
    double daily_phase;
};

struct device_param {
    int site_id;
    int model;
    int firmware;
    enum gen_status status;
    int64_t installed_off, start_off, end_off; /* readings lie in (end_off, start_off] */
    int64_t n;                                 /* readings */
    double spacing;                            /* (start_off - end_off) / n, ms */
    uint64_t times_key, values_key;
    /* sensor model */
    double temp_base, drift_amp, drift_period, drift_phase, daily_amp, daily_phase, temp_noise;
    double hum_base, bat0, bat_rate, rssi_base;
};

struct gen {
    uint64_t seed;
    int scale;
    int nsites, ndevices;
    int64_t nreadings;
    int64_t nuser_sites;
    struct site_param *sites;
    struct device_param *devices;
    unsigned char *sees; /* [GEN_USERS][nsites] */
};

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static void init_site(struct gen *g, int id)
{
    struct rng r = {stream_key(g->seed, K_SITE, (uint64_t)id)};
    struct site_param *s = &g->sites[id - 1];
    s->region = (int)(rng_next(&r) % NREGIONS);
    s->climate_offset = uniform(&r, -3.0, 3.0);
    s->daily_phase = uniform(&r, 0.0, TWO_PI);
}

/* Draws a device's parameters and its weight in the split of readings (0: silent). */
static double init_device(struct gen *g, int id, int silent_stride_offset)
{
    struct rng r = {stream_key(g->seed, K_DEVICE, (uint64_t)id)};
    struct device_param *d = &g->devices[id - 1];
    const struct site_param *site;

    d->site_id = 1 + (int)(rng_next(&r) % (uint64_t)g->nsites);
    site = &g->sites[d->site_id - 1];
    d->model = (int)(rng_next(&r) % (sizeof models / sizeof models[0]));
    d->firmware = (int)(rng_next(&r) % NFIRMWARES);
    double u = unit(rng_next(&r));
    d->status = u < 0.70 ? GEN_ACTIVE : u < 0.90 ? GEN_INACTIVE : GEN_MAINTENANCE;

    /* Most devices predate the window; a few were installed during it. */
    if (unit(rng_next(&r)) < 0.04) {
        d->installed_off = (int64_t)uniform(&r, 2.0 * DAY_MS, 29.0 * DAY_MS);
        d->start_off = d->installed_off - HOUR_MS;
    } else {
        d->installed_off = (int64_t)uniform(&r, 31.0 * DAY_MS, 900.0 * DAY_MS);
        d->start_off = GEN_WINDOW_MS;
    }
    /* Active devices reported minutes ago, devices in maintenance up to 3 days ago,
     * inactive ones went quiet 1 to 25 days ago. */
    switch (d->status) {
    case GEN_ACTIVE:
        d->end_off = (int64_t)uniform(&r, 0.0, 15.0 * 60 * 1000);
        break;
    case GEN_MAINTENANCE:
        d->end_off = (int64_t)uniform(&r, 0.0, 3.0 * DAY_MS);
        break;
    default:
        d->end_off = (int64_t)uniform(&r, 1.0 * DAY_MS, 25.0 * DAY_MS);
        break;
    }
    if (d->end_off > d->start_off - HOUR_MS)
        d->end_off = d->start_off / 4;

    d->times_key = stream_key(g->seed, K_TIMES, (uint64_t)id);
    d->values_key = stream_key(g->seed, K_VALUES, (uint64_t)id);

    bool indoor = models[d->model].indoor;
    if (indoor) {
        d->temp_base = uniform(&r, 18.0, 24.0);
        d->drift_amp = uniform(&r, 0.5, 1.5);
        d->daily_amp = uniform(&r, 0.5, 1.5);
        d->temp_noise = 0.15;
        d->hum_base = uniform(&r, 35.0, 55.0);
    } else {
        d->temp_base = regions[site->region].outdoor_mean + site->climate_offset;
        d->drift_amp = uniform(&r, 2.0, 4.0);
        d->daily_amp = uniform(&r, 3.0, 7.0);
        d->temp_noise = 0.5;
        d->hum_base = uniform(&r, 55.0, 80.0);
    }
    d->drift_period = uniform(&r, 3.0, 10.0);
    d->drift_phase = uniform(&r, 0.0, TWO_PI);
    d->daily_phase = site->daily_phase + uniform(&r, -0.3, 0.3);
    d->bat0 = uniform(&r, 20.0, 100.0);
    d->bat_rate = uniform(&r, 0.2, 2.5);
    d->rssi_base = uniform(&r, -95.0, -55.0);

    /* Chattiness is lognormal: a few devices report far more often than most. Weight is
     * per ms of the device's window so that density, not count, is what varies. A few
     * devices (one in 200) never reported at all. */
    if ((id + silent_stride_offset) % 200 == 0)
        return 0.0;
    return exp(1.2 * normal(&r)) * (double)(d->start_off - d->end_off) / (double)GEN_WINDOW_MS;
}

/* Reading k's offset: k-th slot of the device's window, jittered inside the slot so that
 * offsets strictly decrease with k. */
static int64_t reading_off(const struct device_param *d, int64_t k)
{
    double u = unit(mix64(d->times_key + (uint64_t)k * 0x9e3779b97f4a7c15ULL));
    return d->start_off - (int64_t)(((double)k + 0.05 + 0.9 * u) * d->spacing);
}

static void init_access(struct gen *g)
{
    int *order = xmalloc(sizeof *order * (size_t)g->nsites);
    g->nuser_sites = 0;
    for (int u = 0; u < GEN_USERS; u++) {
        struct rng r = {stream_key(g->seed, K_ACCESS, (uint64_t)u + 1)};
        int count = (g->nsites * users[u].num + users[u].den / 2) / users[u].den;
        if (count < 1)
            count = 1;
        for (int i = 0; i < g->nsites; i++)
            order[i] = i;
        /* partial Fisher-Yates: the first count entries are a uniform choice */
        for (int i = 0; i < count; i++) {
            int j = i + (int)(rng_next(&r) % (uint64_t)(g->nsites - i));
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
            g->sees[u * g->nsites + order[i]] = 1;
        }
        g->nuser_sites += count;
    }
    free(order);
}

struct gen *gen_new(uint64_t seed, int scale)
{
    if (seed == 0 || scale < 1 || scale > GEN_MAX_SCALE)
        return NULL;
    struct gen *g = xcalloc(1, sizeof *g);
    g->seed = seed;
    g->scale = scale;
    g->nsites = 4 + scale; /* big sites: a page of readings spans few of them */
    g->ndevices = 1000 * scale;
    g->nreadings = 500000LL * scale;
    g->sites = xcalloc((size_t)g->nsites, sizeof *g->sites);
    g->devices = xcalloc((size_t)g->ndevices, sizeof *g->devices);
    g->sees = xcalloc((size_t)GEN_USERS * (size_t)g->nsites, 1);

    for (int id = 1; id <= g->nsites; id++)
        init_site(g, id);

    double *weight = xmalloc(sizeof *weight * (size_t)g->ndevices);
    double total = 0.0;
    int silent_offset = (int)(stream_key(seed, K_SILENT, 0) % 200);
    for (int id = 1; id <= g->ndevices; id++) {
        weight[id - 1] = init_device(g, id, silent_offset);
        total += weight[id - 1];
    }
    /* Split the readings by weight; the rounding remainder goes one each to the first
     * devices that report at all. */
    int64_t assigned = 0;
    for (int i = 0; i < g->ndevices; i++) {
        g->devices[i].n = (int64_t)((double)g->nreadings * weight[i] / total);
        assigned += g->devices[i].n;
    }
    for (int i = 0; assigned < g->nreadings; i = (i + 1) % g->ndevices) {
        if (weight[i] > 0.0) {
            g->devices[i].n++;
            assigned++;
        }
    }
    for (int i = 0; i < g->ndevices; i++) {
        struct device_param *d = &g->devices[i];
        d->spacing = d->n ? (double)(d->start_off - d->end_off) / (double)d->n : 0.0;
    }
    free(weight);

    init_access(g);
    return g;
}

void gen_free(struct gen *g)
{
    if (!g)
        return;
    free(g->sites);
    free(g->devices);
    free(g->sees);
    free(g);
}

int64_t gen_rows(const struct gen *g, enum gen_table t)
{
    switch (t) {
    case GEN_SITES:
        return g->nsites;
    case GEN_DEVICES:
        return g->ndevices;
    case GEN_USERS_TABLE:
    case GEN_API_KEYS:
        return GEN_USERS;
    case GEN_USER_SITES:
        return g->nuser_sites;
    case GEN_READINGS:
        return g->nreadings;
    default:
        return 0;
    }
}

const char *gen_table_name(enum gen_table t)
{
    return (unsigned)t < GEN_NTABLES ? table_names[t] : "?";
}

const char *gen_table_columns(enum gen_table t)
{
    return (unsigned)t < GEN_NTABLES ? table_columns[t] : "";
}

const char *gen_status_name(enum gen_status s)
{
    return s == GEN_ACTIVE ? "active" : s == GEN_INACTIVE ? "inactive" : "maintenance";
}

/* ---- single rows */

int gen_site(const struct gen *g, int id, struct gen_site *out)
{
    if (id < 1 || id > g->nsites)
        return -1;
    const struct site_param *s = &g->sites[id - 1];
    struct rng r = {stream_key(g->seed, K_SITE, (uint64_t)id) ^ 0x5a5a5a5aULL};
    out->id = id;
    out->region = regions[s->region].name;
    out->timezone = regions[s->region].timezone;
    snprintf(out->name, sizeof out->name, "%s %s %d", regions[s->region].city,
             site_kinds[rng_next(&r) % NKINDS], id);
    out->created_off_ms = (int64_t)uniform(&r, 950.0 * DAY_MS, 1500.0 * DAY_MS);
    return 0;
}

int gen_device(const struct gen *g, int id, struct gen_device *out)
{
    if (id < 1 || id > g->ndevices)
        return -1;
    const struct device_param *d = &g->devices[id - 1];
    out->id = id;
    out->site_id = d->site_id;
    out->model = models[d->model].name;
    out->firmware = firmwares[d->firmware];
    out->status = d->status;
    out->indoor = models[d->model].indoor;
    snprintf(out->name, sizeof out->name, "%s-%06d", out->model, id);
    out->installed_off_ms = d->installed_off;
    out->readings = d->n;
    out->last_seen_off_ms = d->n ? reading_off(d, d->n - 1) : -1;
    return 0;
}

int gen_user(const struct gen *g, int id, struct gen_user *out)
{
    if (id < 1 || id > GEN_USERS)
        return -1;
    struct rng r = {stream_key(g->seed, K_USER, (uint64_t)id)};
    out->id = id;
    out->email = users[id - 1].email;
    out->name = users[id - 1].name;
    out->created_off_ms = (int64_t)uniform(&r, 400.0 * DAY_MS, 900.0 * DAY_MS);
    return 0;
}

int gen_api_key(const struct gen *g, int id, struct gen_api_key *out)
{
    struct gen_user u;
    if (gen_user(g, id, &u) != 0)
        return -1;
    struct rng r = {stream_key(g->seed, K_USER, (uint64_t)id) ^ 0xa5a5a5a5ULL};
    out->id = id;
    out->user_id = id;
    if (seed_api_key(g->seed, id, out->key) != 0 || seed_key_hash(out->key, out->hash) != 0)
        return -1;
    memcpy(out->prefix, out->key, 8);
    out->prefix[8] = '\0';
    out->created_off_ms = u.created_off_ms - (int64_t)uniform(&r, 1.0 * DAY_MS, 300.0 * DAY_MS);
    return 0;
}

bool gen_user_sees(const struct gen *g, int user_id, int site_id)
{
    if (user_id < 1 || user_id > GEN_USERS || site_id < 1 || site_id > g->nsites)
        return false;
    return g->sees[(user_id - 1) * g->nsites + site_id - 1] != 0;
}

/* ---- cursors */

struct gen_cursor {
    const struct gen *g;
    enum gen_table table;
    int64_t done;
    /* user_sites */
    int user, site;
    /* readings: a max-heap of device indexes keyed by their next reading's offset */
    int *heap;
    int heap_len;
    int64_t *next_k;
    int64_t *next_off;
    struct rng *values;
};

/* True when device a's next reading comes before device b's (older first, then by id). */
static bool heap_before(const struct gen_cursor *c, int a, int b)
{
    if (c->next_off[a] != c->next_off[b])
        return c->next_off[a] > c->next_off[b];
    return a < b;
}

static void heap_down(struct gen_cursor *c, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < c->heap_len && heap_before(c, c->heap[l], c->heap[m]))
            m = l;
        if (r < c->heap_len && heap_before(c, c->heap[r], c->heap[m]))
            m = r;
        if (m == i)
            return;
        int t = c->heap[i];
        c->heap[i] = c->heap[m];
        c->heap[m] = t;
        i = m;
    }
}

struct gen_cursor *gen_cursor_new(const struct gen *g, enum gen_table t)
{
    struct gen_cursor *c = xcalloc(1, sizeof *c);
    c->g = g;
    c->table = t;
    c->user = 1;
    c->site = 1;
    if (t == GEN_READINGS) {
        size_t n = (size_t)g->ndevices;
        c->heap = xmalloc(sizeof *c->heap * n);
        c->next_k = xcalloc(n, sizeof *c->next_k);
        c->next_off = xcalloc(n, sizeof *c->next_off);
        c->values = xcalloc(n, sizeof *c->values);
        for (int i = 0; i < g->ndevices; i++) {
            c->values[i].s = g->devices[i].values_key;
            if (g->devices[i].n > 0) {
                c->next_off[i] = reading_off(&g->devices[i], 0);
                c->heap[c->heap_len++] = i;
            }
        }
        for (int i = c->heap_len / 2 - 1; i >= 0; i--)
            heap_down(c, i);
    }
    return c;
}

void gen_cursor_free(struct gen_cursor *c)
{
    if (!c)
        return;
    free(c->heap);
    free(c->next_k);
    free(c->next_off);
    free(c->values);
    free(c);
}

int64_t gen_cursor_done(const struct gen_cursor *c)
{
    return c->done;
}

/* Sensor values of device d at offset off. Draws from the device's value stream, so the
 * device's readings must be asked for in order (the heap does that). */
static void reading_values(const struct device_param *d, struct rng *r, int64_t off,
                           struct gen_reading *out)
{
    double t_days = -(double)off / (double)DAY_MS; /* days relative to the anchor */
    double drift = d->drift_amp * sin(TWO_PI * t_days / d->drift_period + d->drift_phase);
    double daily = d->daily_amp * sin(TWO_PI * t_days + d->daily_phase);
    bool indoor = models[d->model].indoor;
    double temp = d->temp_base + drift + daily + d->temp_noise * noise(r);
    temp = indoor ? clampd(temp, 15.0, 30.0) : clampd(temp, -10.0, 40.0);

    /* relative humidity falls as the air warms */
    double hum = d->hum_base - 1.5 * (drift + daily) + 2.0 * noise(r);
    hum = clampd(hum, 20.0, 90.0);

    /* batteries drain steadily and get replaced when nearly empty */
    double since_start = (double)(d->start_off - off) / (double)DAY_MS;
    double bat = d->bat0 - d->bat_rate * since_start;
    while (bat < 3.0)
        bat += 97.0;
    bat = clampd(bat, 0.0, 100.0);

    double rssi = clampd(d->rssi_base + 4.0 * noise(r), -110.0, -40.0);

    out->temp_c100 = (int)lround(temp * 100.0);
    out->humidity_x10 = (int)lround(hum * 10.0);
    out->battery_x10 = (int)lround(bat * 10.0);
    out->rssi = (int)lround(rssi);
}

bool gen_next_reading(struct gen_cursor *c, struct gen_reading *out)
{
    if (c->table != GEN_READINGS || c->heap_len == 0)
        return false;
    int i = c->heap[0];
    const struct device_param *d = &c->g->devices[i];
    out->id = ++c->done;
    out->device_id = i + 1;
    out->off_ms = c->next_off[i];
    reading_values(d, &c->values[i], out->off_ms, out);

    if (++c->next_k[i] < d->n) {
        c->next_off[i] = reading_off(d, c->next_k[i]);
    } else {
        c->heap[0] = c->heap[--c->heap_len];
    }
    heap_down(c, 0);
    return true;
}

bool gen_next_user_site(struct gen_cursor *c, struct gen_user_site *out)
{
    if (c->table != GEN_USER_SITES)
        return false;
    while (c->user <= GEN_USERS) {
        int u = c->user, s = c->site;
        if (++c->site > c->g->nsites) {
            c->site = 1;
            c->user++;
        }
        if (gen_user_sees(c->g, u, s)) {
            out->user_id = u;
            out->site_id = s;
            c->done++;
            return true;
        }
    }
    return false;
}

/* ---- COPY text and checksum */

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static void fnv(uint64_t *h, const char *s, size_t n)
{
    uint64_t x = *h;
    for (size_t i = 0; i < n; i++) {
        x ^= (unsigned char)s[i];
        x *= FNV_PRIME;
    }
    *h = x;
}

uint64_t gen_checksum_init(void)
{
    return FNV_OFFSET;
}

void gen_checksum_table(uint64_t *checksum, enum gen_table t)
{
    const char *name = gen_table_name(t);
    fnv(checksum, name, strlen(name));
    fnv(checksum, "\n", 1);
}

/* Writes a line's fields into p, folding the canonical text into h. */
struct line {
    char *p;
    uint64_t *h;
    int64_t anchor_ms;
    bool hash_only; /* timestamps are not formatted (binary COPY hashes the same text) */
};

static size_t fmt_i64(int64_t v, char *buf)
{
    char tmp[24];
    size_t n = 0, len = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        buf[len++] = '-';
    while (n)
        buf[len++] = tmp[--n];
    return len;
}

static void put(struct line *l, const char *s, size_t n)
{
    memcpy(l->p, s, n);
    fnv(l->h, s, n);
    l->p += n;
}

static void put_str(struct line *l, const char *s)
{
    put(l, s, strlen(s));
}

static void put_int(struct line *l, int64_t v)
{
    char buf[24];
    put(l, buf, fmt_i64(v, buf));
}

/* v / 10^decimals with exactly that many decimals ("-3.05"). */
static void put_fixed(struct line *l, int v, int decimals)
{
    char buf[32];
    int div = decimals == 1 ? 10 : 100;
    size_t n = 0;
    unsigned a = v < 0 ? 0u - (unsigned)v : (unsigned)v;
    if (v < 0)
        buf[n++] = '-';
    n += fmt_i64((int64_t)(a / (unsigned)div), buf + n);
    buf[n++] = '.';
    unsigned frac = a % (unsigned)div;
    if (decimals == 2)
        buf[n++] = (char)('0' + frac / 10);
    buf[n++] = (char)('0' + frac % 10);
    put(l, buf, n);
}

/* A timestamp: the COPY text gets the time, the checksum the offset. */
static void put_time(struct line *l, int64_t off_ms)
{
    char buf[24];
    if (!l->hash_only)
        l->p += gen_format_time(l->anchor_ms - off_ms, l->p);
    fnv(l->h, buf, fmt_i64(off_ms, buf));
}

static void put_null(struct line *l)
{
    put(l, "\\N", 2);
}

static void put_tab(struct line *l)
{
    put(l, "\t", 1);
}

static void put_hex_bytea(struct line *l, const unsigned char *b, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char buf[80];
    size_t len = 0;
    buf[len++] = '\\'; /* COPY text unescapes "\\x" to bytea's "\x" */
    buf[len++] = '\\';
    buf[len++] = 'x';
    for (size_t i = 0; i < n; i++) {
        buf[len++] = hex[b[i] >> 4];
        buf[len++] = hex[b[i] & 15];
    }
    put(l, buf, len);
}

size_t gen_format_time(int64_t epoch_ms, char *buf)
{
    int64_t secs = epoch_ms >= 0 ? epoch_ms / 1000 : -((-epoch_ms + 999) / 1000);
    int ms = (int)(epoch_ms - secs * 1000);
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int sod = (int)(secs - days * 86400);

    /* civil_from_days (H. Hinnant's algorithm) */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    if (m <= 2)
        y++;

    int hh = sod / 3600, mm = sod / 60 % 60, ss = sod % 60;
    char *p = buf;
    int yy = (int)y;
    *p++ = (char)('0' + yy / 1000 % 10);
    *p++ = (char)('0' + yy / 100 % 10);
    *p++ = (char)('0' + yy / 10 % 10);
    *p++ = (char)('0' + yy % 10);
    *p++ = '-';
    *p++ = (char)('0' + m / 10);
    *p++ = (char)('0' + m % 10);
    *p++ = '-';
    *p++ = (char)('0' + d / 10);
    *p++ = (char)('0' + d % 10);
    *p++ = ' ';
    *p++ = (char)('0' + hh / 10);
    *p++ = (char)('0' + hh % 10);
    *p++ = ':';
    *p++ = (char)('0' + mm / 10);
    *p++ = (char)('0' + mm % 10);
    *p++ = ':';
    *p++ = (char)('0' + ss / 10);
    *p++ = (char)('0' + ss % 10);
    *p++ = '.';
    *p++ = (char)('0' + ms / 100);
    *p++ = (char)('0' + ms / 10 % 10);
    *p++ = (char)('0' + ms % 10);
    memcpy(p, "+00", 3);
    p += 3;
    *p = '\0';
    return (size_t)(p - buf);
}

size_t gen_next_copy_line(struct gen_cursor *c, int64_t anchor_ms, char *buf, uint64_t *checksum)
{
    struct line l = {buf, checksum, anchor_ms, false};
    const struct gen *g = c->g;

    switch (c->table) {
    case GEN_SITES: {
        struct gen_site s;
        if (gen_site(g, (int)c->done + 1, &s) != 0)
            return 0;
        put_int(&l, s.id);
        put_tab(&l);
        put_str(&l, s.name);
        put_tab(&l);
        put_str(&l, s.region);
        put_tab(&l);
        put_str(&l, s.timezone);
        put_tab(&l);
        put_time(&l, s.created_off_ms);
        break;
    }
    case GEN_DEVICES: {
        struct gen_device d;
        if (gen_device(g, (int)c->done + 1, &d) != 0)
            return 0;
        put_int(&l, d.id);
        put_tab(&l);
        put_int(&l, d.site_id);
        put_tab(&l);
        put_str(&l, d.name);
        put_tab(&l);
        put_str(&l, d.model);
        put_tab(&l);
        put_str(&l, d.firmware);
        put_tab(&l);
        put_str(&l, gen_status_name(d.status));
        put_tab(&l);
        put_time(&l, d.installed_off_ms);
        put_tab(&l);
        if (d.last_seen_off_ms >= 0)
            put_time(&l, d.last_seen_off_ms);
        else
            put_null(&l);
        break;
    }
    case GEN_USERS_TABLE: {
        struct gen_user u;
        if (gen_user(g, (int)c->done + 1, &u) != 0)
            return 0;
        put_int(&l, u.id);
        put_tab(&l);
        put_str(&l, u.email);
        put_tab(&l);
        put_str(&l, u.name);
        put_tab(&l);
        put_time(&l, u.created_off_ms);
        break;
    }
    case GEN_API_KEYS: {
        struct gen_api_key k;
        if (gen_api_key(g, (int)c->done + 1, &k) != 0)
            return 0;
        put_int(&l, k.id);
        put_tab(&l);
        put_int(&l, k.user_id);
        put_tab(&l);
        put_str(&l, k.prefix);
        put_tab(&l);
        put_hex_bytea(&l, k.hash, sizeof k.hash);
        put_tab(&l);
        put_time(&l, k.created_off_ms);
        put_tab(&l);
        put_null(&l);
        put_tab(&l);
        put_null(&l);
        break;
    }
    case GEN_USER_SITES: {
        struct gen_user_site us;
        if (!gen_next_user_site(c, &us))
            return 0;
        put_int(&l, us.user_id);
        put_tab(&l);
        put_int(&l, us.site_id);
        put(&l, "\n", 1);
        return (size_t)(l.p - buf);
    }
    case GEN_READINGS: {
        struct gen_reading r;
        if (!gen_next_reading(c, &r))
            return 0;
        put_int(&l, r.id);
        put_tab(&l);
        put_int(&l, r.device_id);
        put_tab(&l);
        put_time(&l, r.off_ms);
        put_tab(&l);
        put_fixed(&l, r.temp_c100, 2);
        put_tab(&l);
        put_fixed(&l, r.humidity_x10, 1);
        put_tab(&l);
        put_fixed(&l, r.battery_x10, 1);
        put_tab(&l);
        put_int(&l, r.rssi);
        put(&l, "\n", 1);
        return (size_t)(l.p - buf);
    }
    default:
        return 0;
    }
    c->done++; /* the small tables count here; the iterators count their own rows */
    put(&l, "\n", 1);
    return (size_t)(l.p - buf);
}

/* ---- binary COPY (readings) */

#define PG_EPOCH_MS 946684800000LL /* 2000-01-01 00:00:00 UTC, PostgreSQL's timestamp zero */

static char *be16(char *p, uint16_t v)
{
    p[0] = (char)(v >> 8);
    p[1] = (char)v;
    return p + 2;
}

static char *be32(char *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (char)v;
    return p + 4;
}

static char *be64(char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (char)v;
    return p + 8;
}

/* A field: its length, then its bytes. */
static char *field_i32(char *p, int32_t v)
{
    return be32(be32(p, 4), (uint32_t)v);
}

static char *field_i64(char *p, int64_t v)
{
    return be64(be32(p, 8), (uint64_t)v);
}

static char *field_f64(char *p, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return be64(be32(p, 8), bits);
}

size_t gen_copy_binary_header(char *buf)
{
    memcpy(buf, "PGCOPY\n\377\r\n\0", 11);
    be32(be32(buf + 11, 0), 0); /* flags, header extension length */
    return 19;
}

size_t gen_copy_binary_trailer(char *buf)
{
    be16(buf, 0xffff);
    return 2;
}

size_t gen_next_copy_binary(struct gen_cursor *c, int64_t anchor_ms, char *buf, uint64_t *checksum)
{
    struct gen_reading r;
    if (c->table != GEN_READINGS || !gen_next_reading(c, &r))
        return 0;

    /* the same canonical text as the text format, so the checksum does not depend on it */
    char text[GEN_MAX_ROW];
    struct line l = {text, checksum, anchor_ms, true};
    put_int(&l, r.id);
    put_tab(&l);
    put_int(&l, r.device_id);
    put_tab(&l);
    put_time(&l, r.off_ms);
    put_tab(&l);
    put_fixed(&l, r.temp_c100, 2);
    put_tab(&l);
    put_fixed(&l, r.humidity_x10, 1);
    put_tab(&l);
    put_fixed(&l, r.battery_x10, 1);
    put_tab(&l);
    put_int(&l, r.rssi);
    put(&l, "\n", 1);

    /* x / 100.0 is correctly rounded: the same double the server parses from "x.yz" */
    char *p = be16(buf, 7);
    p = field_i64(p, r.id);
    p = field_i32(p, r.device_id);
    p = field_i64(p, (anchor_ms - r.off_ms - PG_EPOCH_MS) * 1000);
    p = field_f64(p, r.temp_c100 / 100.0);
    p = field_f64(p, r.humidity_x10 / 10.0);
    p = field_f64(p, r.battery_x10 / 10.0);
    p = field_i32(p, r.rssi);
    return (size_t)(p - buf);
}

uint64_t gen_checksum(const struct gen *g)
{
    uint64_t h = gen_checksum_init();
    char buf[GEN_MAX_ROW];
    for (int t = 0; t < GEN_NTABLES; t++) {
        struct gen_cursor *c = gen_cursor_new(g, (enum gen_table)t);
        gen_checksum_table(&h, (enum gen_table)t);
        while (gen_next_copy_line(c, 0, buf, &h) > 0)
            ;
        gen_cursor_free(c);
    }
    return h;
}
