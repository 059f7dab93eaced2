/* cursor.h - the opaque page cursor of GET /api/readings/latest.
 *
 * A cursor names the last row of the previous page in both ways a query set may need:
 * its (timestamp, id) for keyset paging (optimised) and the number of rows already
 * served for OFFSET paging (naive), so that both sets emit and accept the same cursor.
 * Wire form: base64url without padding of "v1|<ISO timestamp>|<reading id>|<offset>". */
#ifndef APIBENCH_CURSOR_H
#define APIBENCH_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CURSOR_MAX_OFFSET 1000000
#define CURSOR_TEXT_MAX 128

struct cursor {
    char timestamp[40]; /* ISO 8601 UTC as rendered: 2026-11-27T10:00:00.123Z */
    int64_t reading_id; /* > 0 */
    int64_t offset;     /* rows before the next page, 0..CURSOR_MAX_OFFSET */
};

/* Writes the wire form of c into out (NUL-terminated). Returns 0, or -1 when c holds a
 * value that cursor_decode would reject or out is too small. */
int cursor_encode(const struct cursor *c, char *out, size_t outlen);

/* Parses text into c. Returns 0, or -1 for anything that cursor_encode could not have
 * produced (bad base64, wrong version, bad timestamp, id or offset out of range). */
int cursor_decode(const char *text, struct cursor *c);

/* True if s is a timestamp in the exact form the API renders (YYYY-MM-DDTHH:MM:SS, an
 * optional fraction of 1-6 digits, then Z). */
bool cursor_timestamp_valid(const char *s);

#endif
