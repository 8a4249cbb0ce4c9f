/* Sealed chunks of generated records, and damage to their fields
 * (chunk_fixture.h). */
#include "chunk_fixture.h"

#include "record.h"

#include <check.h>
#include <stdio.h>

struct chunk *fixture_sealed_chunk(uint64_t id, unsigned records, uint64_t source_id,
                                   uint64_t offset_step)
{
    struct chunk *chunk = chunk_new(id, 0, "kube.app", 3, 0);
    for (unsigned i = 0; i < records; i++) {
        struct record rec;
        record_init(&rec);
        rec.time = (struct record_time){.sec = 1700000000 + i, .nsec = 5};
        rec.origin =
            (struct record_origin){.source_id = source_id, .offset = offset_step * (i + 1)};
        char text[64];
        int len = snprintf(text, sizeof text, "line %u of chunk %llu", i, (unsigned long long)id);
        struct value v = value_string(text, (size_t)len);
        record_set_key(&rec, "log", &v);
        ck_assert_uint_gt(chunk_append(chunk, &rec), 0);
        chunk_note_origin(chunk, &rec.origin);
        record_free(&rec);
    }
    chunk_seal(chunk);
    chunk->bytes = chunk->data.len;
    return chunk;
}

/* A tag byte that no encoder writes (codec.h, enum codec_tag). */
#define BAD_TAG 0xee

void fixture_corrupt_fields(struct chunk *chunk, unsigned index)
{
    struct record_view view;
    size_t pos = 0;
    for (unsigned i = 0; i <= index; i++)
        ck_assert_int_eq(chunk_next(chunk, &pos, &view), 1);
    size_t at = 0;
    uint64_t count;
    const char *key;
    size_t key_len;
    ck_assert_int_eq(codec_read_varint(view.fields, view.fields_len, &at, &count), 0);
    ck_assert_uint_gt(count, 0);
    ck_assert_int_eq(codec_read_string(view.fields, view.fields_len, &at, &key, &key_len), 0);
    ck_assert_uint_lt(at, view.fields_len);
    size_t offset = (size_t)(view.fields - (const uint8_t *)chunk->data.data) + at;
    chunk->data.data[offset] = (char)BAD_TAG;
}

void fixture_append_nested(struct chunk *chunk, unsigned levels)
{
    struct value inner = value_map_new();
    for (unsigned i = 2; i < levels; i++) {
        struct value outer = value_map_new();
        value_map_set(&outer.as.map, "n", 1, &inner);
        inner = outer;
    }
    struct record rec;
    record_init(&rec);
    rec.time = (struct record_time){.sec = 1700000000};
    record_set_key(&rec, "n", &inner);
    ck_assert_uint_gt(chunk_append(chunk, &rec), 0);
    record_free(&rec);
}
