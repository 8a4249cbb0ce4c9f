/* The redact filter on a record: every string value at any depth (maps and
 * arrays), integers that are card numbers, chosen fields, and the shared
 * attachments (pod metadata), which are checked once each and not once per
 * record: a small cache keeps, per attachment, nothing (clean) or its
 * redacted copy. A value whose key names a secret (`password`, `api_key`,
 * `authorization`, ...) is replaced whole. */
#ifndef SKIFF_REDACT_RECORD_H
#define SKIFF_REDACT_RECORD_H

#include "buf.h"
#include "record.h"
#include "redact_engine.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Attachments remembered; each slot holds a reference to its attachment, so
 * a pointer is never mistaken for a freed one's. */
#define REDACT_CACHE_SLOTS 256

struct redact_cache_entry {
    struct attachment *original;
    struct attachment *redacted; /* NULL: nothing to redact */
    uint32_t *counts;            /* replacements in it, per label */
};

struct redact_walk {
    struct redact_engine *engine;
    uint32_t label_count;
    uint32_t *counts; /* replacements in the current record, per label */
    struct buf text;  /* scratch */
    struct redact_cache_entry cache[REDACT_CACHE_SLOTS];
};

void redact_walk_init(struct redact_walk *walk, struct redact_engine *engine);
void redact_walk_free(struct redact_walk *walk);

/* The whole record: its own fields in place, its attachments through the
 * cache (a redacted copy replaces an attachment that needs one). */
size_t redact_walk_record(struct redact_walk *walk, struct record *rec);
/* Only the values at `paths` (copy on write through attachments). */
size_t redact_walk_paths(struct redact_walk *walk, struct record *rec,
                         const struct field_path *paths, size_t count);

#endif
