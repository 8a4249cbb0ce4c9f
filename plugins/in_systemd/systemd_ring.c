/* The ring of entries in flight (systemd_ring.h): a circular array in
 * emission order, and a small table of the sources that have entries in it,
 * with the offset each was acknowledged up to. */
#include "systemd_ring.h"

#include "hmap.h"
#include "xalloc.h"

#include <stdlib.h>

struct ring_entry {
    uint64_t source_id;
    uint64_t offset;
    char *cursor;
};

struct ring_source {
    struct hmap_node node;
    uint64_t id;
    uint64_t last_pushed;
    uint64_t acked; /* every entry up to here is done */
    bool any_acked;
    size_t pending; /* entries in the ring */
};

struct journal_ring {
    struct ring_entry *entries;
    size_t capacity;
    size_t head;
    size_t count;
    struct hmap sources;
    char *done_cursor; /* of the last entry the head passed, not yet taken */
};

struct journal_ring *journal_ring_new(size_t capacity)
{
    struct journal_ring *ring = xcalloc(1, sizeof *ring);
    ring->capacity = capacity ? capacity : 1;
    ring->entries = xcalloc(ring->capacity, sizeof *ring->entries);
    return ring;
}

static struct ring_source *ring_source_find(const struct journal_ring *ring, uint64_t id)
{
    for (struct hmap_node *n = hmap_find(&ring->sources, hash_u64(id)); n; n = hmap_find_next(n)) {
        struct ring_source *s = hmap_entry(n, struct ring_source, node);
        if (s->id == id)
            return s;
    }
    return NULL;
}

void journal_ring_free(struct journal_ring *ring)
{
    if (!ring)
        return;
    for (size_t i = 0; i < ring->count; i++)
        free(ring->entries[(ring->head + i) % ring->capacity].cursor);
    size_t bucket = 0;
    struct hmap_node *n = hmap_next(&ring->sources, &bucket, NULL);
    while (n) {
        struct hmap_node *next = hmap_next(&ring->sources, &bucket, n);
        free(hmap_entry(n, struct ring_source, node));
        n = next;
    }
    hmap_free(&ring->sources);
    free(ring->done_cursor);
    free(ring->entries);
    free(ring);
}

size_t journal_ring_count(const struct journal_ring *ring)
{
    return ring->count;
}

bool journal_ring_full(const struct journal_ring *ring)
{
    return ring->count == ring->capacity;
}

bool journal_ring_push(struct journal_ring *ring, uint64_t source_id, uint64_t offset, char *cursor)
{
    if (journal_ring_full(ring))
        return false;
    struct ring_source *s = ring_source_find(ring, source_id);
    if (s && offset <= s->last_pushed)
        return false;
    if (!s) {
        s = xcalloc(1, sizeof *s);
        s->id = source_id;
        hmap_insert(&ring->sources, &s->node, hash_u64(source_id));
    }
    s->last_pushed = offset;
    s->pending++;
    ring->entries[(ring->head + ring->count) % ring->capacity] =
        (struct ring_entry){source_id, offset, cursor};
    ring->count++;
    return true;
}

static bool ring_head_done(const struct journal_ring *ring, struct ring_source **source)
{
    const struct ring_entry *e = &ring->entries[ring->head];
    *source = ring_source_find(ring, e->source_id);
    return *source && (*source)->any_acked && e->offset <= (*source)->acked;
}

/* Moves the head over every entry that is done. */
static void ring_advance(struct journal_ring *ring)
{
    struct ring_source *s;
    while (ring->count > 0 && ring_head_done(ring, &s)) {
        struct ring_entry *e = &ring->entries[ring->head];
        free(ring->done_cursor);
        ring->done_cursor = e->cursor;
        e->cursor = NULL;
        ring->head = (ring->head + 1) % ring->capacity;
        ring->count--;
        if (--s->pending == 0) {
            hmap_remove(&ring->sources, &s->node);
            free(s);
        }
    }
}

void journal_ring_ack(struct journal_ring *ring, uint64_t source_id, uint64_t offset)
{
    struct ring_source *s = ring_source_find(ring, source_id);
    if (!s)
        return;
    if (!s->any_acked || offset > s->acked)
        s->acked = offset;
    s->any_acked = true;
    ring_advance(ring);
}

char *journal_ring_take_done(struct journal_ring *ring)
{
    char *cursor = ring->done_cursor;
    ring->done_cursor = NULL;
    return cursor;
}
