/* Chunk files: the round trip (records, shared attachments, origins, outputs
 * and their done flags), marking done, listing, quarantine, recovery from
 * truncation and flipped bytes, and injected I/O errors. */
#include "error_slot.h"
#include "suites.h"
#include "temp_dir.h"

#include "chunk_file.h"
#include "chunk_fixture.h"
#include "durable_file.h"
#include "json.h"
#include "xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECORDS 6

static const char *const outputs[] = {"es", "s3", "stdout"};

/* ---- helpers ---- */

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    size_t n = 0;
    for (struct dirent *entry; (entry = readdir(d)) != NULL;)
        n += strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0;
    closedir(d);
    return n;
}

static struct attachment *make_pod(const char *name)
{
    struct value meta = value_map_new();
    struct value pod = value_cstring(name);
    struct value labels = value_array_new();
    struct value label = value_cstring("app=web");
    value_array_push(&labels.as.array, &label);
    value_map_set(&meta.as.map, "pod_name", 8, &pod);
    value_map_set(&meta.as.map, "labels", 6, &labels);
    return attachment_new("kubernetes", &meta);
}

/* Records alternate between two pods' attachments, from two sources. */
static struct chunk *make_chunk(uint64_t id)
{
    struct chunk *chunk = chunk_new(id, 0, "kube.var.log", 7, 0);
    struct attachment *pods[2] = {make_pod("web-1"), make_pod("web-2")};
    for (int i = 0; i < RECORDS; i++) {
        struct record rec;
        record_init(&rec);
        rec.time.sec = 1714558500 + i;
        rec.time.nsec = 123;
        rec.origin.source_id = 1 + (uint64_t)(i % 2);
        rec.origin.offset = (uint64_t)(i + 1) * 100;
        struct value seq = value_int(i);
        struct value msg = value_cstring(i % 2 ? "odd line" : "an even line");
        record_set_key(&rec, "seq", &seq);
        record_set_key(&rec, "message", &msg);
        ck_assert_int_eq(record_attach(&rec, pods[i % 2]), 0);
        ck_assert_uint_gt(chunk_append(chunk, &rec), 0);
        record_free(&rec);
    }
    attachment_unref(pods[0]);
    attachment_unref(pods[1]);
    chunk_seal(chunk);
    return chunk;
}

static void record_json(const struct chunk *chunk, const struct record_view *view, struct buf *out)
{
    buf_reset(out);
    ck_assert_int_eq(json_write_record(out, view, chunk->attachments, "@timestamp", NULL), 0);
}

/* The first `count` records of `got` equal those of `want`, field by field and
 * as JSON, and `got` has no more. */
static void assert_same_records(const struct chunk *got, const struct chunk *want, uint32_t count)
{
    struct record_view a, b;
    struct buf ja = BUF_INIT, jb = BUF_INIT;
    size_t pa = 0, pb = 0;
    ck_assert_uint_eq(got->record_count, count);
    for (uint32_t i = 0; i < count; i++) {
        ck_assert_int_eq(chunk_next(got, &pa, &a), 1);
        ck_assert_int_eq(chunk_next(want, &pb, &b), 1);
        ck_assert_int_eq(a.time.sec, b.time.sec);
        ck_assert_uint_eq(a.time.nsec, b.time.nsec);
        ck_assert_uint_eq(a.origin.source_id, b.origin.source_id);
        ck_assert_uint_eq(a.origin.offset, b.origin.offset);
        struct value fa = {.type = VALUE_MAP}, fb = {.type = VALUE_MAP};
        ck_assert_int_eq(codec_decode_fields(a.fields, a.fields_len, &fa.as.map), 0);
        ck_assert_int_eq(codec_decode_fields(b.fields, b.fields_len, &fb.as.map), 0);
        ck_assert(value_equal(&fa, &fb));
        value_free(&fa);
        value_free(&fb);
        record_json(got, &a, &ja);
        record_json(want, &b, &jb);
        ck_assert_str_eq(buf_cstr(&ja), buf_cstr(&jb));
    }
    ck_assert_int_eq(chunk_next(got, &pa, &a), 0);
    buf_free(&ja);
    buf_free(&jb);
}

static void write_chunk(const char *dir, const struct chunk *chunk, const bool *done)
{
    char *error = NULL;
    ck_assert_msg(chunk_file_write(dir, chunk, "tail.0", outputs, done, 3, true, FRESH(error)) == 0,
                  "%s", error);
    free(error);
}

static struct buf read_bytes(const char *path)
{
    struct buf content = BUF_INIT;
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    char block[4096];
    size_t n;
    while ((n = fread(block, 1, sizeof block, f)) > 0)
        buf_append(&content, block, n);
    fclose(f);
    return content;
}

/* The chunk's encoded bytes, and where its record data starts in them. */
static struct buf encoded_chunk(const struct chunk *chunk, size_t *data_start)
{
    char *dir = temp_dir_make("chunk-file");
    static const bool done[3] = {false, true, false};
    write_chunk(dir, chunk, done);
    char *path = xasprintf("%s/%llu.chunk", dir, (unsigned long long)chunk->id);
    struct buf content = read_bytes(path);
    free(path);
    temp_dir_remove(dir);
    *data_start = content.len - 12 - chunk->data.len;
    return content;
}

/* Record i's end offset inside the chunk data. */
static size_t record_end(const struct chunk *chunk, uint32_t i)
{
    struct record_view view;
    size_t pos = 0;
    for (uint32_t n = 0; n <= i; n++)
        ck_assert_int_eq(chunk_next(chunk, &pos, &view), 1);
    return pos;
}

/* Parses `len` bytes from an exact-size copy, so that an overread is caught by
 * the sanitizers. */
static int parse_copy(const char *data, size_t len, struct chunk **out,
                      struct chunk_file_info *info, bool *damaged)
{
    char *error = NULL;
    uint8_t *copy = xmalloc(len ? len : 1);
    memcpy(copy, data, len);
    int rc = chunk_file_parse(copy, len, out, info, damaged, FRESH(error));
    free(copy);
    free(error);
    return rc;
}

/* ---- round trip ---- */

START_TEST(test_chunk_file_round_trip)
{
    char *dir = temp_dir_make("chunk-file");
    struct chunk *chunk = make_chunk(42);
    static const bool done[3] = {true, false, true};
    write_chunk(dir, chunk, done);

    char *path = xasprintf("%s/42.chunk", dir);
    struct chunk *back;
    struct chunk_file_info info;
    bool damaged;
    char *error = NULL;
    ck_assert_int_eq(chunk_file_read(path, &back, &info, &damaged, FRESH(error)), 0);
    ck_assert(!damaged);
    ck_assert_uint_eq(back->id, 42);
    ck_assert_str_eq(back->tag, "kube.var.log");
    ck_assert_uint_eq(back->routes, 0);
    ck_assert_str_eq(info.input_alias, "tail.0");
    ck_assert_uint_eq(info.output_count, 3);
    for (size_t i = 0; i < 3; i++) {
        ck_assert_str_eq(info.outputs[i], outputs[i]);
        ck_assert(info.done[i] == done[i]);
    }
    ck_assert_uint_eq(back->origin_count, 2);
    ck_assert_uint_eq(back->origins[0].source_id, chunk->origins[0].source_id);
    ck_assert_uint_eq(back->origins[0].offset, chunk->origins[0].offset);
    ck_assert_uint_eq(back->origins[1].offset, chunk->origins[1].offset);
    ck_assert_uint_eq(back->attachment_count, 2);
    ck_assert_str_eq(back->attachments[1]->key.ptr, "kubernetes");
    ck_assert(value_equal(&back->attachments[1]->value, &chunk->attachments[1]->value));
    ck_assert_uint_eq(back->data.len, chunk->data.len);
    ck_assert_mem_eq(back->data.data, chunk->data.data, chunk->data.len);
    assert_same_records(back, chunk, RECORDS);
    ck_assert(back->fields_checked); /* each record was checked in full */

    chunk_file_info_free(&info);
    chunk_free(back);
    chunk_free(chunk);
    free(path);
    temp_dir_remove(dir);
    free(error);
}
END_TEST

START_TEST(test_chunk_file_empty_chunk_without_sync)
{
    char *dir = temp_dir_make("chunk-file");
    struct chunk *chunk = chunk_new(3, 0, "t", 1, 0);
    const char *only[] = {"out"};
    bool done[] = {false};
    char *error = NULL;
    ck_assert_int_eq(chunk_file_write(dir, chunk, "in", only, done, 1, false, FRESH(error)), 0);
    char *path = xasprintf("%s/3.chunk", dir);
    struct chunk *back;
    struct chunk_file_info info;
    bool damaged;
    ck_assert_int_eq(chunk_file_read(path, &back, &info, &damaged, FRESH(error)), 0);
    ck_assert(!damaged);
    ck_assert_uint_eq(back->record_count, 0);
    ck_assert_uint_eq(back->attachment_count, 0);
    ck_assert_uint_eq(back->origin_count, 0);
    ck_assert_uint_eq(info.output_count, 1);
    chunk_file_info_free(&info);
    chunk_free(back);
    chunk_free(chunk);
    free(path);
    temp_dir_remove(dir);
    free(error);
}
END_TEST

START_TEST(test_chunk_file_mark_done)
{
    char *dir = temp_dir_make("chunk-file");
    struct chunk *chunk = make_chunk(9);
    static const bool done[3] = {false, false, false};
    write_chunk(dir, chunk, done);
    char *error = NULL;
    ck_assert_int_eq(chunk_file_mark_done(dir, 9, "s3", true, FRESH(error)), 0);
    ck_assert_int_eq(chunk_file_mark_done(dir, 9, "s3", true, FRESH(error)), 0);
    errno = 0;
    ck_assert_int_eq(chunk_file_mark_done(dir, 9, "kafka", true, FRESH(error)), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(chunk_file_mark_done(dir, 10, "s3", true, FRESH(error)), -1);
    ck_assert_int_eq(errno, ENOENT);

    /* A failed rewrite leaves the old file whole. */
    struct durable_file_faults fault = {.fail_rename_at = 1, .errno_value = EIO};
    durable_file_set_faults(&fault);
    ck_assert_int_eq(chunk_file_mark_done(dir, 9, "es", true, FRESH(error)), -1);
    ck_assert_int_eq(errno, EIO);
    durable_file_set_faults(NULL);
    ck_assert_uint_eq(count_entries(dir), 1);

    char *path = xasprintf("%s/9.chunk", dir);
    struct chunk *back;
    struct chunk_file_info info;
    bool damaged;
    ck_assert_int_eq(chunk_file_read(path, &back, &info, &damaged, FRESH(error)), 0);
    ck_assert(!damaged);
    ck_assert(!info.done[0] && info.done[1] && !info.done[2]);
    assert_same_records(back, chunk, RECORDS);
    chunk_file_info_free(&info);
    chunk_free(back);
    chunk_free(chunk);
    free(path);
    temp_dir_remove(dir);
    free(error);
}
END_TEST

/* ---- listing, removal, quarantine ---- */

START_TEST(test_chunk_file_list_in_id_order)
{
    char *dir = temp_dir_make("chunk-file");
    static const bool done[3] = {false, false, false};
    static const uint64_t written[] = {33, 2, 10, 18446744073709551615ull};
    for (size_t i = 0; i < 4; i++) {
        struct chunk *chunk = chunk_new(written[i], 0, "t", 1, 0);
        write_chunk(dir, chunk, done);
        chunk_free(chunk);
    }
    static const char *const others[] = {"5.chunk.tmp", "abc.chunk", "7.chunkx",
                                         "notes.txt",   ".chunk",    "-4.chunk"};
    for (size_t i = 0; i < 6; i++) {
        char *path = xasprintf("%s/%s", dir, others[i]);
        FILE *f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        fclose(f);
        free(path);
    }
    char *corrupt = xasprintf("%s/corrupt", dir);
    ck_assert_int_eq(mkdir(corrupt, 0750), 0);

    uint64_t *ids;
    size_t count;
    char *error = NULL;
    ck_assert_int_eq(chunk_file_list(dir, &ids, &count, FRESH(error)), 0);
    ck_assert_uint_eq(count, 4);
    ck_assert_uint_eq(ids[0], 2);
    ck_assert_uint_eq(ids[1], 10);
    ck_assert_uint_eq(ids[2], 33);
    ck_assert_uint_eq(ids[3], 18446744073709551615ull);
    free(ids);

    ck_assert_int_eq(chunk_file_remove(dir, 10), 0);
    ck_assert_int_eq(chunk_file_remove(dir, 10), 0);
    ck_assert_int_eq(chunk_file_list(dir, &ids, &count, FRESH(error)), 0);
    ck_assert_uint_eq(count, 3);
    free(ids);

    ck_assert_int_eq(chunk_file_list(corrupt, &ids, &count, FRESH(error)), 0);
    ck_assert_uint_eq(count, 0);
    char *missing = xasprintf("%s/missing", dir);
    ck_assert_int_eq(chunk_file_list(missing, &ids, &count, FRESH(error)), 0);
    ck_assert_uint_eq(count, 0);
    free(missing);
    free(corrupt);
    temp_dir_remove(dir);
    free(error);
}
END_TEST

START_TEST(test_chunk_file_quarantine)
{
    char *dir = temp_dir_make("chunk-file");
    struct chunk *chunk = make_chunk(5);
    static const bool done[3] = {false, false, false};
    write_chunk(dir, chunk, done);
    char *path = xasprintf("%s/5.chunk", dir);
    char *corrupt = xasprintf("%s/corrupt", dir);
    char *moved = xasprintf("%s/corrupt/5.chunk", dir);
    char *error = NULL;
    ck_assert_int_eq(chunk_file_quarantine(path, corrupt, FRESH(error)), 0);
    ck_assert(!file_exists(path));
    ck_assert(file_exists(moved));
    ck_assert_int_eq(chunk_file_quarantine(path, corrupt, FRESH(error)), -1);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_ptr_nonnull(strstr(error, "5.chunk"));
    free(moved);
    free(corrupt);
    free(path);
    chunk_free(chunk);
    temp_dir_remove(dir);
    free(error);
}
END_TEST

/* ---- damage ---- */

/* Every prefix of the file: nothing known before the metadata ends, then the
 * records that fit entirely in the prefix, and the whole chunk only for the
 * whole file. */
START_TEST(test_chunk_file_truncated_at_every_byte)
{
    struct chunk *chunk = make_chunk(77);
    size_t data_start;
    struct buf file = encoded_chunk(chunk, &data_start);
    size_t ends[RECORDS];
    for (uint32_t i = 0; i < RECORDS; i++)
        ends[i] = data_start + record_end(chunk, i);

    for (size_t cut = 0; cut <= file.len; cut++) {
        struct chunk *back;
        struct chunk_file_info info;
        bool damaged;
        int rc = parse_copy(file.data, cut, &back, &info, &damaged);
        if (cut < data_start) {
            ck_assert_int_eq(rc, -1);
            ck_assert_ptr_null(back);
            continue;
        }
        ck_assert_int_eq(rc, 0);
        ck_assert(damaged == (cut < file.len));
        uint32_t complete = 0;
        while (complete < RECORDS && ends[complete] <= cut)
            complete++;
        assert_same_records(back, chunk, complete);
        ck_assert_uint_eq(info.output_count, 3);
        ck_assert(info.done[1]);
        chunk_file_info_free(&info);
        chunk_free(back);
    }
    buf_free(&file);
    chunk_free(chunk);
}
END_TEST

/* A flipped bit anywhere: a damaged header or metadata gives nothing, damaged
 * record data keeps the records before it, a damaged trailer keeps them all. */
START_TEST(test_chunk_file_flipped_byte_anywhere)
{
    struct chunk *chunk = make_chunk(78);
    size_t data_start;
    struct buf file = encoded_chunk(chunk, &data_start);
    size_t data_end = data_start + chunk->data.len;

    for (size_t at = 0; at < file.len; at++) {
        file.data[at] ^= 0x10;
        struct chunk *back;
        struct chunk_file_info info;
        bool damaged;
        int rc = parse_copy(file.data, file.len, &back, &info, &damaged);
        file.data[at] ^= 0x10;
        if (at < data_start) {
            ck_assert_int_eq(rc, -1);
            continue;
        }
        ck_assert_int_eq(rc, 0);
        ck_assert(damaged);
        uint32_t before = 0;
        if (at < data_end)
            while (data_start + record_end(chunk, before) <= at)
                before++;
        else
            before = RECORDS;
        assert_same_records(back, chunk, before);
        chunk_file_info_free(&info);
        chunk_free(back);
    }
    buf_free(&file);
    chunk_free(chunk);
}
END_TEST

/* Records are checked fields and all when they are read back, not only
 * against their CRCs: fields damaged before the file was written (so with
 * matching CRCs) keep the records before them, and what is kept is then
 * known well formed. */
START_TEST(test_chunk_file_checks_fields_on_load)
{
    struct chunk *chunk = make_chunk(79);
    fixture_corrupt_fields(chunk, 2);
    size_t data_start;
    struct buf file = encoded_chunk(chunk, &data_start);
    struct chunk *back;
    struct chunk_file_info info;
    bool damaged;
    ck_assert_int_eq(parse_copy(file.data, file.len, &back, &info, &damaged), 0);
    ck_assert(damaged);
    assert_same_records(back, chunk, 2);
    ck_assert(back->fields_checked);
    chunk_file_info_free(&info);
    chunk_free(back);
    buf_free(&file);
    chunk_free(chunk);
}
END_TEST

START_TEST(test_chunk_file_damaged_file_on_disk)
{
    char *dir = temp_dir_make("chunk-file");
    struct chunk *chunk = make_chunk(12);
    static const bool done[3] = {false, false, false};
    write_chunk(dir, chunk, done);
    char *path = xasprintf("%s/12.chunk", dir);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(truncate(path, st.st_size - 20 - (off_t)(chunk->data.len / 2)), 0);

    struct chunk *back;
    struct chunk_file_info info;
    bool damaged;
    char *error = NULL;
    ck_assert_int_eq(chunk_file_read(path, &back, &info, &damaged, FRESH(error)), 0);
    ck_assert(damaged);
    ck_assert_ptr_nonnull(strstr(error, "12.chunk: damaged"));
    ck_assert_uint_gt(back->record_count, 0);
    ck_assert_uint_lt(back->record_count, RECORDS);
    assert_same_records(back, chunk, back->record_count);
    /* The origins are those of the records kept. */
    ck_assert_uint_le(back->origins[0].offset, (uint64_t)back->record_count * 100);
    errno = 0;
    ck_assert_int_eq(chunk_file_mark_done(dir, 12, "es", true, FRESH(error)), -1);
    ck_assert_int_eq(errno, EBADMSG);
    chunk_file_info_free(&info);
    chunk_free(back);

    ck_assert_int_eq(truncate(path, 10), 0);
    ck_assert_int_eq(chunk_file_read(path, &back, &info, &damaged, FRESH(error)), -1);
    ck_assert_int_eq(errno, EBADMSG);
    ck_assert_ptr_null(back);
    free(path);
    chunk_free(chunk);
    temp_dir_remove(dir);
    free(error);
}
END_TEST

/* ---- injected I/O errors ---- */

/* The write (a small file is one), each fsync (file, folder), and the rename,
 * fail in turn with ENOSPC and EIO: the call fails with that errno and leaves
 * no file behind. */
START_TEST(test_chunk_file_injected_faults)
{
    static const int errnos[] = {ENOSPC, EIO};
    static const bool done[3] = {false, false, false};
    struct chunk *chunk = make_chunk(4);
    char *dir = temp_dir_make("chunk-file");
    char *error = NULL;
    for (size_t e = 0; e < 2; e++) {
        for (int step = 0; step < 4; step++) {
            struct durable_file_faults fault = {.errno_value = errnos[e]};
            if (step < 1)
                fault.fail_write_at = step + 1;
            else if (step < 3)
                fault.fail_fsync_at = step;
            else
                fault.fail_rename_at = 1;
            durable_file_set_faults(&fault);
            errno = 0;
            int rc = chunk_file_write(dir, chunk, "in", outputs, done, 3, true, FRESH(error));
            durable_file_set_faults(NULL);
            ck_assert_int_eq(rc, -1);
            ck_assert_int_eq(errno, errnos[e]);
            ck_assert_ptr_nonnull(strstr(error, strerror(errnos[e])));
            ck_assert_uint_eq(count_entries(dir), 0);
        }
    }
    write_chunk(dir, chunk, done);
    ck_assert_uint_eq(count_entries(dir), 1);
    chunk_free(chunk);
    temp_dir_remove(dir);
    free(error);
}
END_TEST

Suite *chunk_file_suite(void)
{
    Suite *s = suite_create("chunk_file");
    TCase *tc = tcase_create("chunk_file");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_chunk_file_round_trip);
    tcase_add_test(tc, test_chunk_file_empty_chunk_without_sync);
    tcase_add_test(tc, test_chunk_file_mark_done);
    tcase_add_test(tc, test_chunk_file_list_in_id_order);
    tcase_add_test(tc, test_chunk_file_quarantine);
    tcase_add_test(tc, test_chunk_file_truncated_at_every_byte);
    tcase_add_test(tc, test_chunk_file_flipped_byte_anywhere);
    tcase_add_test(tc, test_chunk_file_checks_fields_on_load);
    tcase_add_test(tc, test_chunk_file_damaged_file_on_disk);
    tcase_add_test(tc, test_chunk_file_injected_faults);
    suite_add_tcase(s, tc);
    return s;
}
