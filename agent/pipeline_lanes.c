/* The output lanes, the pipeline thread's side of handing chunks on (part of
 * the chunk store, with pipeline_buffer.c): each output has a lane, the
 * chunks sealed for it in the order it must take them; lane_dispatch makes
 * deliveries of them while the output has room (its window), reading back
 * chunks that wait on disk; completions finish each chunk's route.
 *
 * An output that sets delivery_max_bytes takes the chunks at the head of its
 * lane together, as one delivery, while their bytes fit: with a hundred
 * files, a flush seals a hundred small chunks and the output sends them in
 * one request rather than a hundred. Its window is max_in_flight
 * deliveries, so while all of them are under way new chunks wait in the
 * lane and the next delivery takes them together. */
#include "chunk_store.h"
#include "loop.h"
#include "output_worker.h"
#include "pipeline_internal.h"
#include "storage.h"
#include "xalloc.h"

#include <stdlib.h>

void lane_push(struct output_lane *lane, struct chunk *chunk)
{
    if (lane->count == lane->cap) {
        size_t cap = lane->cap ? lane->cap * 2 : 16;
        struct chunk **ring = xcalloc(cap, sizeof *ring);
        for (size_t i = 0; i < lane->count; i++)
            ring[i] = lane->ring[(lane->head + i) % lane->cap];
        free(lane->ring);
        lane->ring = ring;
        lane->cap = cap;
        lane->head = 0;
    }
    lane->ring[(lane->head + lane->count) % lane->cap] = chunk;
    lane->count++;
}

bool lane_takes_next(const struct output_lane *lane, const struct instance *output,
                     const struct chunk *chunk)
{
    size_t bytes = 0;
    for (size_t i = 0; i < lane->count; i++) {
        const struct chunk *c = lane->ring[(lane->head + i) % lane->cap];
        if (i > 0 && (!output->delivery_max_bytes || bytes + c->bytes > output->delivery_max_bytes))
            return false; /* past what one delivery takes */
        if (c == chunk)
            return true;
        bytes += c->bytes;
    }
    return false;
}

static struct chunk *lane_pop(struct output_lane *lane)
{
    struct chunk *chunk = lane->ring[lane->head];
    lane->head = (lane->head + 1) % lane->cap;
    lane->count--;
    return chunk;
}

unsigned lane_window(const struct instance *output, bool disk_buffer)
{
    /* Coalescing: as many deliveries as the output sends at once; the rest
     * waits in the lane, to be taken together. */
    if (output->delivery_max_bytes)
        return output->max_in_flight;
    /* Without a disk buffer every chunk is in memory anyway: hand them all
     * on. With one, a chunk more than the output sends at once keeps it busy
     * while the rest waits on disk. */
    return disk_buffer ? output->max_in_flight + 1 : ~0u;
}

void pipeline_open_lanes(struct pipeline *p)
{
    p->lanes = xcalloc(p->output_count ? p->output_count : 1, sizeof *p->lanes);
    for (size_t i = 0; i < p->output_count; i++)
        p->lanes[i].window = lane_window(&p->outputs[i], p->storage != NULL);
}

void pipeline_close_lanes(struct pipeline *p)
{
    if (!p->lanes)
        return;
    for (size_t i = 0; i < p->output_count; i++) {
        free(p->lanes[i].ring);
        free(p->lanes[i].taken);
    }
    free(p->lanes);
    p->lanes = NULL;
}

/* Reads an evicted chunk back. False when none of its records could be read
 * (the damage is logged and counted): the output then has nothing to send. */
static bool pipeline_load(struct pipeline *p, struct chunk *chunk, struct instance *output)
{
    if (!chunk->evicted)
        return true;
    uint32_t expected = chunk->record_count;
    storage_load(p->storage, chunk);
    if (!chunk->evicted)
        pipeline_count_memory(p, (int64_t)chunk->bytes, 1);
    if (chunk->record_count < expected)
        instance_count_dropped(output, "corrupt_chunk", expected - chunk->record_count);
    return chunk->record_count > 0;
}

/* Whether `chunk` may join the `taken` chunks (of `bytes` and `records`) in
 * one delivery: the first always does; others while within the output's
 * delivery_max_bytes and the record numbering's range. */
static bool lane_fits(const struct instance *output, size_t taken, size_t bytes, uint64_t records,
                      const struct chunk *chunk)
{
    if (taken == 0)
        return true;
    size_t budget = output->delivery_max_bytes;
    return budget && bytes + chunk->bytes <= budget && records + chunk->record_count <= UINT32_MAX;
}

/* Chunks of a lane none of whose records could be read back. */
struct unreadable {
    struct chunk **chunks;
    size_t count;
    size_t cap;
};

/* Takes the chunks of the next delivery from the head of the lane into
 * lane->taken, in order; returns how many (0: the lane is empty). Chunks
 * none of whose records can be read back go to `skipped`: the caller
 * finishes them once nothing refers to lane->taken any more, since finishing
 * a chunk may acknowledge and release, and through an input's resume come
 * back here. */
static size_t lane_take(struct pipeline *p, unsigned output, struct unreadable *skipped)
{
    struct output_lane *lane = &p->lanes[output];
    struct instance *out = &p->outputs[output];
    size_t taken = 0, bytes = 0;
    uint64_t records = 0;
    while (lane->count > 0) {
        struct chunk *chunk = lane->ring[lane->head];
        if (!lane_fits(out, taken, bytes, records, chunk))
            break;
        lane_pop(lane);
        if (!pipeline_load(p, chunk, out)) {
            skipped->chunks =
                xgrow(skipped->chunks, &skipped->cap, skipped->count + 1, sizeof *skipped->chunks);
            skipped->chunks[skipped->count++] = chunk;
            continue;
        }
        lane->taken = xgrow(lane->taken, &lane->taken_cap, taken + 1, sizeof *lane->taken);
        lane->taken[taken++] = chunk;
        bytes += chunk->bytes;
        records += chunk->record_count;
    }
    return taken;
}

void lane_dispatch(struct pipeline *p, unsigned output)
{
    struct output_lane *lane = &p->lanes[output];
    if (p->outputs_closing)
        return; /* a reload: the new outputs take the lane's chunks */
    struct unreadable skipped = {0};
    while (lane->count > 0 && lane->submitted < lane->window) {
        size_t taken = lane_take(p, output, &skipped);
        if (taken == 0)
            break;
        struct delivery *d = delivery_new(&p->outputs[output], lane->taken, taken);
        for (size_t i = 0; i < taken; i++)
            lane->taken[i]->submitted++;
        lane->submitted++;
        lane->deliveries++;
        output_worker_submit(p->worker, d);
    }
    /* The output has nothing to send for these: done with them. */
    for (size_t i = 0; i < skipped.count; i++)
        pipeline_route_finished(p, skipped.chunks[i], output);
    free(skipped.chunks);
}

/* ---- completions ---- */

void pipeline_check_drained(struct pipeline *p)
{
    if (p->stopping && chunk_store_sealed_count(p->store) == 0 &&
        chunk_store_open_count(p->store) == 0)
        loop_stop(p->loop);
}

/* Every chunk of a finished delivery has its route to the output finished
 * (and, when that was its last, is acknowledged in order and released); an
 * abandoned delivery's chunks stay in the store, unacknowledged. */
static void pipeline_delivery_ended(struct pipeline *p, struct delivery *d)
{
    unsigned output = d->output->index;
    p->lanes[output].submitted--;
    for (size_t i = 0; i < d->chunk_count; i++) {
        struct chunk *chunk = d->chunks[i];
        chunk->submitted--;
        if (!d->abandoned)
            pipeline_route_finished(p, chunk, output);
    }
}

void pipeline_on_completion(struct loop *loop, int fd, unsigned events, void *data)
{
    struct pipeline *p = data;
    struct delivery *list = output_worker_take_completed(p->worker);

    /* The done marks of the chunks finished here: one rewrite per pack. */
    if (p->storage)
        storage_begin_updates(p->storage);
    while (list) {
        struct delivery *d = list;
        list = d->next;
        unsigned output = d->output->index;
        pipeline_delivery_ended(p, d);
        delivery_free(d);
        if (!loop_is_running(p->loop))
            continue; /* the output thread is gone: nothing more is sent */
        lane_dispatch(p, output);
    }
    if (p->storage)
        storage_end_updates(p->storage);
    pipeline_check_drained(p);
}
