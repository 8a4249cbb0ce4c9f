/* Chunks (see chunk.h): encoded records of one (input, tag), the attachments
 * they share, and the origins to acknowledge when the chunk completes. */
#include "chunk.h"

#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

static void chunk_free_contents(struct chunk *chunk);

struct chunk *chunk_new(uint64_t id, unsigned input_index, const char *tag, uint64_t routes,
                        int64_t now_ms)
{
    struct chunk *chunk = xcalloc(1, sizeof *chunk);
    chunk->id = id;
    chunk->input_index = input_index;
    chunk->tag = xstrdup(tag);
    chunk->routes = routes;
    chunk->opened_ms = now_ms;
    return chunk;
}

void chunk_free(struct chunk *chunk)
{
    if (!chunk)
        return;
    chunk_free_contents(chunk);
    free(chunk->origins);
    free(chunk->tag);
    free(chunk);
}

static void chunk_free_contents(struct chunk *chunk)
{
    for (size_t i = 0; i < chunk->attachment_count; i++)
        attachment_unref(chunk->attachments[i]);
    free(chunk->attachments);
    chunk->attachments = NULL;
    chunk->attachment_count = 0;
    chunk->attachment_cap = 0;
    buf_free(&chunk->data);
}

void chunk_evict(struct chunk *chunk)
{
    chunk_free_contents(chunk);
    chunk->evicted = true;
}

void chunk_restore(struct chunk *chunk, struct chunk *from)
{
    chunk_free_contents(chunk);
    chunk->data = from->data;
    from->data = (struct buf)BUF_INIT;
    chunk->attachments = from->attachments;
    chunk->attachment_count = from->attachment_count;
    chunk->attachment_cap = from->attachment_cap;
    from->attachments = NULL;
    from->attachment_count = 0;
    chunk->record_count = from->record_count;
    chunk->fields_checked = from->fields_checked;
    chunk->evicted = false;
    chunk_free(from);
}

/* The table index of `a`, adding it if new; -1 when the table is full. The
 * search starts from the end: records of one pod come in runs, so the
 * attachment just added is by far the most likely hit. */
static int chunk_attachment_index(struct chunk *chunk, struct attachment *a)
{
    for (size_t i = chunk->attachment_count; i-- > 0;) {
        if (chunk->attachments[i] == a)
            return (int)i;
    }
    if (chunk->attachment_count == CHUNK_MAX_ATTACHMENTS)
        return -1;
    chunk->attachments = xgrow(chunk->attachments, &chunk->attachment_cap,
                               chunk->attachment_count + 1, sizeof *chunk->attachments);
    chunk->attachments[chunk->attachment_count] = attachment_ref(a);
    return (int)chunk->attachment_count++;
}

void chunk_note_origin(struct chunk *chunk, const struct record_origin *origin)
{
    if (origin->source_id == 0 && origin->offset == 0)
        return; /* an input without sources */
    for (size_t i = chunk->origin_count; i-- > 0;) {
        struct record_origin *known = &chunk->origins[i];
        if (known->source_id == origin->source_id) {
            if (origin->offset > known->offset)
                known->offset = origin->offset;
            return;
        }
    }
    chunk->origins =
        xgrow(chunk->origins, &chunk->origin_cap, chunk->origin_count + 1, sizeof *chunk->origins);
    chunk->origins[chunk->origin_count++] = *origin;
}

size_t chunk_append(struct chunk *chunk, const struct record *rec)
{
    uint16_t index[RECORD_MAX_ATTACHMENTS];
    size_t added_attachments = chunk->attachment_count;

    for (uint8_t i = 0; i < rec->attachment_count; i++) {
        int slot = chunk_attachment_index(chunk, rec->attachments[i]);
        if (slot < 0) {
            /* Undo this record's additions so the table holds only what the
             * records in the chunk use. */
            while (chunk->attachment_count > added_attachments)
                attachment_unref(chunk->attachments[--chunk->attachment_count]);
            return 0;
        }
        index[i] = (uint16_t)slot;
    }
    /* Encoded here, so well formed; a chunk with data from elsewhere stays
     * as it is. */
    if (chunk->data.len == 0)
        chunk->fields_checked = true;
    size_t grown = codec_encode_record(&chunk->data, rec, index);
    chunk->record_count++;
    chunk_note_origin(chunk, &rec->origin);
    return grown;
}

void chunk_seal(struct chunk *chunk)
{
    if (chunk->data.len == 0) {
        buf_free(&chunk->data); /* room given up front (pipeline.c) and never used */
    } else if (chunk->data.cap > chunk->data.len) {
        chunk->data.data = xrealloc(chunk->data.data, chunk->data.len);
        chunk->data.cap = chunk->data.len;
    }
}

int chunk_next(const struct chunk *chunk, size_t *pos, struct record_view *view)
{
    size_t start = *pos;
    const uint8_t *data = (const uint8_t *)chunk->data.data;
    int rc = chunk->fields_checked ? codec_next_record_header(data, chunk->data.len, pos, view)
                                   : codec_next_record(data, chunk->data.len, pos, view);
    if (rc != 1)
        return rc;
    for (uint8_t i = 0; i < view->attachment_count; i++) {
        if (view->attachment_index[i] >= chunk->attachment_count) {
            *pos = start;
            return -1;
        }
    }
    return 1;
}

int chunk_skip(const struct chunk *chunk, size_t *pos)
{
    if (chunk->fields_checked)
        return codec_skip_record((const uint8_t *)chunk->data.data, chunk->data.len, pos);
    struct record_view view;
    return chunk_next(chunk, pos, &view);
}
