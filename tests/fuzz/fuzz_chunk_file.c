/* Fuzz target: reading a chunk file (a pack, or a version 1 file of one
 * chunk), as start-up replay does with whatever a crash or a bad disk left
 * behind. Each input is read as it is and once more with its first metadata
 * CRC made to match, so that mutations reach the metadata parser instead of
 * stopping at the checksum. Every chunk the reader accepts must hold only
 * records that decode and render with its attachments, and each one's
 * section must read the same on its own. */
#include "fuzz.h"

#include "chunk_file.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void check_chunk(const struct chunk *chunk)
{
    struct record_view view;
    struct buf json = BUF_INIT;
    size_t pos = 0;
    uint32_t count = 0;
    while (chunk_next(chunk, &pos, &view) == 1) {
        buf_reset(&json);
        if (json_write_record(&json, &view, chunk->attachments, "@timestamp", NULL) < 0)
            abort();
        count++;
    }
    if (count != chunk->record_count || pos != chunk->data.len)
        abort();
    buf_free(&json);
}

/* A pack's section read on its own holds what the whole read gave. */
static void check_section(const uint8_t *data, size_t size, const struct chunk_file_entry *entry)
{
    if (entry->offset == 0 || entry->offset > size || entry->length > size - entry->offset)
        abort();
    struct chunk_file_entry one;
    char *error = NULL;
    if (chunk_file_parse_section(data + entry->offset, entry->length, &one, &error) < 0)
        abort();
    if (one.chunk->record_count != entry->chunk->record_count ||
        one.chunk->data.len != entry->chunk->data.len)
        abort();
    chunk_free(one.chunk);
    chunk_file_info_free(&one.info);
    free(error);
}

static void check_chunk_file(const uint8_t *data, size_t size)
{
    struct chunk_file_entry *entries;
    size_t count;
    bool damaged;
    char *error = NULL;
    int rc = chunk_file_parse_pack(data, size, &entries, &count, &damaged, &error);
    free(error);
    if (rc < 0)
        return;
    for (size_t i = 0; i < count; i++) {
        check_chunk(entries[i].chunk);
        if (entries[i].offset > 0)
            check_section(data, size, &entries[i]);
    }
    chunk_file_entries_free(entries, count);
}

static uint32_t get_le32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Rewrites the metadata CRC of a copy whose metadata fits; false if none. */
static bool fix_meta_crc(uint8_t *data, size_t size)
{
    size_t at = CHUNK_FILE_HEADER_LEN;
    if (size < at + 4)
        return false;
    size_t meta_len = get_le32(data + at);
    if (meta_len > size - at - 4 || size - at - 4 - meta_len < 4)
        return false;
    uint32_t crc = (uint32_t)crc32_z(0, data + at + 4, meta_len);
    for (size_t i = 0; i < 4; i++)
        data[at + 4 + meta_len + i] = (uint8_t)(crc >> (8 * i));
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_chunk_file(data, size);
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    if (fix_meta_crc(copy, size))
        check_chunk_file(copy, size);
    free(copy);
    return 0;
}
