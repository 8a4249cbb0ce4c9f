/* Reading chunk files (see chunk_file.h): a strict parser that never reads
 * past the end or trusts a length, and recovers the intact records of a torn
 * or damaged file. Not for disk I/O: that is in chunk_file.c. */
#include "chunk_file.h"

#include "xalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libdeflate.h>

/* Smallest encodings, used to bound counts by the bytes left. */
#define OUTPUT_MIN_LEN 5     /* empty alias + done */
#define ORIGIN_LEN 16        /* source_id + offset */
#define ATTACHMENT_MIN_LEN 9 /* empty key + value_len + one tag byte */
#define RECORD_CRC_LEN 4

static int parse_fail(char **error, const char *reason)
{
    *error = xstrdup(reason);
    errno = EBADMSG;
    return -1;
}

/* A cursor that never reads past `len`; the first short read makes it bad,
 * and a bad cursor reads nothing more. */
struct reader {
    const uint8_t *data;
    size_t len;
    size_t pos;
    bool bad;
};

static const uint8_t *read_bytes(struct reader *r, size_t n)
{
    if (r->bad || r->len - r->pos < n) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *p = r->data + r->pos;
    r->pos += n;
    return p;
}

static uint64_t read_le(struct reader *r, size_t bytes)
{
    const uint8_t *p = read_bytes(r, bytes);
    uint64_t v = 0;
    for (size_t i = 0; p && i < bytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static char *read_str(struct reader *r)
{
    size_t len = read_le(r, 4);
    const uint8_t *p = read_bytes(r, len);
    if (!p || memchr(p, '\0', len)) {
        r->bad = true;
        return NULL;
    }
    return xstrndup((const char *)p, len);
}

/* A count of items at least `item_len` bytes each, checked against the bytes
 * left before anything is allocated for it. */
static size_t read_count(struct reader *r, size_t item_len, size_t max)
{
    size_t count = read_le(r, 4);
    if (count > max || count > (r->len - r->pos) / item_len)
        r->bad = true;
    return r->bad ? 0 : count;
}

static bool read_header(struct reader *r)
{
    const uint8_t *magic = read_bytes(r, CHUNK_FILE_MAGIC_LEN);
    if (!magic || memcmp(magic, CHUNK_FILE_MAGIC, CHUNK_FILE_MAGIC_LEN) != 0)
        return false;
    uint64_t version = read_le(r, 2);
    uint64_t header_len = read_le(r, 2);
    uint64_t flags = read_le(r, 4);
    if (r->bad || version != CHUNK_FILE_VERSION || flags != 0 ||
        header_len < CHUNK_FILE_HEADER_LEN || header_len > r->len)
        return false;
    r->pos = header_len;
    return true;
}

/* Narrows *meta to the metadata body if its length and CRC check out. */
static bool read_meta_section(struct reader *r, struct reader *meta)
{
    size_t len = read_le(r, 4);
    const uint8_t *body = read_bytes(r, len);
    uint64_t crc = read_le(r, 4);
    if (r->bad || crc != libdeflate_crc32(0, body, len))
        return false;
    *meta = (struct reader){body, len, 0, false};
    return true;
}

static void read_outputs(struct reader *r, struct chunk_file_info *info)
{
    size_t count = read_count(r, OUTPUT_MIN_LEN, CHUNK_FILE_MAX_OUTPUTS);
    info->outputs = xcalloc(count ? count : 1, sizeof *info->outputs);
    info->done = xcalloc(count ? count : 1, sizeof *info->done);
    for (size_t i = 0; i < count && !r->bad; i++) {
        info->outputs[i] = read_str(r);
        uint64_t done = read_le(r, 1);
        if (done > 1)
            r->bad = true;
        info->done[i] = done == 1;
        info->output_count = i + 1;
    }
}

static void read_origins(struct reader *r, struct chunk *chunk)
{
    size_t count = read_count(r, ORIGIN_LEN, SIZE_MAX);
    if (count == 0)
        return;
    chunk->origins = xmalloc(count * sizeof *chunk->origins);
    chunk->origin_cap = count;
    for (size_t i = 0; i < count; i++) {
        chunk->origins[i].source_id = read_le(r, 8);
        chunk->origins[i].offset = read_le(r, 8);
    }
    chunk->origin_count = count;
}

static struct attachment *read_attachment(struct reader *r)
{
    char *key = read_str(r);
    size_t len = read_le(r, 4);
    const uint8_t *encoded = read_bytes(r, len);
    struct value value = {0};
    size_t pos = 0;
    struct attachment *a = NULL;
    if (encoded && codec_decode_value(encoded, len, &pos, &value) == 0) {
        if (pos == len)
            a = attachment_new(key, &value);
        else
            value_free(&value);
    }
    if (!a)
        r->bad = true;
    free(key);
    return a;
}

static void read_attachments(struct reader *r, struct chunk *chunk)
{
    size_t count = read_count(r, ATTACHMENT_MIN_LEN, CHUNK_MAX_ATTACHMENTS);
    if (count == 0)
        return;
    chunk->attachments = xmalloc(count * sizeof *chunk->attachments);
    chunk->attachment_cap = count;
    for (size_t i = 0; i < count && !r->bad; i++) {
        struct attachment *a = read_attachment(r);
        if (a)
            chunk->attachments[chunk->attachment_count++] = a;
    }
}

static uint32_t *read_record_crcs(struct reader *r, uint32_t *count)
{
    *count = (uint32_t)read_count(r, RECORD_CRC_LEN, UINT32_MAX);
    uint32_t *crcs = xmalloc((*count ? *count : 1) * sizeof *crcs);
    for (uint32_t i = 0; i < *count; i++)
        crcs[i] = (uint32_t)read_le(r, 4);
    return crcs;
}

/* Parses the metadata body into a new chunk and *info. Returns NULL if it is
 * malformed (then nothing is left allocated). */
static struct chunk *read_meta(struct reader *r, struct chunk_file_info *info, uint32_t **crcs,
                               uint32_t *record_count)
{
    uint64_t id = read_le(r, 8);
    info->input_alias = read_str(r);
    char *tag = read_str(r);
    struct chunk *chunk = chunk_new(id, 0, tag ? tag : "", 0, 0);
    free(tag);
    read_outputs(r, info);
    read_origins(r, chunk);
    read_attachments(r, chunk);
    *crcs = read_record_crcs(r, record_count);
    if (!r->bad && r->pos == r->len)
        return chunk;
    free(*crcs);
    *crcs = NULL;
    chunk_free(chunk);
    chunk_file_info_free(info);
    return NULL;
}

/* Keeps the leading records that decode and match their CRCs; returns how
 * many. */
static uint32_t keep_intact_records(struct chunk *chunk, const uint32_t *crcs, uint32_t count)
{
    const uint8_t *data = (const uint8_t *)chunk->data.data;
    struct record_view view;
    size_t pos = 0;
    uint32_t kept = 0;
    while (kept < count) {
        size_t start = pos;
        if (chunk_next(chunk, &pos, &view) != 1 ||
            libdeflate_crc32(0, data + start, pos - start) != crcs[kept]) {
            pos = start;
            break;
        }
        kept++;
    }
    chunk->data.len = pos;
    chunk->record_count = kept;
    return kept;
}

/* The origins of the records a damaged file still holds: the metadata's table
 * may cover records that were lost. */
static void origins_from_records(struct chunk *chunk)
{
    struct record_view view;
    size_t pos = 0;
    chunk->origin_count = 0;
    while (chunk_next(chunk, &pos, &view) == 1)
        chunk_note_origin(chunk, &view.origin);
}

static bool trailer_ok(const uint8_t *data, size_t len, size_t data_end)
{
    struct reader r = {data, len, data_end, false};
    uint64_t crc = read_le(&r, 4);
    uint64_t file_len = read_le(&r, 8);
    return !r.bad && r.pos == len && file_len == len && crc == libdeflate_crc32(0, data, data_end);
}

int chunk_file_parse(const uint8_t *data, size_t len, struct chunk **out,
                     struct chunk_file_info *info, bool *damaged, char **error)
{
    struct reader r = {data, len, 0, false}, meta;
    uint32_t *crcs, count;
    *out = NULL;
    memset(info, 0, sizeof *info);
    *damaged = false;
    if (!read_header(&r))
        return parse_fail(error, "not a chunk file, or its header is damaged");
    if (!read_meta_section(&r, &meta))
        return parse_fail(error, "metadata truncated or damaged (CRC)");
    struct chunk *chunk = read_meta(&meta, info, &crcs, &count);
    if (!chunk)
        return parse_fail(error, "metadata malformed");

    uint64_t data_len = read_le(&r, 8);
    size_t present = r.bad ? 0 : (size_t)(data_len < len - r.pos ? data_len : len - r.pos);
    buf_append(&chunk->data, data + r.pos, present);
    bool whole = !r.bad && data_len <= len - r.pos && trailer_ok(data, len, r.pos + data_len);
    uint32_t kept = keep_intact_records(chunk, crcs, count);
    free(crcs);
    *damaged = !whole || kept < count || chunk->data.len < present;
    if (*damaged) {
        origins_from_records(chunk);
        *error = xasprintf("damaged: kept %" PRIu32 " of %" PRIu32 " records", kept, count);
    }
    chunk_seal(chunk);
    *out = chunk;
    return 0;
}

void chunk_file_info_free(struct chunk_file_info *info)
{
    for (size_t i = 0; i < info->output_count; i++)
        free(info->outputs[i]);
    free(info->outputs);
    free(info->done);
    free(info->input_alias);
    memset(info, 0, sizeof *info);
}
