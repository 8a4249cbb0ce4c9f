/* A growable byte buffer: the building block for serialized records, HTTP
 * bodies and JSON output. Not a string type: it may hold NUL bytes, and
 * buf_cstr() is the only call that promises a terminator. */
#ifndef SKIFF_BUF_H
#define SKIFF_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct buf {
    char *data;
    size_t len;
    size_t cap;
};

#define BUF_INIT                                                                                   \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Where growth by doubling ends (see buf.c). */
#define BUF_DOUBLING_LIMIT ((size_t)64 * 1024)

void buf_free(struct buf *b);
void buf_reset(struct buf *b);
/* The capacity buf_grow gives a buffer of capacity `cap` that must hold
 * `need` bytes. */
size_t buf_capacity_for(size_t cap, size_t need);
/* The largest capacity a buffer grown to hold at most `bytes` can have,
 * however it grew. */
size_t buf_capacity_bound(size_t bytes);
/* Makes room for `extra` more bytes (buf_reserve when there is not). */
void buf_grow(struct buf *b, size_t extra);
void buf_append_str(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* NUL-terminates the content (without counting the NUL) and returns it. */
const char *buf_cstr(struct buf *b);

/* The writers of bulk bodies and JSON append a few bytes at a time: the
 * check for room is inline, growing is not. */
static inline void buf_reserve(struct buf *b, size_t extra)
{
    if (b->cap - b->len < extra)
        buf_grow(b, extra);
}

static inline void buf_append(struct buf *b, const void *data, size_t len)
{
    if (len == 0)
        return;
    buf_reserve(b, len);
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

static inline void buf_append_byte(struct buf *b, char c)
{
    if (b->len == b->cap)
        buf_grow(b, 1);
    b->data[b->len++] = c;
}

#endif
