/* The output thread: runs every output instance on its own event loop, hands
 * each one the chunks routed to it (at most `max_in_flight` at a time, in
 * order), retries failed attempts with exponential backoff and jitter, and
 * returns finished deliveries to the pipeline thread through an eventfd.
 *
 * The pipeline thread only calls submit, take_completed, finish and stop; everything
 * else happens on the output thread. The worker queues deliveries and starts
 * them; delivery.c retries and ends them and calls back the worker's end
 * function: nothing here calls into the pipeline. */
#ifndef SKIFF_OUTPUT_WORKER_H
#define SKIFF_OUTPUT_WORKER_H

#include "delivery_internal.h"

#include <stdbool.h>
#include <stddef.h>

struct dead_letter;
struct instance;
struct output_worker;

/* Creates the worker and its loop; outputs[i].loop is set to it so that
 * output plugins can be initialised before the thread starts. `dead_letter`
 * (owned by the caller, used on the output thread) takes what outputs give up
 * on. */
struct output_worker *output_worker_create(struct instance *outputs, size_t count,
                                           struct dead_letter *dead_letter);
int output_worker_start(struct output_worker *worker);
/* Pipeline thread: queue a delivery for its output. */
void output_worker_submit(struct output_worker *worker, struct delivery *delivery);
/* Readable when deliveries have finished. */
int output_worker_completion_fd(const struct output_worker *worker);
/* Pipeline thread: takes every finished delivery (a list linked by `next`). */
struct delivery *output_worker_take_completed(struct output_worker *worker);
/* Pipeline thread, for a reload: the worker starts no more deliveries. Those
 * queued or waiting for a retry come back at once with `abandoned` set; an
 * attempt under way ends as it ends, except that a retry it asks for comes
 * back abandoned instead. Then the outputs are destroyed and the thread
 * ends: output_worker_finished() turns true and the completion fd becomes
 * readable. output_worker_stop still has to join it. */
void output_worker_finish(struct output_worker *worker);
bool output_worker_finished(struct output_worker *worker);
/* Stops the thread and joins it. Every delivery not finished is then on the
 * completed list with `abandoned` set. Output plugins are destroyed on the
 * output thread before it ends. */
void output_worker_stop(struct output_worker *worker);
/* Frees the worker (after stop, or if it never started). */
void output_worker_destroy(struct output_worker *worker);

#endif
