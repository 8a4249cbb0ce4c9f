/* Fuzz target: reading a chunk file, as start-up replay does with whatever a
 * crash or a bad disk left behind. Each input is read as it is and once more
 * with its metadata CRC made to match, so that mutations reach the metadata
 * parser instead of stopping at the checksum. A file the reader accepts must
 * hold only records that decode and render with its attachments. */
#include "fuzz.h"

#include "chunk_file.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void check_chunk_file(const uint8_t *data, size_t size)
{
    struct chunk *chunk;
    struct chunk_file_info info;
    bool damaged;
    char *error = NULL;
    int rc = chunk_file_parse(data, size, &chunk, &info, &damaged, &error);
    free(error);
    if (rc < 0)
        return;

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
    chunk_file_info_free(&info);
    chunk_free(chunk);
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
