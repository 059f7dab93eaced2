/* fuzz_cursor.c - page cursors (core/src/cursor.c). Whatever cursor_decode accepts must
 * encode back to the very same text (each cursor has one spelling) and hold in-range
 * values; cursor_timestamp_valid is fed the raw input too. */
#include "apibench/cursor.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    struct cursor c;
    (void)cursor_timestamp_valid(text);
    if (cursor_decode(text, &c) == 0) {
        char again[CURSOR_TEXT_MAX + 8];
        FUZZ_CHECK(c.reading_id >= 1 && c.offset >= 0 && c.offset <= CURSOR_MAX_OFFSET);
        FUZZ_CHECK(cursor_timestamp_valid(c.timestamp));
        FUZZ_CHECK(cursor_encode(&c, again, sizeof again) == 0);
        FUZZ_CHECK(strcmp(again, text) == 0);
    }
    free(text);
    return 0;
}
