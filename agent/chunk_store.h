/* The in-memory chunk store: the open chunk of each (input, tag), and per
 * input the queue of sealed chunks in the order they were sealed. Chunks may
 * finish out of order (different outputs, retries), but they are released in
 * order per input, so an input's acknowledgements never pass a chunk that is
 * still in flight. Pipeline thread only. */
#ifndef SKIFF_CHUNK_STORE_H
#define SKIFF_CHUNK_STORE_H

#include "chunk.h"

#include <stddef.h>

struct chunk_store;

typedef void chunk_release_cb(struct chunk *chunk, void *data);

struct chunk_store *chunk_store_create(size_t input_count);
/* Frees every open and sealed chunk. */
void chunk_store_destroy(struct chunk_store *store);

struct chunk *chunk_store_find_open(struct chunk_store *store, unsigned input, const char *tag);
void chunk_store_add_open(struct chunk_store *store, struct chunk *chunk);
size_t chunk_store_open_count(const struct chunk_store *store);
/* The open chunks, to be sealed by the caller (the store's table is not
 * touched): returns a malloc'ed array of `*count` chunks. */
struct chunk **chunk_store_list_open(const struct chunk_store *store, size_t *count);

/* Moves an open chunk to its input's sealed queue; `routes_left` outputs must
 * report it done before it is released. */
void chunk_store_seal(struct chunk_store *store, struct chunk *chunk, unsigned routes_left);
/* One output is done with the chunk (routes_left is decremented if > 0).
 * Releases, in order, every finished chunk at the head of the input's queue
 * through `release` (which frees it). */
void chunk_store_route_done(struct chunk_store *store, struct chunk *chunk,
                            chunk_release_cb *release, void *data);
/* Sealed chunks not yet released, over all inputs. */
size_t chunk_store_sealed_count(const struct chunk_store *store);

#endif
