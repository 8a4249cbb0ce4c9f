/* Writes chunks as JSON lines (one object per record, see json_write_record)
 * to a file descriptor, for outputs that write lines (`file`, `stdout`).
 * Memory is bounded: a chunk is rendered a piece of about
 * LINE_WRITER_PIECE_BYTES at a time (a single larger record goes whole), so
 * records that share large pod metadata never exist all at once as text.
 * Writes never block the output loop: on EAGAIN the rest waits for the fd to
 * be writable, and a failed write resumes where it stopped when the chunk is
 * retried, so no line is written twice or torn. */
#ifndef SKIFF_LINE_WRITER_H
#define SKIFF_LINE_WRITER_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LINE_WRITER_PIECE_BYTES (256 * 1024)

struct instance;
struct delivery;

struct line_writer {
    struct instance *output;
    int fd;
    const char *target;         /* for messages: the path, or "stdout" */
    struct delivery *in_flight; /* waiting for the fd to become writable, or NULL */
    uint64_t chunk_id;          /* the chunk being written, when has_chunk */
    bool has_chunk;
    size_t chunk_pos;         /* where the next record to render starts in the chunk */
    bool chunk_rendered;      /* every record of the chunk is in `piece` or written */
    uint64_t chunk_bytes;     /* bytes of the chunk written so far, for the metric */
    struct buf piece;         /* the records being written, as JSON lines */
    size_t written;           /* bytes of `piece` already written */
    bool watching;            /* fd is watched for writability */
    bool last_byte_newline;   /* what was last written ends a line */
    bool warned_invalid_utf8; /* logged once; afterwards only counted */
};

void line_writer_init(struct line_writer *writer, struct instance *output, int fd,
                      const char *target);
void line_writer_flush(struct line_writer *writer, struct delivery *delivery);
/* Stops watching the fd and frees the buffer; does not close the fd. */
void line_writer_release(struct line_writer *writer);

#endif
