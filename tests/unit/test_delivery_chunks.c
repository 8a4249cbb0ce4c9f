/* Deliveries of several chunks (delivery.c): records numbered across the
 * chunks in order, done bits kept over a retry so that the next attempt sees
 * only the rest, and dead letters written with each record's own chunk's
 * tag, whether the output refuses one record or gives up on the rest. */
#include "suites.h"

#include "chunk.h"
#include "dead_letter.h"
#include "delivery_internal.h"
#include "loop.h"
#include "metrics.h"
#include "config.h"
#include "plugin.h"
#include "plugin_api.h"
#include "temp_dir.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A chunk of `count` records with offsets base+1, base+2, ... */
static struct chunk *make_chunk(uint64_t id, const char *tag, uint64_t base, int count)
{
    struct chunk *chunk = chunk_new(id, 0, tag, 1, 0);
    for (int i = 0; i < count; i++) {
        struct record rec;
        record_init(&rec);
        rec.origin.source_id = id;
        rec.origin.offset = base + (uint64_t)i + 1;
        struct value v = value_int((int64_t)(base + (uint64_t)i));
        record_set_key(&rec, "n", &v);
        ck_assert_uint_gt(chunk_append(chunk, &rec), 0);
        record_free(&rec);
    }
    chunk_seal(chunk);
    chunk->bytes = chunk->data.len;
    return chunk;
}

/* The record at `index` of the delivery, found by walking its chunks. */
static void record_at(const struct delivery *d, uint32_t index, struct record_view *view)
{
    for (size_t c = 0; c < delivery_chunk_count(d); c++) {
        const struct chunk *chunk = delivery_chunk_at(d, c);
        if (index >= chunk->record_count) {
            index -= chunk->record_count;
            continue;
        }
        size_t pos = 0;
        for (uint32_t i = 0; i <= index; i++)
            ck_assert_int_eq(chunk_next(chunk, &pos, view), 1);
        return;
    }
    ck_abort_msg("no record %u", index);
}

START_TEST(test_records_numbered_across_chunks)
{
    struct chunk *chunks[3] = {make_chunk(1, "a", 0, 2), make_chunk(2, "b", 10, 3),
                               make_chunk(3, "c", 20, 1)};
    struct instance out = {.alias = "out"};
    struct delivery *d = delivery_new(&out, chunks, 3);
    ck_assert_uint_eq(delivery_record_count(d), 6);
    ck_assert_uint_eq(delivery_chunk_count(d), 3);
    ck_assert_ptr_eq(delivery_chunk(d), chunks[0]);
    ck_assert_ptr_eq(delivery_chunk_at(d, 2), chunks[2]);
    ck_assert_ptr_null(delivery_chunk_at(d, 3));
    /* Index 2 is chunk b's first record, index 5 chunk c's. */
    struct record_view view;
    record_at(d, 2, &view);
    ck_assert_uint_eq(view.origin.offset, 11);
    record_at(d, 5, &view);
    ck_assert_uint_eq(view.origin.offset, 21);

    delivery_mark_done(d, 5);
    delivery_mark_done(d, 5);
    delivery_mark_done(d, 6); /* past the last: ignored */
    ck_assert(delivery_record_done(d, 5));
    ck_assert(!delivery_record_done(d, 4));
    ck_assert(!delivery_record_done(d, 6));
    ck_assert_uint_eq(d->done_count, 1);
    delivery_free(d);
    for (int i = 0; i < 3; i++)
        chunk_free(chunks[i]);
}
END_TEST

/* The fake output: attempt 1 takes records 0 and 2 and refuses 4 for good,
 * then asks for a retry; attempt 2 must see only 1, 3 and 5, takes 1 and 3
 * and asks for a retry again, which is the last: 5 is given up on. */
struct attempt_log {
    uint32_t undone[2][8];
    size_t undone_count[2];
    unsigned attempts;
    bool ended;
};

static struct attempt_log attempt_log;

static void fake_flush(struct instance *out, struct delivery *d)
{
    struct attempt_log *log = &attempt_log;
    unsigned attempt = log->attempts++;
    ck_assert_uint_lt(attempt, 2);
    for (uint32_t i = 0; i < delivery_record_count(d); i++) {
        if (!delivery_record_done(d, i))
            log->undone[attempt][log->undone_count[attempt]++] = i;
    }
    if (attempt == 0) {
        struct record_view view;
        delivery_mark_done(d, 0);
        delivery_mark_done(d, 2);
        record_at(d, 4, &view);
        delivery_dead_letter(d, 4, &view, "refused");
        delivery_done(d, DELIVERY_RETRY, "items to retry");
        return;
    }
    delivery_mark_done(d, 1);
    delivery_mark_done(d, 3);
    ck_assert(delivery_is_last_attempt(d));
    delivery_done(d, DELIVERY_RETRY, "still failing");
}

static void on_end(struct delivery *d, void *data)
{
    attempt_log.ended = true;
    loop_stop(data);
}

/* The dead-letter file's lines, each reduced to its tag and record "n". */
static size_t read_dead_letters(const char *dir, char lines[][64], size_t max)
{
    char path[512];
    snprintf(path, sizeof path, "%s/dead-letter/out.ndjson", dir);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[4096];
    size_t n = 0;
    while (n < max && fgets(line, sizeof line, f)) {
        const char *tag = strstr(line, "\"tag\":\"");
        const char *num = strstr(line, "\"n\":");
        ck_assert_ptr_nonnull(tag);
        ck_assert_ptr_nonnull(num);
        snprintf(lines[n++], 64, "%c %d", tag[7], atoi(num + 4));
    }
    fclose(f);
    return n;
}

START_TEST(test_retry_sends_the_rest_and_dead_letters_carry_their_tags)
{
    char *dir = temp_dir_make("delivery_chunks");
    struct chunk *chunks[3] = {make_chunk(1, "a", 0, 2), make_chunk(2, "b", 10, 3),
                               make_chunk(3, "c", 20, 1)};
    const struct plugin plugin = {.name = "fake", .kind = PLUGIN_OUTPUT, .flush = fake_flush};
    struct instance_config config = {.plugin = &plugin};
    config.common.retry_min_ms = 1;
    config.common.retry_max_ms = 2;
    config.common.retry_limit = 1;
    struct instance out = {.plugin = &plugin, .config = &config, .alias = "out"};
    out.metrics.records = metrics_counter("test_delivery_records", "t", "");
    out.metrics.retries = metrics_counter("test_delivery_retries", "t", "");
    out.metrics.failures = metrics_counter("test_delivery_failures", "t", "");
    int64_t failures_before = metric_get(out.metrics.failures);
    struct loop *loop = loop_create();
    struct dead_letter *dl = dead_letter_create(dir, 1 << 20);
    unsigned seed = 1;
    memset(&attempt_log, 0, sizeof attempt_log);

    struct delivery *d = delivery_new(&out, chunks, 3);
    d->loop = loop;
    d->dead_letter = dl;
    d->random_state = &seed;
    d->on_end = on_end;
    d->end_data = loop;
    delivery_attempt(d);
    ck_assert_int_eq(loop_run(loop), 0);

    ck_assert(attempt_log.ended);
    ck_assert_uint_eq(attempt_log.attempts, 2);
    ck_assert_uint_eq(attempt_log.undone_count[0], 6);
    ck_assert_uint_eq(attempt_log.undone_count[1], 3);
    ck_assert_uint_eq(attempt_log.undone[1][0], 1);
    ck_assert_uint_eq(attempt_log.undone[1][1], 3);
    ck_assert_uint_eq(attempt_log.undone[1][2], 5);
    ck_assert_int_eq(d->result, DELIVERY_FAILED);
    ck_assert_uint_eq(d->done_count, 6);
    ck_assert_uint_eq(d->dead_lettered, 2);
    /* Given up on: each chunk in the delivery counts as failed. */
    ck_assert_int_eq(metric_get(out.metrics.failures) - failures_before, 3);

    /* Record 4 is chunk b's third (n=12), record 5 chunk c's only (n=20). */
    char lines[4][64];
    ck_assert_uint_eq(read_dead_letters(dir, lines, 4), 2);
    ck_assert_str_eq(lines[0], "b 12");
    ck_assert_str_eq(lines[1], "c 20");

    delivery_free(d);
    dead_letter_destroy(dl);
    loop_destroy(loop);
    for (int i = 0; i < 3; i++)
        chunk_free(chunks[i]);
    temp_dir_remove(dir);
}
END_TEST

/* A chunk cut short in the middle of a delivery: the records that cannot be
 * read are counted once, and the chunks after it are still dead-lettered
 * under their own numbers and tags. */
START_TEST(test_give_up_past_a_malformed_chunk)
{
    char *dir = temp_dir_make("delivery_malformed");
    struct chunk *chunks[2] = {make_chunk(1, "a", 0, 3), make_chunk(2, "b", 10, 2)};
    const struct plugin plugin = {.name = "fake", .kind = PLUGIN_OUTPUT, .flush = fake_flush};
    struct instance out = {.plugin = &plugin, .alias = "out"};
    struct dead_letter *dl = dead_letter_create(dir, 1 << 20);
    struct delivery *d = delivery_new(&out, chunks, 2);
    d->dead_letter = dl;
    chunks[0]->data.len -= 2; /* its last record is cut short */
    delivery_mark_done(d, 0);
    delivery_dead_letter_rest(d, "gave up");
    char lines[4][64];
    ck_assert_uint_eq(read_dead_letters(dir, lines, 4), 3);
    ck_assert_str_eq(lines[0], "a 1");
    ck_assert_str_eq(lines[1], "b 10");
    ck_assert_str_eq(lines[2], "b 11");
    ck_assert(!delivery_record_done(d, 2)); /* unreadable: counted, not done */
    ck_assert(delivery_record_done(d, 3) && delivery_record_done(d, 4));
    delivery_free(d);
    dead_letter_destroy(dl);
    for (int i = 0; i < 2; i++)
        chunk_free(chunks[i]);
    temp_dir_remove(dir);
}
END_TEST

Suite *delivery_chunks_suite(void)
{
    Suite *s = suite_create("delivery_chunks");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_records_numbered_across_chunks);
    tcase_add_test(tc, test_retry_sends_the_rest_and_dead_letters_carry_their_tags);
    tcase_add_test(tc, test_give_up_past_a_malformed_chunk);
    suite_add_tcase(s, tc);
    return s;
}
