/* A chunk as one forward protocol message (Fluentd Forward Protocol
 * Specification v1, "PackedForward Mode" and "CompressedPackedForward
 * Mode"): [tag, entries, options], entries a bin of [EventTime, record]
 * pairs, gzip-compressed or not, options {chunk, size, compressed}.
 * Internal to the plugin (and its tests). */
#ifndef SKIFF_FW_MESSAGE_H
#define SKIFF_FW_MESSAGE_H

#include "buf.h"
#include "chunk.h"

#include <stddef.h>
#include <stdint.h>

struct gzip_compressor;

struct fw_message_stats {
    uint32_t records;      /* written */
    uint32_t malformed;    /* could not be read from the chunk (not written) */
    uint64_t invalid_utf8; /* sequences replaced by U+FFFD */
    size_t entries_bytes;  /* the entries before compression */
};

/* Writes the message into `out` (replaced). `chunk_id` NULL: no ack asked.
 * `gzip` NULL: PackedForward; else CompressedPackedForward, with `scratch`
 * holding the entries before compression. Records the chunk cannot give
 * (malformed after some point) are left out and counted. */
void fw_message_build(struct buf *out, struct buf *scratch, const struct chunk *chunk,
                      const char *tag, const char *chunk_id, struct gzip_compressor *gzip,
                      struct fw_message_stats *stats);

/* One record as an Entry, [EventTime, {fields..., attachments...}]. -1 if
 * the record's encoding is malformed (then `out` is as it was). */
int fw_entry_write(struct buf *out, const struct record_view *view,
                   struct attachment *const *attachments, uint64_t *invalid_utf8);

#endif
