/* Sealed chunks of generated records, shared by the storage tests
 * (test_storage.c, test_storage_pack.c, test_chunk_pack.c; see
 * chunk_fixture.c). */
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

#endif
