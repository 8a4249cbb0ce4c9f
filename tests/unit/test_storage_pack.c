/* The disk buffer with packs (storage.c): the chunks sealed together are one
 * file, removed only with its last chunk; done marks for two outputs
 * collected into one rewrite, and what a restart then resends; an evicted
 * chunk read back by its section, and a damaged one moved to corrupt/ with
 * its pack; a version 1 file and a pack replayed together in id order;
 * ENOSPC while writing a pack. */
#include "chunk_file_v1_fixture.h"
#include "suites.h"

#include "chunk_fixture.h"
#include "temp_dir.h"

#include "chunk_file.h"
#include "durable_file.h"
#include "storage.h"
#include "xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const outputs2[] = {"es", "file"};
static const bool none_done[2];

static struct chunk *sp_chunk(uint64_t id, unsigned records)
{
    return fixture_sealed_chunk(id, records, id, 10);
}

static struct storage *sp_open(const char *dir)
{
    struct storage_config config = {.type = "filesystem", .max_size = 1 << 30, .sync = "full"};
    struct storage *storage = storage_open(dir, &config);
    ck_assert_ptr_nonnull(storage);
    return storage;
}

static size_t sp_files(const char *dir, const char *sub)
{
    char *path = xasprintf("%s/%s", dir, sub);
    uint64_t *ids;
    size_t count;
    char *error = NULL;
    ck_assert_int_eq(chunk_file_list(path, &ids, &count, &error), 0);
    free(ids);
    free(path);
    return count;
}

/* Writes `n` chunks (ids first, first + 1, ...) as one pack. */
static void sp_persist(struct storage *storage, struct chunk **chunks, size_t n)
{
    struct chunk_file_entry entries[8] = {0};
    for (size_t i = 0; i < n; i++)
        entries[i] = (struct chunk_file_entry){
            .chunk = chunks[i], .info = {"tail.0", (char **)outputs2, (bool *)none_done, 2}};
    ck_assert_uint_eq(storage_persist_pack(storage, entries, n), n);
}

struct sp_seen {
    struct chunk *chunks[16];
    uint64_t ids[16];
    uint32_t records[16];
    bool done[16][2];
    size_t outputs[16];
    size_t count;
};

static void sp_collect(struct chunk *chunk, const struct chunk_file_info *info, void *data)
{
    struct sp_seen *seen = data;
    size_t i = seen->count++;
    seen->ids[i] = chunk->id;
    seen->records[i] = chunk->record_count;
    seen->outputs[i] = info->output_count;
    for (size_t j = 0; j < info->output_count && j < 2; j++)
        seen->done[i][j] = info->done[j];
    seen->chunks[i] = chunk;
}

static void sp_seen_free(struct sp_seen *seen)
{
    for (size_t i = 0; i < seen->count; i++)
        chunk_free(seen->chunks[i]);
    memset(seen, 0, sizeof *seen);
}

/* Four chunks, one file. "es" takes all four (marks collected, one rewrite),
 * "file" is down. A restart replays all four for "file" only. Then each
 * chunk is released: the file goes with the last. */
START_TEST(test_pack_done_marks_and_removal)
{
    char *dir = temp_dir_make("storage-pack");
    struct storage *storage = sp_open(dir);
    struct chunk *chunks[4];
    for (size_t i = 0; i < 4; i++)
        chunks[i] = sp_chunk(20 + i, 5);
    sp_persist(storage, chunks, 4);
    ck_assert_uint_eq(sp_files(dir, "chunks"), 1);
    storage_begin_updates(storage);
    for (size_t i = 0; i < 4; i++)
        storage_mark_done(storage, chunks[i], "es");
    storage_end_updates(storage);
    for (size_t i = 0; i < 4; i++)
        storage_evict(storage, chunks[i]);
    ck_assert_int_eq(storage_load(storage, chunks[2]), 0); /* its section moved: still found */
    ck_assert_uint_eq(chunks[2]->record_count, 5);
    storage_close(storage); /* a restart */

    storage = sp_open(dir);
    struct sp_seen seen = {0};
    ck_assert_uint_eq(storage_replay(storage, sp_collect, &seen), 23);
    ck_assert_uint_eq(seen.count, 4);
    for (size_t i = 0; i < 4; i++) {
        ck_assert_uint_eq(seen.ids[i], 20 + i);
        ck_assert_uint_eq(seen.records[i], 5);
        ck_assert(seen.done[i][0] && !seen.done[i][1]); /* owed to "file" only */
        ck_assert(seen.chunks[i]->persisted && seen.chunks[i]->evicted);
    }
    for (size_t i = 0; i < 3; i++) {
        storage_remove(storage, seen.chunks[i]);
        ck_assert_uint_eq(sp_files(dir, "chunks"), 1); /* the pack stays for the last */
    }
    storage_remove(storage, seen.chunks[3]);
    ck_assert_uint_eq(sp_files(dir, "chunks"), 0);
    ck_assert_uint_eq(storage_disk_bytes(storage), 0);
    sp_seen_free(&seen);
    for (size_t i = 0; i < 4; i++)
        chunk_free(chunks[i]);
    storage_close(storage);
    temp_dir_remove(dir);
}
END_TEST

/* A flipped byte in one chunk's records: its load keeps the records before
 * it and fails; the other chunks load whole; the pack goes to corrupt/ when
 * its last chunk is released. */
START_TEST(test_pack_damaged_section_at_load)
{
    char *dir = temp_dir_make("storage-pack");
    struct storage *storage = sp_open(dir);
    struct chunk *chunks[3];
    for (size_t i = 0; i < 3; i++)
        chunks[i] = sp_chunk(7 + i, 6);
    sp_persist(storage, chunks, 3);
    char *path = xasprintf("%s/chunks/7.chunk", dir);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    /* Chunk 8's records end 2 x (chunk 9's section) + trailer before the end. */
    size_t tail = chunks[2]->file_bytes + 12 + 3;
    FILE *io = fopen(path, "r+b");
    ck_assert_ptr_nonnull(io);
    ck_assert_int_eq(fseek(io, (long)((size_t)st.st_size - tail), SEEK_SET), 0);
    int c = fgetc(io);
    ck_assert_int_eq(fseek(io, (long)((size_t)st.st_size - tail), SEEK_SET), 0);
    fputc(c ^ 0x20, io);
    fclose(io);
    for (size_t i = 0; i < 3; i++)
        storage_evict(storage, chunks[i]);
    ck_assert_int_eq(storage_load(storage, chunks[0]), 0);
    ck_assert_int_eq(storage_load(storage, chunks[1]), -1);
    ck_assert_uint_eq(chunks[1]->record_count, 5);
    ck_assert(!chunks[1]->persisted && !chunks[1]->evicted);
    ck_assert_int_eq(storage_load(storage, chunks[2]), 0);
    ck_assert_uint_eq(chunks[2]->record_count, 6);
    storage_remove(storage, chunks[0]);
    storage_remove(storage, chunks[1]);
    ck_assert_uint_eq(sp_files(dir, "corrupt"), 0);
    storage_remove(storage, chunks[2]);
    ck_assert_uint_eq(sp_files(dir, "chunks"), 0);
    ck_assert_uint_eq(sp_files(dir, "corrupt"), 1);
    ck_assert_uint_eq(storage_disk_bytes(storage), 0);
    for (size_t i = 0; i < 3; i++)
        chunk_free(chunks[i]);
    free(path);
    storage_close(storage);
    temp_dir_remove(dir);
}
END_TEST

/* A version 1 file left by the previous version (chunk 1) and a pack of
 * chunks 3 and 2 replay in id order; a done mark for chunk 1 rewrites
 * its file as a pack, and a restart sees it. */
START_TEST(test_replay_version_1_file_beside_packs)
{
    char *dir = temp_dir_make("storage-pack");
    struct storage *storage = sp_open(dir);
    struct chunk *chunks[2] = {sp_chunk(3, 2), sp_chunk(2, 4)};
    sp_persist(storage, chunks, 2);
    storage_close(storage);
    chunk_free(chunks[0]);
    chunk_free(chunks[1]);
    char *path = xasprintf("%s/chunks/1.chunk", dir);
    FILE *out = fopen(path, "wb");
    ck_assert_ptr_nonnull(out);
    ck_assert_uint_eq(fwrite(v1_fixture, 1, sizeof v1_fixture, out), sizeof v1_fixture);
    fclose(out);
    free(path);

    storage = sp_open(dir);
    struct sp_seen seen = {0};
    ck_assert_uint_eq(storage_replay(storage, sp_collect, &seen), 3);
    ck_assert_uint_eq(seen.count, 3);
    ck_assert_uint_eq(seen.ids[0], 1);
    ck_assert_uint_eq(seen.records[0], V1_FIXTURE_RECORDS);
    ck_assert_uint_eq(seen.outputs[0], 1);
    ck_assert_uint_eq(seen.ids[1], 2);
    ck_assert_uint_eq(seen.records[1], 4);
    ck_assert_uint_eq(seen.ids[2], 3);
    storage_mark_done(storage, seen.chunks[0], "out");
    storage_close(storage);
    sp_seen_free(&seen);

    storage = sp_open(dir);
    ck_assert_uint_eq(storage_replay(storage, sp_collect, &seen), 3);
    ck_assert_uint_eq(seen.count, 3);
    ck_assert_uint_eq(seen.ids[0], 1);
    ck_assert(seen.done[0][0]); /* rewritten in the new format */
    ck_assert_int_eq(storage_load(storage, seen.chunks[0]), 0);
    ck_assert_uint_eq(seen.chunks[0]->record_count, V1_FIXTURE_RECORDS);
    sp_seen_free(&seen);
    storage_close(storage);
    temp_dir_remove(dir);
}
END_TEST

/* ENOSPC on the write of a pack, then on its fsync: no chunk of it is on
 * disk, nothing is left in the folder, and the next pack is written. */
START_TEST(test_pack_write_enospc)
{
    char *dir = temp_dir_make("storage-pack");
    struct storage *storage = sp_open(dir);
    struct chunk *chunks[3];
    for (size_t i = 0; i < 3; i++)
        chunks[i] = sp_chunk(40 + i, 50);
    struct chunk_file_entry entries[3];
    for (size_t i = 0; i < 3; i++)
        entries[i] = (struct chunk_file_entry){
            .chunk = chunks[i], .info = {"tail.0", (char **)outputs2, (bool *)none_done, 2}};
    struct durable_file_faults faults[] = {{.fail_write_at = 1, .errno_value = ENOSPC},
                                           {.fail_fsync_at = 1, .errno_value = ENOSPC}};
    for (size_t f = 0; f < 2; f++) {
        durable_file_set_faults(&faults[f]);
        ck_assert_uint_eq(storage_persist_pack(storage, entries, 3), 0);
        durable_file_set_faults(NULL);
        for (size_t i = 0; i < 3; i++)
            ck_assert(!chunks[i]->persisted);
        ck_assert_uint_eq(sp_files(dir, "chunks"), 0);
        ck_assert_uint_eq(storage_disk_bytes(storage), 0);
    }
    ck_assert_uint_eq(storage_persist_pack(storage, entries, 3), 3);
    ck_assert_uint_eq(sp_files(dir, "chunks"), 1);
    for (size_t i = 0; i < 3; i++) {
        storage_remove(storage, chunks[i]);
        chunk_free(chunks[i]);
    }
    storage_close(storage);
    temp_dir_remove(dir);
}
END_TEST

/* A chunk written again after its section was found damaged (it is in
 * memory only then) cannot take its old pack's name, which still holds the
 * other chunks: alone it stays in memory; with another chunk the pack takes
 * that one's id, and the old pack's chunks still load. */
START_TEST(test_pack_name_taken_by_a_damaged_pack)
{
    char *dir = temp_dir_make("storage-pack");
    struct storage *storage = sp_open(dir);
    struct chunk *chunks[3] = {sp_chunk(7, 3), sp_chunk(8, 3), sp_chunk(11, 3)};
    sp_persist(storage, chunks, 2);
    char *path = xasprintf("%s/chunks/7.chunk", dir);
    FILE *io = fopen(path, "r+b");
    ck_assert_ptr_nonnull(io);
    ck_assert_int_eq(fseek(io, 16 + 2, SEEK_SET), 0); /* chunk 7's metadata */
    fputc(0xff, io);
    fclose(io);
    storage_evict(storage, chunks[0]);
    storage_evict(storage, chunks[1]);
    ck_assert_int_eq(storage_load(storage, chunks[0]), -1);
    ck_assert(!chunks[0]->persisted);
    ck_assert_uint_eq(
        storage_persist_pack(
            storage,
            &(struct chunk_file_entry){.chunk = chunks[0],
                                       .info = {"tail.0", (char **)outputs2, (bool *)none_done, 2}},
            1),
        0);
    sp_persist(storage, (struct chunk *[]){chunks[0], chunks[2]}, 2);
    ck_assert(chunks[0]->persisted && chunks[2]->persisted);
    ck_assert_int_eq(storage_load(storage, chunks[1]), 0);
    ck_assert_uint_eq(chunks[1]->record_count, 3);
    ck_assert_uint_eq(sp_files(dir, "chunks"), 2);
    for (size_t i = 0; i < 3; i++) {
        storage_remove(storage, chunks[i]);
        chunk_free(chunks[i]);
    }
    ck_assert_uint_eq(sp_files(dir, "chunks"), 0);
    ck_assert_uint_eq(sp_files(dir, "corrupt"), 1);
    free(path);
    storage_close(storage);
    temp_dir_remove(dir);
}
END_TEST

Suite *storage_pack_suite(void)
{
    Suite *s = suite_create("storage_pack");
    TCase *tc = tcase_create("storage_pack");
    tcase_add_test(tc, test_pack_done_marks_and_removal);
    tcase_add_test(tc, test_pack_damaged_section_at_load);
    tcase_add_test(tc, test_replay_version_1_file_beside_packs);
    tcase_add_test(tc, test_pack_write_enospc);
    tcase_add_test(tc, test_pack_name_taken_by_a_damaged_pack);
    suite_add_tcase(s, tc);
    return s;
}
