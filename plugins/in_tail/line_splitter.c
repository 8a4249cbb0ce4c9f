/* Splits file bytes into lines (see line_splitter.h): lines inside one block go
 * to the callback straight from the caller's buffer; only a line spanning
 * blocks is copied, into `partial`. Not for decoding what a line holds. */
#include "line_splitter.h"

#include <string.h>

void line_splitter_init(struct line_splitter *s, size_t max_line, bool skip_long)
{
    memset(s, 0, sizeof *s);
    /* A zero limit would make every piece of a split line empty, forever. */
    s->max_line = max_line ? max_line : 1;
    s->skip_long = skip_long;
}

void line_splitter_free(struct line_splitter *s)
{
    buf_free(&s->partial);
}

static void line_splitter_emit(struct line_splitter *s, const char *line, size_t len,
                               uint64_t end_offset, line_splitter_cb *cb, void *ctx)
{
    s->lines++;
    cb(ctx, line, len, end_offset);
}

/* Consumes the bytes of a line being skipped, up to and including its '\n'. */
static size_t line_splitter_skip(struct line_splitter *s, const char *data, size_t pos, size_t len)
{
    const char *nl = memchr(data + pos, '\n', len - pos);
    if (!nl)
        return len;
    s->skipping = false;
    return (size_t)(nl - data) + 1;
}

/* Takes data[pos, end) when it fits, with `partial`, within max_line: keeps it
 * if the line goes on, else hands the whole line on and steps over its '\n'. */
static size_t line_splitter_take_fitting(struct line_splitter *s, const char *data, size_t pos,
                                         size_t end, bool complete, uint64_t offset,
                                         line_splitter_cb *cb, void *ctx)
{
    if (!complete) {
        buf_append(&s->partial, data + pos, end - pos);
        return end;
    }
    uint64_t end_offset = offset + end + 1;
    if (s->partial.len == 0) {
        line_splitter_emit(s, data + pos, end - pos, end_offset, cb, ctx);
    } else {
        buf_append(&s->partial, data + pos, end - pos);
        line_splitter_emit(s, s->partial.data, s->partial.len, end_offset, cb, ctx);
        buf_reset(&s->partial);
    }
    s->splitting = false;
    return end + 1;
}

/* The line now exceeds max_line: drop it, through its '\n' if that is here. */
static size_t line_splitter_drop_long(struct line_splitter *s, size_t end, bool complete)
{
    s->long_skipped++;
    buf_reset(&s->partial);
    if (complete)
        return end + 1;
    s->skipping = true;
    return end;
}

/* The line now exceeds max_line: hand on max_line bytes at a time while more
 * than max_line remain in data[pos, end), then take the rest as usual. */
static size_t line_splitter_split_long(struct line_splitter *s, const char *data, size_t pos,
                                       size_t end, bool complete, uint64_t offset,
                                       line_splitter_cb *cb, void *ctx)
{
    if (!s->splitting) {
        s->long_split++;
        s->splitting = true;
    }
    if (s->partial.len > 0) {
        size_t fill = s->max_line - s->partial.len;
        buf_append(&s->partial, data + pos, fill);
        pos += fill;
        line_splitter_emit(s, s->partial.data, s->partial.len, offset + pos, cb, ctx);
        buf_reset(&s->partial);
    }
    while (end - pos > s->max_line) {
        line_splitter_emit(s, data + pos, s->max_line, offset + pos + s->max_line, cb, ctx);
        pos += s->max_line;
    }
    return line_splitter_take_fitting(s, data, pos, end, complete, offset, cb, ctx);
}

/* Every end_offset handed on is `offset` of the feed that completed the line or
 * piece plus the index, in that feed's block, of the byte just past it: feeds
 * are contiguous, so bytes fed earlier need no bookkeeping. */
void line_splitter_feed(struct line_splitter *s, const char *data, size_t len, uint64_t offset,
                        line_splitter_cb *cb, void *ctx)
{
    size_t pos = 0;
    while (pos < len) {
        if (s->skipping) {
            pos = line_splitter_skip(s, data, pos, len);
            continue;
        }
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - data) : len;
        bool complete = nl != NULL;
        /* A line of exactly max_line bytes is not long: with `partial` full and
         * no byte after it yet, the next feed decides. */
        if (s->partial.len + (end - pos) <= s->max_line)
            pos = line_splitter_take_fitting(s, data, pos, end, complete, offset, cb, ctx);
        else if (s->skip_long)
            pos = line_splitter_drop_long(s, end, complete);
        else
            pos = line_splitter_split_long(s, data, pos, end, complete, offset, cb, ctx);
    }
}

bool line_splitter_flush(struct line_splitter *s, uint64_t end_offset, line_splitter_cb *cb,
                         void *ctx)
{
    s->splitting = false;
    if (s->skipping) {
        s->skipping = false;
        return false;
    }
    if (s->partial.len == 0)
        return false;
    line_splitter_emit(s, s->partial.data, s->partial.len, end_offset, cb, ctx);
    buf_reset(&s->partial);
    return true;
}

void line_splitter_reset(struct line_splitter *s)
{
    buf_reset(&s->partial);
    s->skipping = false;
    s->splitting = false;
}

size_t line_splitter_pending(const struct line_splitter *s)
{
    return s->partial.len;
}
