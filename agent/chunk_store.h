/* The in-memory chunk store: the open chunk of each (input, tag), and per
 * input the queue of sealed chunks in the order they were sealed. Chunks may
 * finish out of order (different outputs, retries), but they are acknowledged
 * and released in order per input, so an input's acknowledgements never pass a
 * chunk that is neither delivered nor on disk. Pipeline thread only. */
#ifndef SKIFF_CHUNK_STORE_H
#define SKIFF_CHUNK_STORE_H

#include "chunk.h"

#include <stddef.h>

struct chunk_store;

/* What the store calls as chunks finish: `ack` once per chunk, in order per
 * queue, when the chunk (and every chunk of its group) is safe (every output
 * took it, or a chunk file holds it); `release` when every output took it and
 * everything before it in the queue is released (release frees the chunk). */
struct chunk_store_hooks {
    void (*ack)(struct chunk *chunk, void *data);
    void (*release)(struct chunk *chunk, void *data);
    void *data;
};

/* One queue per input, plus any more the caller wants (chunks replayed from
 * disk go to their own). */
struct chunk_store *chunk_store_create(size_t queue_count);
/* One more queue (a reload added an input); returns its index. */
unsigned chunk_store_add_queue(struct chunk_store *store);
/* True when every sealed chunk of `queue` was released. */
bool chunk_store_queue_empty(const struct chunk_store *store, unsigned queue);
/* Frees every open and sealed chunk. */
void chunk_store_destroy(struct chunk_store *store);

struct chunk *chunk_store_find_open(struct chunk_store *store, unsigned input, const char *tag);
void chunk_store_add_open(struct chunk_store *store, struct chunk *chunk);
size_t chunk_store_open_count(const struct chunk_store *store);
/* Changes whenever a chunk leaves the open table (sealed): an open chunk
 * found while it was G is still open, and the same pointer, while it is G. */
uint64_t chunk_store_open_generation(const struct chunk_store *store);
/* The open chunks, to be sealed by the caller (the store's table is not
 * touched): returns a malloc'ed array of `*count` chunks. */
struct chunk **chunk_store_list_open(const struct chunk_store *store, size_t *count);

/* How many streams chunk_store_filled_last can remember at once. */
#define CHUNK_STORE_FILLED_SLOTS 64
/* Whether the last chunk of (input, tag) sealed was full (chunk->filled), so
 * that its next chunk likely fills too. A hint: a stream may be forgotten
 * (another took its slot), or, if two share a 64-bit hash, be taken for the
 * other. */
bool chunk_store_filled_last(const struct chunk_store *store, unsigned input, const char *tag);

/* Moves an open chunk to the end of queue chunk->input_index; `routes_left`
 * outputs must report it done before it is released. Notes whether it was
 * full (chunk_store_filled_last). */
void chunk_store_seal(struct chunk_store *store, struct chunk *chunk, unsigned routes_left);
/* Seals `count` open chunks of one input together, as one group, at the end
 * of its queue (`routes_left[i]` for chunks[i]): the group is acknowledged
 * only when every chunk in it is safe, all at once, with each source's
 * highest offset in the group once (the origins move to chunks[0]). For an
 * input whose sources' records are spread over several tags: a checkpoint
 * never passes a record of a chunk still in flight. `held_back` (or NULL)
 * is the origin of a record whose copies go into this group and the next:
 * when it is its source's highest here, this group does not acknowledge
 * that source (the next one will). */
void chunk_store_seal_group(struct chunk_store *store, struct chunk **chunks, size_t count,
                            const unsigned *routes_left, const struct record_origin *held_back);
/* Appends a chunk that was never open (read back from disk) to `queue`. A
 * chunk already acknowledged (chunk->acked) is not acknowledged again. */
void chunk_store_add_sealed(struct chunk_store *store, unsigned queue, struct chunk *chunk,
                            unsigned routes_left);
/* One output is done with the chunk (routes_left is decremented if > 0); then
 * chunk_store_advance on its queue. */
void chunk_store_route_done(struct chunk_store *store, struct chunk *chunk,
                            const struct chunk_store_hooks *hooks);
/* Acknowledges and releases what became ready at the head of `queue`, in
 * order. Call it when a chunk of the queue got safe some other way (written to
 * disk). */
void chunk_store_advance(struct chunk_store *store, unsigned queue,
                         const struct chunk_store_hooks *hooks);
/* Sealed chunks not yet released, over all queues. */
size_t chunk_store_sealed_count(const struct chunk_store *store);
/* Calls `fn` for every sealed chunk not yet released, queue by queue, in
 * order. `fn` must not change the store. */
void chunk_store_each_sealed(const struct chunk_store *store,
                             void (*fn)(struct chunk *chunk, void *data), void *data);

#endif
