/* The output thread: runs every output instance on its own event loop, hands
 * each one the chunks routed to it (at most `max_in_flight` at a time, in
 * order), retries failed attempts with exponential backoff and jitter, and
 * returns finished deliveries to the pipeline thread through an eventfd.
 *
 * The pipeline thread only calls submit, take_completed and stop; everything
 * else happens on the output thread. */
#ifndef SKIFF_OUTPUT_WORKER_H
#define SKIFF_OUTPUT_WORKER_H

#include "pipeline.h"

#include <stdbool.h>
#include <stddef.h>

struct loop;
struct loop_timer;
struct output_worker;
struct dead_letter;

/* One chunk on its way to one output. */
struct delivery {
    struct chunk *chunk;
    struct instance *output;
    struct output_worker *worker;
    unsigned attempts; /* flushes started */
    enum delivery_result result;
    bool abandoned; /* still unsent when the worker stopped */
    struct loop_timer *retry_timer;
    int64_t retry_after_ms; /* the output asked the next retry to wait this long */
    uint64_t *records_done; /* bitmap by record index, allocated on first mark */
    uint32_t done_count;    /* bits set in records_done */
    uint32_t dead_lettered; /* records the output dead-lettered itself */
    struct delivery *next;
};

/* Frees a delivery and its bookkeeping (not the chunk). */
void delivery_free(struct delivery *delivery);
/* Output thread: dead-letters every record not marked done, with `reason`. */
void delivery_dead_letter_rest(struct delivery *delivery, const char *reason);

/* Creates the worker and its loop; outputs[i].loop is set to it so that
 * output plugins can be initialised before the thread starts. `dead_letter`
 * (owned by the caller, used on the output thread) takes what outputs give up
 * on. */
struct output_worker *output_worker_create(struct instance *outputs, size_t count,
                                           struct dead_letter *dead_letter);
struct dead_letter *output_worker_dead_letter(const struct output_worker *worker);
int output_worker_start(struct output_worker *worker);
/* Pipeline thread: queue a delivery for its output. */
void output_worker_submit(struct output_worker *worker, struct delivery *delivery);
/* Readable when deliveries have finished. */
int output_worker_completion_fd(const struct output_worker *worker);
/* Pipeline thread: takes every finished delivery (a list linked by `next`). */
struct delivery *output_worker_take_completed(struct output_worker *worker);
/* Stops the thread and joins it. Every delivery not finished is then on the
 * completed list with `abandoned` set. Output plugins are destroyed on the
 * output thread before it ends. */
void output_worker_stop(struct output_worker *worker);
/* Frees the worker (after stop, or if it never started). */
void output_worker_destroy(struct output_worker *worker);

/* Backoff before retry number `attempt` (1-based): exponential from retry_min,
 * capped at retry_max, with jitter in [base/2, base]; never below retry_min. */
int64_t output_retry_delay_ms(int64_t retry_min_ms, int64_t retry_max_ms, unsigned attempt,
                              double unit_random);

#endif
