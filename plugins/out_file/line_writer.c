/* JSON-lines writer shared by the `file` and `stdout` outputs (see
 * line_writer.h). */
#include "line_writer.h"

#include "json.h"
#include "log.h"
#include "loop.h"
#include "pipeline.h"

#include <errno.h>
#include <stdio.h>
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

/* Renders the chunk into writer->pending. Returns -1 if the chunk is corrupt. */
static int line_writer_render(struct line_writer *writer, const struct chunk *chunk)
{
    struct json_stats stats = {0};
    struct record_view view;
    size_t pos = 0;
    int rc;

    buf_reset(&writer->pending);
    writer->written = 0;
    /* A failed chunk may have left half a line behind: end it first. */
    if (!writer->last_byte_newline)
        buf_append_byte(&writer->pending, '\n');
    while ((rc = chunk_next(chunk, &pos, &view)) == 1) {
        if (json_write_record(&writer->pending, &view, chunk->attachments, "@timestamp", &stats) <
            0)
            return -1;
        buf_append_byte(&writer->pending, '\n');
    }
    if (stats.invalid_utf8) {
        metric_add(writer->output->metrics.invalid_utf8, (int64_t)stats.invalid_utf8);
        if (!writer->warned_invalid_utf8)
            log_warn(writer->output->alias,
                     "records of tag '%s' hold invalid UTF-8, written as U+FFFD; further "
                     "cases are only counted in skiff_output_invalid_utf8_total",
                     chunk->tag);
        writer->warned_invalid_utf8 = true;
    }
    return rc;
}

static void line_writer_on_writable(struct loop *loop, int fd, unsigned events, void *data);

/* Writes what is pending. Returns 1 when all is written, 0 when waiting for
 * the fd, -1 on a write error (errno set). */
static int line_writer_drain(struct line_writer *writer)
{
    while (writer->written < writer->pending.len) {
        ssize_t n = write(writer->fd, writer->pending.data + writer->written,
                          writer->pending.len - writer->written);
        if (n > 0) {
            writer->written += (size_t)n;
            writer->last_byte_newline = writer->pending.data[writer->written - 1] == '\n';
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

static void line_writer_stop_watching(struct line_writer *writer)
{
    if (writer->watching) {
        loop_unwatch_fd(writer->output->loop, writer->fd);
        writer->watching = false;
    }
}

static void line_writer_continue(struct line_writer *writer, struct delivery *delivery)
{
    int rc = line_writer_drain(writer);

    writer->in_flight = rc == 0 ? delivery : NULL;
    if (rc == 0)
        return;
    line_writer_stop_watching(writer);
    if (rc < 0) {
        /* Keep the pending lines and `written`: a retry of this chunk resumes
         * where the write stopped. */
        char reason[256];
        snprintf(reason, sizeof reason, "%s: write: %s", writer->target, strerror(errno));
        delivery_done(delivery, DELIVERY_RETRY, reason);
        return;
    }
    metric_add(writer->output->metrics.bytes, (int64_t)writer->pending.len);
    writer->has_pending = false;
    buf_reset(&writer->pending);
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
    if (!writer->has_pending || writer->chunk_id != chunk->id) {
        if (line_writer_render(writer, chunk) < 0) {
            writer->has_pending = false;
            buf_reset(&writer->pending);
            delivery_done(delivery, DELIVERY_FAILED, "chunk is corrupt");
            return;
        }
        writer->has_pending = true;
        writer->chunk_id = chunk->id;
    }
    line_writer_continue(writer, delivery);
}

void line_writer_release(struct line_writer *writer)
{
    line_writer_stop_watching(writer);
    buf_free(&writer->pending);
    writer->has_pending = false;
    writer->in_flight = NULL;
}
