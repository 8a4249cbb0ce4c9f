/* Splits the bytes of a file into lines as they are read, block by block. A
 * line that ends in one read and began in an earlier one is carried between
 * reads in a buffer bounded by the maximum line size; complete lines inside a
 * block are handed on without copying. Not for parsing: a line is bytes up to
 * '\n', which is not part of it. */
#ifndef SKIFF_LINE_SPLITTER_H
#define SKIFF_LINE_SPLITTER_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Called for each line. `end_offset` is the file offset just past the line's
 * '\n' (or, for a piece of a split long line or a flushed final line, just
 * past its last byte): where reading resumes once this line is done. */
typedef void line_splitter_cb(void *ctx, const char *line, size_t len, uint64_t end_offset);

struct line_splitter {
    size_t max_line;    /* lines longer than this are skipped or split */
    bool skip_long;     /* true: skip the rest of a long line; false: split it */
    bool skipping;      /* in the middle of a long line being skipped */
    bool splitting;     /* in the middle of a long line being split */
    struct buf partial; /* the unfinished line carried over from earlier reads */
    /* Counters, for metrics; the caller may reset them. */
    uint64_t lines;        /* lines and pieces handed on */
    uint64_t long_skipped; /* long lines skipped (counted once per line) */
    uint64_t long_split;   /* long lines split (counted once per line) */
};

void line_splitter_init(struct line_splitter *s, size_t max_line, bool skip_long);
void line_splitter_free(struct line_splitter *s);

/* Feeds `len` bytes that start at file offset `offset` (the offset just past
 * the bytes fed before). Calls `cb` for every line completed by them; keeps
 * the unfinished rest. With skip_long, a line longer than max_line is dropped
 * (counted once) up to and including its '\n'; without it, every max_line
 * bytes of it become a piece of their own. */
void line_splitter_feed(struct line_splitter *s, const char *data, size_t len, uint64_t offset,
                        line_splitter_cb *cb, void *ctx);

/* Hands on the unfinished line, if any (a final line without '\n' in a file
 * that was rotated away and drained). `end_offset` is the file offset just
 * past its last byte. Returns true if a line was handed on. */
bool line_splitter_flush(struct line_splitter *s, uint64_t end_offset, line_splitter_cb *cb,
                         void *ctx);

/* Forgets the unfinished line (the file was truncated). */
void line_splitter_reset(struct line_splitter *s);

/* Bytes held in the unfinished line (for the checkpoint: a restart resumes
 * before them). */
size_t line_splitter_pending(const struct line_splitter *s);

#endif
