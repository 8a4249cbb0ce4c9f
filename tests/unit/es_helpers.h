/* Records, chunks and `_bulk` bodies for the Elasticsearch output's unit
 * tests (test_es_bulk.c, test_es_id.c, test_es_fidelity.c); see
 * es_helpers.c. */
#ifndef SKIFF_TEST_ES_HELPERS_H
#define SKIFF_TEST_ES_HELPERS_H

#include "chunk.h"
#include "plugins/out_elasticsearch/es_bulk.h"
#include "plugins/out_elasticsearch/es_index.h"

#include <stdint.h>

#define T_2024_05_01 1714558500 /* 2024-05-01T10:15:00Z */

void set_str(struct value_map *map, const char *key, const char *s);
void set_int(struct value_map *map, const char *key, int64_t i);
/* An empty record at `sec` (+123 ns) from (source, offset). */
void make_record(struct record *rec, int64_t sec, uint64_t source, uint64_t offset);
/* A chunk of `n` records {"log":"line <i>","stream":"stdout"}, source 7,
 * offsets 100, 200, ... */
struct chunk *make_log_chunk(int n);
/* A chunk of one record; the record's contents move into it. */
struct chunk *chunk_of(struct record *rec);
/* Compiles an index pattern; fails the test with the error otherwise. */
struct es_index_pattern *compile_ok(const char *text);
/* `id: origin`. */
extern const struct es_id_spec origin_ids;
/* Index `index`, no _id, node name "node-1", time key "@timestamp". */
struct es_bulk_options default_options(const struct es_index_pattern *index);
/* Builds one body from the whole chunk; returns it NUL-terminated (caller
 * frees) and the result; checks every record is in it. */
char *build_all(const struct chunk *chunk, const struct es_bulk_options *opts,
                struct es_bulk_result *result);

#endif
