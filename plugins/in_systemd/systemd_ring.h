/* The systemd input's entries in flight: for every entry emitted and not yet
 * acknowledged, its origin (source, offset) and its journal cursor, in the
 * order they were emitted, so that an acknowledged origin maps back to a
 * cursor the checkpoint may hold. Acknowledgements arrive per source in
 * order (a source is one tag: one chunk queue), each meaning "every entry of
 * this source up to this offset is done"; sources interleave, so the ring
 * moves its head only over entries whose own source has been acknowledged
 * that far. The cursor of the last entry the head passed is the position a
 * restart resumes after. Bounded: a full ring makes the input wait for
 * acknowledgements. Pure logic. */
#ifndef SKIFF_SYSTEMD_RING_H
#define SKIFF_SYSTEMD_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct journal_ring;

struct journal_ring *journal_ring_new(size_t capacity);
void journal_ring_free(struct journal_ring *ring);

size_t journal_ring_count(const struct journal_ring *ring);
bool journal_ring_full(const struct journal_ring *ring);

/* Adds an emitted entry, taking `cursor` (malloc'ed). Offsets must grow
 * within a source while it has entries in the ring: false (nothing added,
 * the cursor not taken) when `offset` is not above the source's last one,
 * or when the ring is full. */
bool journal_ring_push(struct journal_ring *ring, uint64_t source_id, uint64_t offset,
                       char *cursor);

/* Every entry of `source_id` up to `offset` is done. Unknown sources
 * (nothing of theirs in the ring) are ignored. */
void journal_ring_ack(struct journal_ring *ring, uint64_t source_id, uint64_t offset);

/* The cursor of the newest entry that, with every entry before it, is done,
 * if the head moved since the last call (malloc'ed, the caller frees it);
 * NULL otherwise. */
char *journal_ring_take_done(struct journal_ring *ring);

#endif
