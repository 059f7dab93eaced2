/* gen.h - synthetic IoT data as a pure function of (seed, scale).
 *
 * No I/O and no clock: every row is computed from the seed and the scale, and every
 * timestamp is an offset in milliseconds before an "anchor" instant chosen by the caller
 * (the seeder uses the server's now()). The same (seed, scale) therefore always gives the
 * same rows, whatever the anchor, and the checksum (gen_checksum) covers the offsets, not
 * the wall-clock times.
 *
 * Sizes for scale S: 4+S sites, 1000*S devices, 500000*S readings, GEN_USERS users with one
 * API key each, and each user's sites in user_sites. Readings come out in time order (id 1
 * is the oldest), as an append-only table would hold them. */
#ifndef APIBENCH_GEN_H
#define APIBENCH_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Names the generation rules: bump it whenever a change to gen.c changes any row, so that
 * a database seeded by older rules is not taken for the same seed. */
#define GEN_VERSION "apibench-gen/2"

#define GEN_USERS 5
#define GEN_MAX_SCALE 1000
#define GEN_WINDOW_MS (30LL * 86400 * 1000) /* readings span the 30 days before the anchor */
#define GEN_MAX_ROW 256                     /* longest COPY text line of any table */

/* The tables in load order (foreign keys point backwards in this order). */
enum gen_table {
    GEN_SITES,
    GEN_DEVICES,
    GEN_USERS_TABLE,
    GEN_API_KEYS,
    GEN_USER_SITES,
    GEN_READINGS,
    GEN_NTABLES
};

enum gen_status { GEN_ACTIVE, GEN_INACTIVE, GEN_MAINTENANCE };

struct gen_site {
    int id;
    char name[48];
    const char *region;   /* static */
    const char *timezone; /* static */
    int64_t created_off_ms;
};

struct gen_device {
    int id;
    int site_id;
    char name[32];
    const char *model;    /* static */
    const char *firmware; /* static */
    enum gen_status status;
    bool indoor;
    int64_t installed_off_ms;
    int64_t last_seen_off_ms; /* -1 when the device has no readings (last_seen_at NULL) */
    int64_t readings;         /* how many readings it has */
};

struct gen_user {
    int id;
    const char *email; /* static */
    const char *name;  /* static */
    int64_t created_off_ms;
};

struct gen_api_key {
    int id;
    int user_id;
    char key[40];           /* "ak_" + 32 hex digits (seed_keys.h) */
    char prefix[9];         /* first 8 characters of key */
    unsigned char hash[32]; /* SHA-256 of key */
    int64_t created_off_ms;
};

struct gen_user_site {
    int user_id;
    int site_id;
};

/* Sensor values are kept as scaled integers so that their text is exact:
 * temperature in 1/100 degC, humidity and battery in 1/10 %. */
struct gen_reading {
    int64_t id;
    int device_id;
    int64_t off_ms;
    int temp_c100;
    int humidity_x10;
    int battery_x10;
    int rssi;
};

struct gen;        /* sizes and per-device parameters for one (seed, scale) */
struct gen_cursor; /* walks one table's rows in order */

/* Builds the generator (per-device parameters, a few bytes each). seed >= 1,
 * 1 <= scale <= GEN_MAX_SCALE. Returns NULL on bad arguments; aborts on out-of-memory. The
 * caller frees it with gen_free. */
struct gen *gen_new(uint64_t seed, int scale);

/* Frees g. Accepts NULL. */
void gen_free(struct gen *g);

/* Number of rows table t gets. */
int64_t gen_rows(const struct gen *g, enum gen_table t);

/* The table's name, and its column list for COPY ("(id, name, ...)"). Static strings. */
const char *gen_table_name(enum gen_table t);
const char *gen_table_columns(enum gen_table t);

/* Row id (1-based) of a small table. Return 0, or -1 when id is out of range. */
int gen_site(const struct gen *g, int id, struct gen_site *out);
int gen_device(const struct gen *g, int id, struct gen_device *out);
int gen_user(const struct gen *g, int id, struct gen_user *out);
int gen_api_key(const struct gen *g, int id, struct gen_api_key *out);

/* True when user user_id may see site site_id. */
bool gen_user_sees(const struct gen *g, int user_id, int site_id);

/* Starts a walk over table t. The cursor borrows g, which must outlive it. Aborts on
 * out-of-memory. Free with gen_cursor_free. */
struct gen_cursor *gen_cursor_new(const struct gen *g, enum gen_table t);

/* Frees c. Accepts NULL. */
void gen_cursor_free(struct gen_cursor *c);

/* Rows handed out so far. */
int64_t gen_cursor_done(const struct gen_cursor *c);

/* Next reading (the cursor must walk GEN_READINGS). Returns false at the end. */
bool gen_next_reading(struct gen_cursor *c, struct gen_reading *out);

/* Next user_sites row (the cursor must walk GEN_USER_SITES). Returns false at the end. */
bool gen_next_user_site(struct gen_cursor *c, struct gen_user_site *out);

/* Writes the next row of c's table as one line of COPY text format into buf, which has
 * room for at least GEN_MAX_ROW bytes; timestamps are written as anchor_ms - offset (ms
 * since the Unix epoch, UTC). Folds the row's canonical text (timestamps as offsets) into
 * *checksum. Returns the number of bytes written, 0 at the end of the table. */
size_t gen_next_copy_line(struct gen_cursor *c, int64_t anchor_ms, char *buf, uint64_t *checksum);

/* Binary COPY of readings, which the server parses about twice as fast as text (no
 * timestamp or float parsing). The stream is a header, rows, and a trailer. Each
 * function writes into buf (room for GEN_MAX_ROW bytes) and returns the bytes written. The
 * row function folds the same canonical text into *checksum as gen_next_copy_line, so the
 * checksum does not depend on the format; it returns 0 at the end of the table (and for a
 * cursor over any other table). */
size_t gen_copy_binary_header(char *buf);
size_t gen_copy_binary_trailer(char *buf);
size_t gen_next_copy_binary(struct gen_cursor *c, int64_t anchor_ms, char *buf, uint64_t *checksum);

/* The checksum's starting value, and the step that starts each table (folds its name
 * in, so that rows cannot move between tables unnoticed). */
uint64_t gen_checksum_init(void);
void gen_checksum_table(uint64_t *checksum, enum gen_table t);

/* FNV-1a 64 over the canonical text of every table in load order: what the seeder prints
 * and stores in seed_info.checksum. Walks all rows (about 0.5 s per scale unit). */
uint64_t gen_checksum(const struct gen *g);

/* Formats ms since the epoch as "YYYY-MM-DD HH:MM:SS.mmm+00" into buf (>= 32 bytes).
 * Returns the length. */
size_t gen_format_time(int64_t epoch_ms, char *buf);

/* The status as the schema spells it. */
const char *gen_status_name(enum gen_status s);

#endif
