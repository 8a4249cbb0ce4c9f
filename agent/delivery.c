/* The per-record side of a delivery (pipeline.h): which records of the chunk
 * the destination already took, so that retries resend only the rest and only
 * the rest is dead-lettered when the output gives up. Output thread only. */
#include "dead_letter.h"
#include "log.h"
#include "output_worker.h"
#include "xalloc.h"

#include <stdlib.h>

void delivery_free(struct delivery *delivery)
{
    free(delivery->records_done);
    free(delivery);
}

bool delivery_record_done(const struct delivery *delivery, uint32_t index)
{
    if (!delivery->records_done || index >= delivery->chunk->record_count)
        return false;
    return delivery->records_done[index / 64] >> (index % 64) & 1;
}

void delivery_mark_done(struct delivery *delivery, uint32_t index)
{
    uint32_t count = delivery->chunk->record_count;
    if (index >= count || delivery_record_done(delivery, index))
        return;
    if (!delivery->records_done)
        delivery->records_done = xcalloc((count + 63) / 64, sizeof *delivery->records_done);
    delivery->records_done[index / 64] |= 1ull << (index % 64);
    delivery->done_count++;
}

void delivery_dead_letter(struct delivery *delivery, uint32_t index, const struct record_view *rec,
                          const char *reason)
{
    if (index >= delivery->chunk->record_count || delivery_record_done(delivery, index))
        return;
    dead_letter_write(output_worker_dead_letter(delivery->worker), delivery->output,
                      delivery->chunk, rec, reason);
    delivery_mark_done(delivery, index);
    delivery->dead_lettered++;
}

void delivery_dead_letter_rest(struct delivery *delivery, const char *reason)
{
    const struct chunk *chunk = delivery->chunk;
    struct record_view view;
    size_t pos = 0;
    uint32_t index = 0;
    int rc;

    while ((rc = chunk_next(chunk, &pos, &view)) == 1) {
        delivery_dead_letter(delivery, index, &view, reason);
        index++;
    }
    if (rc < 0) {
        uint32_t lost = chunk->record_count - delivery->done_count;
        log_error(delivery->output->alias,
                  "chunk %llu is malformed after record %u: %u records cannot be dead-lettered "
                  "and are counted in skiff_records_dropped_total{reason=\"malformed_chunk\"}",
                  (unsigned long long)chunk->id, index, lost);
        instance_count_dropped(delivery->output, "malformed_chunk", lost);
    }
}

void delivery_retry_after(struct delivery *delivery, int64_t delay_ms)
{
    if (delay_ms > delivery->retry_after_ms)
        delivery->retry_after_ms = delay_ms;
}
