/* The systemd input's ring of entries in flight (systemd_ring.c): an
 * acknowledged origin maps back to the cursor a restart may resume after,
 * never past an entry that is not acknowledged, with sources (tags)
 * acknowledged in any order among themselves. */
#include "suites.h"

#include "plugins/in_systemd/systemd_ring.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>

enum { A = 11, B = 22 };

static void push(struct journal_ring *ring, uint64_t source, uint64_t offset)
{
    char *cursor = xasprintf("c%llu", (unsigned long long)offset);
    ck_assert_msg(journal_ring_push(ring, source, offset, cursor), "push %llu",
                  (unsigned long long)offset);
}

/* The done cursor, or "-" when the head did not move. */
static void assert_done(struct journal_ring *ring, const char *expected)
{
    char *done = journal_ring_take_done(ring);
    ck_assert_str_eq(done ? done : "-", expected);
    free(done);
}

START_TEST(test_ring_one_source)
{
    struct journal_ring *ring = journal_ring_new(8);
    assert_done(ring, "-");
    for (uint64_t i = 1; i <= 5; i++)
        push(ring, A, i);
    ck_assert_uint_eq(journal_ring_count(ring), 5);
    /* An acknowledgement covers every entry of its source up to its offset. */
    journal_ring_ack(ring, A, 3);
    assert_done(ring, "c3");
    assert_done(ring, "-");
    ck_assert_uint_eq(journal_ring_count(ring), 2);
    journal_ring_ack(ring, A, 5);
    assert_done(ring, "c5");
    ck_assert_uint_eq(journal_ring_count(ring), 0);
    /* Acknowledgements of what is no longer in flight change nothing. */
    journal_ring_ack(ring, A, 9);
    journal_ring_ack(ring, B, 9);
    assert_done(ring, "-");
    journal_ring_free(ring);
}
END_TEST

/* Two tags' entries interleave; chunk B is acknowledged before chunk A: the
 * head waits for A's oldest entry, then passes both. */
START_TEST(test_ring_sources_interleave)
{
    struct journal_ring *ring = journal_ring_new(8);
    push(ring, A, 1);
    push(ring, B, 2);
    push(ring, A, 3);
    push(ring, B, 4);
    journal_ring_ack(ring, B, 4);
    assert_done(ring, "-"); /* c1 (A) is not done: nothing may be saved */
    journal_ring_ack(ring, A, 1);
    assert_done(ring, "c2"); /* c1, then c2 (B, done), stops at c3 */
    journal_ring_ack(ring, A, 3);
    assert_done(ring, "c4");
    ck_assert_uint_eq(journal_ring_count(ring), 0);
    journal_ring_free(ring);
}
END_TEST

START_TEST(test_ring_bounds)
{
    struct journal_ring *ring = journal_ring_new(3);
    push(ring, A, 1);
    /* Offsets grow within a source while it has entries in flight. */
    char *cursor = xstrdup("again");
    ck_assert(!journal_ring_push(ring, A, 1, cursor));
    ck_assert(!journal_ring_push(ring, A, 0, cursor));
    /* Another source may start anywhere. */
    push(ring, B, 1);
    push(ring, A, 7);
    ck_assert(journal_ring_full(ring));
    ck_assert(!journal_ring_push(ring, A, 8, cursor));
    free(cursor);
    journal_ring_ack(ring, A, 1);
    ck_assert(!journal_ring_full(ring));
    assert_done(ring, "c1");
    /* Wrapping around the array keeps the order. */
    push(ring, B, 2);
    journal_ring_ack(ring, B, 2);
    assert_done(ring, "c1"); /* B's are done, A's 7 is not: the head stays */
    journal_ring_ack(ring, A, 7);
    assert_done(ring, "c2");
    /* A source whose entries all left the ring starts afresh. */
    push(ring, A, 2);
    journal_ring_ack(ring, A, 2);
    assert_done(ring, "c2");
    journal_ring_free(ring);
}
END_TEST

/* A long run through a small ring against a model: entries of three
 * sources in a pseudo-random mix, each source acknowledged in order but at
 * its own pace. After every acknowledgement the done cursor is exactly the
 * end of the longest prefix of emitted entries that are all acknowledged. */
START_TEST(test_ring_matches_model)
{
    enum { CAP = 16, SOURCES = 3, TOTAL = 20000 };
    struct journal_ring *ring = journal_ring_new(CAP);
    uint64_t source_of[TOTAL + 1], acked[SOURCES] = {0}, last[SOURCES] = {0};
    uint64_t next = 1, prefix = 0, seed = 42;
    while (prefix + 1 < next || next <= TOTAL) {
        while (!journal_ring_full(ring) && next <= TOTAL) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            uint64_t which = (seed >> 33) % SOURCES;
            source_of[next] = which;
            push(ring, 100 + which, next);
            last[which] = next++;
        }
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t which = (seed >> 33) % SOURCES;
        acked[which] = last[which];
        journal_ring_ack(ring, 100 + which, acked[which]);
        uint64_t before = prefix;
        while (prefix + 1 < next && prefix + 1 <= acked[source_of[prefix + 1]])
            prefix++;
        char *done = journal_ring_take_done(ring);
        if (prefix == before) {
            ck_assert_ptr_null(done);
        } else {
            ck_assert_ptr_nonnull(done);
            ck_assert_uint_eq(strtoull(done + 1, NULL, 10), prefix);
        }
        free(done);
        ck_assert_uint_eq(journal_ring_count(ring), next - 1 - prefix);
    }
    journal_ring_free(ring);
}
END_TEST

Suite *systemd_ring_suite(void)
{
    Suite *s = suite_create("systemd_ring");
    TCase *tc = tcase_create("ring");
    tcase_add_test(tc, test_ring_one_source);
    tcase_add_test(tc, test_ring_sources_interleave);
    tcase_add_test(tc, test_ring_bounds);
    tcase_add_test(tc, test_ring_matches_model);
    suite_add_tcase(s, tc);
    return s;
}
