/* Reads one scalar field of a record as it sits in a chunk (a record_view),
 * without decoding the record: for index names and document ids, which need
 * one or two values per record. Not a general record API: maps and arrays are
 * reported as such, not returned. */
#ifndef SKIFF_ES_FIELD_H
#define SKIFF_ES_FIELD_H

#include "buf.h"
#include "codec.h"
#include "record.h"

#include <stdbool.h>
#include <stdint.h>

enum es_field_kind {
    ES_FIELD_MISSING, /* a segment is absent or a parent is not a map */
    ES_FIELD_STRING,
    ES_FIELD_INT,
    ES_FIELD_FLOAT,
    ES_FIELD_OTHER, /* null, bool, map or array */
};

struct es_field {
    enum es_field_kind kind;
    const char *str; /* ES_FIELD_STRING: points into the chunk or attachment */
    size_t len;
    int64_t integer;
    double real;
};

/* Looks `path` up as record_get() would: a first segment naming one of the
 * record's attachments reads through it, otherwise the record's own fields.
 * Returns 0, or -1 if the encoding is malformed. */
int es_field_get(const struct record_view *view, struct attachment *const *attachments,
                 const struct field_path *path, struct es_field *out);

/* The attachment `path` reads through (its first segment names one of the
 * record's attachments), or NULL when it reads the record's own fields. */
const struct attachment *es_field_attachment(const struct record_view *view,
                                             struct attachment *const *attachments,
                                             const struct field_path *path);

/* Finds the record's own top-level member `key` (not an attachment): returns
 * 1 with *value_pos at its encoded value in view->fields, 0 if there is
 * none, -1 if the encoding is malformed. */
int es_field_member(const struct record_view *view, const char *key, size_t *value_pos);

/* Appends a string or number as text (integers in decimal, floats as %.15g);
 * returns false, appending nothing, for the other kinds and for non-finite
 * floats. */
bool es_field_append_text(struct buf *out, const struct es_field *field);

#endif
