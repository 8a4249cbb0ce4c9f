/* JSON-lines writer shared by the outputs that write lines (see
 * line_writer.h). */
#include "line_writer.h"

#include "json.h"
#include "log.h"
#include "loop.h"
#include "plugin_api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void line_writer_init(struct line_writer *writer, struct instance *output, int fd,
                      const char *target)
{
    memset(writer, 0, sizeof *writer);
    writer->output = output;
    writer->fd = fd;
    writer->target = target;
    writer->last_byte_newline = true;
}

static void count_invalid_utf8(struct line_writer *writer, const struct chunk *chunk,
                               uint64_t invalid)
{
    if (!invalid)
        return;
    metric_add(writer->output->metrics.invalid_utf8, (int64_t)invalid);
    if (!writer->warned_invalid_utf8)
        log_warn(writer->output->alias,
                 "records of tag '%s' hold invalid UTF-8, written as U+FFFD; further "
                 "cases are only counted in skiff_output_invalid_utf8_total",
                 chunk->tag);
    writer->warned_invalid_utf8 = true;
}

/* A piece that grew past twice the usual size (one huge record) gives its
 * memory back once written. */
static void piece_reset(struct line_writer *writer)
{
    if (writer->piece.cap > 2 * LINE_WRITER_PIECE_BYTES)
        buf_free(&writer->piece);
    else
        buf_reset(&writer->piece);
    writer->written = 0;
}

/* Renders the chunk's next records into the piece, up to about
 * LINE_WRITER_PIECE_BYTES. Returns -1 if the chunk is corrupt. */
static int render_piece(struct line_writer *writer, const struct chunk *chunk)
{
    struct json_stats stats = {0};
    struct record_view view;
    int rc = 1;

    piece_reset(writer);
    /* A failed chunk may have left half a line behind: end it first. */
    if (!writer->last_byte_newline)
        buf_append_byte(&writer->piece, '\n');
    while (writer->piece.len < LINE_WRITER_PIECE_BYTES &&
           (rc = chunk_next(chunk, &writer->chunk_pos, &view)) == 1) {
        if (json_write_record(&writer->piece, &view, chunk->attachments, "@timestamp", &stats) <
            0) {
            rc = -1;
            break;
        }
        buf_append_byte(&writer->piece, '\n');
    }
    count_invalid_utf8(writer, chunk, stats.invalid_utf8);
    if (rc == 0)
        writer->chunk_rendered = true;
    return rc < 0 ? -1 : 0;
}

static void line_writer_on_writable(struct loop *loop, int fd, unsigned events, void *data);

/* Writes what is left of the piece. Returns 1 when all is written, 0 when
 * waiting for the fd, -1 on a write error (errno set). */
static int drain_piece(struct line_writer *writer)
{
    while (writer->written < writer->piece.len) {
        ssize_t n = write(writer->fd, writer->piece.data + writer->written,
                          writer->piece.len - writer->written);
        if (n > 0) {
            writer->written += (size_t)n;
            writer->chunk_bytes += (uint64_t)n;
            writer->last_byte_newline = writer->piece.data[writer->written - 1] == '\n';
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            if (!writer->watching && loop_watch_fd(writer->output->loop, writer->fd, LOOP_WRITABLE,
                                                   line_writer_on_writable, writer) == 0)
                writer->watching = true;
            return 0;
        }
        if (n == 0)
            errno = EIO;
        return -1;
    }
    return 1;
}

/* Renders and writes pieces until the chunk is done. Returns 1 when all is
 * written, 0 when waiting for the fd, -1 on a write error (errno set), -2 if
 * the chunk is corrupt. */
static int write_chunk(struct line_writer *writer, const struct chunk *chunk)
{
    for (;;) {
        int rc = drain_piece(writer);
        if (rc <= 0)
            return rc;
        if (writer->chunk_rendered)
            return 1;
        if (render_piece(writer, chunk) < 0)
            return -2;
    }
}

static void line_writer_stop_watching(struct line_writer *writer)
{
    if (writer->watching) {
        loop_unwatch_fd(writer->output->loop, writer->fd);
        writer->watching = false;
    }
}

static void chunk_finished(struct line_writer *writer)
{
    writer->has_chunk = false;
    piece_reset(writer);
}

static void line_writer_continue(struct line_writer *writer, struct delivery *delivery)
{
    int rc = write_chunk(writer, delivery_chunk(delivery));

    writer->in_flight = rc == 0 ? delivery : NULL;
    if (rc == 0)
        return;
    line_writer_stop_watching(writer);
    if (rc == -1) {
        /* Keep the piece, `written` and the chunk position: a retry of this
         * chunk resumes where the write stopped. */
        char reason[256];
        snprintf(reason, sizeof reason, "%s: write: %s", writer->target, strerror(errno));
        delivery_done(delivery, DELIVERY_RETRY, reason);
        return;
    }
    metric_add(writer->output->metrics.bytes, (int64_t)writer->chunk_bytes);
    chunk_finished(writer);
    if (rc == -2)
        delivery_done(delivery, DELIVERY_FAILED, "chunk is corrupt");
    else
        delivery_done(delivery, DELIVERY_OK, NULL);
}

static void line_writer_on_writable(struct loop *loop, int fd, unsigned events, void *data)
{
    struct line_writer *writer = data;
    line_writer_continue(writer, writer->in_flight);
}

void line_writer_flush(struct line_writer *writer, struct delivery *delivery)
{
    const struct chunk *chunk = delivery_chunk(delivery);

    /* Chunk ids are never reused, so a match means this is a retry. */
    if (!writer->has_chunk || writer->chunk_id != chunk->id) {
        piece_reset(writer);
        writer->has_chunk = true;
        writer->chunk_id = chunk->id;
        writer->chunk_pos = 0;
        writer->chunk_rendered = false;
        writer->chunk_bytes = 0;
        /* write_chunk renders the first piece: an empty one is all written. */
    }
    line_writer_continue(writer, delivery);
}

void line_writer_release(struct line_writer *writer)
{
    line_writer_stop_watching(writer);
    buf_free(&writer->piece);
    writer->has_chunk = false;
    writer->in_flight = NULL;
}
