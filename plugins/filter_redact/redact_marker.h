/* The text the redact filter writes in place of what it found: a mask from a
 * template (`[REDACTED:{detector}]`), or a keyed hash `[card:4f2a...]` of
 * the value. Also recognizes that text when it comes back (redact_marker_at,
 * declared in redact_scan.h), so a second pass leaves it alone. */
#ifndef SKIFF_REDACT_MARKER_H
#define SKIFF_REDACT_MARKER_H

#include "buf.h"
#include "redact_scan.h"

#include <stddef.h>

#define REDACT_HASH_MIN 8
#define REDACT_HASH_MAX 64
#define REDACT_NAME_MAX 64
#define REDACT_PLACEHOLDER "{detector}"

/* Masks: `template` with each "{detector}" replaced by the label's name, one
 * per name in `names` (labels 0..count-1). The template must not be empty
 * nor start with "{detector}": every mask starts with its first byte. */
struct redact_markers *redact_markers_new_mask(const char *template, const char *const *names,
                                               size_t count);
/* Hashes: `[<name>:<hash_length lower-case hex digits>]`. */
struct redact_markers *redact_markers_new_hash(const char *const *names, size_t count,
                                               unsigned hash_length);
void redact_markers_free(struct redact_markers *markers);

/* The byte every replacement starts with ('[' for hashes). */
unsigned char redact_markers_first_byte(const struct redact_markers *markers);
/* Appends a marked span for each replacement in `text`, in order. */
void redact_markers_find(const struct redact_markers *markers, const char *text, size_t len,
                         struct redact_spans *spans);

/* The longest text a replacement can be. */
size_t redact_markers_max_len(const struct redact_markers *markers);

/* Appends the mask of `label`. */
void redact_marker_write_mask(const struct redact_markers *markers, uint32_t label,
                              struct buf *out);
/* Appends `[<name>:<hex>]`: the first hash_length hex digits of `digest`
 * (32 bytes). When those are all decimal digits the first becomes a letter,
 * so that a hash never reads as a number (a card, for the next pass). */
void redact_marker_write_hash(const struct redact_markers *markers, uint32_t label,
                              const unsigned char *digest, struct buf *out);

#endif
