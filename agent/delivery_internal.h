/* A delivery as the core sees it: the pipeline thread makes one per output
 * from one chunk, or from several chunks taken together from the output's
 * lane when the output asks for it (instance->delivery_max_bytes); the
 * output worker queues it and starts its attempts, delivery.c
 * keeps its per-record state, retries it with backoff and ends it. When it
 * ends (delivered, or given up on) it calls `on_end`, which the worker set:
 * delivery.c knows nothing of the worker, the worker nothing of the pipeline.
 * Not for plugins: they see delivery.h. */
#ifndef SKIFF_DELIVERY_INTERNAL_H
#define SKIFF_DELIVERY_INTERNAL_H

#include "delivery.h"

#include <stdbool.h>
#include <stdint.h>

struct dead_letter;
struct instance;
struct loop;
struct loop_timer;

struct delivery {
    /* In lane order; records are numbered across them, chunk 0's first. */
    struct chunk **chunks;
    size_t chunk_count;
    uint32_t record_count; /* of every chunk */
    struct instance *output;
    /* Set by output_worker_submit: the output loop (retry timers), the
     * dead-letter folder, the worker's jitter seed and its end callback. */
    struct loop *loop;
    struct dead_letter *dead_letter;
    unsigned *random_state;
    void (*on_end)(struct delivery *delivery, void *data);
    void *end_data;
    unsigned attempts; /* flushes started */
    enum delivery_result result;
    bool abandoned; /* still unsent when the worker stopped or finished */
    bool no_retry;  /* the worker is finishing: a retry ends it abandoned instead */
    struct loop_timer *retry_timer;
    int64_t retry_after_ms; /* the output asked the next retry to wait this long */
    uint64_t *records_done; /* bitmap by record index, allocated on first mark */
    uint32_t done_count;    /* bits set in records_done */
    uint32_t dead_lettered; /* records the output dead-lettered itself */
    struct delivery *next;
};

/* A delivery of `count` chunks (>= 1, their records read in already) to
 * `output`; the worker sets the rest at submit. */
struct delivery *delivery_new(struct instance *output, struct chunk *const *chunks, size_t count);
/* Output thread: starts one more attempt (plugin->flush). */
void delivery_attempt(struct delivery *delivery);
/* Frees a delivery and its bookkeeping (not the chunks). */
void delivery_free(struct delivery *delivery);
/* Output thread: dead-letters every record not marked done, with `reason`. */
void delivery_dead_letter_rest(struct delivery *delivery, const char *reason);

/* Backoff before retry number `attempt` (1-based): exponential from retry_min,
 * capped at retry_max, with jitter in [base/2, base]; never below retry_min. */
int64_t output_retry_delay_ms(int64_t retry_min_ms, int64_t retry_max_ms, unsigned attempt,
                              double unit_random);

#endif
