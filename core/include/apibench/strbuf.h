/* strbuf.h - a growable byte buffer. Allocation failure aborts (as in h2o): a server that
 * cannot allocate a few KB has no useful way to go on. */
#ifndef APIBENCH_STRBUF_H
#define APIBENCH_STRBUF_H

#include <stddef.h>

struct strbuf {
    char *data; /* always NUL-terminated once anything was appended */
    size_t len;
    size_t cap;
};

void strbuf_append(struct strbuf *b, const char *data, size_t len);
void strbuf_appendf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the data to the caller (who frees it) and resets b. */
char *strbuf_steal(struct strbuf *b, size_t *len);
/* Reads the whole file at path into a new NUL-terminated buffer (the caller frees it;
 * *len, if given, gets its length). Returns NULL with errno set when it cannot be read. */
char *strbuf_read_file(const char *path, size_t *len);

/* Frees the data. Accepts a zeroed buffer. */
void strbuf_free(struct strbuf *b);

/* malloc/calloc/realloc/strdup that abort on out-of-memory. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif
