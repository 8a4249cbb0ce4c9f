/* Packs (chunk file format version 2): several chunks in one file, each read
 * back whole or by its section; recovery from a cut at every byte and a
 * flipped byte anywhere (the chunks before and after a damaged one are
 * kept); a file of format version 1 read as before an upgrade. */
#include "chunk_file_v1_fixture.h"
#include "error_slot.h"
#include "suites.h"

#include "chunk_fixture.h"
#include "temp_dir.h"

#include "chunk_file.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PACK_CHUNKS 3
#define PACK_RECORDS 4

static const char *const pack_outputs[] = {"es", "file"};
static const bool pack_done[] = {false, true};

/* Chunk i of a pack: PACK_RECORDS records of its own source. */
static struct chunk *pack_chunk(uint64_t id)
{
    return fixture_sealed_chunk(id, PACK_RECORDS, id, 10);
}

struct pack_fixture {
    struct chunk *chunks[PACK_CHUNKS];
    struct chunk_file_entry entries[PACK_CHUNKS];
    struct buf file;
    size_t records_at[PACK_CHUNKS]; /* where each chunk's records start in the file */
};

/* Writes chunks 5, 9 and 12 as the pack 5.chunk and reads its bytes. */
static void pack_fixture_make(struct pack_fixture *f)
{
    char *dir = temp_dir_make("chunk-pack"), *error = NULL;
    static const uint64_t ids[PACK_CHUNKS] = {5, 9, 12};
    for (size_t i = 0; i < PACK_CHUNKS; i++) {
        f->chunks[i] = pack_chunk(ids[i]);
        f->entries[i] = (struct chunk_file_entry){
            .chunk = f->chunks[i],
            .info = {"tail.0", (char **)pack_outputs, (bool *)pack_done, 2},
        };
    }
    ck_assert_int_eq(chunk_file_write_pack(dir, 5, f->entries, PACK_CHUNKS, true, FRESH(error)), 0);
    char *path = xasprintf("%s/5.chunk", dir);
    f->file = (struct buf)BUF_INIT;
    FILE *in = fopen(path, "rb");
    ck_assert_ptr_nonnull(in);
    char block[4096];
    for (size_t n; (n = fread(block, 1, sizeof block, in)) > 0;)
        buf_append(&f->file, block, n);
    fclose(in);
    for (size_t i = 0; i < PACK_CHUNKS; i++) {
        const struct chunk_file_entry *e = &f->entries[i];
        f->records_at[i] = e->offset + e->length - f->chunks[i]->data.len;
    }
    free(path);
    free(error);
    temp_dir_remove(dir);
}

static void pack_fixture_free(struct pack_fixture *f)
{
    for (size_t i = 0; i < PACK_CHUNKS; i++)
        chunk_free(f->chunks[i]);
    buf_free(&f->file);
}

/* How many of chunk i's records end at or before byte `end` of the file. */
static uint32_t records_before(const struct pack_fixture *f, size_t i, size_t end)
{
    const struct chunk *chunk = f->chunks[i];
    struct record_view view;
    size_t pos = 0;
    uint32_t n = 0;
    while (chunk_next(chunk, &pos, &view) == 1 && f->records_at[i] + pos <= end)
        n++;
    return n;
}

/* The first `records` records of `back` are those of `chunk`, byte for byte. */
static void assert_prefix(const struct chunk *back, const struct chunk *chunk, uint32_t records)
{
    ck_assert_uint_eq(back->id, chunk->id);
    ck_assert_uint_eq(back->record_count, records);
    struct record_view view;
    size_t pos = 0;
    for (uint32_t n = 0; n < records; n++)
        ck_assert_int_eq(chunk_next(chunk, &pos, &view), 1);
    ck_assert_uint_eq(back->data.len, pos);
    ck_assert(pos == 0 || memcmp(back->data.data, chunk->data.data, pos) == 0);
}

/* Parses from an exact-size copy, so that an overread is caught. */
static int parse_pack_copy(const char *data, size_t len, struct chunk_file_entry **entries,
                           size_t *count, bool *damaged)
{
    char *error = NULL;
    uint8_t *copy = xmalloc(len ? len : 1);
    memcpy(copy, data, len);
    int rc = chunk_file_parse_pack(copy, len, entries, count, damaged, FRESH(error));
    free(copy);
    free(error);
    return rc;
}

START_TEST(test_pack_round_trip_and_sections)
{
    struct pack_fixture f;
    pack_fixture_make(&f);
    struct chunk_file_entry *entries;
    size_t count;
    bool damaged;
    ck_assert_int_eq(parse_pack_copy(f.file.data, f.file.len, &entries, &count, &damaged), 0);
    ck_assert(!damaged);
    ck_assert_uint_eq(count, PACK_CHUNKS);
    for (size_t i = 0; i < PACK_CHUNKS; i++) {
        assert_prefix(entries[i].chunk, f.chunks[i], PACK_RECORDS);
        ck_assert_uint_eq(entries[i].offset, f.entries[i].offset);
        ck_assert_uint_eq(entries[i].length, f.entries[i].length);
        ck_assert_str_eq(entries[i].info.input_alias, "tail.0");
        ck_assert_uint_eq(entries[i].info.output_count, 2);
        ck_assert(!entries[i].info.done[0] && entries[i].info.done[1]);
        ck_assert_uint_eq(entries[i].chunk->origin_count, 1);
        /* A section on its own. */
        struct chunk_file_entry one;
        char *error = NULL;
        const char *at = f.file.data + f.entries[i].offset;
        ck_assert_int_eq(
            chunk_file_parse_section((const uint8_t *)at, f.entries[i].length, &one, &error), 0);
        ck_assert(!one.damaged);
        assert_prefix(one.chunk, f.chunks[i], PACK_RECORDS);
        chunk_free(one.chunk);
        chunk_file_info_free(&one.info);
        free(error);
    }
    chunk_file_entries_free(entries, count);
    pack_fixture_free(&f);
}
END_TEST

/* Every prefix of a pack: the chunks whose metadata fits, each with the
 * records that fit entirely; nothing before the first metadata ends; the
 * whole pack only for the whole file. */
START_TEST(test_pack_truncated_at_every_byte)
{
    struct pack_fixture f;
    pack_fixture_make(&f);
    for (size_t cut = 0; cut <= f.file.len; cut++) {
        struct chunk_file_entry *entries;
        size_t count;
        bool damaged;
        int rc = parse_pack_copy(f.file.data, cut, &entries, &count, &damaged);
        size_t metas = 0;
        while (metas < PACK_CHUNKS && f.records_at[metas] <= cut)
            metas++;
        if (metas == 0) {
            ck_assert_int_eq(rc, -1);
            ck_assert_ptr_null(entries);
            continue;
        }
        ck_assert_int_eq(rc, 0);
        ck_assert(damaged == (cut < f.file.len));
        ck_assert_uint_eq(count, metas);
        for (size_t i = 0; i < count; i++) {
            assert_prefix(entries[i].chunk, f.chunks[i], records_before(&f, i, cut));
            ck_assert(entries[i].info.done[1]);
        }
        chunk_file_entries_free(entries, count);
    }
    pack_fixture_free(&f);
}
END_TEST

/* Which chunk's section holds byte `at` (PACK_CHUNKS: the trailer). */
static size_t section_of(const struct pack_fixture *f, size_t at)
{
    for (size_t i = 0; i < PACK_CHUNKS; i++) {
        if (at >= f->entries[i].offset && at < f->entries[i].offset + f->entries[i].length)
            return i;
    }
    return PACK_CHUNKS;
}

/* A flipped byte anywhere: in the header nothing is read; in a chunk's
 * metadata that chunk and the ones after it are lost (they cannot be found);
 * in a chunk's records it keeps those before the damage and the other
 * chunks are whole; in the trailer every chunk is whole, the file damaged. */
START_TEST(test_pack_flipped_byte_anywhere)
{
    struct pack_fixture f;
    pack_fixture_make(&f);
    for (size_t at = 0; at < f.file.len; at++) {
        f.file.data[at] ^= 0x10;
        struct chunk_file_entry *entries;
        size_t count;
        bool damaged;
        int rc = parse_pack_copy(f.file.data, f.file.len, &entries, &count, &damaged);
        f.file.data[at] ^= 0x10;
        size_t hit = section_of(&f, at);
        if (at < f.entries[0].offset || (hit == 0 && at < f.records_at[0])) {
            ck_assert_int_eq(rc, -1);
            continue;
        }
        ck_assert_int_eq(rc, 0);
        ck_assert(damaged);
        bool in_meta = hit < PACK_CHUNKS && at < f.records_at[hit];
        ck_assert_uint_eq(count, in_meta ? hit : PACK_CHUNKS);
        for (size_t i = 0; i < count; i++) {
            uint32_t kept = i == hit ? records_before(&f, i, at) : PACK_RECORDS;
            assert_prefix(entries[i].chunk, f.chunks[i], kept);
            ck_assert(entries[i].damaged == (i == hit));
        }
        chunk_file_entries_free(entries, count);
    }
    pack_fixture_free(&f);
}
END_TEST

/* Sections read from disk by offset; a damaged one says so, a wrong offset
 * or id is refused. */
START_TEST(test_pack_read_section_from_disk)
{
    struct pack_fixture f;
    pack_fixture_make(&f);
    char *dir = temp_dir_make("chunk-pack"), *error = NULL;
    ck_assert_int_eq(chunk_file_write_pack(dir, 5, f.entries, PACK_CHUNKS, false, FRESH(error)), 0);
    struct chunk *back;
    bool damaged;
    const struct chunk_file_entry *e = &f.entries[1];
    ck_assert_int_eq(
        chunk_file_read_section(dir, 5, e->offset, e->length, 9, &back, &damaged, FRESH(error)), 0);
    ck_assert(!damaged);
    assert_prefix(back, f.chunks[1], PACK_RECORDS);
    chunk_free(back);
    ck_assert_int_eq(
        chunk_file_read_section(dir, 5, e->offset, e->length, 12, &back, &damaged, FRESH(error)),
        -1);
    ck_assert_ptr_nonnull(strstr(error, "not 12"));
    ck_assert_ptr_null(back);
    /* A flipped byte in the last record of chunk 9. */
    char *path = xasprintf("%s/5.chunk", dir);
    FILE *io = fopen(path, "r+b");
    ck_assert_ptr_nonnull(io);
    ck_assert_int_eq(fseek(io, (long)(e->offset + e->length - 2), SEEK_SET), 0);
    fputc(f.file.data[e->offset + e->length - 2] ^ 0x01, io);
    fclose(io);
    ck_assert_int_eq(
        chunk_file_read_section(dir, 5, e->offset, e->length, 9, &back, &damaged, FRESH(error)), 0);
    ck_assert(damaged);
    assert_prefix(back, f.chunks[1], PACK_RECORDS - 1);
    ck_assert_ptr_nonnull(strstr(error, "chunk 9"));
    chunk_free(back);
    free(path);
    free(error);
    temp_dir_remove(dir);
    pack_fixture_free(&f);
}
END_TEST

/* A file the previous version wrote (format 1) reads as one chunk, whole and
 * by its "section" (offset 0: the whole file); damaged, it keeps its intact
 * records as before. */
START_TEST(test_version_1_file_still_reads)
{
    struct chunk_file_entry *entries;
    size_t count;
    bool damaged;
    ck_assert_int_eq(
        parse_pack_copy((const char *)v1_fixture, sizeof v1_fixture, &entries, &count, &damaged),
        0);
    ck_assert(!damaged);
    ck_assert_uint_eq(count, 1);
    struct chunk *chunk = entries[0].chunk;
    ck_assert_uint_eq(chunk->id, V1_FIXTURE_ID);
    ck_assert_uint_eq(chunk->record_count, V1_FIXTURE_RECORDS);
    ck_assert_uint_eq(entries[0].offset, 0);
    ck_assert_uint_eq(entries[0].length, sizeof v1_fixture);
    ck_assert_str_eq(entries[0].info.input_alias, "tail.0");
    ck_assert_uint_eq(entries[0].info.output_count, 1);
    ck_assert_str_eq(entries[0].info.outputs[0], "out");
    ck_assert(!entries[0].info.done[0]);
    struct record_view view;
    size_t pos = 0;
    ck_assert_int_eq(chunk_next(chunk, &pos, &view), 1);

    char *dir = temp_dir_make("chunk-pack"), *error = NULL;
    char *path = xasprintf("%s/1.chunk", dir);
    FILE *out = fopen(path, "wb");
    ck_assert_ptr_nonnull(out);
    ck_assert_uint_eq(fwrite(v1_fixture, 1, sizeof v1_fixture, out), sizeof v1_fixture);
    fclose(out);
    struct chunk *back;
    ck_assert_int_eq(
        chunk_file_read_section(dir, 1, 0, sizeof v1_fixture, 1, &back, &damaged, FRESH(error)), 0);
    ck_assert(!damaged);
    assert_prefix(back, chunk, V1_FIXTURE_RECORDS);
    chunk_free(back);
    /* Cut in its last record: the seven before it are kept. */
    struct chunk_file_entry *cut;
    size_t cut_count;
    ck_assert_int_eq(parse_pack_copy((const char *)v1_fixture, sizeof v1_fixture - 14, &cut,
                                     &cut_count, &damaged),
                     0);
    ck_assert(damaged);
    ck_assert_uint_eq(cut_count, 1);
    assert_prefix(cut[0].chunk, chunk, V1_FIXTURE_RECORDS - 1);
    chunk_file_entries_free(cut, cut_count);
    chunk_file_entries_free(entries, count);
    free(path);
    free(error);
    temp_dir_remove(dir);
}
END_TEST

Suite *chunk_pack_suite(void)
{
    Suite *s = suite_create("chunk_pack");
    TCase *tc = tcase_create("chunk_pack");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_pack_round_trip_and_sections);
    tcase_add_test(tc, test_pack_truncated_at_every_byte);
    tcase_add_test(tc, test_pack_flipped_byte_anywhere);
    tcase_add_test(tc, test_pack_read_section_from_disk);
    tcase_add_test(tc, test_version_1_file_still_reads);
    suite_add_tcase(s, tc);
    return s;
}
