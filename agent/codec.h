/* The binary encoding of records inside chunks. Compact, append-only and
 * self-delimiting, so a chunk is one contiguous buffer that can be written to
 * disk as it is and walked without allocating.
 *
 *   record  := u32 body_len | body                      (little endian)
 *   body    := i64 sec | u32 nsec | u64 source_id | u64 offset
 *              | u8 attachment_count | u16 attachment_index * count | map
 *   value   := u8 type | payload
 *     null, true, false: no payload      int: zigzag varint
 *     float: 8 bytes IEEE 754 LE         string: varint len | bytes
 *     map: varint count | (string key, value) * count
 *     array: varint count | value * count
 *
 * attachment_index refers to the chunk's attachment table. Decoding checks
 * every length against the buffer: a torn or corrupt chunk is reported, never
 * read past its end. Whether a record's fields are walked once to check them
 * up front (codec_next_record) or only by whoever reads them
 * (codec_next_record_header) is the caller's choice: see chunk.h. */
#ifndef SKIFF_CODEC_H
#define SKIFF_CODEC_H

#include "buf.h"
#include "record.h"

#include <stddef.h>
#include <stdint.h>

/* Values nested deeper than this are rejected by the decoder (and never
 * produced by the parsers), which keeps recursion bounded. */
#define CODEC_MAX_DEPTH 64

/* A record as it sits in a chunk, read without copying. */
struct record_view {
    struct record_time time;
    struct record_origin origin;
    uint8_t attachment_count;
    uint16_t attachment_index[RECORD_MAX_ATTACHMENTS];
    const uint8_t *fields; /* encoded map */
    size_t fields_len;
};

/* Appends one record. `attachment_index[i]` is the chunk's table index of
 * rec->attachments[i]. Returns the number of bytes appended. */
size_t codec_encode_record(struct buf *out, const struct record *rec,
                           const uint16_t *attachment_index);
/* Appends one value (also used for attachment tables and disk headers). */
void codec_encode_value(struct buf *out, const struct value *v);

/* Reads the record at *pos and advances *pos past it. Returns 1 on success, 0
 * at the clean end of the buffer, -1 if the data is truncated or malformed
 * (then *pos is unchanged). The fields are checked to be well formed. */
int codec_next_record(const uint8_t *data, size_t len, size_t *pos, struct record_view *view);
/* The same for records whose fields are known to be well formed (encoded by
 * codec_encode_record, or read by codec_next_record before): the length and
 * the header are checked against the buffer as above, the fields are not
 * walked. Whatever walks view->fields then checks every read against
 * fields_len and CODEC_MAX_DEPTH (all the walkers do), so corrupt fields are
 * reported by the walker, never read past. */
int codec_next_record_header(const uint8_t *data, size_t len, size_t *pos,
                             struct record_view *view);
/* Moves *pos past the record there, reading only its length (checked against
 * the buffer). Returns 1, 0 at the clean end, -1 if it runs past `len`. */
int codec_skip_record(const uint8_t *data, size_t len, size_t *pos);

/* Decodes the encoded map of a view into a value map (allocating). Returns 0 or
 * -1 on malformed input (then *out is left empty). */
int codec_decode_fields(const uint8_t *data, size_t len, struct value_map *out);
/* Decodes one value at *pos, advancing it. Returns 0 or -1. */
int codec_decode_value(const uint8_t *data, size_t len, size_t *pos, struct value *out);

/* Encoded type tags, for walkers such as the JSON writer. */
enum codec_tag {
    CODEC_NULL = 0,
    CODEC_FALSE = 1,
    CODEC_TRUE = 2,
    CODEC_INT = 3,
    CODEC_FLOAT = 4,
    CODEC_STRING = 5,
    CODEC_MAP = 6,
    CODEC_ARRAY = 7,
};

/* Moves *pos past one encoded value (bounds and depth checked). Returns 0 or
 * -1 on malformed input. For walkers that look for one field. */
int codec_skip_value(const uint8_t *data, size_t len, size_t *pos);

/* Low-level readers shared by walkers; each returns 0 or -1 when the data
 * would run past `len`. Inline for the common case, a one-byte varint (every
 * count, key and string under 128): the walkers read one or two per value.
 * The others are read by codec_read_varint_long. */
int codec_read_varint_long(const uint8_t *data, size_t len, size_t *pos, uint64_t *out);

static inline int codec_read_varint(const uint8_t *data, size_t len, size_t *pos, uint64_t *out)
{
    size_t p = *pos;
    if (p < len && data[p] < 0x80) {
        *out = data[p];
        *pos = p + 1;
        return 0;
    }
    return codec_read_varint_long(data, len, pos, out);
}

static inline int codec_read_string(const uint8_t *data, size_t len, size_t *pos, const char **s,
                                    size_t *slen)
{
    size_t p = *pos;
    uint64_t n;
    if (codec_read_varint(data, len, &p, &n) < 0 || n > len - p)
        return -1;
    *s = (const char *)data + p;
    *slen = (size_t)n;
    *pos = p + (size_t)n;
    return 0;
}

#endif
