/* The Elasticsearch output's streamed bodies (es_bulk_stream, compress:
 * none): read in pieces of any size, rewound at any point or finished early
 * (an early 413), a stream gives the bytes, the records and the counts of
 * the body es_bulk_build makes of the same batch. */
#include "suites.h"

#include "es_helpers.h"

#include "chunk.h"
#include "plugins/out_elasticsearch/es_bulk.h"
#include "plugins/out_elasticsearch/es_id.h"
#include "plugins/out_elasticsearch/es_index.h"

#include <stdio.h>
#include <string.h>

/* A chunk of `n` records that differ in size, with escapes, UTF-8 and
 * field-made index names ("logs-<kind>", some with an invalid name that is
 * fixed). */
static struct chunk *make_varied_chunk(int n)
{
    struct chunk *chunk = chunk_new(1, 0, "kube.x", 1, 0);
    char pad[3000];
    for (int i = 0; i < n; i++) {
        struct record rec;
        char line[64];
        snprintf(line, sizeof line, "line %d \"quoted\"\ttab caf\xc3\xa9 \x01", i);
        make_record(&rec, T_2024_05_01 + i, 7, (uint64_t)(i + 1) * 100);
        set_str(&rec.fields, "log", line);
        set_str(&rec.fields, "kind", i % 5 == 4 ? "Bad Name" : i % 2 ? "app" : "web");
        size_t pad_len = (size_t)(i * 397) % sizeof pad;
        memset(pad, 'a' + i % 26, pad_len);
        pad[pad_len] = '\0';
        set_str(&rec.fields, "pad", pad);
        set_int(&rec.fields, "n", i);
        ck_assert_uint_gt(chunk_append(chunk, &rec), 0);
        record_free(&rec);
    }
    return chunk;
}

/* Reads the stream to its end, `room` bytes at a time. */
static void read_all(struct es_bulk_stream *s, size_t room, struct buf *out)
{
    char piece[8192];
    ck_assert_uint_le(room, sizeof piece);
    size_t n;
    while ((n = es_bulk_stream_read(s, piece, room)) > 0) {
        ck_assert_uint_le(n, room);
        buf_append(out, piece, n);
    }
}

static void assert_same_result(const struct es_bulk_result *a, const struct es_bulk_result *b)
{
    ck_assert_uint_eq(a->records, b->records);
    ck_assert_uint_eq(a->index_fallbacks, b->index_fallbacks);
    ck_assert_uint_eq(a->id_fallbacks, b->id_fallbacks);
    for (unsigned i = 0; i < ES_INDEX_FIX_COUNT; i++)
        ck_assert_uint_eq(a->index_fixes[i], b->index_fixes[i]);
    ck_assert_uint_eq(a->stats.invalid_utf8, b->stats.invalid_utf8);
}

static void assert_same_bytes(const struct buf *a, const struct buf *b)
{
    ck_assert_uint_eq(a->len, b->len);
    ck_assert(a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* Every batch of the list, streamed with pieces of `room` bytes, is the
 * whole body byte for byte, with the same records and counts. */
static void stream_every_batch(const struct es_record_list *list,
                               const struct es_bulk_options *opts, size_t room)
{
    struct es_bulk_stream *s = es_bulk_stream_create();
    size_t first = 0;
    while (first < list->count) {
        struct buf whole = BUF_INIT, streamed = BUF_INIT;
        struct es_bulk_result built;
        ck_assert_int_eq(es_bulk_build(list, first, opts, &whole, &built), 0);
        ck_assert_int_eq(es_bulk_stream_start(s, list, first, opts), 0);
        read_all(s, room, &streamed);
        assert_same_bytes(&streamed, &whole);
        size_t bytes;
        const struct es_bulk_result *result = es_bulk_stream_finish(s, &bytes);
        ck_assert_uint_eq(bytes, whole.len);
        assert_same_result(result, &built);
        first += built.records;
        buf_free(&whole);
        buf_free(&streamed);
    }
    es_bulk_stream_free(s);
}

START_TEST(streamed_bodies_are_the_whole_bodies_in_any_piece_size)
{
    struct chunk *a = make_varied_chunk(40);
    struct chunk *b = make_log_chunk(7);
    struct es_record_list list = {0};
    ck_assert_int_eq(es_record_list_add_chunk(&list, a), 0);
    ck_assert_int_eq(es_record_list_add_chunk(&list, b), 0);
    struct es_index_pattern *index = compile_ok("logs-${kind}");
    struct es_bulk_options opts = default_options(index);
    opts.id = &origin_ids;
    opts.create = true;
    opts.dedot_keys = true;
    const size_t rooms[] = {1, 2, 3, 7, 64, 1000, 8192};
    const size_t limits[] = {0, 100, 4000, 20000};
    for (size_t l = 0; l < sizeof limits / sizeof *limits; l++) {
        opts.batch_max_bytes = limits[l];
        opts.batch_max_records = l == 3 ? 9 : 0;
        for (size_t r = 0; r < sizeof rooms / sizeof *rooms; r++)
            stream_every_batch(&list, &opts, rooms[r]);
    }
    es_index_pattern_free(index);
    es_record_list_free(&list);
    chunk_free(a);
    chunk_free(b);
}
END_TEST

/* A rewind (libcurl's seek to 0, or failover to another host) in the middle
 * or after the end gives the same bytes again; once finished, the batch's
 * end stays where it was fixed. */
START_TEST(a_rewound_stream_gives_the_same_bytes)
{
    struct chunk *chunk = make_varied_chunk(30);
    struct es_record_list list = {0};
    es_record_list_from_chunk(&list, chunk);
    struct es_index_pattern *index = compile_ok("logs-${kind}");
    struct es_bulk_options opts = default_options(index);
    opts.batch_max_bytes = 16000;
    struct buf whole = BUF_INIT;
    struct es_bulk_result built;
    ck_assert_int_eq(es_bulk_build(&list, 3, &opts, &whole, &built), 0);
    ck_assert_uint_lt(3 + built.records, list.count); /* the limit ends it */

    struct es_bulk_stream *s = es_bulk_stream_create();
    ck_assert_int_eq(es_bulk_stream_start(s, &list, 3, &opts), 0);
    char part[5000];
    ck_assert_uint_eq(es_bulk_stream_read(s, part, sizeof part), sizeof part);
    ck_assert_int_eq(memcmp(part, whole.data, sizeof part), 0);
    es_bulk_stream_rewind(s);
    struct buf again = BUF_INIT;
    read_all(s, 333, &again);
    assert_same_bytes(&again, &whole);
    es_bulk_stream_rewind(s);
    buf_reset(&again);
    read_all(s, 4096, &again);
    assert_same_bytes(&again, &whole);

    size_t bytes;
    ck_assert_uint_eq(es_bulk_stream_finish(s, &bytes)->records, built.records);
    es_bulk_stream_rewind(s);
    buf_reset(&again);
    read_all(s, 17, &again);
    assert_same_bytes(&again, &whole);
    buf_free(&again);
    buf_free(&whole);
    es_bulk_stream_free(s);
    es_index_pattern_free(index);
    es_record_list_free(&list);
    chunk_free(chunk);
}
END_TEST

/* A server that answers before reading the whole body (an early 413):
 * finishing the stream there fixes the batch where the whole body would
 * have ended, so that its items map to the same records, and a 413's halves
 * are those of the whole batch. */
START_TEST(a_stream_finished_early_ends_where_the_whole_body_does)
{
    struct chunk *chunk = make_varied_chunk(25);
    struct es_record_list list = {0};
    es_record_list_from_chunk(&list, chunk);
    struct es_index_pattern *index = compile_ok("logs-${kind}");
    struct es_bulk_options opts = default_options(index);
    opts.batch_max_bytes = 12000;
    struct buf whole = BUF_INIT;
    struct es_bulk_result built;
    ck_assert_int_eq(es_bulk_build(&list, 0, &opts, &whole, &built), 0);
    ck_assert_uint_gt(built.records, 2);

    const size_t reads[] = {0, 1, 800, whole.len - 1};
    struct es_bulk_stream *s = es_bulk_stream_create();
    for (size_t i = 0; i < sizeof reads / sizeof *reads; i++) {
        ck_assert_int_eq(es_bulk_stream_start(s, &list, 0, &opts), 0);
        char part[12000];
        ck_assert_uint_lt(reads[i], sizeof part);
        ck_assert_uint_eq(es_bulk_stream_read(s, part, reads[i]), reads[i]);
        size_t bytes;
        const struct es_bulk_result *result = es_bulk_stream_finish(s, &bytes);
        assert_same_result(result, &built);
        ck_assert_uint_eq(bytes, whole.len);
        /* The half a 413 sends first, streamed, is the half built. */
        struct es_bulk_options half = opts;
        half.batch_max_records = result->records / 2;
        struct buf built_half = BUF_INIT, streamed_half = BUF_INIT;
        struct es_bulk_result unused;
        ck_assert_int_eq(es_bulk_build(&list, 0, &half, &built_half, &unused), 0);
        ck_assert_int_eq(es_bulk_stream_start(s, &list, 0, &half), 0);
        read_all(s, 100, &streamed_half);
        assert_same_bytes(&streamed_half, &built_half);
        ck_assert_uint_lt(streamed_half.len, whole.len);
        buf_free(&built_half);
        buf_free(&streamed_half);
    }
    buf_free(&whole);
    es_bulk_stream_free(s);
    es_index_pattern_free(index);
    es_record_list_free(&list);
    chunk_free(chunk);
}
END_TEST

/* A malformed record where a batch starts: the stream refuses to start (the
 * caller sets the record aside); one later in the batch ends it before. */
START_TEST(a_malformed_record_ends_a_streamed_batch)
{
    struct chunk *chunk = make_log_chunk(3);
    struct es_record_list list = {0};
    es_record_list_from_chunk(&list, chunk);
    chunk->data.len -= 3;
    struct es_index_pattern *index = compile_ok("logs");
    struct es_bulk_options opts = default_options(index);
    struct buf whole = BUF_INIT, streamed = BUF_INIT;
    struct es_bulk_result built;
    ck_assert_int_eq(es_bulk_build(&list, 0, &opts, &whole, &built), 0);
    ck_assert_uint_eq(built.records, 2);
    struct es_bulk_stream *s = es_bulk_stream_create();
    ck_assert_int_eq(es_bulk_stream_start(s, &list, 0, &opts), 0);
    read_all(s, 5, &streamed);
    assert_same_bytes(&streamed, &whole);
    size_t bytes;
    ck_assert_uint_eq(es_bulk_stream_finish(s, &bytes)->records, 2);
    ck_assert_int_eq(es_bulk_stream_start(s, &list, 2, &opts), -1);
    char byte;
    ck_assert_uint_eq(es_bulk_stream_read(s, &byte, 1), 0);
    buf_free(&whole);
    buf_free(&streamed);
    es_bulk_stream_free(s);
    es_index_pattern_free(index);
    es_record_list_free(&list);
    chunk_free(chunk);
}
END_TEST

Suite *es_stream_suite(void)
{
    Suite *s = suite_create("es_stream");
    TCase *tc = tcase_create("stream");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, streamed_bodies_are_the_whole_bodies_in_any_piece_size);
    tcase_add_test(tc, a_rewound_stream_gives_the_same_bytes);
    tcase_add_test(tc, a_stream_finished_early_ends_where_the_whole_body_does);
    tcase_add_test(tc, a_malformed_record_ends_a_streamed_batch);
    suite_add_tcase(s, tc);
    return s;
}
