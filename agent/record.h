/* A record: one log event as it moves through the pipeline. A timestamp with
 * nanoseconds, a map of typed fields, where it came from (for
 * acknowledgements), and up to RECORD_MAX_ATTACHMENTS shared read-only values
 * such as a pod's Kubernetes metadata, which all of that pod's records refer to
 * instead of copying it.
 *
 * Filters use the path API (record_get/set/delete/rename) and never walk
 * attachments themselves: a path whose first segment names an attachment reads
 * through it, and a change below it first copies the attachment into the
 * record's own fields (copy on write). */
#ifndef SKIFF_RECORD_H
#define SKIFF_RECORD_H

#include "value.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define RECORD_MAX_ATTACHMENTS 4

struct record_time {
    int64_t sec; /* seconds since the Unix epoch, UTC */
    uint32_t nsec;
};

/* Where a record came from: `source_id` is the input's identity for the file
 * (or other source) and `offset` the source offset just past this record. A
 * checkpoint may move to `offset` once this record is acknowledged. Inputs
 * without sources leave both 0. */
struct record_origin {
    uint64_t source_id;
    uint64_t offset;
};

/* A shared, immutable value placed under one root key of every record that
 * refers to it. Reference counted atomically: chunks hold references from the
 * output thread. */
struct attachment {
    _Atomic uint32_t refs;
    struct value_string key; /* root key, e.g. "kubernetes" */
    struct value value;      /* never changed once made: records copy it to change it */
    char *json;              /* `value` as JSON, rendered once for every record sharing it */
    size_t json_len;
};

/* A text store: one buffer, owned by an input, that lends the record it
 * reuses line after line (record_reuse) the bytes of a line's keys and
 * strings (marked borrowed, value.h) instead of a malloc for each
 * (record_set_text). It is filled from the front and never moved while it
 * lends (a text that does not fit gets a malloc of its own); it is emptied
 * when the record is cleared or freed, and grown then, up to RECORD_TEXT_MAX,
 * if the record wanted more. A borrowed string never leaves its record:
 * record_move and record_copy give the record they fill copies of its own,
 * so that a record that waits (held by a filter) owns all it holds. */
struct record_text {
    char *data;
    size_t len;
    size_t cap;
    size_t wanted; /* what was asked for since the last reset */
};

struct record {
    struct record_time time;
    struct record_origin origin;
    struct value_map fields;
    struct record_text *text; /* lent by the input reusing the record; NULL: none */
    struct attachment *attachments[RECORD_MAX_ATTACHMENTS];
    uint8_t attachment_count;
    /* Set by filter_reemit: how many times the record was given a new tag,
     * which bounds a chain of them, and the filter that did it last (its
     * index + 1; 0: none), which the record then skips. */
    uint8_t retags;
    uint8_t retagged_by;
};

/* A compiled field path: `kubernetes.labels.app`, or with a key that holds
 * dots, `kubernetes.labels["app.kubernetes.io/name"]`. Compile once at config
 * time, use per record. */
struct field_path {
    char *text; /* as written, for messages */
    struct value_string *segments;
    uint32_t count;
};

/* Returns 0, or -1 with a message in *error (malloc'ed) naming the problem and
 * its position in `text`. */
int field_path_parse(const char *text, struct field_path *out, char **error);
void field_path_free(struct field_path *path);

void record_init(struct record *rec);
/* Now (CLOCK_REALTIME), the ingestion time of a record without one of its
 * own. */
struct record_time record_time_now(void);
/* record_init, with the time set to now. */
void record_init_now(struct record *rec);
/* Fields and attachment references; empties the text store (not freed: its
 * input's) and lets go of it. */
void record_free(struct record *rec);
/* For an input that passes the same record for each line: starts the line's
 * record in *rec (empty: new, cleared or freed) with `text` as its store and
 * the time set to now. The pipeline ends each line with record_done; the
 * input frees the record with record_free, and the store with
 * record_text_free, when it stops. */
void record_reuse_now(struct record *rec, struct record_text *text);
/* record_reuse_now with the time given: an input reading many lines at once
 * reads the clock once for all of them. */
void record_reuse(struct record *rec, struct record_text *text, struct record_time time);
void record_text_init(struct record_text *text);
void record_text_free(struct record_text *text);
/* Empties the record (fields, attachments, time, origin) but keeps its
 * storage: the field map's entries and the text store, for the next line. */
void record_clear(struct record *rec);
/* What the pipeline does with a record it is done with: a reused record (one
 * with a text store) is cleared, any other freed. */
void record_done(struct record *rec);
/* Moves the contents of *from into *to (which must be empty); *from is left
 * empty. Strings *from borrowed are copied: *to owns all it holds. */
void record_move(struct record *to, struct record *from);
/* Makes *to (which must be empty) a deep copy of *from: its own fields, the
 * same attachments (referenced again), time, origin and retags; no store. */
void record_copy(struct record *to, const struct record *from);
/* Sets the top-level field key[0..key_len) to a string copy of
 * text[0..len): in the text store if the record has one with room (the key
 * too, for a new field), else in a malloc of its own. Replaces a field, not an
 * attachment, with that key (as value_map_set on `fields`). */
void record_set_text(struct record *rec, const char *key, size_t key_len, const char *text,
                     size_t len);

/* NULL if any segment is missing or is not a map. */
const struct value *record_get(const struct record *rec, const struct field_path *path);
/* Sets the value at `path`, creating intermediate maps and replacing a
 * non-map intermediate. Takes ownership of *v. */
void record_set(struct record *rec, const struct field_path *path, struct value *v);
/* Returns false if the path did not exist. */
bool record_delete(struct record *rec, const struct field_path *path);
/* Moves the value at `from` to `to` (replacing what is there). Returns false
 * if `from` did not exist. */
bool record_rename(struct record *rec, const struct field_path *from, const struct field_path *to);

/* Shorthand for a top-level key key[0..len), without a compiled path. */
const struct value *record_get_root(const struct record *rec, const char *key, size_t len);
/* record_get_root of a NUL-terminated key (inline: a literal's length is
 * known when compiling). */
static inline const struct value *record_get_key(const struct record *rec, const char *key)
{
    return record_get_root(rec, key, strlen(key));
}
/* The attachment under root key key[0..len) (borrowed), or NULL. */
struct attachment *record_attachment(const struct record *rec, const char *key, size_t len);
/* Whether the record has a top-level field or attachment named key[0..len). */
bool record_has_root_key(const struct record *rec, const char *key, size_t len);
void record_set_key(struct record *rec, const char *key, struct value *v);

/* Attachments. attachment_new takes ownership of *value. */
struct attachment *attachment_new(const char *key, struct value *value);
struct attachment *attachment_ref(struct attachment *a);
void attachment_unref(struct attachment *a);
/* Adds a reference to `a` under its key, replacing an attachment or field with
 * the same root key. Returns -1 if the record already has the maximum. */
int record_attach(struct record *rec, struct attachment *a);

#endif
