/* Request body buffers kept between requests. With gzip, each delivery
 * sent takes a buffer here for its compressed body and gives it back when it
 * is done, so that the next one writes into pages already mapped instead of
 * faulting in (and zeroing) fresh memory per request; the uncompressed body
 * is built in the output's one scratch buffer and compressed at once, so it
 * is held once per output, not once per delivery in flight. Without
 * compression nothing is kept here: bodies are written while sent
 * (es_bulk_stream). What is kept is bounded by configuration: at most
 * max_in_flight compressed bodies, each no larger than the gzip bound of a
 * batch of batch_max_bytes, and one scratch body of a batch; a buffer that
 * grew past that (one record larger than the batch) is freed. */
#include "es_output.h"

#include "gzip.h"
#include "xalloc.h"

#include <stdlib.h>

static void spares_init(struct es_spares *spares, size_t max, size_t keep_cap)
{
    spares->bufs = xcalloc(max, sizeof *spares->bufs);
    spares->count = 0;
    spares->max = max;
    spares->keep_cap = keep_cap;
}

void es_buffers_init(struct es_output *es)
{
    size_t max = (size_t)es->opts->max_in_flight;
    size_t body = buf_capacity_bound((size_t)es->opts->batch_max_bytes + ES_BULK_SLACK);
    size_t gzipped = es->gzip ? buf_capacity_bound(gzip_compress_bound(body)) : 0;
    spares_init(&es->spare_gzipped, es->gzip ? max : 0, gzipped);
    es->scratch_body = (struct buf)BUF_INIT;
    es->scratch_keep_cap = body;
}

void es_buffer_take(struct es_spares *spares, struct buf *out)
{
    if (spares->count)
        *out = spares->bufs[--spares->count];
    else
        *out = (struct buf)BUF_INIT;
    out->len = 0;
}

void es_buffer_give(struct es_spares *spares, struct buf *b)
{
    if (b->data && b->cap <= spares->keep_cap && spares->count < spares->max)
        spares->bufs[spares->count++] = *b;
    else
        buf_free(b);
    *b = (struct buf)BUF_INIT;
}

void es_scratch_body_done(struct es_output *es)
{
    struct buf *scratch = &es->scratch_body;
    if (scratch->cap > es->scratch_keep_cap)
        buf_free(scratch);
    scratch->len = 0;
}

static void spares_free(struct es_spares *spares)
{
    for (size_t i = 0; i < spares->count; i++)
        buf_free(&spares->bufs[i]);
    free(spares->bufs);
    *spares = (struct es_spares){0};
}

void es_buffers_free(struct es_output *es)
{
    spares_free(&es->spare_gzipped);
    buf_free(&es->scratch_body);
}
