/* Chunks as forward messages (fw_message.h). Records are read in place
 * from the chunk (codec.h) and written straight as MessagePack, without
 * decoding them into values; an attachment (pod metadata shared by many
 * records) is written from its value for each record that refers to it. */
#include "fw_message.h"

#include "fw_msgpack.h"
#include "gzip.h"

#include <string.h>

static int write_encoded(struct buf *out, const uint8_t *data, size_t len, size_t *pos, int depth,
                         uint64_t *invalid);

static int write_encoded_map_body(struct buf *out, const uint8_t *data, size_t len, size_t *pos,
                                  uint64_t count, int depth, uint64_t *invalid)
{
    for (uint64_t i = 0; i < count; i++) {
        const char *key;
        size_t key_len;
        if (codec_read_string(data, len, pos, &key, &key_len) < 0)
            return -1;
        fw_mp_write_text(out, key, key_len, invalid);
        if (write_encoded(out, data, len, pos, depth, invalid) < 0)
            return -1;
    }
    return 0;
}

static int write_encoded_float(struct buf *out, const uint8_t *data, size_t len, size_t *pos)
{
    if (len - *pos < 8)
        return -1;
    uint64_t bits = 0;
    for (int i = 7; i >= 0; i--)
        bits = bits << 8 | data[*pos + (size_t)i];
    *pos += 8;
    double d;
    memcpy(&d, &bits, sizeof d);
    fw_mp_write_double(out, d);
    return 0;
}

/* Containers: a count each element of which takes at least a byte, so a
 * corrupt count cannot drive a long loop. `depth` counts the containers
 * around this one, which makes one more: the same limit as the decoder's
 * (codec.c), the only check of a chunk whose fields are not walked before
 * (chunk.h, fields_checked). */
static int write_encoded_container(struct buf *out, const uint8_t *data, size_t len, size_t *pos,
                                   uint8_t tag, int depth, uint64_t *invalid)
{
    uint64_t count;
    if (depth + 1 > CODEC_MAX_DEPTH || codec_read_varint(data, len, pos, &count) < 0 ||
        count > len - *pos || count > UINT32_MAX)
        return -1;
    if (tag == CODEC_MAP) {
        fw_mp_write_map_header(out, (uint32_t)count);
        return write_encoded_map_body(out, data, len, pos, count, depth + 1, invalid);
    }
    fw_mp_write_array_header(out, (uint32_t)count);
    for (uint64_t i = 0; i < count; i++)
        if (write_encoded(out, data, len, pos, depth + 1, invalid) < 0)
            return -1;
    return 0;
}

static int write_encoded(struct buf *out, const uint8_t *data, size_t len, size_t *pos, int depth,
                         uint64_t *invalid)
{
    if (*pos >= len)
        return -1;
    uint8_t tag = data[(*pos)++];
    uint64_t u;
    const char *s;
    size_t slen;
    switch (tag) {
    case CODEC_NULL:
        fw_mp_write_nil(out);
        return 0;
    case CODEC_FALSE:
    case CODEC_TRUE:
        fw_mp_write_bool(out, tag == CODEC_TRUE);
        return 0;
    case CODEC_INT:
        if (codec_read_varint(data, len, pos, &u) < 0)
            return -1;
        fw_mp_write_int(out, (int64_t)((u >> 1) ^ (0 - (u & 1)))); /* zigzag */
        return 0;
    case CODEC_FLOAT:
        return write_encoded_float(out, data, len, pos);
    case CODEC_STRING:
        if (codec_read_string(data, len, pos, &s, &slen) < 0)
            return -1;
        fw_mp_write_text(out, s, slen, invalid);
        return 0;
    case CODEC_MAP:
    case CODEC_ARRAY:
        return write_encoded_container(out, data, len, pos, tag, depth, invalid);
    default:
        return -1;
    }
}

static void write_value(struct buf *out, const struct value *v, uint64_t *invalid)
{
    switch (v->type) {
    case VALUE_NULL:
        fw_mp_write_nil(out);
        break;
    case VALUE_BOOL:
        fw_mp_write_bool(out, v->as.boolean);
        break;
    case VALUE_INT:
        fw_mp_write_int(out, v->as.integer);
        break;
    case VALUE_FLOAT:
        fw_mp_write_double(out, v->as.real);
        break;
    case VALUE_STRING:
        fw_mp_write_text(out, v->as.string.ptr, v->as.string.len, invalid);
        break;
    case VALUE_MAP:
        fw_mp_write_map_header(out, v->as.map.count);
        for (uint32_t i = 0; i < v->as.map.count; i++) {
            const struct map_entry *e = &v->as.map.entries[i];
            fw_mp_write_text(out, e->key.ptr, e->key.len, invalid);
            write_value(out, &e->value, invalid);
        }
        break;
    case VALUE_ARRAY:
        fw_mp_write_array_header(out, v->as.array.count);
        for (uint32_t i = 0; i < v->as.array.count; i++)
            write_value(out, &v->as.array.items[i], invalid);
        break;
    }
}

int fw_entry_write(struct buf *out, const struct record_view *view,
                   struct attachment *const *attachments, uint64_t *invalid_utf8)
{
    size_t start = out->len;
    uint64_t invalid = 0;
    size_t pos = 0;
    uint64_t count;
    const uint8_t *fields = view->fields;
    if (codec_read_varint(fields, view->fields_len, &pos, &count) < 0 ||
        count > view->fields_len - pos || count + view->attachment_count > UINT32_MAX)
        return -1;
    fw_mp_write_array_header(out, 2);
    fw_mp_write_event_time(out, view->time.sec, view->time.nsec);
    fw_mp_write_map_header(out, (uint32_t)(count + view->attachment_count));
    if (write_encoded_map_body(out, fields, view->fields_len, &pos, count, 1, &invalid) < 0 ||
        pos != view->fields_len) {
        out->len = start;
        return -1;
    }
    for (uint8_t i = 0; i < view->attachment_count; i++) {
        const struct attachment *a = attachments[view->attachment_index[i]];
        fw_mp_write_text(out, a->key.ptr, a->key.len, &invalid);
        write_value(out, &a->value, &invalid);
    }
    *invalid_utf8 += invalid;
    return 0;
}

/* The entries of every readable record, appended to `out`. */
static void write_entries(struct buf *out, const struct chunk *chunk,
                          struct fw_message_stats *stats)
{
    size_t pos = 0;
    size_t start = out->len;
    struct record_view view;
    int rc;
    while ((rc = chunk_next(chunk, &pos, &view)) == 1) {
        if (fw_entry_write(out, &view, chunk->attachments, &stats->invalid_utf8) < 0)
            break;
        stats->records++;
    }
    stats->malformed = chunk->record_count - stats->records;
    stats->entries_bytes = out->len - start;
}

static void write_options(struct buf *out, const char *chunk_id, bool gzip, uint32_t records)
{
    fw_mp_write_map_header(out, 1u + (chunk_id != NULL) + gzip);
    if (chunk_id) {
        fw_mp_write_str(out, "chunk", 5);
        fw_mp_write_str(out, chunk_id, strlen(chunk_id));
    }
    fw_mp_write_str(out, "size", 4);
    fw_mp_write_uint(out, records);
    if (gzip) {
        fw_mp_write_str(out, "compressed", 10);
        fw_mp_write_str(out, "gzip", 4);
    }
}

void fw_message_build(struct buf *out, struct buf *scratch, const struct chunk *chunk,
                      const char *tag, const char *chunk_id, struct gzip_compressor *gzip,
                      struct fw_message_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    buf_reset(out);
    fw_mp_write_array_header(out, 3);
    fw_mp_write_text(out, tag, strlen(tag), &stats->invalid_utf8);
    /* bin 32 whatever the size: the header is written before the size is
     * known, and MessagePack readers take a longer form than needed. */
    size_t header = fw_mp_write_bin32_placeholder(out);
    if (!gzip) {
        write_entries(out, chunk, stats);
        fw_mp_patch_bin32(out, header, (uint32_t)stats->entries_bytes);
    } else {
        buf_reset(scratch);
        write_entries(scratch, chunk, stats);
        size_t n = gzip_compress_append(gzip, scratch->data, scratch->len, out);
        fw_mp_patch_bin32(out, header, (uint32_t)n);
    }
    write_options(out, chunk_id, gzip != NULL, stats->records);
}
