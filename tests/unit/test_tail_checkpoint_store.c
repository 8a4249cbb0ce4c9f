/* Unit tests for the checkpoint store of in_tail (tail_checkpoint.c): set,
 * find, retain, save and reopen, corrupt files, failed saves. */
#include "suites.h"
#include "checkpoint_fixture.h"
#include "temp_dir.h"

#include "plugins/in_tail/tail_checkpoint.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static void write_file(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
}

/* The file's bytes, NUL-terminated; NULL if it does not exist. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct buf content = BUF_INIT;
    char block[4096];
    size_t n;
    while ((n = fread(block, 1, sizeof block, f)) > 0)
        buf_append(&content, block, n);
    fclose(f);
    *len = content.len;
    buf_cstr(&content);
    return content.data;
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static struct checkpoint_store *open_store(const char *path)
{
    char *error = NULL;
    struct checkpoint_store *store = checkpoint_store_open(path, &error);
    ck_assert_ptr_null(error);
    ck_assert_ptr_nonnull(store);
    return store;
}

static bool keep_odd_inodes(const struct checkpoint_entry *entry, void *data)
{
    (*(int *)data)++;
    return entry->id.ino % 2 == 1;
}

START_TEST(test_store_retain)
{
    char *dir = temp_dir_make("checkpoint");
    char *path = xasprintf("%s/tail.0.checkpoints", dir);
    struct checkpoint_store *store = open_store(path);
    for (uint64_t ino = 0; ino < 100; ino++) {
        struct tail_identity id = {1, ino, 0, 0};
        checkpoint_store_set(store, &id, "/f", ino);
    }
    ck_assert_int_eq(checkpoint_store_save(store), 0);
    int calls = 0;
    checkpoint_store_retain(store, keep_odd_inodes, &calls);
    ck_assert_int_eq(calls, 100);
    ck_assert_uint_eq(checkpoint_store_count(store), 50);
    ck_assert(checkpoint_store_dirty(store));
    for (uint64_t ino = 0; ino < 100; ino++) {
        const struct checkpoint_entry *e = checkpoint_store_find(store, 1, ino);
        if (ino % 2)
            ck_assert_uint_eq(e->offset, ino);
        else
            ck_assert_ptr_null(e);
    }
    checkpoint_store_close(store);
    free(path);
    temp_dir_remove(dir);
}
END_TEST

START_TEST(test_store_set_find_remove)
{
    char *dir = temp_dir_make("checkpoint");
    char *path = xasprintf("%s/tail.0.checkpoints", dir);
    struct checkpoint_store *store = open_store(path);
    ck_assert_uint_eq(checkpoint_store_count(store), 0);
    /* No file yet: the store is new and must be saved once, so that the next
     * start knows skiff ran before. */
    ck_assert(!checkpoint_store_existed(store));
    ck_assert(checkpoint_store_dirty(store));
    ck_assert_int_eq(checkpoint_store_save(store), 0);
    ck_assert(!checkpoint_store_dirty(store));
    checkpoint_store_close(store);
    store = open_store(path);
    ck_assert(checkpoint_store_existed(store));
    ck_assert(!checkpoint_store_dirty(store));
    ck_assert_ptr_null(checkpoint_store_find(store, 1, 2));

    struct tail_identity id = {1, 2, 64, 0x1234};
    checkpoint_store_set(store, &id, "/a.log", 100);
    ck_assert(checkpoint_store_dirty(store));
    ck_assert_uint_eq(checkpoint_store_count(store), 1);
    const struct checkpoint_entry *e = checkpoint_store_find(store, 1, 2);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->id.fp_len, 64);
    ck_assert_uint_eq(e->id.fp_crc, 0x1234);
    ck_assert_uint_eq(e->offset, 100);
    ck_assert_str_eq(e->path, "/a.log");
    ck_assert_ptr_null(checkpoint_store_find(store, 2, 1));

    ck_assert_int_eq(checkpoint_store_save(store), 0);
    ck_assert(!checkpoint_store_dirty(store));
    /* Setting what is already there changes nothing. */
    checkpoint_store_set(store, &id, "/a.log", 100);
    ck_assert(!checkpoint_store_dirty(store));
    checkpoint_store_set(store, &id, "/a.log", 200);
    ck_assert(checkpoint_store_dirty(store));
    ck_assert_uint_eq(checkpoint_store_find(store, 1, 2)->offset, 200);
    ck_assert_int_eq(checkpoint_store_save(store), 0);
    struct tail_identity reused = {1, 2, 10, 0x99};
    checkpoint_store_set(store, &reused, "/b.log", 0);
    ck_assert(checkpoint_store_dirty(store));
    ck_assert_uint_eq(checkpoint_store_count(store), 1);
    e = checkpoint_store_find(store, 1, 2);
    ck_assert_uint_eq(e->id.fp_len, 10);
    ck_assert_uint_eq(e->id.fp_crc, 0x99);
    ck_assert_str_eq(e->path, "/b.log");

    ck_assert_int_eq(checkpoint_store_save(store), 0);
    checkpoint_store_remove(store, 7, 7);
    ck_assert(!checkpoint_store_dirty(store));
    checkpoint_store_remove(store, 1, 2);
    ck_assert(checkpoint_store_dirty(store));
    ck_assert_uint_eq(checkpoint_store_count(store), 0);
    ck_assert_ptr_null(checkpoint_store_find(store, 1, 2));

    checkpoint_store_close(store);
    free(path);
    temp_dir_remove(dir);
}
END_TEST

static bool keep_none(const struct checkpoint_entry *entry, void *data)
{
    return false;
}

static void count_dirty(void *data)
{
    (*(int *)data)++;
}

/* The input arms its checkpoint timer only when the store turns dirty, so the
 * store says when: once per change from clean to dirty, not per change. */
START_TEST(test_store_on_dirty)
{
    char *dir = temp_dir_make("checkpoint");
    char *path = xasprintf("%s/tail.0.checkpoints", dir);
    struct checkpoint_store *store = open_store(path);
    ck_assert_int_eq(checkpoint_store_save(store), 0);
    int calls = 0;
    checkpoint_store_on_dirty(store, count_dirty, &calls);

    struct tail_identity id = {1, 2, 64, 0x1234};
    checkpoint_store_set(store, &id, "/a.log", 100);
    ck_assert_int_eq(calls, 1);
    checkpoint_store_set(store, &id, "/a.log", 200); /* dirty already */
    ck_assert_int_eq(calls, 1);
    ck_assert_int_eq(checkpoint_store_save(store), 0);
    checkpoint_store_set(store, &id, "/a.log", 200); /* no change */
    checkpoint_store_remove(store, 7, 7);            /* nothing to remove */
    ck_assert_int_eq(calls, 1);
    checkpoint_store_remove(store, 1, 2);
    ck_assert_int_eq(calls, 2);
    ck_assert_int_eq(checkpoint_store_save(store), 0);
    checkpoint_store_set(store, &id, "/a.log", 300);
    ck_assert_int_eq(checkpoint_store_save(store), 0);
    checkpoint_store_retain(store, keep_none, NULL);
    ck_assert_int_eq(calls, 4);

    checkpoint_store_close(store);
    free(path);
    temp_dir_remove(dir);
}
END_TEST

START_TEST(test_store_many_entries)
{
    char *dir = temp_dir_make("checkpoint");
    char *path = xasprintf("%s/tail.0.checkpoints", dir);
    struct checkpoint_store *store = open_store(path);
    const uint64_t n = 30000;
    for (uint64_t i = 0; i < n; i++) {
        struct tail_identity id = {i % 3, i, 64, (uint32_t)i};
        char name[32];
        snprintf(name, sizeof name, "/f%" PRIu64, i);
        checkpoint_store_set(store, &id, name, i * 10);
    }
    ck_assert_uint_eq(checkpoint_store_count(store), n);
    for (uint64_t i = 0; i < n; i += 2)
        checkpoint_store_remove(store, i % 3, i);
    ck_assert_uint_eq(checkpoint_store_count(store), n / 2);
    for (uint64_t i = 0; i < n; i++) {
        const struct checkpoint_entry *e = checkpoint_store_find(store, i % 3, i);
        if (i % 2 == 0) {
            ck_assert_ptr_null(e);
        } else {
            ck_assert_ptr_nonnull(e);
            ck_assert_uint_eq(e->offset, i * 10);
        }
        ck_assert_ptr_null(checkpoint_store_find(store, i % 3 + 1, i));
    }
    ck_assert_int_eq(checkpoint_store_save(store), 0);
    checkpoint_store_close(store);

    store = open_store(path);
    ck_assert_uint_eq(checkpoint_store_count(store), n / 2);
    ck_assert_uint_eq(checkpoint_store_find(store, 29999 % 3, 29999)->offset, 299990);
    checkpoint_store_close(store);
    free(path);
    temp_dir_remove(dir);
}
END_TEST

START_TEST(test_store_save_and_reopen)
{
    char *dir = temp_dir_make("checkpoint");
    char *path = xasprintf("%s/tail.0.checkpoints", dir);
    struct checkpoint_store *store = open_store(path);
    for (size_t i = 0; i < SAMPLE_COUNT; i++)
        checkpoint_store_set(store, &sample[i].id, sample[i].path, sample[i].offset);
    ck_assert_int_eq(checkpoint_store_save(store), 0);
    ck_assert(!checkpoint_store_dirty(store));
    checkpoint_store_close(store);

    /* Saved sorted by (dev, ino). */
    size_t len;
    char *content = read_file(path, &len);
    ck_assert_ptr_nonnull(content);
    struct checkpoint_entry *entries;
    size_t count;
    char *error = NULL;
    ck_assert_int_eq(checkpoint_decode(content, len, &entries, &count, &error), 0);
    ck_assert_uint_eq(count, SAMPLE_COUNT);
    static const size_t order[] = {2, 1, 0, 3};
    for (size_t i = 0; i < count; i++)
        assert_entries_equal(&entries[i], &sample[order[i]]);
    free_entries(entries, count);
    free(content);
    char *tmp = xasprintf("%s.tmp", path);
    ck_assert(!file_exists(tmp));
    free(tmp);

    store = open_store(path);
    ck_assert_uint_eq(checkpoint_store_count(store), SAMPLE_COUNT);
    ck_assert(!checkpoint_store_dirty(store));
    for (size_t i = 0; i < SAMPLE_COUNT; i++) {
        const struct checkpoint_entry *e =
            checkpoint_store_find(store, sample[i].id.dev, sample[i].id.ino);
        ck_assert_ptr_nonnull(e);
        assert_entries_equal(e, &sample[i]);
    }
    /* Nothing changed: nothing is written. */
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(checkpoint_store_save(store), 0);
    ck_assert(!file_exists(path));
    checkpoint_store_close(store);
    free(path);
    temp_dir_remove(dir);
}
END_TEST

START_TEST(test_store_open_corrupt)
{
    char *dir = temp_dir_make("checkpoint");
    char *path = xasprintf("%s/tail.0.checkpoints", dir);
    char *corrupt = xasprintf("%s.corrupt", path);
    write_file(corrupt, "older\n", 6);
    const char garbage[] = HEADER "1 2 3 0000000a x /p\n";
    write_file(path, garbage, sizeof garbage - 1);

    struct checkpoint_store *store = open_store(path);
    ck_assert_uint_eq(checkpoint_store_count(store), 0);
    ck_assert(!checkpoint_store_dirty(store));
    ck_assert(!file_exists(path));
    size_t len;
    char *moved = read_file(corrupt, &len);
    ck_assert_ptr_nonnull(moved);
    ck_assert_str_eq(moved, garbage);
    free(moved);

    /* The store works on from empty. */
    struct tail_identity id = {1, 2, 3, 4};
    checkpoint_store_set(store, &id, "/p", 5);
    ck_assert_int_eq(checkpoint_store_save(store), 0);
    checkpoint_store_close(store);
    store = open_store(path);
    ck_assert_uint_eq(checkpoint_store_count(store), 1);
    checkpoint_store_close(store);
    free(corrupt);
    free(path);
    temp_dir_remove(dir);
}
END_TEST

START_TEST(test_store_save_failure_keeps_old_file)
{
    char *dir = temp_dir_make("checkpoint");
    char *path = xasprintf("%s/tail.0.checkpoints", dir);
    char *tmp = xasprintf("%s.tmp", path);
    struct checkpoint_store *store = open_store(path);
    struct tail_identity id = {1, 2, 3, 4};
    checkpoint_store_set(store, &id, "/p", 5);
    ck_assert_int_eq(checkpoint_store_save(store), 0);
    size_t old_len;
    char *old = read_file(path, &old_len);

    /* The temporary file cannot be created where a folder is in the way. */
    ck_assert_int_eq(mkdir(tmp, 0750), 0);
    checkpoint_store_set(store, &id, "/p", 6);
    ck_assert_int_eq(checkpoint_store_save(store), -1);
    ck_assert(checkpoint_store_dirty(store));
    size_t len;
    char *now = read_file(path, &len);
    ck_assert_uint_eq(len, old_len);
    ck_assert_mem_eq(now, old, len);
    free(now);

    /* The next save, once possible, writes the change. */
    ck_assert_int_eq(rmdir(tmp), 0);
    ck_assert_int_eq(checkpoint_store_save(store), 0);
    ck_assert(!checkpoint_store_dirty(store));
    ck_assert(!file_exists(tmp));
    checkpoint_store_close(store);
    store = open_store(path);
    ck_assert_uint_eq(checkpoint_store_find(store, 1, 2)->offset, 6);
    checkpoint_store_close(store);
    free(old);
    free(tmp);
    free(path);
    temp_dir_remove(dir);
}
END_TEST

START_TEST(test_store_save_failure_removes_temporary)
{
    char *dir = temp_dir_make("checkpoint");
    char *path = xasprintf("%s/tail.0.checkpoints", dir);
    char *tmp = xasprintf("%s.tmp", path);
    struct checkpoint_store *store = open_store(path);
    /* A non-empty folder at the path makes the rename fail, after the
     * temporary file was written. */
    char *inside = xasprintf("%s/x", path);
    ck_assert_int_eq(mkdir(path, 0750), 0);
    write_file(inside, "x", 1);
    struct tail_identity id = {1, 2, 3, 4};
    checkpoint_store_set(store, &id, "/p", 5);
    ck_assert_int_eq(checkpoint_store_save(store), -1);
    ck_assert(checkpoint_store_dirty(store));
    ck_assert(!file_exists(tmp));
    checkpoint_store_close(store);
    free(inside);
    free(tmp);
    free(path);
    temp_dir_remove(dir);
}
END_TEST

START_TEST(test_store_open_creates_folders)
{
    char *dir = temp_dir_make("checkpoint");
    char *folder = xasprintf("%s/state/tail/nested", dir);
    char *path = xasprintf("%s/tail.0.checkpoints", folder);
    struct checkpoint_store *store = open_store(path);
    struct stat st;
    ck_assert_int_eq(stat(folder, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    mode_t mask = umask(0);
    umask(mask);
    ck_assert_uint_eq(st.st_mode & 0777, 0750 & ~mask);
    ck_assert(!file_exists(path));
    struct tail_identity id = {1, 2, 3, 4};
    checkpoint_store_set(store, &id, "/p", 5);
    ck_assert_int_eq(checkpoint_store_save(store), 0);
    ck_assert(file_exists(path));
    checkpoint_store_close(store);
    free(path);
    free(folder);
    temp_dir_remove(dir);
}
END_TEST

START_TEST(test_store_open_errors)
{
    char *dir = temp_dir_make("checkpoint");
    char *blocker = xasprintf("%s/file", dir);
    write_file(blocker, "x", 1);
    char *path = xasprintf("%s/sub/tail.0.checkpoints", blocker);
    char *error = NULL;
    ck_assert_ptr_null(checkpoint_store_open(path, &error));
    char *expected =
        xasprintf("%s: cannot create folder %s/sub: %s", path, blocker, strerror(ENOTDIR));
    ck_assert_str_eq(error, expected);
    free(expected);
    free(error);
    free(path);

    /* A folder where the file should be: open succeeds, read does not. */
    path = xasprintf("%s/folder", dir);
    ck_assert_int_eq(mkdir(path, 0750), 0);
    error = NULL;
    ck_assert_ptr_null(checkpoint_store_open(path, &error));
    expected = xasprintf("%s: read: %s", path, strerror(EISDIR));
    ck_assert_str_eq(error, expected);
    free(expected);
    free(error);
    free(path);
    free(blocker);
    temp_dir_remove(dir);
}
END_TEST

Suite *tail_checkpoint_store_suite(void)
{
    Suite *s = suite_create("tail_checkpoint_store");
    TCase *store = tcase_create("store");
    tcase_set_timeout(store, 60);
    tcase_add_test(store, test_store_set_find_remove);
    tcase_add_test(store, test_store_retain);
    tcase_add_test(store, test_store_many_entries);
    tcase_add_test(store, test_store_on_dirty);
    tcase_add_test(store, test_store_save_and_reopen);
    tcase_add_test(store, test_store_open_corrupt);
    tcase_add_test(store, test_store_save_failure_keeps_old_file);
    tcase_add_test(store, test_store_save_failure_removes_temporary);
    tcase_add_test(store, test_store_open_creates_folders);
    tcase_add_test(store, test_store_open_errors);
    suite_add_tcase(s, store);
    return s;
}
