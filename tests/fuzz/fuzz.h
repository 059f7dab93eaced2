/* fuzz.h - what the libFuzzer targets of tests/fuzz share. Each fuzz_NAME.c defines
 * LLVMFuzzerTestOneInput for one parser; scripts/fuzz builds and runs them (with ASan and
 * UBSan, -DAPIBENCH_FUZZ=ON, CC=clang) over the seed corpus in corpus/NAME/. */
#ifndef APIBENCH_FUZZ_H
#define APIBENCH_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a NUL-terminated string (malloc'd; the caller frees). Bytes after an
 * embedded NUL are invisible to C string parsers, as they would be in a real request. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* A finding that no sanitizer would report: a broken promise of the code under test. */
#define FUZZ_CHECK(cond)                                                                     \
    do {                                                                                     \
        if (!(cond))                                                                         \
            __builtin_trap();                                                                \
    } while (0)

#endif
