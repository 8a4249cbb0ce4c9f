/* The chunk store's groups (chunk_store_seal_group): the open chunks of an
 * input whose records went to several tags are sealed together and
 * acknowledged together, each source once at its highest offset in the
 * group; an input sealed chunk by chunk is acknowledged as before. */
#include "suites.h"

#include "chunk.h"
#include "chunk_store.h"

#include <stdlib.h>

/* What the hooks saw: acknowledged origins in order, released chunk ids. */
struct seen {
    struct record_origin acked[16];
    size_t ack_count;
    uint64_t acked_chunks[16];
    size_t acked_chunk_count;
    uint64_t released[16];
    size_t release_count;
};

static void seen_ack(struct chunk *chunk, void *data)
{
    struct seen *s = data;
    s->acked_chunks[s->acked_chunk_count++] = chunk->id;
    for (size_t i = 0; i < chunk->origin_count; i++)
        s->acked[s->ack_count++] = chunk->origins[i];
}

static void seen_release(struct chunk *chunk, void *data)
{
    struct seen *s = data;
    ck_assert(chunk->acked);
    s->released[s->release_count++] = chunk->id;
    chunk_free(chunk);
}

static struct chunk *open_chunk(struct chunk_store *store, uint64_t id, unsigned input,
                                const char *tag)
{
    struct chunk *c = chunk_new(id, input, tag, 1, 0);
    chunk_store_add_open(store, c);
    return c;
}

static void note(struct chunk *c, uint64_t source, uint64_t offset)
{
    struct record_origin o = {source, offset};
    chunk_note_origin(c, &o);
}

/* The case grouping exists for: one source, offsets 10 and 100 under tag A,
 * 50 under tag B. Delivering A alone must not acknowledge 100 while 50 is
 * undelivered. */
START_TEST(test_group_waits_for_every_member)
{
    struct chunk_store *store = chunk_store_create(1);
    struct seen s = {0};
    struct chunk_store_hooks hooks = {seen_ack, seen_release, &s};
    struct chunk *a = open_chunk(store, 1, 0, "A");
    struct chunk *b = open_chunk(store, 2, 0, "B");
    note(a, 7, 10);
    note(b, 7, 50);
    note(a, 7, 100);
    struct chunk *group[] = {a, b};
    unsigned routes[] = {1, 1};
    chunk_store_seal_group(store, group, 2, routes, NULL);
    ck_assert_uint_eq(chunk_store_open_count(store), 0);
    ck_assert_uint_eq(chunk_store_sealed_count(store), 2);

    chunk_store_route_done(store, a, &hooks);
    ck_assert_uint_eq(s.ack_count, 0);
    ck_assert_uint_eq(s.release_count, 0);
    b->persisted = true; /* on disk counts as safe, as for a chunk alone */
    chunk_store_advance(store, 0, &hooks);
    ck_assert_uint_eq(s.ack_count, 1);
    ck_assert_uint_eq(s.acked[0].source_id, 7);
    ck_assert_uint_eq(s.acked[0].offset, 100);
    ck_assert_uint_eq(s.acked_chunk_count, 2); /* both marked, in queue order */
    ck_assert_uint_eq(s.acked_chunks[0], 1);
    ck_assert_uint_eq(s.acked_chunks[1], 2);
    ck_assert_uint_eq(s.release_count, 1); /* a delivered; b still with its output */
    chunk_store_route_done(store, b, &hooks);
    ck_assert_uint_eq(s.release_count, 2);
    ck_assert_uint_eq(s.ack_count, 1); /* nothing acknowledged twice */
    chunk_store_destroy(store);
}
END_TEST

/* Each source once, at its highest offset over the whole group, whichever
 * chunk holds it; a chunk without records (only dropped origins) is safe. */
START_TEST(test_group_gives_each_source_its_max_once)
{
    struct chunk_store *store = chunk_store_create(1);
    struct seen s = {0};
    struct chunk_store_hooks hooks = {seen_ack, seen_release, &s};
    struct chunk *a = open_chunk(store, 1, 0, "A");
    struct chunk *b = open_chunk(store, 2, 0, "B");
    struct chunk *dropped = open_chunk(store, 3, 0, "C");
    note(a, 1, 300);
    note(a, 2, 20);
    note(b, 1, 900);
    note(b, 3, 5);
    note(dropped, 2, 40);
    struct chunk *group[] = {a, b, dropped};
    unsigned routes[] = {1, 2, 0};
    chunk_store_seal_group(store, group, 3, routes, NULL);

    chunk_store_route_done(store, b, &hooks);
    chunk_store_route_done(store, a, &hooks);
    ck_assert_uint_eq(s.ack_count, 0); /* b has a second output */
    chunk_store_route_done(store, b, &hooks);
    ck_assert_uint_eq(s.ack_count, 3);
    uint64_t max[4] = {0};
    for (size_t i = 0; i < s.ack_count; i++) {
        ck_assert_uint_eq(max[s.acked[i].source_id], 0); /* once per source */
        max[s.acked[i].source_id] = s.acked[i].offset;
    }
    ck_assert_uint_eq(max[1], 900);
    ck_assert_uint_eq(max[2], 40);
    ck_assert_uint_eq(max[3], 5);
    ck_assert_uint_eq(s.release_count, 3);
    ck_assert_uint_eq(chunk_store_sealed_count(store), 0);
    chunk_store_destroy(store);
}
END_TEST

/* Groups keep the queue's order: a later group or chunk waits for an earlier
 * group, and a group waits for the chunks sealed before it. */
START_TEST(test_groups_in_queue_order)
{
    struct chunk_store *store = chunk_store_create(1);
    struct seen s = {0};
    struct chunk_store_hooks hooks = {seen_ack, seen_release, &s};
    struct chunk *alone = open_chunk(store, 1, 0, "A");
    note(alone, 1, 10);
    chunk_store_seal(store, alone, 1); /* before the input's first new tag */
    struct chunk *g1a = open_chunk(store, 2, 0, "A");
    struct chunk *g1b = open_chunk(store, 3, 0, "B");
    note(g1a, 1, 30);
    note(g1b, 1, 20);
    struct chunk *g1[] = {g1a, g1b};
    unsigned routes[] = {1, 1};
    chunk_store_seal_group(store, g1, 2, routes, NULL);
    struct chunk *g2a = open_chunk(store, 4, 0, "A");
    note(g2a, 1, 40);
    struct chunk *g2[] = {g2a};
    chunk_store_seal_group(store, g2, 1, routes, NULL);

    chunk_store_route_done(store, g2a, &hooks);
    chunk_store_route_done(store, g1a, &hooks);
    chunk_store_route_done(store, g1b, &hooks);
    ck_assert_uint_eq(s.ack_count, 0); /* all wait for the chunk sealed first */
    chunk_store_route_done(store, alone, &hooks);
    ck_assert_uint_eq(s.ack_count, 3);
    ck_assert_uint_eq(s.acked[0].offset, 10);
    ck_assert_uint_eq(s.acked[1].offset, 30);
    ck_assert_uint_eq(s.acked[2].offset, 40);
    ck_assert_uint_eq(s.release_count, 4);
    for (size_t i = 0; i < 4; i++)
        ck_assert_uint_eq(s.released[i], i + 1);
    chunk_store_destroy(store);
}
END_TEST

/* An input sealed chunk by chunk is acknowledged chunk by chunk, each with
 * its own origins, whatever another input's groups do. */
START_TEST(test_inputs_without_groups_unchanged)
{
    struct chunk_store *store = chunk_store_create(2);
    struct seen s = {0};
    struct chunk_store_hooks hooks = {seen_ack, seen_release, &s};
    struct chunk *g0 = open_chunk(store, 1, 0, "A");
    struct chunk *g1 = open_chunk(store, 2, 0, "B");
    note(g0, 1, 10);
    note(g1, 1, 20);
    struct chunk *group[] = {g0, g1};
    unsigned routes[] = {1, 1};
    chunk_store_seal_group(store, group, 2, routes, NULL);
    struct chunk *c1 = open_chunk(store, 3, 1, "x");
    struct chunk *c2 = open_chunk(store, 4, 1, "y");
    note(c1, 5, 100);
    note(c2, 6, 200);
    chunk_store_seal(store, c1, 1);
    chunk_store_seal(store, c2, 1);
    ck_assert_uint_eq(c1->group_size, 1);

    chunk_store_route_done(store, c1, &hooks);
    ck_assert_uint_eq(s.ack_count, 1);
    ck_assert_uint_eq(s.acked[0].source_id, 5);
    ck_assert_uint_eq(s.acked[0].offset, 100);
    ck_assert_uint_eq(s.release_count, 1);
    chunk_store_route_done(store, c2, &hooks);
    ck_assert_uint_eq(s.ack_count, 2);
    ck_assert_uint_eq(s.acked[1].offset, 200);
    ck_assert_uint_eq(s.release_count, 2);
    /* The other input's group is still waiting for one of its chunks. */
    chunk_store_route_done(store, g1, &hooks);
    ck_assert_uint_eq(s.ack_count, 2);
    chunk_store_route_done(store, g0, &hooks);
    ck_assert_uint_eq(s.ack_count, 3);
    ck_assert_uint_eq(s.acked[2].offset, 20);
    chunk_store_destroy(store);
}
END_TEST

/* A group sealed while a record is on its way (its attachment table full
 * before the record's second copy): the record's offset, though in this
 * group, is left to the next, where its other copy goes; the rest of the
 * group is acknowledged as usual. */
START_TEST(test_group_holds_back_a_record_on_its_way)
{
    struct chunk_store *store = chunk_store_create(1);
    struct seen s = {0};
    struct chunk_store_hooks hooks = {seen_ack, seen_release, &s};
    struct chunk *a = open_chunk(store, 1, 0, "A");
    struct chunk *b = open_chunk(store, 2, 0, "B");
    note(a, 1, 10);
    note(b, 1, 20); /* the copy under the new tag */
    note(a, 2, 5);
    struct record_origin on_its_way = {1, 20};
    struct chunk *g1[] = {a, b};
    unsigned routes[] = {1, 1};
    chunk_store_seal_group(store, g1, 2, routes, &on_its_way);
    struct chunk *a2 = open_chunk(store, 3, 0, "A");
    note(a2, 1, 20); /* the record itself */
    struct chunk *g2[] = {a2};
    chunk_store_seal_group(store, g2, 1, routes, NULL);

    chunk_store_route_done(store, a, &hooks);
    chunk_store_route_done(store, b, &hooks);
    ck_assert_uint_eq(s.ack_count, 1); /* source 2 only */
    ck_assert_uint_eq(s.acked[0].source_id, 2);
    chunk_store_route_done(store, a2, &hooks);
    ck_assert_uint_eq(s.ack_count, 2);
    ck_assert_uint_eq(s.acked[1].source_id, 1);
    ck_assert_uint_eq(s.acked[1].offset, 20);
    chunk_store_destroy(store);
}
END_TEST

Suite *chunk_group_suite(void)
{
    Suite *s = suite_create("chunk_group");
    TCase *tc = tcase_create("group");
    tcase_add_test(tc, test_group_waits_for_every_member);
    tcase_add_test(tc, test_group_gives_each_source_its_max_once);
    tcase_add_test(tc, test_groups_in_queue_order);
    tcase_add_test(tc, test_inputs_without_groups_unchanged);
    tcase_add_test(tc, test_group_holds_back_a_record_on_its_way);
    suite_add_tcase(s, tc);
    return s;
}
