/* JSON output: strings escaped per RFC 8259 (control characters as \uXXXX or
 * the short escapes), invalid UTF-8 replaced by U+FFFD and counted, numbers in
 * a form every parser accepts (NaN and infinities become null). Used by the
 * stdout, file and Elasticsearch outputs and by the metrics endpoint. Strings
 * are escaped by json_escape.c (implementations: json_escape.h). */
#ifndef SKIFF_JSON_H
#define SKIFF_JSON_H

#include "buf.h"
#include "codec.h"
#include "record.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_stats {
    uint64_t invalid_utf8; /* invalid sequences replaced by U+FFFD */
};

/* Writes "..." with escapes. `stats` may be NULL. */
void json_write_string(struct buf *out, const char *s, size_t len, struct json_stats *stats);
/* Writes an object member's key: "key": after a comma if `comma`. */
void json_write_key(struct buf *out, const char *key, size_t len, bool comma,
                    struct json_stats *stats);
void json_write_value(struct buf *out, const struct value *v, struct json_stats *stats);
/* RFC 3339 UTC with nanoseconds: "2024-05-01T10:15:00.123456789Z" (quoted). */
void json_write_time(struct buf *out, struct record_time t);

/* Writes an encoded map's members, "k":v,... without braces; `skip_key` (may
 * be NULL) names a top-level key to leave out. Returns the number of members
 * written, or -1 if the encoding is malformed (the output is then partial). */
int json_write_encoded_members(struct buf *out, const uint8_t *data, size_t len,
                               const char *skip_key, struct json_stats *stats);

/* Writes a whole record as one JSON object, no newline:
 *   {"<time_key>":"<RFC 3339>", fields..., "<attachment key>":{...}, ...}
 * A field named like `time_key` is left out: the record's time wins.
 * `attachments` is the chunk's table. Returns 0 or -1 on malformed encoding. */
int json_write_record(struct buf *out, const struct record_view *view,
                      struct attachment *const *attachments, const char *time_key,
                      struct json_stats *stats);
/* The same, and says where the record's own member named `time_key` (the
 * first, if it has several) was left out: *own_time is the position in
 * view->fields of its value (for codec_decode_value), or SIZE_MAX if it has
 * none. *own_time is set only when 0 is returned. */
int json_write_record_own_time(struct buf *out, const struct record_view *view,
                               struct attachment *const *attachments, const char *time_key,
                               struct json_stats *stats, size_t *own_time);

#endif
