/* Deliveries as outputs see them: one chunk on its way to one output. The
 * output's flush sends it and ends it with delivery_done(), now or later from
 * the output loop; outputs that learn the fate of each record mark them done
 * or dead-letter them one by one. Output thread only. */
#ifndef SKIFF_DELIVERY_H
#define SKIFF_DELIVERY_H

#include "codec.h"

#include <stdbool.h>
#include <stdint.h>

struct chunk;

/* Outputs: a chunk to send. */
enum delivery_result {
    DELIVERY_OK,     /* the output took every record */
    DELIVERY_RETRY,  /* try again after backoff */
    DELIVERY_FAILED, /* undeliverable: counted and given up on */
};

struct delivery;

const struct chunk *delivery_chunk(const struct delivery *delivery);
/* Ends a flush. `reason` (may be NULL) is logged with a retry or failure.
 * DELIVERY_FAILED, and DELIVERY_RETRY once retry_limit is used up, send every
 * record not yet marked done to the output's dead-letter file with `reason`. */
void delivery_done(struct delivery *delivery, enum delivery_result result, const char *reason);

/* Per-record bookkeeping that lasts across the retries of one delivery, for
 * outputs that learn the fate of each record (Elasticsearch's bulk items).
 * Records are numbered from 0 in chunk order (the order chunk_next gives). */
bool delivery_record_done(const struct delivery *delivery, uint32_t index);
/* The destination took record `index`: a retry must not send it again, and it
 * is not dead-lettered. */
void delivery_mark_done(struct delivery *delivery, uint32_t index);
/* The destination refused record `index` for good (a mapping error, say):
 * writes it with `reason` to state_dir/dead-letter/<output>.ndjson, counts it,
 * and marks it done. */
void delivery_dead_letter(struct delivery *delivery, uint32_t index, const struct record_view *rec,
                          const char *reason);
/* The next retry of this delivery waits at least `delay_ms` (Retry-After). */
void delivery_retry_after(struct delivery *delivery, int64_t delay_ms);
/* True when a DELIVERY_RETRY now would use up retry_limit. */
bool delivery_is_last_attempt(const struct delivery *delivery);

#endif
