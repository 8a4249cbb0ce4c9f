/* A delivery's life on the output thread (delivery.h, delivery_internal.h):
 * its attempts, the backoff between them, giving up, and the per-record side:
 * which records of the chunk the destination already took, so that retries
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

void delivery_attempt(struct delivery *delivery)
{
    delivery->attempts++;
    delivery->output->plugin->flush(delivery->output, delivery);
}

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
    dead_letter_write(delivery->dead_letter, delivery->output, delivery->chunk, rec, reason);
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

    metric_add(out->metrics.retries, 1);
    log_warn(out->alias, "chunk %llu (tag %s, %u records): %s; retry %u in %.1fs",
             (unsigned long long)delivery->chunk->id, delivery->chunk->tag,
             delivery->chunk->record_count, reason ? reason : "failed", delivery->attempts,
             (double)delay / 1000.0);
    delivery->retry_timer =
        loop_add_timer(delivery->loop, delay, 0, delivery_retry_timer, delivery);
}

static bool delivery_retries_left(const struct delivery *delivery)
{
    int64_t limit = delivery->output->config->common.retry_limit;
    return limit < 0 || (int64_t)delivery->attempts <= limit;
}

const struct chunk *delivery_chunk(const struct delivery *delivery)
{
    return delivery->chunk;
}

bool delivery_is_last_attempt(const struct delivery *delivery)
{
    return !delivery_retries_left(delivery);
}

static void delivery_give_up(struct delivery *delivery, const char *what, const char *reason)
{
    char why[512];
    snprintf(why, sizeof why, "%s: %s", what, reason ? reason : "no reason given");
    log_error(delivery->output->alias,
              "chunk %llu (tag %s, %u records): %s; %u records not yet taken go to the "
              "dead-letter folder",
              (unsigned long long)delivery->chunk->id, delivery->chunk->tag,
              delivery->chunk->record_count, why,
              delivery->chunk->record_count - delivery->done_count);
    delivery_dead_letter_rest(delivery, why);
}

void delivery_done(struct delivery *delivery, enum delivery_result result, const char *reason)
{
    struct instance *out = delivery->output;

    if (result == DELIVERY_RETRY && delivery->no_retry) {
        /* A reload replaces the output: the new one sends the chunk. */
        log_warn(out->alias, "chunk %llu (tag %s, %u records): %s; the reloaded outputs send it",
                 (unsigned long long)delivery->chunk->id, delivery->chunk->tag,
                 delivery->chunk->record_count, reason ? reason : "failed");
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
        metric_add(out->metrics.records,
                   (int64_t)delivery->chunk->record_count - delivery->dead_lettered);
    else
        metric_add(out->metrics.failures, 1);
    delivery->on_end(delivery, delivery->end_data);
}
