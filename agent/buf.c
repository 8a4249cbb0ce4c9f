/* Growable byte buffer (see buf.h). */
#include "buf.h"

#include "xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
}

/* Small buffers double (from 64 bytes); from BUF_DOUBLING_LIMIT on they
 * grow by half (in whole pages), so a large buffer that is still filling
 * (an open chunk, a body) holds at most half again its content, not up to
 * twice: 1.5x lowered the backlog benchmark's peak RSS by 0.6-1.4 MiB with
 * the same CPU (tests/bench/README.md, session 6). Never past the power of
 * two doubling would have given: a buffer kept within 2^k bytes (a line
 * within max_line) still has a capacity within 2^k. */
enum { BUF_PAGE = 4096 };

static size_t round_to_pages(size_t bytes)
{
    return (bytes + BUF_PAGE - 1) & ~(size_t)(BUF_PAGE - 1);
}

static size_t power_of_two_at_least(size_t bytes)
{
    size_t p = 64;
    while (p < bytes)
        p *= 2;
    return p;
}

size_t buf_capacity_for(size_t cap, size_t need)
{
    if (!cap)
        cap = 64;
    while (cap < need && cap < BUF_DOUBLING_LIMIT)
        cap *= 2;
    if (cap >= need)
        return cap;
    size_t grown = round_to_pages(cap + cap / 2 > need ? cap + cap / 2 : need);
    size_t doubled = power_of_two_at_least(need);
    return grown < doubled ? grown : doubled;
}

size_t buf_capacity_bound(size_t bytes)
{
    size_t doubled = power_of_two_at_least(bytes);
    if (bytes <= BUF_DOUBLING_LIMIT)
        return doubled;
    size_t grown = round_to_pages(bytes + bytes / 2);
    return grown < doubled ? grown : doubled;
}

void buf_grow(struct buf *b, size_t extra)
{
    if (b->cap - b->len >= extra)
        return;
    size_t cap = buf_capacity_for(b->cap, b->len + extra);
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

void buf_append_str(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list again;
    buf_reserve(b, 128);
    va_copy(again, ap);
    int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    if (n >= 0 && (size_t)n >= b->cap - b->len) {
        buf_reserve(b, (size_t)n + 1);
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, again);
    }
    va_end(again);
    if (n > 0)
        b->len += (size_t)n;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

const char *buf_cstr(struct buf *b)
{
    buf_reserve(b, 1);
    b->data[b->len] = '\0';
    return b->data;
}
