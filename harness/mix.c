/* mix.c - workload mixes (see mix.h). */
#include "mix.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gen.h"
#include "seed_keys.h"

static const char *const route_names[MIX_NROUTES] = {
    "latest", "device_readings", "device", "ingest", "report", "path",
};

struct zipf {
    int64_t n;
    double skew;
    double *cdf; /* cdf[k-1] = P(rank <= k) */
};

struct route_cfg {
    enum mix_route route;
    double weight;
    int limit;            /* latest, device_readings */
    int hours;            /* device_readings, report */
    int batch;            /* ingest: readings per request */
    bool site_report;     /* report kind "site" (else "device") */
    char email_json[300]; /* report: the e-mail address as a JSON string */
};

struct user_cfg {
    int id;
    char key[64]; /* empty when none */
    int64_t dev_min, dev_max;
    int *devices;            /* with "dataset_scale": the ids this user may see, or NULL */
    const struct zipf *zipf; /* owned by mix.zipfs; ranks index devices or dev_min.. */
};

struct mix {
    char source[MIX_PATH_MAX + 8];
    struct route_cfg routes[MIX_NROUTES];
    int nroutes;
    double total_weight;
    struct user_cfg users[MIX_MAX_USERS];
    int nusers;
    int64_t site_min, site_max;
    double skew;
    struct zipf *zipfs[MIX_MAX_USERS + 1];
    int nzipfs;
    char fixed_path[MIX_PATH_MAX];
};

const char *mix_route_name(enum mix_route route)
{
    return (unsigned)route < MIX_NROUTES ? route_names[route] : NULL;
}

int mix_route_parse(const char *name, enum mix_route *out)
{
    /* "path" is not a mix route: it comes only from --path */
    for (int i = 0; i < MIX_PATH; i++)
        if (strcmp(name, route_names[i]) == 0) {
            *out = (enum mix_route)i;
            return 0;
        }
    return -1;
}

struct zipf *zipf_new(int64_t n, double skew)
{
    if (n < 1 || !(skew >= 0.0) || !isfinite(skew))
        return NULL;
    struct zipf *z = xcalloc(1, sizeof *z);
    z->n = n;
    z->skew = skew;
    z->cdf = xcalloc((size_t)n, sizeof *z->cdf);
    double sum = 0.0;
    for (int64_t k = 1; k <= n; k++) {
        sum += pow((double)k, -skew);
        z->cdf[k - 1] = sum;
    }
    for (int64_t k = 0; k < n; k++)
        z->cdf[k] /= sum;
    z->cdf[n - 1] = 1.0;
    return z;
}

void zipf_free(struct zipf *z)
{
    if (!z)
        return;
    free(z->cdf);
    free(z);
}

int64_t zipf_sample(const struct zipf *z, struct rng *r)
{
    double u = rng_double(r);
    /* smallest k with cdf[k-1] > u */
    int64_t lo = 0, hi = z->n - 1;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (z->cdf[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo + 1;
}

void mix_free(struct mix *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->nzipfs; i++)
        zipf_free(m->zipfs[i]);
    for (int i = 0; i < m->nusers; i++)
        free(m->users[i].devices);
    free(m);
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Reads an optional integer member within [lo, hi]; keeps *out when absent. */
static int get_int(json_t *obj, const char *key, int64_t lo, int64_t hi, int64_t *out,
                   const char *name, char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        set_err(err, errlen, "bad mix %s: \"%s\" must be an integer from %" PRId64 " to %" PRId64,
                name, key, lo, hi);
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

static const struct zipf *zipf_for(struct mix *m, int64_t n)
{
    for (int i = 0; i < m->nzipfs; i++)
        if (m->zipfs[i]->n == n)
            return m->zipfs[i];
    struct zipf *z = zipf_new(n, m->skew);
    m->zipfs[m->nzipfs++] = z;
    return z;
}

static int parse_route(struct mix *m, json_t *jr, const char *name, char *err, size_t errlen)
{
    const char *rname = json_string_value(json_object_get(jr, "route"));
    if (!json_is_object(jr) || !rname) {
        set_err(err, errlen, "bad mix %s: each route needs a \"route\" name", name);
        return -1;
    }
    struct route_cfg *rc = &m->routes[m->nroutes];
    memset(rc, 0, sizeof *rc);
    if (mix_route_parse(rname, &rc->route) < 0) {
        set_err(err, errlen,
                "unknown route '%s' in mix %s (known: latest, device_readings, device, "
                "ingest, report)",
                rname, name);
        return -1;
    }
    for (int i = 0; i < m->nroutes; i++)
        if (m->routes[i].route == rc->route) {
            set_err(err, errlen, "bad mix %s: route '%s' listed twice", name, rname);
            return -1;
        }
    const char *key;
    json_t *v;
    json_object_foreach(jr, key, v)
    {
        static const char *const known[] = {"route", "weight", "limit", "hours",
                                            "batch", "kind",   "email"};
        bool ok = false;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            ok = ok || strcmp(key, known[i]) == 0;
        if (!ok) {
            set_err(err, errlen, "bad mix %s: unknown key \"%s\" in route '%s'", name, key, rname);
            return -1;
        }
    }
    json_t *w = json_object_get(jr, "weight");
    if (!json_is_number(w) || !(json_number_value(w) >= 0.0) || !isfinite(json_number_value(w))) {
        set_err(err, errlen, "bad mix %s: route '%s' needs a \"weight\" >= 0", name, rname);
        return -1;
    }
    rc->weight = json_number_value(w);
    int64_t limit = 100, hours = 24, batch = 10;
    if (get_int(jr, "limit", 1, 1000000, &limit, name, err, errlen) < 0 ||
        get_int(jr, "hours", 1, 1000000, &hours, name, err, errlen) < 0 ||
        get_int(jr, "batch", 1, 100000, &batch, name, err, errlen) < 0)
        return -1;
    rc->limit = (int)limit;
    rc->hours = (int)hours;
    rc->batch = (int)batch;
    const char *kind = json_string_value(json_object_get(jr, "kind"));
    if (kind && strcmp(kind, "site") == 0)
        rc->site_report = true;
    else if (kind && strcmp(kind, "device") != 0) {
        set_err(err, errlen, "bad mix %s: report kind must be \"device\" or \"site\"", name);
        return -1;
    }
    const char *email = json_string_value(json_object_get(jr, "email"));
    json_t *js = json_string(email ? email : "ops@example.com");
    char *quoted = js ? json_dumps(js, JSON_ENCODE_ANY) : NULL;
    json_decref(js);
    if (!quoted || strlen(quoted) >= sizeof rc->email_json) {
        set_err(err, errlen, "bad mix %s: report \"email\" must be a short UTF-8 string", name);
        free(quoted);
        return -1;
    }
    snprintf(rc->email_json, sizeof rc->email_json, "%s", quoted);
    free(quoted);
    m->nroutes++;
    m->total_weight += rc->weight;
    return 0;
}

/* With "dataset_scale", a user asks about their own devices only: the ones in
 * [lo, hi] on sites the seeded dataset lets them see (the generator says which), so
 * that a mix of several users sends no request the server must refuse with 403.
 * Returns how many were found; *out is malloc'd. */
static int visible_devices(const struct gen *g, int user_id, int64_t lo, int64_t hi, int **out)
{
    int n = 0;
    *out = xmalloc(sizeof **out * (size_t)(hi - lo + 1));
    for (int64_t id = lo; id <= hi; id++) {
        struct gen_device d;
        if (gen_device(g, (int)id, &d) == 0 && gen_user_sees(g, user_id, d.site_id))
            (*out)[n++] = (int)id;
    }
    return n;
}

static int parse_users(struct mix *m, json_t *root, int64_t dev_min, int64_t dev_max,
                       const char *name, char *err, size_t errlen)
{
    json_t *users = json_object_get(root, "users");
    json_t *keys = json_object_get(root, "api_keys");
    json_t *seedv = json_object_get(root, "dataset_seed");
    if (seedv && (!json_is_integer(seedv) || json_integer_value(seedv) < 1)) {
        set_err(err, errlen, "bad mix %s: \"dataset_seed\" must be an integer >= 1", name);
        return -1;
    }
    json_t *scalev = json_object_get(root, "dataset_scale");
    if (scalev && (!json_is_integer(scalev) || json_integer_value(scalev) < 1 || !seedv)) {
        set_err(err, errlen, "bad mix %s: \"dataset_scale\" must be an integer >= 1, "
                             "given with \"dataset_seed\"", name);
        return -1;
    }
    if (!users)
        return 0;
    int64_t ids = 0; /* over all users, at most MIX_MAX_DEVICE_IDS */
    struct gen *g = NULL;
    int rc = -1;
    if (!json_is_array(users) || json_array_size(users) > MIX_MAX_USERS) {
        set_err(err, errlen, "bad mix %s: \"users\" must be an array of at most %d users", name,
                MIX_MAX_USERS);
        return -1;
    }
    size_t i;
    json_t *ju;
    json_array_foreach(users, i, ju)
    {
        struct user_cfg *u = &m->users[m->nusers];
        int64_t lo = dev_min, hi = dev_max, id = 0;
        if (json_is_integer(ju)) {
            id = json_integer_value(ju);
        } else if (json_is_object(ju)) {
            if (get_int(ju, "id", 1, INT32_MAX, &id, name, err, errlen) < 0 ||
                get_int(ju, "device_min", 1, INT32_MAX, &lo, name, err, errlen) < 0 ||
                get_int(ju, "device_max", 1, INT32_MAX, &hi, name, err, errlen) < 0)
                goto done;
        }
        if (id < 1 || id > INT32_MAX || lo > hi) {
            set_err(err, errlen, "bad mix %s: user %zu needs an id >= 1 and a device range", name,
                    i + 1);
            goto done;
        }
        ids += hi - lo + 1;
        if (ids > MIX_MAX_DEVICE_IDS) {
            set_err(err, errlen, "bad mix %s: the users' device ranges cover more than %d ids",
                    name, MIX_MAX_DEVICE_IDS);
            goto done;
        }
        u->id = (int)id;
        u->dev_min = lo;
        u->dev_max = hi;
        int64_t ndev = hi - lo + 1;
        if (scalev) {
            if (!g && json_integer_value(scalev) <= INT32_MAX)
                g = gen_new((uint64_t)json_integer_value(seedv), (int)json_integer_value(scalev));
            ndev = g ? visible_devices(g, u->id, lo, hi, &u->devices) : 0;
            if (ndev == 0) {
                set_err(err, errlen, "bad mix %s: user %d sees no device in %" PRId64 "..%" PRId64
                        " of the dataset (seed %" PRId64 ", scale %" PRId64 ")", name, u->id, lo,
                        hi, (int64_t)json_integer_value(seedv),
                        (int64_t)json_integer_value(scalev));
                m->nusers++; /* so that mix_free frees u->devices */
                goto done;
            }
        }
        u->zipf = zipf_for(m, ndev);
        char idtext[16];
        snprintf(idtext, sizeof idtext, "%d", u->id);
        const char *explicit_key = json_string_value(json_object_get(keys, idtext));
        if (explicit_key)
            snprintf(u->key, sizeof u->key, "%s", explicit_key);
        else if (seedv && seed_api_key((uint64_t)json_integer_value(seedv), u->id, u->key) < 0) {
            set_err(err, errlen, "cannot derive the API key of user %d for mix %s", u->id, name);
            goto done;
        }
        m->nusers++;
    }
    rc = 0;
done:
    gen_free(g);
    return rc;
}

struct mix *mix_parse(const char *json, const char *name, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loads(json, 0, &jerr);
    struct mix *m = NULL;
    if (!root) {
        set_err(err, errlen, "malformed mix %s: line %d: %s", name, jerr.line, jerr.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        set_err(err, errlen, "malformed mix %s: the top level must be an object", name);
        goto fail_json;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        static const char *const known[] = {"name",     "description", "dataset_seed", "users",
                                            "api_keys", "devices",     "sites",        "routes",
                                            "dataset_scale"};
        bool ok = false;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            ok = ok || strcmp(key, known[i]) == 0;
        if (!ok) {
            set_err(err, errlen, "bad mix %s: unknown key \"%s\"", name, key);
            goto fail_json;
        }
    }
    m = xcalloc(1, sizeof *m);
    snprintf(m->source, sizeof m->source, "%s", name);
    json_t *devices = json_object_get(root, "devices");
    int64_t dev_min = 1, dev_max = 10000, site_min = 1, site_max = 50;
    double skew = 1.0;
    if (devices) {
        json_t *s = json_object_get(devices, "zipf_skew");
        if (get_int(devices, "min", 1, INT32_MAX, &dev_min, name, err, errlen) < 0 ||
            get_int(devices, "max", 1, INT32_MAX, &dev_max, name, err, errlen) < 0)
            goto fail_mix;
        if (s &&
            (!json_is_number(s) || !(json_number_value(s) >= 0.0) || json_number_value(s) > 10.0)) {
            set_err(err, errlen, "bad mix %s: \"zipf_skew\" must be a number from 0 to 10", name);
            goto fail_mix;
        }
        if (s)
            skew = json_number_value(s);
    }
    if (dev_min > dev_max || dev_max - dev_min >= MIX_MAX_DEVICE_IDS) {
        set_err(err, errlen, "bad mix %s: device range must have min <= max (and at most %d ids)",
                name, MIX_MAX_DEVICE_IDS);
        goto fail_mix;
    }
    json_t *sites = json_object_get(root, "sites");
    if (sites && (get_int(sites, "min", 1, INT32_MAX, &site_min, name, err, errlen) < 0 ||
                  get_int(sites, "max", 1, INT32_MAX, &site_max, name, err, errlen) < 0))
        goto fail_mix;
    if (site_min > site_max) {
        set_err(err, errlen, "bad mix %s: site range must have min <= max", name);
        goto fail_mix;
    }
    m->skew = skew;
    m->site_min = site_min;
    m->site_max = site_max;
    if (parse_users(m, root, dev_min, dev_max, name, err, errlen) < 0)
        goto fail_mix;
    if (m->nusers == 0) {
        /* no users: requests carry no key (e.g. a server with authentication off) */
        m->users[0].id = 0;
        m->users[0].dev_min = dev_min;
        m->users[0].dev_max = dev_max;
        m->users[0].zipf = zipf_for(m, dev_max - dev_min + 1);
    }
    json_t *routes = json_object_get(root, "routes");
    if (!json_is_array(routes) || json_array_size(routes) == 0 ||
        json_array_size(routes) > MIX_PATH) {
        set_err(err, errlen, "bad mix %s: \"routes\" must be a non-empty array", name);
        goto fail_mix;
    }
    size_t i;
    json_t *jr;
    json_array_foreach(routes, i, jr)
    {
        if (parse_route(m, jr, name, err, errlen) < 0)
            goto fail_mix;
    }
    if (!(m->total_weight > 0.0)) {
        set_err(err, errlen, "bad mix %s: the route weights add up to 0", name);
        goto fail_mix;
    }
    json_decref(root);
    return m;

fail_mix:
    mix_free(m);
fail_json:
    json_decref(root);
    return NULL;
}

struct mix *mix_load(const char *path, char *err, size_t errlen)
{
    size_t len;
    char *text = strbuf_read_file(path, &len);
    if (!text || len == 0) {
        if (text)
            set_err(err, errlen, "cannot read mix %s: empty file", path);
        else
            set_err(err, errlen, "cannot read mix %s: %m", path);
        free(text);
        return NULL;
    }
    struct mix *m = mix_parse(text, path, err, errlen);
    free(text);
    return m;
}

struct mix *mix_fixed_path(const char *path)
{
    if (!path || path[0] != '/' || strlen(path) >= MIX_PATH_MAX)
        return NULL;
    struct mix *m = xcalloc(1, sizeof *m);
    snprintf(m->source, sizeof m->source, "path:%s", path);
    snprintf(m->fixed_path, sizeof m->fixed_path, "%s", path);
    m->routes[0].route = MIX_PATH;
    m->routes[0].weight = 1.0;
    m->nroutes = 1;
    m->total_weight = 1.0;
    return m;
}

int mix_user_count(const struct mix *m)
{
    return m->nusers;
}

const char *mix_user_key(const struct mix *m, int user)
{
    if (user < 0 || user >= m->nusers || m->users[user].key[0] == '\0')
        return NULL;
    return m->users[user].key;
}

int mix_user_id(const struct mix *m, int user)
{
    return user >= 0 && user < m->nusers ? m->users[user].id : 0;
}

double mix_route_share(const struct mix *m, enum mix_route route)
{
    for (int i = 0; i < m->nroutes; i++)
        if (m->routes[i].route == route)
            return m->routes[i].weight / m->total_weight;
    return 0.0;
}

const char *mix_source(const struct mix *m)
{
    return m->source;
}

/* "2026-11-27T10:00:00.123Z" */
static void format_iso(int64_t ms, char *buf, size_t len)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03dZ", (int)(ms % 1000));
}

void mix_next(const struct mix *m, struct rng *r, int64_t now_ms, struct mix_request *out)
{
    /* the route, by weight */
    double pick = rng_double(r) * m->total_weight;
    const struct route_cfg *rc = &m->routes[m->nroutes - 1];
    for (int i = 0; i < m->nroutes; i++) {
        if (pick < m->routes[i].weight) {
            rc = &m->routes[i];
            break;
        }
        pick -= m->routes[i].weight;
    }
    out->route = rc->route;
    out->post = rc->route == MIX_INGEST || rc->route == MIX_REPORT;
    out->body.len = 0;
    if (out->body.data)
        out->body.data[0] = '\0';
    if (rc->route == MIX_PATH) {
        out->user = -1;
        snprintf(out->path, sizeof out->path, "%s", m->fixed_path);
        return;
    }
    /* the user, uniformly, then a device of theirs by Zipf rank */
    int u = m->nusers > 1 ? (int)rng_below(r, (uint64_t)m->nusers) : 0;
    const struct user_cfg *uc = &m->users[u];
    out->user = m->nusers ? u : -1;
    int64_t rank = zipf_sample(uc->zipf, r);
    int64_t device = uc->devices ? uc->devices[rank - 1] : uc->dev_min + rank - 1;
    switch (rc->route) {
    case MIX_LATEST:
        snprintf(out->path, sizeof out->path, "/api/readings/latest?limit=%d", rc->limit);
        break;
    case MIX_DEVICE_READINGS:
        snprintf(out->path, sizeof out->path, "/api/devices/%" PRId64 "/readings?hours=%d&limit=%d",
                 device, rc->hours, rc->limit);
        break;
    case MIX_DEVICE:
        snprintf(out->path, sizeof out->path, "/api/devices/%" PRId64, device);
        break;
    case MIX_INGEST:
        snprintf(out->path, sizeof out->path, "/api/devices/%" PRId64 "/readings", device);
        strbuf_append(&out->body, "{\"readings\":[", 13);
        for (int i = 0; i < rc->batch; i++) {
            char ts[40];
            /* one reading per second up to now, oldest first */
            format_iso(now_ms - (int64_t)(rc->batch - 1 - i) * 1000, ts, sizeof ts);
            int temp = 1500 + (int)rng_below(r, 1500); /* 15.00 .. 29.99 degC */
            int hum = 200 + (int)rng_below(r, 600);    /* 20.0 .. 79.9 % */
            int bat = 100 + (int)rng_below(r, 901);    /* 10.0 .. 100.0 % */
            int rssi = -100 + (int)rng_below(r, 71);   /* -100 .. -30 dBm */
            strbuf_appendf(&out->body,
                           "%s{\"timestamp\":\"%s\",\"temperature\":%d.%02d,\"humidity\":%d.%d,"
                           "\"battery\":%d.%d,\"rssi\":%d}",
                           i ? "," : "", ts, temp / 100, temp % 100, hum / 10, hum % 10, bat / 10,
                           bat % 10, rssi);
        }
        strbuf_append(&out->body, "]}", 2);
        break;
    case MIX_REPORT: {
        int64_t id = device;
        if (rc->site_report)
            id = m->site_min + (int64_t)rng_below(r, (uint64_t)(m->site_max - m->site_min + 1));
        snprintf(out->path, sizeof out->path, "/api/reports");
        strbuf_appendf(&out->body, "{\"kind\":\"%s\",\"id\":%" PRId64 ",\"hours\":%d,\"email\":",
                       rc->site_report ? "site" : "device", id, rc->hours);
        strbuf_appendf(&out->body, "%s}", rc->email_json);
        break;
    }
    case MIX_PATH:
    case MIX_NROUTES:
        break;
    }
}
