/* A delivery's life on the output thread (delivery.h, delivery_internal.h):
 * its attempts, the backoff between them, giving up, and the per-record side:
 * which records of its chunks (numbered across them) the destination took, so that retries
 * resend only the rest and only the rest is dead-lettered when the output
 * gives up. Ends by calling the delivery's on_end (the worker's); calls
 * nothing on the pipeline thread. */
#include "delivery_internal.h"

#include "dead_letter.h"
#include "log.h"
#include "loop.h"
#include "plugin_api.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>

int64_t output_retry_delay_ms(int64_t retry_min_ms, int64_t retry_max_ms, unsigned attempt,
                              double unit_random)
{
    int64_t base = retry_min_ms;
    for (unsigned i = 1; i < attempt && base < retry_max_ms; i++)
        base *= 2;
    if (base > retry_max_ms)
        base = retry_max_ms;
    int64_t delay = base / 2 + (int64_t)((double)(base - base / 2) * unit_random);
    return delay < retry_min_ms ? retry_min_ms : delay;
}

struct delivery *delivery_new(struct instance *output, struct chunk *const *chunks, size_t count)
{
    struct delivery *delivery = xcalloc(1, sizeof *delivery);
    delivery->output = output;
    delivery->chunks = xmalloc(count * sizeof *delivery->chunks);
    delivery->chunk_count = count;
    for (size_t i = 0; i < count; i++) {
        delivery->chunks[i] = chunks[i];
        delivery->record_count += chunks[i]->record_count;
    }
    return delivery;
}

void delivery_attempt(struct delivery *delivery)
{
    delivery->attempts++;
    delivery->output->plugin->flush(delivery->output, delivery);
}

void delivery_free(struct delivery *delivery)
{
    free(delivery->records_done);
    free(delivery->chunks);
    free(delivery);
}

/* "chunk 7 (tag t, 10 records)", or for several "40 chunks from 7 (900
 * records)", for log lines. */
static void delivery_describe(const struct delivery *delivery, char *out, size_t size)
{
    const struct chunk *first = delivery->chunks[0];
    if (delivery->chunk_count == 1)
        snprintf(out, size, "chunk %llu (tag %s, %u records)", (unsigned long long)first->id,
                 first->tag, first->record_count);
    else
        snprintf(out, size, "%zu chunks from %llu (%u records)", delivery->chunk_count,
                 (unsigned long long)first->id, delivery->record_count);
}

const struct chunk *delivery_chunk(const struct delivery *delivery)
{
    return delivery->chunks[0];
}

size_t delivery_chunk_count(const struct delivery *delivery)
{
    return delivery->chunk_count;
}

const struct chunk *delivery_chunk_at(const struct delivery *delivery, size_t i)
{
    return i < delivery->chunk_count ? delivery->chunks[i] : NULL;
}

uint32_t delivery_record_count(const struct delivery *delivery)
{
    return delivery->record_count;
}

/* The chunk that holds record `index` (< record_count). */
static const struct chunk *delivery_chunk_of(const struct delivery *delivery, uint32_t index)
{
    for (size_t i = 0; i < delivery->chunk_count; i++) {
        const struct chunk *chunk = delivery->chunks[i];
        if (index < chunk->record_count)
            return chunk;
        index -= chunk->record_count;
    }
    return NULL;
}

bool delivery_record_done(const struct delivery *delivery, uint32_t index)
{
    if (!delivery->records_done || index >= delivery->record_count)
        return false;
    return delivery->records_done[index / 64] >> (index % 64) & 1;
}

void delivery_mark_done(struct delivery *delivery, uint32_t index)
{
    uint32_t count = delivery->record_count;
    if (index >= count || delivery_record_done(delivery, index))
        return;
    if (!delivery->records_done)
        delivery->records_done = xcalloc((count + 63) / 64, sizeof *delivery->records_done);
    delivery->records_done[index / 64] |= 1ull << (index % 64);
    delivery->done_count++;
}

static void dead_letter_in(struct delivery *delivery, const struct chunk *chunk, uint32_t index,
                           const struct record_view *rec, const char *reason)
{
    if (delivery_record_done(delivery, index))
        return;
    dead_letter_write(delivery->dead_letter, delivery->output, chunk, rec, reason);
    delivery_mark_done(delivery, index);
    delivery->dead_lettered++;
}

void delivery_dead_letter(struct delivery *delivery, uint32_t index, const struct record_view *rec,
                          const char *reason)
{
    if (index >= delivery->record_count)
        return;
    dead_letter_in(delivery, delivery_chunk_of(delivery, index), index, rec, reason);
}

/* Records of [first, first + count) not marked done. */
static uint32_t delivery_undone(const struct delivery *delivery, uint32_t first, uint32_t count)
{
    uint32_t undone = 0;
    for (uint32_t i = first; i < first + count; i++)
        undone += !delivery_record_done(delivery, i);
    return undone;
}

/* Dead-letters the records of one chunk, numbered from `base`, not done. */
static void dead_letter_chunk_rest(struct delivery *delivery, const struct chunk *chunk,
                                   uint32_t base, const char *reason)
{
    struct record_view view;
    size_t pos = 0;
    uint32_t index = 0;
    int rc;

    while ((rc = chunk_next(chunk, &pos, &view)) == 1 && index < chunk->record_count) {
        dead_letter_in(delivery, chunk, base + index, &view, reason);
        index++;
    }
    if (rc < 0) {
        uint32_t lost = delivery_undone(delivery, base + index, chunk->record_count - index);
        log_error(delivery->output->alias,
                  "chunk %llu is malformed after record %u: %u records cannot be dead-lettered "
                  "and are counted in skiff_records_dropped_total{reason=\"malformed_chunk\"}",
                  (unsigned long long)chunk->id, index, lost);
        instance_count_dropped(delivery->output, "malformed_chunk", lost);
    }
}

void delivery_dead_letter_rest(struct delivery *delivery, const char *reason)
{
    uint32_t base = 0;
    for (size_t i = 0; i < delivery->chunk_count; i++) {
        const struct chunk *chunk = delivery->chunks[i];
        dead_letter_chunk_rest(delivery, chunk, base, reason);
        base += chunk->record_count;
    }
}

void delivery_retry_after(struct delivery *delivery, int64_t delay_ms)
{
    if (delay_ms > delivery->retry_after_ms)
        delivery->retry_after_ms = delay_ms;
}

static void delivery_retry_timer(struct loop *loop, struct loop_timer *timer, void *data)
{
    struct delivery *delivery = data;
    delivery->retry_timer = NULL; /* one-shot: freed after this callback */
    delivery_attempt(delivery);
}

static void delivery_schedule_retry(struct delivery *delivery, const char *reason)
{
    struct instance *out = delivery->output;
    const struct instance_common *common = &out->config->common;
    double unit = (double)rand_r(delivery->random_state) / (double)RAND_MAX;
    int64_t delay =
        output_retry_delay_ms(common->retry_min_ms, common->retry_max_ms, delivery->attempts, unit);

    /* Retry-After is honoured up to retry_max, so a bogus value cannot park
     * the chunk for hours. */
    int64_t asked = delivery->retry_after_ms;
    if (asked > common->retry_max_ms)
        asked = common->retry_max_ms;
    if (asked > delay)
        delay = asked;
    delivery->retry_after_ms = 0;

    char what[128];
    delivery_describe(delivery, what, sizeof what);
    metric_add(out->metrics.retries, 1);
    log_warn(out->alias, "%s: %s; retry %u in %.1fs", what, reason ? reason : "failed",
             delivery->attempts, (double)delay / 1000.0);
    delivery->retry_timer =
        loop_add_timer(delivery->loop, delay, 0, delivery_retry_timer, delivery);
}

static bool delivery_retries_left(const struct delivery *delivery)
{
    int64_t limit = delivery->output->config->common.retry_limit;
    return limit < 0 || (int64_t)delivery->attempts <= limit;
}

bool delivery_is_last_attempt(const struct delivery *delivery)
{
    return !delivery_retries_left(delivery);
}

static void delivery_give_up(struct delivery *delivery, const char *what, const char *reason)
{
    char why[512], which[128];
    snprintf(why, sizeof why, "%s: %s", what, reason ? reason : "no reason given");
    delivery_describe(delivery, which, sizeof which);
    log_error(delivery->output->alias,
              "%s: %s; %u records not yet taken go to the dead-letter folder", which, why,
              delivery->record_count - delivery->done_count);
    delivery_dead_letter_rest(delivery, why);
}

void delivery_done(struct delivery *delivery, enum delivery_result result, const char *reason)
{
    struct instance *out = delivery->output;

    if (result == DELIVERY_RETRY && delivery->no_retry) {
        /* A reload replaces the output: the new one sends the chunks. */
        char which[128];
        delivery_describe(delivery, which, sizeof which);
        log_warn(out->alias, "%s: %s; the reloaded outputs send it", which,
                 reason ? reason : "failed");
        delivery->abandoned = true;
        delivery->on_end(delivery, delivery->end_data);
        return;
    }
    if (result == DELIVERY_RETRY && delivery_retries_left(delivery)) {
        delivery_schedule_retry(delivery, reason);
        return;
    }
    if (result == DELIVERY_RETRY) {
        char what[64];
        snprintf(what, sizeof what, "gave up after %u attempts", delivery->attempts);
        delivery_give_up(delivery, what, reason);
        result = DELIVERY_FAILED;
    } else if (result == DELIVERY_FAILED) {
        delivery_give_up(delivery, "undeliverable", reason);
    }
    delivery->result = result;
    if (result == DELIVERY_OK)
        metric_add(out->metrics.records, (int64_t)delivery->record_count - delivery->dead_lettered);
    else
        metric_add(out->metrics.failures, (int64_t)delivery->chunk_count);
    delivery->on_end(delivery, delivery->end_data);
}
