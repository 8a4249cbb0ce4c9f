/* Sealed chunks of generated records (chunk_fixture.h). */
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
