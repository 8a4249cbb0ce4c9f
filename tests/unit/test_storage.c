/* The disk buffer (storage.c) and the dead-letter folder (dead_letter.c):
 * persist, evict and load back, the max_size bound, write failures, stale
 * temporary files, replay with quarantine of damaged files; dead-letter lines,
 * the folder bound and files moved away while running. */
#include "suites.h"

#include "chunk_fixture.h"
#include "temp_dir.h"

#include "dead_letter.h"
#include "durable_file.h"
#include "json_parse.h"
#include "metrics.h"
#include "plugin_api.h"
#include "storage.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const two_outputs[] = {"es", "file"};

static struct chunk *make_chunk(uint64_t id, unsigned records)
{
    return fixture_sealed_chunk(id, records, 42, 100);
}

static struct storage *open_storage(const char *dir, int64_t max)
{
    struct storage_config config = {.type = "filesystem", .max_size = max, .sync = "normal"};
    struct storage *storage = storage_open(dir, &config);
    ck_assert_ptr_nonnull(storage);
    return storage;
}

static bool exists(const char *dir, const char *name)
{
    char *path = xasprintf("%s/%s", dir, name);
    struct stat st;
    bool found = stat(path, &st) == 0;
    free(path);
    return found;
}

START_TEST(test_persist_evict_load_remove)
{
    char *dir = temp_dir_make("storage");
    struct storage *storage = open_storage(dir, 1LL << 30);
    struct chunk *chunk = make_chunk(7, 50);
    struct buf original = BUF_INIT;
    buf_append(&original, chunk->data.data, chunk->data.len);

    ck_assert_int_eq(storage_persist(storage, chunk, "tail.0", two_outputs, 2), 0);
    ck_assert(chunk->persisted);
    ck_assert(exists(dir, "chunks/7.chunk"));
    ck_assert_uint_gt(storage_disk_bytes(storage), chunk->bytes);
    struct stat st;
    char *path = xasprintf("%s/chunks/7.chunk", dir);
    ck_assert_int_eq(stat(path, &st), 0);
    free(path);
    ck_assert_uint_eq(storage_disk_bytes(storage), (uint64_t)st.st_size);

    storage_evict(storage, chunk);
    ck_assert(chunk->evicted);
    ck_assert_uint_eq(chunk->data.len, 0);
    ck_assert_uint_eq(chunk->origin_count, 1); /* identity and origins stay */
    ck_assert_int_eq(storage_load(storage, chunk), 0);
    ck_assert(!chunk->evicted);
    ck_assert_uint_eq(chunk->record_count, 50);
    ck_assert_mem_eq(chunk->data.data, original.data, original.len);

    storage_mark_done(storage, chunk, "es");
    storage_remove(storage, chunk);
    ck_assert(!exists(dir, "chunks/7.chunk"));
    ck_assert_uint_eq(storage_disk_bytes(storage), 0);
    buf_free(&original);
    chunk_free(chunk);
    storage_close(storage);
    temp_dir_remove(dir);
}
END_TEST

START_TEST(test_max_size_refuses_and_frees)
{
    char *dir = temp_dir_make("storage");
    struct storage *storage = open_storage(dir, 128 << 10);
    struct chunk *chunks[8];
    int written = 0;
    for (int i = 0; i < 8; i++) {
        chunks[i] = make_chunk((uint64_t)i + 1, 400); /* ~12 KiB each */
        written += storage_persist(storage, chunks[i], "in", two_outputs, 1) == 0;
    }
    ck_assert_int_gt(written, 2);
    ck_assert_int_lt(written, 8);
    ck_assert(!chunks[7]->persisted);
    ck_assert_uint_le(storage_disk_bytes(storage), 128 << 10);
    storage_remove(storage, chunks[0]);
    ck_assert_int_eq(storage_persist(storage, chunks[7], "in", two_outputs, 1), 0);
    for (int i = 0; i < 8; i++) {
        storage_remove(storage, chunks[i]);
        chunk_free(chunks[i]);
    }
    ck_assert_uint_eq(storage_disk_bytes(storage), 0);
    storage_close(storage);
    temp_dir_remove(dir);
}
END_TEST

START_TEST(test_write_failure_keeps_chunk_in_memory)
{
    char *dir = temp_dir_make("storage");
    struct storage *storage = open_storage(dir, 1LL << 30);
    struct chunk *chunk = make_chunk(3, 10);
    struct durable_file_faults faults = {.fail_write_at = 1, .errno_value = ENOSPC};
    durable_file_set_faults(&faults);
    ck_assert_int_eq(storage_persist(storage, chunk, "in", two_outputs, 2), -1);
    durable_file_set_faults(NULL);
    ck_assert(!chunk->persisted);
    ck_assert(!exists(dir, "chunks/3.chunk"));
    ck_assert(!exists(dir, "chunks/3.chunk.tmp"));
    ck_assert_uint_eq(storage_disk_bytes(storage), 0);
    storage_evict(storage, chunk); /* not on disk: must stay in memory */
    ck_assert(!chunk->evicted);
    ck_assert_uint_eq(chunk->record_count, 10);
    ck_assert_int_eq(storage_persist(storage, chunk, "in", two_outputs, 2), 0);
    storage_remove(storage, chunk);
    chunk_free(chunk);
    storage_close(storage);
    temp_dir_remove(dir);
}
END_TEST

struct replayed {
    uint64_t ids[8];
    uint32_t records[8];
    size_t count;
};

static void collect(struct chunk *chunk, const struct chunk_file_info *info, void *data)
{
    struct replayed *r = data;
    ck_assert_str_eq(info->input_alias, "tail.0");
    ck_assert_uint_eq(info->output_count, 2);
    r->ids[r->count] = chunk->id;
    r->records[r->count++] = chunk->record_count;
    chunk_free(chunk);
}

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char *path = xasprintf("%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
    free(path);
}

START_TEST(test_replay_in_order_with_quarantine)
{
    char *dir = temp_dir_make("storage");
    struct storage *storage = open_storage(dir, 1LL << 30);
    for (uint64_t id = 1; id <= 3; id++) {
        struct chunk *chunk = make_chunk(id * 10, 100);
        ck_assert_int_eq(storage_persist(storage, chunk, "tail.0", two_outputs, 2), 0);
        chunk_free(chunk);
    }
    storage_close(storage);

    char *chunks = xasprintf("%s/chunks", dir);
    /* Chunk 20 loses its last third; a garbage file and a stale .tmp join. */
    char *path = xasprintf("%s/20.chunk", chunks);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(truncate(path, st.st_size * 2 / 3), 0);
    write_file(chunks, "25.chunk", "not a chunk at all", 18);
    write_file(chunks, "40.chunk.tmp", "half", 4);

    storage = open_storage(dir, 1LL << 30);
    ck_assert(!exists(dir, "chunks/40.chunk.tmp"));
    struct replayed r = {0};
    ck_assert_uint_eq(storage_replay(storage, collect, &r), 30);
    ck_assert_uint_eq(r.count, 3);
    ck_assert_uint_eq(r.ids[0], 10);
    ck_assert_uint_eq(r.records[0], 100);
    ck_assert_uint_eq(r.ids[1], 20);
    ck_assert_uint_gt(r.records[1], 0);
    ck_assert_uint_lt(r.records[1], 100);
    ck_assert_uint_eq(r.ids[2], 30);
    ck_assert(exists(dir, "corrupt/20.chunk"));
    ck_assert(exists(dir, "corrupt/25.chunk"));
    /* What chunk 20 still held is on disk again, under its id. */
    ck_assert(exists(dir, "chunks/20.chunk"));
    ck_assert(!exists(dir, "chunks/25.chunk"));
    storage_close(storage);
    free(path);
    free(chunks);
    temp_dir_remove(dir);
}
END_TEST

/* ---- dead letters ---- */

static const struct plugin fake_plugin = {.name = "fake", .kind = PLUGIN_OUTPUT};

static char *read_all(const char *path)
{
    struct buf b = BUF_INIT;
    ck_assert_int_eq(durable_file_read(path, &b), 1);
    char *text = xstrdup(buf_cstr(&b));
    buf_free(&b);
    return text;
}

START_TEST(test_dead_letter_lines_and_bound)
{
    char *dir = temp_dir_make("dead-letter");
    struct instance out = {.plugin = &fake_plugin, .alias = "es.main", .index = 1};
    struct dead_letter *dl = dead_letter_create(dir, 600);
    struct chunk *chunk = make_chunk(1, 5);
    struct record_view view;
    size_t pos = 0;
    int written = 0, dropped = 0;
    while (chunk_next(chunk, &pos, &view) == 1) {
        int rc = dead_letter_write(dl, &out, chunk, &view, "HTTP 400 \"mapper_parsing\"");
        written += rc == 0;
        dropped += rc < 0;
    }
    ck_assert_int_gt(written, 0);
    ck_assert_int_gt(dropped, 0); /* 600 bytes hold only a few lines */
    char *path = xasprintf("%s/dead-letter/es.main.ndjson", dir);
    char *text = read_all(path);
    ck_assert_uint_le(strlen(text), 600);
    ck_assert_ptr_nonnull(strstr(text, "\"output\":\"es.main\",\"tag\":\"kube.app\""));
    ck_assert_ptr_nonnull(strstr(text, "\"reason\":\"HTTP 400 \\\"mapper_parsing\\\"\""));
    ck_assert_ptr_nonnull(strstr(text, "\"record\":{\"time\":\"2023-11-14T22:13:20.000000005Z\""));
    ck_assert_ptr_nonnull(strstr(text, "\"log\":\"line 0 of chunk 1\"}}\n"));
    free(text);

    /* An operator moves the file away: it is created again, with room. */
    char *moved = xasprintf("%s.moved", path);
    ck_assert_int_eq(rename(path, moved), 0);
    ck_assert_int_eq(unlink(moved), 0);
    pos = 0;
    ck_assert_int_eq(chunk_next(chunk, &pos, &view), 1);
    ck_assert_int_eq(dead_letter_write(dl, &out, chunk, &view, "HTTP 400 \"mapper_parsing\""), 0);
    text = read_all(path);
    ck_assert_ptr_nonnull(strstr(text, "\"log\":\"line 0 of chunk 1\""));
    free(text);

    free(moved);
    free(path);
    chunk_free(chunk);
    dead_letter_destroy(dl);
    metrics_reset();
    temp_dir_remove(dir);
}
END_TEST

Suite *storage_suite(void)
{
    Suite *s = suite_create("storage");
    TCase *tc = tcase_create("storage");
    tcase_add_test(tc, test_persist_evict_load_remove);
    tcase_add_test(tc, test_max_size_refuses_and_frees);
    tcase_add_test(tc, test_write_failure_keeps_chunk_in_memory);
    tcase_add_test(tc, test_replay_in_order_with_quarantine);
    tcase_add_test(tc, test_dead_letter_lines_and_bound);
    suite_add_tcase(s, tc);
    return s;
}
