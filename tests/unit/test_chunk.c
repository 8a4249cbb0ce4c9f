/* Chunks (append, attachment table, origins, reading records whose fields
 * are known well formed) and the chunk store (open table, in-order release
 * per input). */
#include "suites.h"

#include "chunk.h"
#include "chunk_fixture.h"
#include "chunk_store.h"
#include "delivery_internal.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void make_record(struct record *rec, int64_t seq, uint64_t source, uint64_t offset)
{
    record_init(rec);
    rec->time.sec = 1714558500;
    rec->time.nsec = 123;
    rec->origin.source_id = source;
    rec->origin.offset = offset;
    struct value v = value_int(seq);
    record_set_key(rec, "seq", &v);
}

START_TEST(test_chunk_append_and_read_back)
{
    struct chunk *chunk = chunk_new(1, 0, "t", 1, 0);
    struct record rec;
    size_t total = 0;
    for (int i = 0; i < 100; i++) {
        make_record(&rec, i, 7, (uint64_t)(i + 1) * 10);
        size_t grown = chunk_append(chunk, &rec);
        ck_assert_uint_gt(grown, 0);
        total += grown;
        record_free(&rec);
    }
    ck_assert_uint_eq(total, chunk->data.len);
    ck_assert_uint_eq(chunk->record_count, 100);
    ck_assert_uint_eq(chunk->origin_count, 1);
    ck_assert_uint_eq(chunk->origins[0].source_id, 7);
    ck_assert_uint_eq(chunk->origins[0].offset, 1000);

    size_t pos = 0;
    struct record_view view;
    int n = 0;
    while (chunk_next(chunk, &pos, &view) == 1) {
        struct value_map fields = {0};
        ck_assert_int_eq(codec_decode_fields(view.fields, view.fields_len, &fields), 0);
        const struct value *seq = value_map_get(&fields, "seq", 3);
        ck_assert_ptr_nonnull(seq);
        ck_assert_int_eq(seq->as.integer, n);
        ck_assert_uint_eq(view.origin.offset, (uint64_t)(n + 1) * 10);
        value_map_free(&fields);
        n++;
    }
    ck_assert_int_eq(n, 100);
    chunk_free(chunk);
}
END_TEST

START_TEST(test_chunk_origins_per_source)
{
    struct chunk *chunk = chunk_new(1, 0, "t", 1, 0);
    struct record_origin a1 = {1, 100}, b1 = {2, 50}, a2 = {1, 200}, none = {0, 0};
    chunk_note_origin(chunk, &a1);
    chunk_note_origin(chunk, &b1);
    chunk_note_origin(chunk, &a2);
    chunk_note_origin(chunk, &none);
    ck_assert_uint_eq(chunk->origin_count, 2);
    ck_assert_uint_eq(chunk->origins[0].offset, 200);
    ck_assert_uint_eq(chunk->origins[1].offset, 50);
    chunk_free(chunk);
}
END_TEST

START_TEST(test_chunk_shares_attachments)
{
    struct value meta = value_map_new();
    struct value pod = value_cstring("web-1");
    value_map_set(&meta.as.map, "pod_name", 8, &pod);
    struct attachment *a = attachment_new("kubernetes", &meta);
    struct chunk *chunk = chunk_new(1, 0, "t", 1, 0);

    for (int i = 0; i < 10; i++) {
        struct record rec;
        make_record(&rec, i, 0, 0);
        ck_assert_int_eq(record_attach(&rec, a), 0);
        ck_assert_uint_gt(chunk_append(chunk, &rec), 0);
        record_free(&rec);
    }
    ck_assert_uint_eq(chunk->attachment_count, 1);
    ck_assert_ptr_eq(chunk->attachments[0], a);
    /* Ours, plus the chunk's one reference for all ten records. */
    ck_assert_uint_eq(atomic_load(&a->refs), 2);
    size_t pos = 0;
    struct record_view view;
    ck_assert_int_eq(chunk_next(chunk, &pos, &view), 1);
    ck_assert_uint_eq(view.attachment_count, 1);
    ck_assert_uint_eq(view.attachment_index[0], 0);
    chunk_free(chunk);
    ck_assert_uint_eq(atomic_load(&a->refs), 1);
    attachment_unref(a);
}
END_TEST

START_TEST(test_chunk_rejects_bad_attachment_index)
{
    struct chunk *chunk = chunk_new(1, 0, "t", 1, 0);
    struct value meta = value_map_new();
    struct attachment *a = attachment_new("k", &meta);
    struct record rec;
    make_record(&rec, 1, 0, 0);
    record_attach(&rec, a);
    chunk_append(chunk, &rec);
    record_free(&rec);
    /* Pretend the table lost its entry, as a damaged chunk file would. */
    chunk->attachment_count = 0;
    size_t pos = 0;
    struct record_view view;
    ck_assert_int_eq(chunk_next(chunk, &pos, &view), -1);
    ck_assert_uint_eq(pos, 0);
    chunk->attachment_count = 1;
    chunk_free(chunk);
    attachment_unref(a);
}
END_TEST

/* Fields damaged in a chunk filled by chunk_append (so fields_checked) are
 * not seen by chunk_next or chunk_skip, which read lengths and headers; they
 * are left to whoever walks the fields (codec_decode_fields here). The same
 * bytes in a chunk not known well formed stop both at the damaged record. */
START_TEST(test_chunk_checked_reads_headers_only)
{
    struct chunk *chunk = fixture_sealed_chunk(1, 3, 7, 10);
    ck_assert(chunk->fields_checked);
    fixture_corrupt_fields(chunk, 1);
    size_t pos = 0, skipped = 0;
    struct record_view view;
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(chunk_next(chunk, &pos, &view), 1);
        ck_assert_int_eq(chunk_skip(chunk, &skipped), 1);
        ck_assert_uint_eq(skipped, pos);
        struct value_map fields;
        ck_assert_int_eq(codec_decode_fields(view.fields, view.fields_len, &fields),
                         i == 1 ? -1 : 0);
        value_map_free(&fields);
    }
    ck_assert_int_eq(chunk_next(chunk, &pos, &view), 0);
    ck_assert_int_eq(chunk_skip(chunk, &skipped), 0);

    chunk->fields_checked = false;
    pos = 0;
    ck_assert_int_eq(chunk_next(chunk, &pos, &view), 1);
    size_t second = pos;
    ck_assert_int_eq(chunk_next(chunk, &pos, &view), -1);
    ck_assert_int_eq(chunk_skip(chunk, &pos), -1);
    ck_assert_uint_eq(pos, second);
    chunk_free(chunk);
}
END_TEST

/* Reading a fields_checked chunk still checks every length against the data
 * and the header: a chunk cut short anywhere in a record is -1 there, and so
 * is a header no encoder writes (chunk_skip reads the length alone). */
START_TEST(test_chunk_checked_still_checks_lengths_and_headers)
{
    struct chunk *chunk = fixture_sealed_chunk(1, 3, 7, 10);
    size_t len = chunk->data.len;
    struct record_view view;
    size_t third = 0;
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(chunk_next(chunk, &third, &view), 1);
    for (size_t cut = third + 1; cut < len; cut++) {
        chunk->data.len = cut;
        size_t pos = third;
        ck_assert_int_eq(chunk_next(chunk, &pos, &view), -1);
        ck_assert_int_eq(chunk_skip(chunk, &pos), -1);
        ck_assert_uint_eq(pos, third);
    }
    chunk->data.len = len;
    memset(chunk->data.data + third + 4 + 8, 0xff, 4); /* nsec >= 10^9 */
    size_t pos = third;
    ck_assert_int_eq(chunk_next(chunk, &pos, &view), -1);
    ck_assert_uint_eq(pos, third);
    ck_assert_int_eq(chunk_skip(chunk, &pos), 1);
    ck_assert_uint_eq(pos, len);
    chunk_free(chunk);
}
END_TEST

struct released {
    uint64_t ids[16];
    size_t count;
    uint64_t acked[16];
    size_t ack_count;
};

static void record_release(struct chunk *chunk, void *data)
{
    struct released *r = data;
    ck_assert(chunk->acked); /* acknowledged before released */
    r->ids[r->count++] = chunk->id;
    chunk_free(chunk);
}

static void record_ack(struct chunk *chunk, void *data)
{
    struct released *r = data;
    r->acked[r->ack_count++] = chunk->id;
}

START_TEST(test_store_open_table)
{
    struct chunk_store *store = chunk_store_create(2);
    char tag[32];
    /* Enough chunks to make the table grow. */
    for (unsigned i = 0; i < 200; i++) {
        snprintf(tag, sizeof tag, "tag.%u", i);
        chunk_store_add_open(store, chunk_new(i + 1, i % 2, tag, 1, 0));
    }
    ck_assert_uint_eq(chunk_store_open_count(store), 200);
    ck_assert_ptr_nonnull(chunk_store_find_open(store, 1, "tag.7"));
    ck_assert_ptr_null(chunk_store_find_open(store, 0, "tag.7"));
    ck_assert_ptr_null(chunk_store_find_open(store, 0, "nope"));
    size_t count;
    struct chunk **open = chunk_store_list_open(store, &count);
    ck_assert_uint_eq(count, 200);
    free(open);
    chunk_store_destroy(store); /* frees the open chunks */
}
END_TEST

/* chunk_store_filled_last: a stream whose last chunk filled up is
 * remembered (its next chunk is given room up front, pipeline.c) until one
 * of its chunks is sealed before filling; other streams never are. */
START_TEST(test_store_remembers_streams_that_filled)
{
    struct chunk_store *store = chunk_store_create(2);
    char tag[32];
    uint64_t id = 0;
    for (unsigned i = 0; i < 100; i++) { /* quiet streams: sealed by the timer */
        snprintf(tag, sizeof tag, "quiet.%u", i);
        struct chunk *c = chunk_new(++id, 0, tag, 1, 0);
        chunk_store_add_open(store, c);
        chunk_store_seal(store, c, 1);
    }
    struct chunk *full = chunk_new(++id, 1, "busy", 1, 0);
    chunk_store_add_open(store, full);
    full->filled = true;
    chunk_store_seal(store, full, 1);
    ck_assert(chunk_store_filled_last(store, 1, "busy"));
    ck_assert(!chunk_store_filled_last(store, 0, "busy")); /* another input's */
    for (unsigned i = 0; i < 100; i++) {
        snprintf(tag, sizeof tag, "quiet.%u", i);
        ck_assert(!chunk_store_filled_last(store, 0, tag));
    }
    struct chunk *partial = chunk_new(++id, 1, "busy", 1, 0);
    chunk_store_add_open(store, partial);
    chunk_store_seal(store, partial, 1); /* by the timer: forgotten */
    ck_assert(!chunk_store_filled_last(store, 1, "busy"));
    chunk_store_destroy(store);
}
END_TEST

/* Sealing gives back the room a chunk was given and did not use, all of it
 * when it got no record. */
START_TEST(test_chunk_seal_gives_back_room)
{
    struct chunk *empty = chunk_new(1, 0, "t", 1, 0);
    buf_reserve(&empty->data, 1 << 20);
    chunk_seal(empty);
    ck_assert_ptr_null(empty->data.data);
    ck_assert_uint_eq(empty->data.cap, 0);
    chunk_free(empty);

    struct chunk *chunk = chunk_new(2, 0, "t", 1, 0);
    buf_reserve(&chunk->data, 1 << 20);
    struct record rec;
    record_init(&rec);
    struct value v = value_cstring("a line");
    record_set_key(&rec, "log", &v);
    ck_assert_uint_gt(chunk_append(chunk, &rec), 0);
    record_free(&rec);
    chunk_seal(chunk);
    ck_assert_uint_eq(chunk->data.cap, chunk->data.len);
    size_t pos = 0;
    struct record_view view;
    ck_assert_int_eq(chunk_next(chunk, &pos, &view), 1);
    ck_assert_int_eq(chunk_next(chunk, &pos, &view), 0);
    chunk_free(chunk);
}
END_TEST

START_TEST(test_store_releases_in_order_per_input)
{
    struct chunk_store *store = chunk_store_create(2);
    struct released released = {0};
    struct chunk_store_hooks hooks = {record_ack, record_release, &released};
    struct chunk *c1 = chunk_new(1, 0, "a", 3, 0);
    struct chunk *c2 = chunk_new(2, 0, "a", 1, 0);
    struct chunk *c3 = chunk_new(3, 1, "b", 1, 0);
    chunk_store_add_open(store, c1);
    chunk_store_add_open(store, c2);
    uint64_t generation = chunk_store_open_generation(store);
    chunk_store_add_open(store, c3);
    /* Opening a chunk leaves the generation: chunks found before are open. */
    ck_assert(chunk_store_open_generation(store) == generation);
    chunk_store_seal(store, c1, 2);
    /* A seal changes it: a run's remembered chunk is looked up again. */
    ck_assert(chunk_store_open_generation(store) != generation);
    chunk_store_seal(store, c2, 1);
    chunk_store_seal(store, c3, 1);
    ck_assert_uint_eq(chunk_store_sealed_count(store), 3);
    ck_assert_uint_eq(chunk_store_open_count(store), 0);

    /* c2 finishes first but must wait for c1, its input's older chunk. */
    chunk_store_route_done(store, c2, &hooks);
    ck_assert_uint_eq(released.count, 0);
    /* Another input is independent. */
    chunk_store_route_done(store, c3, &hooks);
    ck_assert_uint_eq(released.count, 1);
    ck_assert_uint_eq(released.ids[0], 3);
    /* c1 has two outputs: one is not enough. */
    chunk_store_route_done(store, c1, &hooks);
    ck_assert_uint_eq(released.count, 1);
    chunk_store_route_done(store, c1, &hooks);
    ck_assert_uint_eq(released.count, 3);
    ck_assert_uint_eq(released.ids[1], 1);
    ck_assert_uint_eq(released.ids[2], 2);
    ck_assert_uint_eq(chunk_store_sealed_count(store), 0);
    chunk_store_destroy(store);
}
END_TEST

/* A chunk on disk is acknowledged before it is delivered, but never ahead of
 * an older chunk of its input that is neither delivered nor on disk. */
START_TEST(test_store_acks_chunks_on_disk_in_order)
{
    struct chunk_store *store = chunk_store_create(2);
    struct released r = {0};
    struct chunk_store_hooks hooks = {record_ack, record_release, &r};
    struct chunk *c[4];
    for (int i = 0; i < 4; i++) {
        c[i] = chunk_new((uint64_t)i + 1, 0, "a", 1, 0);
        chunk_store_add_open(store, c[i]);
        chunk_store_seal(store, c[i], 1);
    }
    c[1]->persisted = true; /* written, but c[0] was not */
    chunk_store_advance(store, 0, &hooks);
    ck_assert_uint_eq(r.ack_count, 0);
    c[0]->persisted = true;
    chunk_store_advance(store, 0, &hooks);
    ck_assert_uint_eq(r.ack_count, 2);
    ck_assert_uint_eq(r.acked[0], 1);
    ck_assert_uint_eq(r.acked[1], 2);
    ck_assert_uint_eq(r.count, 0); /* on disk, not delivered: still held */

    chunk_store_route_done(store, c[2], &hooks); /* delivered from memory */
    ck_assert_uint_eq(r.ack_count, 3);
    ck_assert_uint_eq(r.count, 0); /* c[0] and c[1] are not delivered yet */
    chunk_store_route_done(store, c[0], &hooks);
    chunk_store_route_done(store, c[1], &hooks);
    ck_assert_uint_eq(r.count, 3);
    ck_assert_uint_eq(r.ack_count, 3); /* nothing acknowledged twice */

    /* A chunk read back from disk was acknowledged in the run that wrote it. */
    struct chunk *replayed = chunk_new(9, 1, "b", 1, 0);
    replayed->acked = true;
    chunk_store_add_sealed(store, 1, replayed, 1);
    chunk_store_route_done(store, c[3], &hooks);
    chunk_store_route_done(store, replayed, &hooks);
    ck_assert_uint_eq(r.ack_count, 4);
    ck_assert_uint_eq(r.count, 5);
    ck_assert_uint_eq(chunk_store_sealed_count(store), 0);
    chunk_store_destroy(store);
}
END_TEST

START_TEST(test_retry_backoff)
{
    /* Exponential from retry_min, capped at retry_max, jitter in [base/2, base]. */
    ck_assert_int_eq(output_retry_delay_ms(1000, 60000, 1, 1.0), 1000);
    ck_assert_int_eq(output_retry_delay_ms(1000, 60000, 1, 0.0), 1000); /* never below min */
    ck_assert_int_eq(output_retry_delay_ms(1000, 60000, 3, 1.0), 4000);
    ck_assert_int_eq(output_retry_delay_ms(1000, 60000, 3, 0.0), 2000);
    ck_assert_int_eq(output_retry_delay_ms(1000, 60000, 30, 1.0), 60000);
    ck_assert_int_eq(output_retry_delay_ms(1000, 60000, 30, 0.0), 30000);
    ck_assert_int_eq(output_retry_delay_ms(1000, 60000, 1000000, 0.5), 45000);
}
END_TEST

Suite *chunk_suite(void)
{
    Suite *s = suite_create("chunk");
    TCase *tc = tcase_create("chunk");
    tcase_add_test(tc, test_chunk_append_and_read_back);
    tcase_add_test(tc, test_chunk_origins_per_source);
    tcase_add_test(tc, test_chunk_shares_attachments);
    tcase_add_test(tc, test_chunk_rejects_bad_attachment_index);
    tcase_add_test(tc, test_chunk_checked_reads_headers_only);
    tcase_add_test(tc, test_chunk_checked_still_checks_lengths_and_headers);
    tcase_add_test(tc, test_store_open_table);
    tcase_add_test(tc, test_store_remembers_streams_that_filled);
    tcase_add_test(tc, test_chunk_seal_gives_back_room);
    tcase_add_test(tc, test_store_releases_in_order_per_input);
    tcase_add_test(tc, test_store_acks_chunks_on_disk_in_order);
    tcase_add_test(tc, test_retry_backoff);
    suite_add_tcase(s, tc);
    return s;
}
