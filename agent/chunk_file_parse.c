/* Reading chunk files (see chunk_file.h), packs (version 2) and single chunks
 * (version 1): a strict parser that never reads past the end or trusts a
 * length, and recovers the intact records of a torn or damaged file. Not for
 * disk I/O: that is in chunk_file.c. */
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

/* The file's version (1 or 2), or 0 if the header is not one. */
static unsigned read_header(struct reader *r)
{
    const uint8_t *magic = read_bytes(r, CHUNK_FILE_MAGIC_LEN);
    if (!magic || memcmp(magic, CHUNK_FILE_MAGIC, CHUNK_FILE_MAGIC_LEN) != 0)
        return 0;
    uint64_t version = read_le(r, 2);
    uint64_t header_len = read_le(r, 2);
    uint64_t flags = read_le(r, 4);
    if (r->bad || (version != CHUNK_FILE_VERSION && version != CHUNK_FILE_VERSION_SINGLE) ||
        flags != 0 || header_len < CHUNK_FILE_HEADER_LEN || header_len > r->len)
        return 0;
    r->pos = header_len;
    return (unsigned)version;
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

/* Parses the metadata body into a new chunk and *info (and, for a section of
 * a pack, *data_len from its end; data_len NULL: version 1). Returns NULL if
 * it is malformed (then nothing is left allocated). */
static struct chunk *read_meta(struct reader *r, struct chunk_file_info *info, uint32_t **crcs,
                               uint32_t *record_count, uint64_t *data_len)
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
    if (data_len)
        *data_len = read_le(r, 8);
    if (!r->bad && r->pos == r->len)
        return chunk;
    free(*crcs);
    *crcs = NULL;
    chunk_free(chunk);
    chunk_file_info_free(info);
    return NULL;
}

/* Keeps the leading records that decode, fields and all, and match their
 * CRCs; returns how many. What is kept is then known well formed: from here
 * on the chunk's records are read without walking their fields again. */
static uint32_t keep_intact_records(struct chunk *chunk, const uint32_t *crcs, uint32_t count)
{
    const uint8_t *data = (const uint8_t *)chunk->data.data;
    struct record_view view;
    size_t pos = 0;
    uint32_t kept = 0;
    chunk->fields_checked = false; /* chunk_next checks each record in full */
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
    chunk->fields_checked = true;
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

/* Keeps what `present` bytes of records hold intact; returns whether they
 * hold all `count` records (and nothing after them). */
static bool take_records(struct chunk *chunk, const uint8_t *records, size_t present,
                         const uint32_t *crcs, uint32_t count)
{
    buf_append(&chunk->data, records, present);
    uint32_t kept = keep_intact_records(chunk, crcs, count);
    bool intact = kept == count && chunk->data.len == present;
    if (!intact)
        origins_from_records(chunk);
    chunk_seal(chunk);
    return intact;
}

/* A version 1 file: one chunk, its data_len outside the metadata. */
static int parse_single(struct reader *r, struct chunk_file_entry *entry, bool *damaged,
                        char **error)
{
    struct reader meta;
    uint32_t *crcs, count;
    if (!read_meta_section(r, &meta))
        return parse_fail(error, "metadata truncated or damaged (CRC)");
    struct chunk *chunk = read_meta(&meta, &entry->info, &crcs, &count, NULL);
    if (!chunk)
        return parse_fail(error, "metadata malformed");
    uint64_t data_len = read_le(r, 8);
    size_t left = r->len - r->pos;
    size_t present = r->bad ? 0 : (size_t)(data_len < left ? data_len : left);
    bool whole = !r->bad && data_len <= left && trailer_ok(r->data, r->len, r->pos + data_len);
    bool intact = take_records(chunk, r->data + r->pos, present, crcs, count);
    free(crcs);
    entry->chunk = chunk;
    entry->length = r->len;
    entry->damaged = !intact;
    *damaged = !whole || !intact;
    if (*damaged)
        *error = xasprintf("damaged: kept %" PRIu32 " of %" PRIu32 " records", chunk->record_count,
                           count);
    return 0;
}

/* One section of a pack at r->pos, up to r->len. Returns 1 when it is whole
 * (r->pos then at its end), 0 when its records are cut or damaged (what is
 * intact is in *entry; the next section cannot be found past a cut), -1 when
 * its metadata is damaged (nothing in *entry). */
static int parse_one_section(struct reader *r, struct chunk_file_entry *entry)
{
    struct reader meta;
    uint32_t *crcs, count;
    uint64_t data_len;
    size_t start = r->pos;
    memset(entry, 0, sizeof *entry);
    if (!read_meta_section(r, &meta))
        return -1;
    struct chunk *chunk = read_meta(&meta, &entry->info, &crcs, &count, &data_len);
    if (!chunk)
        return -1;
    size_t left = r->len - r->pos;
    size_t present = (size_t)(data_len < left ? data_len : left);
    bool intact = take_records(chunk, r->data + r->pos, present, crcs, count);
    free(crcs);
    r->pos += present;
    entry->chunk = chunk;
    entry->offset = start;
    entry->length = r->pos - start;
    entry->damaged = !intact;
    return intact && present == data_len ? 1 : 0;
}

int chunk_file_parse_section(const uint8_t *data, size_t len, struct chunk_file_entry *entry,
                             char **error)
{
    struct reader r = {data, len, 0, false};
    int rc = parse_one_section(&r, entry);
    if (rc < 0)
        return parse_fail(error, "metadata truncated or damaged (CRC)");
    if (rc == 0 || r.pos != len)
        *error = xasprintf("damaged: kept %" PRIu32 " records", entry->chunk->record_count);
    entry->damaged = rc == 0 || r.pos != len;
    return 0;
}

/* A version 2 file: sections up to the trailer. Without an intact trailer
 * the sections are walked to the end of the bytes, each found by the length
 * its intact metadata gives. */
static int parse_pack(struct reader *r, struct chunk_file_entry **entries, size_t *count,
                      bool *damaged, char **error)
{
    size_t len = r->len, cap = 0;
    bool whole = len - r->pos >= CHUNK_FILE_TRAILER_LEN &&
                 trailer_ok(r->data, len, len - CHUNK_FILE_TRAILER_LEN);
    r->len = whole ? len - CHUNK_FILE_TRAILER_LEN : len;
    bool lost = false;
    uint32_t kept = 0;
    while (r->pos < r->len) {
        struct chunk_file_entry entry;
        int rc = parse_one_section(r, &entry);
        if (rc < 0) {
            lost = true; /* the rest cannot be found */
            break;
        }
        *entries = xgrow(*entries, &cap, *count + 1, sizeof **entries);
        (*entries)[(*count)++] = entry;
        kept += entry.chunk->record_count;
        lost |= rc == 0;
    }
    *damaged = !whole || lost;
    if (*count == 0 && *damaged)
        return parse_fail(error, "no chunk's metadata is intact");
    if (*damaged)
        *error = xasprintf("damaged: kept %" PRIu32 " records in %zu chunks", kept, *count);
    return 0;
}

int chunk_file_parse_pack(const uint8_t *data, size_t len, struct chunk_file_entry **entries,
                          size_t *count, bool *damaged, char **error)
{
    struct reader r = {data, len, 0, false};
    *entries = NULL;
    *count = 0;
    *damaged = false;
    unsigned version = read_header(&r);
    if (version == 0)
        return parse_fail(error, "not a chunk file, or its header is damaged");
    if (version == CHUNK_FILE_VERSION)
        return parse_pack(&r, entries, count, damaged, error);
    *entries = xcalloc(1, sizeof **entries);
    if (parse_single(&r, *entries, damaged, error) < 0) {
        free(*entries);
        *entries = NULL;
        return -1;
    }
    *count = 1;
    return 0;
}

void chunk_file_entries_free(struct chunk_file_entry *entries, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        chunk_free(entries[i].chunk);
        chunk_file_info_free(&entries[i].info);
    }
    free(entries);
}

int chunk_file_parse(const uint8_t *data, size_t len, struct chunk **out,
                     struct chunk_file_info *info, bool *damaged, char **error)
{
    struct chunk_file_entry *entries;
    size_t count;
    *out = NULL;
    memset(info, 0, sizeof *info);
    if (chunk_file_parse_pack(data, len, &entries, &count, damaged, error) < 0)
        return -1;
    if (count != 1) {
        chunk_file_entries_free(entries, count);
        free(*error);
        *damaged = false;
        return parse_fail(error, "not a file of one chunk");
    }
    *out = entries[0].chunk;
    *info = entries[0].info;
    free(entries);
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
