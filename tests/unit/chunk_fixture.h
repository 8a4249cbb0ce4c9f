/* Sealed chunks of generated records, shared by the storage tests
 * (test_storage.c, test_storage_pack.c, test_chunk_pack.c; see
 * chunk_fixture.c), and damage done to a chunk's fields. */
#ifndef SKIFF_TEST_CHUNK_FIXTURE_H
#define SKIFF_TEST_CHUNK_FIXTURE_H

#include "chunk.h"

#include <stdint.h>

/* A sealed chunk `id` of input 0, tag "kube.app", routed to outputs 0 and 1,
 * with `records` records: record i has time 1700000000 + i s (+ 5 ns), origin
 * (source_id, offset_step * (i + 1)) noted in the chunk, and one field,
 * "log": "line <i> of chunk <id>". */
struct chunk *fixture_sealed_chunk(uint64_t id, unsigned records, uint64_t source_id,
                                   uint64_t offset_step);

/* Overwrites the type tag of record `index`'s first field value with one no
 * encoder writes: the record's length and header stay intact, its fields are
 * malformed. The record must be readable by chunk_next (a fields_checked
 * chunk, or before the damage). */
void fixture_corrupt_fields(struct chunk *chunk, unsigned index);

/* Appends a record whose field "n" holds maps nested so that, counting the
 * record's own map, `levels` (at least 2) maps are open at the innermost,
 * an empty one. The encoder writes any depth; readers allow CODEC_MAX_DEPTH. */
void fixture_append_nested(struct chunk *chunk, unsigned levels);

#endif
