/* A chunk: records of one tag from one input, encoded back to back (codec.h),
 * with the table of attachments they refer to and, per source, the highest
 * origin offset it holds. A chunk is the unit of buffering, flushing, retrying
 * and acknowledging. It is filled on the pipeline thread, then sealed and
 * read-only, so outputs on the output thread read it without locks. */
#ifndef SKIFF_CHUNK_H
#define SKIFF_CHUNK_H

#include "buf.h"
#include "codec.h"
#include "record.h"

#include <stdbool.h>
#include <stdint.h>

/* A chunk's attachment table is bounded so indexes fit the encoding; a record
 * whose attachment would not fit goes into a new chunk. */
#define CHUNK_MAX_ATTACHMENTS 4096

struct chunk {
    uint64_t id;          /* increasing, in the order chunks were opened */
    unsigned input_index; /* whose buffer it is charged to */
    char *tag;
    uint64_t routes; /* bit i: output i takes this chunk */
    struct buf data; /* encoded records */
    uint32_t record_count;
    struct attachment **attachments;
    size_t attachment_count;
    size_t attachment_cap;
    struct record_origin *origins; /* per source, the highest offset in the chunk */
    size_t origin_count;
    size_t origin_cap;
    int64_t opened_ms;
    /* Every record's fields are known to be well formed: it was filled by
     * chunk_append (codec_encode_record), or read back from a chunk file and
     * each record checked in full before this was set (chunk_file_parse.c).
     * chunk_next then reads a record's length and header, not its fields:
     * outputs walk every record at least twice, and their walkers check each
     * read anyway (codec.h). False for data from anywhere else. */
    bool fields_checked;

    /* Owned by the pipeline thread (chunk store and storage); outputs never
     * read these. */
    struct chunk *next_open;   /* hash chain of open chunks */
    struct chunk *next_sealed; /* the input's queue of sealed chunks */
    unsigned routes_left;      /* outputs that have not finished with it */
    uint64_t routes_done;      /* bit i: output i finished with it */
    unsigned submitted;        /* deliveries with the output thread now */
    size_t bytes;              /* encoded size, also while evicted */
    uint64_t file_bytes;       /* size of its chunk file, when persisted */
    bool persisted;            /* a chunk file holds it */
    bool evicted;              /* data and attachments freed; the file has them */
    bool acked;                /* its origins were acknowledged to the input */
    bool replayed;             /* read back from disk at start: no input owns it */
    bool filled;               /* sealed for reaching its size limit */
    /* Sealed: 1, or the size of its group on the first chunk of a group
     * sealed together (chunk_store_seal_group), 0 on the others. */
    unsigned group_size;
};

struct chunk *chunk_new(uint64_t id, unsigned input_index, const char *tag, uint64_t routes,
                        int64_t now_ms);
void chunk_free(struct chunk *chunk);

/* Appends a record (its origin is noted too). Returns the bytes the chunk grew
 * by, or 0 if the attachment table is full and the record must go to a new
 * chunk. */
size_t chunk_append(struct chunk *chunk, const struct record *rec);
/* Called when the chunk is sealed: gives back the buffer's spare capacity, so
 * that buffered bytes are what buffer_limit counts, not up to twice that. */
void chunk_seal(struct chunk *chunk);
/* Notes the origin of a record that was dropped before reaching the chunk, so
 * its offset is acknowledged together with the chunk. */
void chunk_note_origin(struct chunk *chunk, const struct record_origin *origin);

/* Frees the records and attachments (the chunk file keeps them), keeping the
 * chunk's identity, routes and origins. */
void chunk_evict(struct chunk *chunk);
/* Takes the records and attachments of `from` (a copy read back from the
 * chunk file), which is freed. */
void chunk_restore(struct chunk *chunk, struct chunk *from);

/* Iterates the records: start with *pos = 0. Returns 1, 0 at the end, or -1 if
 * the data is malformed: cut short, a bad header or attachment index, or,
 * unless fields_checked, fields that are not well formed. */
int chunk_next(const struct chunk *chunk, size_t *pos, struct record_view *view);
/* Moves *pos past the next record, for walks that only need where records
 * start; returns as chunk_next. In a fields_checked chunk only the record's
 * length is read (chunk_next reads the rest when the record is read); in
 * another, the record is checked as chunk_next does, so both stop at the same
 * record. */
int chunk_skip(const struct chunk *chunk, size_t *pos);

#endif
