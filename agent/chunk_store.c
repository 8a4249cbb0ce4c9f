/* The in-memory chunk store (see chunk_store.h). Open chunks sit in a chained
 * hash table keyed by (input, tag) that doubles when it gets crowded; a small
 * direct-mapped table remembers which (input, tag) filled its last chunk. */
#include "chunk_store.h"

#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

struct sealed_queue {
    struct chunk *head;
    struct chunk *tail;
    struct chunk *ack_next; /* first chunk not yet acknowledged, or NULL */
};

struct chunk_store {
    struct chunk **buckets;
    size_t bucket_count; /* a power of two */
    size_t open_count;
    uint64_t open_removals; /* chunks that left the open table, ever */
    struct sealed_queue *sealed;
    size_t queue_count;
    size_t sealed_count;
    /* The hashes of the (input, tag) whose last sealed chunk was full, one
     * per slot (0: none). A stream whose slot another took is just not
     * remembered: its next chunk grows as any other. */
    size_t filled[CHUNK_STORE_FILLED_SLOTS];
};

static size_t chunk_store_hash(unsigned input, const char *tag)
{
    uint64_t h = 1469598103934665603ull ^ input;
    for (; *tag; tag++) {
        h ^= (unsigned char)*tag;
        h *= 1099511628211ull;
    }
    return (size_t)h;
}

struct chunk_store *chunk_store_create(size_t queue_count)
{
    struct chunk_store *store = xcalloc(1, sizeof *store);
    store->bucket_count = 64;
    store->buckets = xcalloc(store->bucket_count, sizeof *store->buckets);
    store->queue_count = queue_count;
    store->sealed = xcalloc(queue_count, sizeof *store->sealed);
    return store;
}

void chunk_store_destroy(struct chunk_store *store)
{
    if (!store)
        return;
    for (size_t i = 0; i < store->bucket_count; i++) {
        for (struct chunk *c = store->buckets[i], *next; c; c = next) {
            next = c->next_open;
            chunk_free(c);
        }
    }
    for (size_t i = 0; i < store->queue_count; i++) {
        for (struct chunk *c = store->sealed[i].head, *next; c; c = next) {
            next = c->next_sealed;
            chunk_free(c);
        }
    }
    free(store->buckets);
    free(store->sealed);
    free(store);
}

struct chunk *chunk_store_find_open(struct chunk_store *store, unsigned input, const char *tag)
{
    size_t slot = chunk_store_hash(input, tag) & (store->bucket_count - 1);
    for (struct chunk *c = store->buckets[slot]; c; c = c->next_open) {
        if (c->input_index == input && strcmp(c->tag, tag) == 0)
            return c;
    }
    return NULL;
}

static void chunk_store_grow(struct chunk_store *store)
{
    size_t count = store->bucket_count * 2;
    struct chunk **buckets = xcalloc(count, sizeof *buckets);
    for (size_t i = 0; i < store->bucket_count; i++) {
        for (struct chunk *c = store->buckets[i], *next; c; c = next) {
            next = c->next_open;
            size_t slot = chunk_store_hash(c->input_index, c->tag) & (count - 1);
            c->next_open = buckets[slot];
            buckets[slot] = c;
        }
    }
    free(store->buckets);
    store->buckets = buckets;
    store->bucket_count = count;
}

void chunk_store_add_open(struct chunk_store *store, struct chunk *chunk)
{
    if (store->open_count >= store->bucket_count)
        chunk_store_grow(store);
    size_t slot = chunk_store_hash(chunk->input_index, chunk->tag) & (store->bucket_count - 1);
    chunk->next_open = store->buckets[slot];
    store->buckets[slot] = chunk;
    store->open_count++;
}

size_t chunk_store_open_count(const struct chunk_store *store)
{
    return store->open_count;
}

uint64_t chunk_store_open_generation(const struct chunk_store *store)
{
    return store->open_removals;
}

struct chunk **chunk_store_list_open(const struct chunk_store *store, size_t *count)
{
    struct chunk **list = xcalloc(store->open_count, sizeof *list);
    size_t n = 0;
    for (size_t i = 0; i < store->bucket_count; i++) {
        for (struct chunk *c = store->buckets[i]; c; c = c->next_open)
            list[n++] = c;
    }
    *count = n;
    return list;
}

static void chunk_store_remove_open(struct chunk_store *store, struct chunk *chunk)
{
    size_t slot = chunk_store_hash(chunk->input_index, chunk->tag) & (store->bucket_count - 1);
    for (struct chunk **link = &store->buckets[slot]; *link; link = &(*link)->next_open) {
        if (*link == chunk) {
            *link = chunk->next_open;
            chunk->next_open = NULL;
            store->open_count--;
            store->open_removals++;
            return;
        }
    }
}

static void chunk_store_append(struct chunk_store *store, unsigned queue_index, struct chunk *chunk,
                               unsigned routes_left)
{
    struct sealed_queue *queue = &store->sealed[queue_index];

    chunk->routes_left = routes_left;
    chunk->group_size = 1;
    chunk->next_sealed = NULL;
    if (queue->tail)
        queue->tail->next_sealed = chunk;
    else
        queue->head = chunk;
    queue->tail = chunk;
    if (!queue->ack_next && !chunk->acked)
        queue->ack_next = chunk;
    store->sealed_count++;
}

/* A stream is remembered while its chunks fill up, and forgotten when one is
 * sealed before that (the flush timer, a paused input, a stop). */
static void chunk_store_note_fill(struct chunk_store *store, const struct chunk *chunk)
{
    size_t hash = chunk_store_hash(chunk->input_index, chunk->tag);
    size_t *slot = &store->filled[hash % CHUNK_STORE_FILLED_SLOTS];
    if (chunk->filled)
        *slot = hash;
    else if (*slot == hash)
        *slot = 0;
}

bool chunk_store_filled_last(const struct chunk_store *store, unsigned input, const char *tag)
{
    size_t hash = chunk_store_hash(input, tag);
    return hash != 0 && store->filled[hash % CHUNK_STORE_FILLED_SLOTS] == hash;
}

void chunk_store_seal(struct chunk_store *store, struct chunk *chunk, unsigned routes_left)
{
    chunk_store_note_fill(store, chunk);
    chunk_store_remove_open(store, chunk);
    chunk_store_append(store, chunk->input_index, chunk, routes_left);
}

/* Removes the origin `held_back` from the chunk, if it is there as it is. */
static void chunk_hold_back(struct chunk *chunk, const struct record_origin *held_back)
{
    for (size_t i = 0; i < chunk->origin_count; i++) {
        struct record_origin *o = &chunk->origins[i];
        if (o->source_id == held_back->source_id && o->offset == held_back->offset) {
            *o = chunk->origins[--chunk->origin_count];
            return;
        }
    }
}

void chunk_store_seal_group(struct chunk_store *store, struct chunk **chunks, size_t count,
                            const unsigned *routes_left, const struct record_origin *held_back)
{
    for (size_t i = 0; i < count; i++) {
        chunk_store_seal(store, chunks[i], routes_left[i]);
        chunks[i]->group_size = 0;
        if (i == 0)
            continue;
        for (size_t j = 0; j < chunks[i]->origin_count; j++)
            chunk_note_origin(chunks[0], &chunks[i]->origins[j]);
        chunks[i]->origin_count = 0;
    }
    if (count == 0)
        return;
    chunks[0]->group_size = (unsigned)count;
    if (held_back)
        chunk_hold_back(chunks[0], held_back);
}

void chunk_store_add_sealed(struct chunk_store *store, unsigned queue, struct chunk *chunk,
                            unsigned routes_left)
{
    chunk_store_append(store, queue, chunk, routes_left);
}

static bool chunk_is_safe(const struct chunk *chunk)
{
    return chunk->routes_left == 0 || chunk->persisted;
}

/* The chunk after `first`'s group when every chunk of the group is safe
 * (NULL at the end of the queue); `first` itself when one is not. A group's
 * chunks follow each other in the queue: they were sealed at once. */
static struct chunk *chunk_group_end_if_safe(struct chunk *first)
{
    struct chunk *c = first;
    for (unsigned i = 0; i < first->group_size; i++, c = c->next_sealed) {
        if (!chunk_is_safe(c))
            return first;
    }
    return c;
}

void chunk_store_advance(struct chunk_store *store, unsigned queue_index,
                         const struct chunk_store_hooks *hooks)
{
    struct sealed_queue *queue = &store->sealed[queue_index];

    while (queue->ack_next) {
        struct chunk *first = queue->ack_next;
        struct chunk *end = chunk_group_end_if_safe(first);
        if (end == first)
            break;
        queue->ack_next = end;
        while (queue->ack_next && queue->ack_next->acked)
            queue->ack_next = queue->ack_next->next_sealed;
        for (struct chunk *c = first; c != end; c = c->next_sealed) {
            c->acked = true;
            hooks->ack(c, hooks->data);
        }
    }
    while (queue->head && queue->head->routes_left == 0 && queue->head->acked) {
        struct chunk *done = queue->head;
        queue->head = done->next_sealed;
        if (!queue->head)
            queue->tail = NULL;
        store->sealed_count--;
        hooks->release(done, hooks->data);
    }
}

void chunk_store_route_done(struct chunk_store *store, struct chunk *chunk,
                            const struct chunk_store_hooks *hooks)
{
    if (chunk->routes_left > 0)
        chunk->routes_left--;
    chunk_store_advance(store, chunk->input_index, hooks);
}

size_t chunk_store_sealed_count(const struct chunk_store *store)
{
    return store->sealed_count;
}

void chunk_store_each_sealed(const struct chunk_store *store,
                             void (*fn)(struct chunk *chunk, void *data), void *data)
{
    for (size_t i = 0; i < store->queue_count; i++) {
        for (struct chunk *c = store->sealed[i].head; c; c = c->next_sealed)
            fn(c, data);
    }
}

unsigned chunk_store_add_queue(struct chunk_store *store)
{
    store->sealed = xrealloc(store->sealed, (store->queue_count + 1) * sizeof *store->sealed);
    store->sealed[store->queue_count] = (struct sealed_queue){0};
    return (unsigned)store->queue_count++;
}

bool chunk_store_queue_empty(const struct chunk_store *store, unsigned queue)
{
    return store->sealed[queue].head == NULL;
}
