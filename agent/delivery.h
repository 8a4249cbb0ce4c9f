/* Deliveries as outputs see them: records on their way to one output, in one
 * chunk, or in several chunks when the output set delivery_max_bytes
 * (plugin_api.h): its records are then numbered across the chunks, in order.
 * The output's flush sends it and ends it with delivery_done(), now or later from
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

/* The first chunk: the only one for outputs that leave delivery_max_bytes 0. */
const struct chunk *delivery_chunk(const struct delivery *delivery);
/* Outputs that take several chunks at once: how many, and the i-th (0-based,
 * in the order their records are numbered). */
size_t delivery_chunk_count(const struct delivery *delivery);
const struct chunk *delivery_chunk_at(const struct delivery *delivery, size_t i);
/* Records of every chunk: indexes run from 0 to this - 1. */
uint32_t delivery_record_count(const struct delivery *delivery);
/* Ends a flush. `reason` (may be NULL) is logged with a retry or failure.
 * DELIVERY_FAILED, and DELIVERY_RETRY once retry_limit is used up, send every
 * record not yet marked done to the output's dead-letter file with `reason`. */
void delivery_done(struct delivery *delivery, enum delivery_result result, const char *reason);

/* Per-record bookkeeping that lasts across the retries of one delivery, for
 * outputs that learn the fate of each record (Elasticsearch's bulk items).
 * Records are numbered from 0 in chunk order (the order chunk_next gives),
 * chunk 0's records first, then chunk 1's, and so on. */
bool delivery_record_done(const struct delivery *delivery, uint32_t index);
/* The destination took record `index`: a retry must not send it again, and it
 * is not dead-lettered. */
void delivery_mark_done(struct delivery *delivery, uint32_t index);
/* The destination refused record `index` for good (a mapping error, say):
 * writes it (`rec`, read from its chunk) with `reason` and its chunk's tag to
 * state_dir/dead-letter/<output>.ndjson, counts it, and marks it done. */
void delivery_dead_letter(struct delivery *delivery, uint32_t index, const struct record_view *rec,
                          const char *reason);
/* The next retry of this delivery waits at least `delay_ms` (Retry-After). */
void delivery_retry_after(struct delivery *delivery, int64_t delay_ms);
/* True when a DELIVERY_RETRY now would use up retry_limit. */
bool delivery_is_last_attempt(const struct delivery *delivery);

#endif
