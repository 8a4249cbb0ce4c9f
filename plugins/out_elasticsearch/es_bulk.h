/* The body of an Elasticsearch `_bulk` request, written straight from a
 * chunk's encoded records: per record an action line and the document line
 * (NDJSON). Not the HTTP side (compression, sending, the response): this only
 * turns records into bytes, in batches bounded by size and count.
 *
 * A delivery (one chunk or several) may need several requests (batch
 * limits, a 413 answered with smaller bodies, items retried alone), so
 * records are addressed through an es_record_list: each record to send as
 * its chunk and byte offset, made once per attempt from the delivery's
 * chunks in order and filtered by the caller for retries. Item i of a
 * response is the record at list position first + i of the request that
 * carried it. */
#ifndef SKIFF_ES_BULK_H
#define SKIFF_ES_BULK_H

#include "buf.h"
#include "chunk.h"
#include "es_id.h"
#include "es_index.h"
#include "json.h"
#include "record.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The first index name fixed in a batch, for the output's one log line. */
struct es_index_fix_example {
    bool set;
    struct buf original;
    struct buf fixed;
};

struct es_bulk_options {
    /* The index name, or with data_stream the data stream's name. */
    const struct es_index_pattern *index;
    bool create;                 /* "create" actions (409 if the id exists) instead of "index" */
    const struct es_id_spec *id; /* NULL: no _id, Elasticsearch picks one */
    const char *node_name;       /* origin ids, and the fallback of field ids */
    const char *time_key;        /* e.g. "@timestamp" */
    /* A record's own member named time_key goes under this name, e.g.
     * "@timestamp_original", unless the record has that member too. */
    const char *time_key_original;
    struct es_index_fix_example *fix_example; /* may be NULL */
    bool dedot_keys;                          /* '.' in field names becomes '_' */
    bool include_type;                        /* "_type":"_doc" in actions (Elasticsearch 6) */
    size_t batch_max_bytes;                   /* 0: no limit */
    size_t batch_max_records;                 /* 0: no limit */
};

/* Room reserved in a body beyond batch_max_bytes, for the record that
 * overflows the batch and is taken back (es_bulk_build). */
#define ES_BULK_SLACK ((size_t)64 << 10)

/* A record to send: its chunk and its byte offset in chunk->data. */
struct es_record_ref {
    const struct chunk *chunk;
    size_t offset;
};

/* Records in the order they are sent (chunk order, the chunks in order). */
struct es_record_list {
    struct es_record_ref *records;
    size_t count;
    size_t cap;
};

/* Appends every record of the chunk to `list` (walking it once, reading
 * only the records' lengths when the chunk's fields are checked: chunk_skip).
 * Returns 0, or -1 if the chunk's data is malformed: then only the records
 * before the damage were appended. A record listed may still turn out
 * malformed when its item is written (es_bulk_build: -1 for it). */
int es_record_list_add_chunk(struct es_record_list *list, const struct chunk *chunk);
/* The same into an emptied `list`. */
int es_record_list_from_chunk(struct es_record_list *list, const struct chunk *chunk);
void es_record_list_push(struct es_record_list *list, const struct chunk *chunk, size_t offset);
void es_record_list_free(struct es_record_list *list);

/* What one call added; counters are for the output's metrics. */
struct es_bulk_result {
    size_t records;                         /* list positions first .. first + records - 1 */
    size_t index_fallbacks;                 /* records whose index name used ES_INDEX_FALLBACK */
    size_t id_fallbacks;                    /* field ids that fell back to origin ids */
    size_t index_fixes[ES_INDEX_FIX_COUNT]; /* records whose index name was fixed, by reason */
    size_t time_key_conflicts;              /* records with their own time_key member */
    struct json_stats stats;                /* invalid UTF-8 replaced */
};

/* Appends records from list position `first` on to `body` until the next one
 * would take the bytes appended past batch_max_bytes or the count past
 * batch_max_records, but always at least one record (a record larger than
 * the limit goes alone). A malformed record ends the batch before it; if it
 * is the first, nothing is appended and -1 is returned, so that the caller
 * can set it aside and go on from first + 1. Otherwise returns 0. */
int es_bulk_build(const struct es_record_list *list, size_t first,
                  const struct es_bulk_options *opts, struct buf *body,
                  struct es_bulk_result *result);

/* The same bytes as es_bulk_build, written a record at a time while they
 * are read (a request body sent without holding it whole). A stream holds
 * one item (the action and document lines of a record) at a time. */
struct es_bulk_stream;
struct es_bulk_stream *es_bulk_stream_create(void);
void es_bulk_stream_free(struct es_bulk_stream *s);
/* Starts a batch at list position `first` (the list and the chunks stay
 * valid and unchanged until the stream is started again or freed). Returns
 * 0, or -1 if the record at `first` is malformed: then the batch is empty. */
int es_bulk_stream_start(struct es_bulk_stream *s, const struct es_record_list *list, size_t first,
                         const struct es_bulk_options *opts);
/* Gives up to `room` of the batch's next bytes; 0 at its end. */
size_t es_bulk_stream_read(struct es_bulk_stream *s, char *dst, size_t room);
/* Bytes read since the batch started or was rewound. */
size_t es_bulk_stream_position(const struct es_bulk_stream *s);
/* The batch from its first byte again: the same bytes are read. */
void es_bulk_stream_rewind(struct es_bulk_stream *s);
/* Ends the batch where es_bulk_build would (the bytes not read yet are
 * written and discarded) and fixes it for the next rewinds: its result (the
 * records in the batch and the counts of this pass) and its bytes in all. */
const struct es_bulk_result *es_bulk_stream_finish(struct es_bulk_stream *s, size_t *bytes);

#endif
