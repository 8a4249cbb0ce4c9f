/* Sending one delivery (one chunk, or the several chunks the lane handed on
 * together, up to batch_max_bytes of them) as `_bulk` requests. The records
 * not yet done are listed once per attempt, across the chunks in order, each
 * with its record number in the delivery, then sent in batches
 * (batch_max_bytes, batch_max_records, and fewer records while 429s last) one
 * request at a time: parallelism comes from max_in_flight deliveries. What a
 * request holds: without compression one item (es_bulk_stream writes the
 * body while libcurl sends it, chunked, and again from its first byte for a
 * resend); with gzip the compressed body, built in the output's one scratch
 * buffer and compressed at once (es_buffers.c). A streamed batch's end is
 * fixed when its answer comes (es_flush_batch_end), so the cursor and the
 * 413 halves move then.
 * es_answer.c reads the answers: items are marked done, dead-lettered or left
 * for the next attempt; a 413 splits the batch in halves; a whole-request
 * failure ends the attempt, and the rest waits for the retry. */
#include "es_flush.h"

#include "es_response.h"
#include "gzip.h"
#include "log.h"
#include "loop.h"
#include "xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bodies from this size on (before compression) wait for "100 Continue":
 * Elasticsearch refuses a body over http.max_content_length (100 MiB by
 * default, less on some services) with an early 413 and closes the
 * connection, which without Expect may reach us as a reset instead. */
#define ES_EXPECT_CONTINUE_BYTES ((size_t)1 << 20)

void es_gzip(struct es_output *es, const struct buf *in, struct buf *out)
{
    buf_reset(out);
    gzip_compress_append(es->gzip, in->data, in->len, out);
}

void es_flush_fail(struct es_flush *f, bool stop, const char *fmt, ...)
{
    if (!f->retry && fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(f->reason, sizeof f->reason, fmt, ap);
        va_end(ap);
    }
    f->retry = true;
    f->stop = f->stop || stop;
}

static void flush_free(struct es_flush *f)
{
    struct es_output *es = f->es;
    if (f->prev)
        f->prev->next = f->next;
    else
        es->flushes = f->next;
    if (f->next)
        f->next->prev = f->prev;
    es_record_list_free(&f->list);
    free(f->indexes);
    free(f->ranges);
    es_bulk_stream_free(f->stream);
    es_buffer_give(&es->spare_gzipped, &f->gzipped);
    free(f);
}

static void flush_finish(struct es_flush *f)
{
    struct delivery *d = f->delivery;
    if (f->retry) {
        delivery_done(d, DELIVERY_RETRY, f->reason);
    } else if (f->malformed) {
        char reason[96];
        snprintf(reason, sizeof reason, "%zu records cannot be read from their chunk",
                 f->malformed);
        delivery_done(d, DELIVERY_FAILED, reason);
    } else {
        delivery_done(d, DELIVERY_OK, NULL);
    }
    flush_free(f);
}

int es_flush_record_at(const struct es_flush *f, size_t position, struct record_view *view)
{
    const struct es_record_ref *ref = &f->list.records[position];
    size_t pos = ref->offset;
    return chunk_next(ref->chunk, &pos, view) == 1 ? 0 : -1;
}

void es_flush_split(struct es_flush *f)
{
    size_t half = f->batch.count / 2;
    f->ranges = xgrow(f->ranges, &f->range_cap, f->range_count + 2, sizeof *f->ranges);
    /* A stack: the first half is pushed last so that it goes first. */
    f->ranges[f->range_count++] = (struct es_range){f->batch.first + half, f->batch.count - half};
    f->ranges[f->range_count++] = (struct es_range){f->batch.first, half};
}

/* What a streamed batch's body reads: counted as sent as it goes, and in
 * the body bytes once per batch (not again when sent again). */
static size_t flush_body_read(void *data, char *dst, size_t room)
{
    struct es_flush *f = data;
    size_t n = es_bulk_stream_read(f->stream, dst, room);
    size_t at = es_bulk_stream_position(f->stream);
    metric_add(f->es->metrics.sent_bytes, (int64_t)n);
    if (at > f->body_counted) {
        metric_add(f->es->metrics.body_bytes, (int64_t)(at - f->body_counted));
        f->body_counted = at;
    }
    return n;
}

static void flush_body_rewind(void *data)
{
    struct es_flush *f = data;
    es_bulk_stream_rewind(f->stream);
}

void es_flush_request(struct es_flush *f)
{
    struct es_output *es = f->es;
    f->host = es_hosts_pick(es, loop_now_ms(es->out->loop));
    f->hosts_tried++;
    struct http_request request = {
        .method = "POST",
        .url = es->hosts[f->host].bulk_url,
        .headers = (const char *const *)es->headers,
        .header_count = es->header_count,
        .timeout_ms = es->opts->timeout_ms,
        .tls = &es->tls,
        .max_response_bytes = ES_RESPONSE_MAX_BYTES,
        /* A streamed body has no Content-Length, so Elasticsearch cannot
         * refuse it by its size before it comes (it answers 100 at once and
         * counts the body as it arrives): no Expect for it. */
        .expect_continue = es->gzip && f->body_len >= ES_EXPECT_CONTINUE_BYTES,
        .on_done = es_answer,
        .data = f,
    };
    if (es->gzip) {
        metric_add(es->metrics.sent_bytes, (int64_t)f->gzipped.len);
        request.body = f->gzipped.data;
        request.body_len = f->gzipped.len;
    } else {
        /* Failover sends the same batch again, from its first byte. */
        es_bulk_stream_rewind(f->stream);
        request.body_read = flush_body_read;
        request.body_rewind = flush_body_rewind;
    }
    f->call = http_client_start(es->http, &request);
    if (!f->call) {
        es_flush_fail(f, true, "the request could not be started (see the log)");
        es_flush_next(f);
    }
}

/* Index names fixed are counted by reason and logged once per output, with
 * the first example; so are records whose own time_key member was kept. */
static void count_build(struct es_output *es, const struct es_bulk_result *result)
{
    struct es_index_fix_example *example = &es->fix_example;
    for (unsigned i = 0; i < ES_INDEX_FIX_COUNT; i++)
        metric_add(es->metrics.index_fixes[i], (int64_t)result->index_fixes[i]);
    metric_add(es->metrics.time_key_conflicts, (int64_t)result->time_key_conflicts);
    if (example->set && !es->index_fix_logged) {
        es->index_fix_logged = true;
        log_warn(es->out->alias,
                 "index name '%s' is not valid in Elasticsearch: sent as '%s' (every fix is "
                 "counted in skiff_es_index_names_fixed_total; logged once)",
                 buf_cstr(&example->original), buf_cstr(&example->fixed));
    }
}

/* The build's counts, once per batch. */
static void count_result(struct es_output *es, const struct es_bulk_result *result)
{
    metric_add(es->metrics.index_fallbacks, (int64_t)result->index_fallbacks);
    metric_add(es->metrics.id_fallbacks, (int64_t)result->id_fallbacks);
    count_build(es, result);
    metric_add(es->out->metrics.invalid_utf8, (int64_t)result->stats.invalid_utf8);
}

/* Moves past the first `took` records of the batch at the top range (a
 * split half) or at the cursor. */
static void flush_advance(struct es_flush *f, bool from_range, size_t took)
{
    if (!from_range) {
        f->cursor += took;
        return;
    }
    struct es_range *range = &f->ranges[f->range_count - 1];
    range->first += took;
    range->count -= took;
    if (range->count == 0)
        f->range_count--;
}

/* Where the next batch starts and its limits; false when none is left. */
static bool flush_pick(struct es_flush *f, size_t *first, struct es_bulk_options *opts)
{
    struct es_output *es = f->es;
    size_t throttled = es->throttle.batch_records;
    *opts = es->bulk;
    if (throttled && (!opts->batch_max_records || throttled < opts->batch_max_records))
        opts->batch_max_records = throttled;
    f->batch_from_range = f->range_count > 0;
    if (f->batch_from_range) {
        const struct es_range *range = &f->ranges[f->range_count - 1];
        *first = range->first;
        if (!opts->batch_max_records || range->count < opts->batch_max_records)
            opts->batch_max_records = range->count;
        return true;
    }
    *first = f->cursor;
    return f->cursor < f->list.count;
}

/* gzip: the batch from `first` built in the output's scratch body and
 * compressed into f->gzipped. Returns -1 if its first record is malformed. */
static int flush_compress(struct es_flush *f, size_t first, const struct es_bulk_options *opts)
{
    struct es_output *es = f->es;
    struct buf *body = &es->scratch_body;
    struct es_bulk_result result;
    buf_reset(body);
    if (es_bulk_build(&f->list, first, opts, body, &result) < 0)
        return -1;
    f->batch.count = result.records;
    f->body_len = body->len;
    flush_advance(f, f->batch_from_range, result.records);
    metric_add(es->metrics.body_bytes, (int64_t)body->len);
    count_result(es, &result);
    es_gzip(es, body, &f->gzipped);
    es_scratch_body_done(es);
    return 0;
}

/* Sets up the next batch (compressed, or ready to stream); false when there
 * is none left. A malformed record where a batch would start is set aside. */
static bool flush_build(struct es_flush *f)
{
    struct es_output *es = f->es;
    for (;;) {
        size_t first;
        struct es_bulk_options opts;
        if (!flush_pick(f, &first, &opts))
            return false;
        f->batch = (struct es_range){first, 0};
        if (es->gzip && flush_compress(f, first, &opts) == 0)
            return true;
        if (!es->gzip && es_bulk_stream_start(f->stream, &f->list, first, &opts) == 0) {
            f->batch_open = true;
            f->body_counted = 0;
            return true;
        }
        flush_advance(f, f->batch_from_range, 1);
        f->malformed++;
    }
}

void es_flush_batch_end(struct es_flush *f)
{
    if (!f->batch_open)
        return;
    f->batch_open = false;
    size_t bytes;
    const struct es_bulk_result *result = es_bulk_stream_finish(f->stream, &bytes);
    f->batch.count = result->records;
    f->body_len = bytes;
    flush_advance(f, f->batch_from_range, result->records);
    if (bytes > f->body_counted) /* not sent whole (an early answer) */
        metric_add(f->es->metrics.body_bytes, (int64_t)(bytes - f->body_counted));
    count_result(f->es, result);
}

void es_flush_next(struct es_flush *f)
{
    es_flush_batch_end(f);
    if (!f->stop && flush_build(f)) {
        f->hosts_tried = 0;
        es_flush_request(f);
        return;
    }
    flush_finish(f);
}

/* Lists the records of one chunk, numbered from `base` in the delivery, that
 * earlier attempts did not finish. */
static void flush_list_chunk(struct es_flush *f, const struct chunk *chunk, uint32_t base)
{
    size_t from = f->list.count;
    if (es_record_list_add_chunk(&f->list, chunk) < 0) {
        size_t read = f->list.count - from;
        f->malformed += chunk->record_count - read;
        log_error(f->es->out->alias, "chunk %llu is malformed after record %zu",
                  (unsigned long long)chunk->id, read);
    }
    size_t kept = from;
    for (size_t i = from; i < f->list.count; i++) {
        uint32_t index = base + (uint32_t)(i - from);
        if (delivery_record_done(f->delivery, index))
            continue;
        f->indexes[kept] = index;
        f->list.records[kept++] = f->list.records[i];
    }
    f->list.count = kept;
}

/* Lists the records of the delivery's chunks, in order, not done by earlier
 * attempts. */
static void flush_list(struct es_flush *f)
{
    uint32_t total = delivery_record_count(f->delivery);
    uint32_t base = 0;
    f->indexes = xmalloc((total ? total : 1) * sizeof *f->indexes);
    for (size_t i = 0; i < delivery_chunk_count(f->delivery); i++) {
        const struct chunk *chunk = delivery_chunk_at(f->delivery, i);
        flush_list_chunk(f, chunk, base);
        base += chunk->record_count;
    }
}

void es_send_flush(struct es_output *es, struct delivery *delivery)
{
    struct es_flush *f = xcalloc(1, sizeof *f);
    f->es = es;
    f->delivery = delivery;
    if (es->gzip)
        es_buffer_take(&es->spare_gzipped, &f->gzipped);
    else
        f->stream = es_bulk_stream_create();
    f->next = es->flushes;
    if (es->flushes)
        es->flushes->prev = f;
    es->flushes = f;
    flush_list(f);
    es_flush_next(f);
}

/* At destroy: the requests stop without on_done, the deliveries stay with
 * the core, which keeps their chunks buffered. */
void es_send_cancel_all(struct es_output *es)
{
    while (es->flushes) {
        struct es_flush *f = es->flushes;
        if (f->call)
            http_call_cancel(es->http, f->call);
        flush_free(f);
    }
}
