/* Unit tests for a record's text store (record.h): strings and keys it lends,
 * the storage a reused record keeps, and the copies a record that leaves the
 * store (moved, copied) gets. */
#include "suites.h"

#include "record.h"
#include "record_helpers.h"
#include "value.h"

#include <stdlib.h>
#include <string.h>

static void set_text(struct record *rec, const char *key, const char *text)
{
    record_set_text(rec, key, strlen(key), text, strlen(text));
}

static const struct value *field(const struct record *rec, const char *key)
{
    const struct value *v = value_map_get(&rec->fields, key, strlen(key));
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(v->type, VALUE_STRING);
    return v;
}

/* Every string and key of the record is its own, recursively. */
static void assert_owned(const struct value_map *map)
{
    for (uint32_t i = 0; i < map->count; i++) {
        ck_assert(!map->entries[i].key_borrowed);
        const struct value *v = &map->entries[i].value;
        ck_assert(!v->borrowed);
        if (v->type == VALUE_MAP)
            assert_owned(&v->as.map);
    }
}

START_TEST(test_lends_and_keeps_storage)
{
    struct record_text text;
    struct record rec;
    record_text_init(&text);
    record_init(&rec);
    for (int line = 0; line < 3; line++) {
        record_reuse_now(&rec, &text);
        set_text(&rec, "stream", "stdout");
        set_text(&rec, "log", line == 1 ? "second" : "a line");
        ck_assert_str_eq(keys(&rec.fields), "stream,log");
        ck_assert(field(&rec, "log")->borrowed);
        ck_assert(rec.fields.entries[1].key_borrowed);
        ck_assert_str_eq(field(&rec, "log")->as.string.ptr, line == 1 ? "second" : "a line");
        ck_assert_int_eq(field(&rec, "stream")->as.string.len, 6);
        struct map_entry *entries = rec.fields.entries;
        record_done(&rec); /* what the pipeline does */
        ck_assert_int_eq(rec.fields.count, 0);
        ck_assert_ptr_eq(rec.fields.entries, entries); /* kept for the next line */
        ck_assert_ptr_eq(rec.text, &text);
        ck_assert_uint_eq(text.len, 0);
    }
    record_free(&rec);
    ck_assert_ptr_null(rec.text);
    record_text_free(&text);
}
END_TEST

/* Replacing, removing and moving lent strings and keys within the record
 * frees none of them (ASan would report it); a replaced value is owned. */
START_TEST(test_changes_within_the_record)
{
    struct record_text text;
    struct record rec;
    record_text_init(&text);
    record_init(&rec);
    record_reuse_now(&rec, &text);
    set_text(&rec, "log", "hello");
    set_text(&rec, "stream", "stderr");
    set_text(&rec, "time", "2024-05-01T10:15:00Z");
    set_text(&rec, "log", "again"); /* replaces: the key stays */
    ck_assert_str_eq(field(&rec, "log")->as.string.ptr, "again");
    struct value v = value_cstring("replaced");
    value_map_set(&rec.fields, "stream", 6, &v);
    ck_assert(!field(&rec, "stream")->borrowed);
    ck_assert(rename_path(&rec, "time", "meta.time"));
    ck_assert_str_eq(get_str(&rec, "meta.time"), "2024-05-01T10:15:00Z");
    ck_assert(value_map_remove(&rec.fields, "log", 3));
    struct value clone = value_clone(get(&rec, "meta"));
    assert_owned(&clone.as.map);
    value_free(&clone);
    record_done(&rec);
    record_free(&rec);
    record_text_free(&text);
}
END_TEST

/* A record moved out (held by a filter) or copied owns its strings: the
 * store may lend the next line's texts meanwhile. */
START_TEST(test_move_and_copy_own)
{
    struct record_text text;
    struct record rec, held, copy;
    record_text_init(&text);
    record_init(&rec);
    record_reuse_now(&rec, &text);
    set_text(&rec, "log", "first line");
    ck_assert(rename_path(&rec, "log", "nested.log"));
    record_copy(&copy, &rec);
    ck_assert_ptr_null(copy.text);
    assert_owned(&copy.fields);
    record_move(&held, &rec);
    ck_assert_ptr_null(held.text);
    assert_owned(&held.fields);
    ck_assert_int_eq(rec.fields.count, 0);
    ck_assert_ptr_eq(rec.text, &text);

    record_reuse_now(&rec, &text);
    set_text(&rec, "nested", "overwrites the store");
    ck_assert_str_eq(get_str(&held, "nested.log"), "first line");
    ck_assert_str_eq(get_str(&copy, "nested.log"), "first line");
    record_done(&rec);
    record_free(&rec);
    record_free(&held);
    record_free(&copy);
    record_text_free(&text);
}
END_TEST

/* A text the store has no room for gets a malloc of its own; the store grows
 * at the next clear, up to its bound. */
START_TEST(test_long_texts)
{
    struct record_text text;
    struct record rec;
    record_text_init(&text);
    record_init(&rec);
    size_t long_len = text.cap + 100;
    char *line = malloc(200 * 1024);
    memset(line, 'x', 200 * 1024);
    record_reuse_now(&rec, &text);
    record_set_text(&rec, "log", 3, line, long_len);
    ck_assert(!field(&rec, "log")->borrowed);
    ck_assert_uint_eq(field(&rec, "log")->as.string.len, long_len);
    record_done(&rec);
    ck_assert_uint_ge(text.cap, long_len + 1);

    record_reuse_now(&rec, &text);
    record_set_text(&rec, "log", 3, line, long_len);
    ck_assert(field(&rec, "log")->borrowed);
    record_done(&rec);

    record_reuse_now(&rec, &text); /* beyond the bound: never lent */
    record_set_text(&rec, "log", 3, line, 200 * 1024);
    ck_assert(!field(&rec, "log")->borrowed);
    record_done(&rec);
    ck_assert_uint_le(text.cap, 64 * 1024);
    record_free(&rec);
    record_text_free(&text);
    free(line);
}
END_TEST

/* Without a store (record_init), record_set_text copies. */
START_TEST(test_without_store)
{
    struct record rec;
    record_init(&rec);
    set_text(&rec, "log", "owned");
    assert_owned(&rec.fields);
    ck_assert_str_eq(field(&rec, "log")->as.string.ptr, "owned");
    record_done(&rec);
    ck_assert_ptr_null(rec.fields.entries);
}
END_TEST

/* What a held record is counted at (the kubernetes filter's hold): lent
 * strings and keys cost the record nothing of its own; once moved out of the
 * store they cost their blocks, at glibc's 16-byte steps. */
START_TEST(test_heap_bytes_count_what_is_owned)
{
    struct record_text text;
    struct record rec, held;
    record_text_init(&text);
    record_init(&rec);
    record_reuse_now(&rec, &text);
    set_text(&rec, "log", "a line of some forty bytes, give or take");
    set_text(&rec, "stream", "stdout");
    size_t lent = value_map_heap_bytes(&rec.fields);
    ck_assert_uint_ge(lent, rec.fields.cap * sizeof *rec.fields.entries);
    record_move(&held, &rec);
    size_t owned = value_map_heap_bytes(&held.fields);
    /* two keys (4 and 7 bytes with their NULs: 32 each) and two strings (41
     * bytes: 64; 7 bytes: 32) */
    ck_assert_uint_eq(owned - value_map_heap_bytes(&(struct value_map){
                                  .entries = held.fields.entries, .cap = held.fields.cap}),
                      32 + 32 + 64 + 32);
    struct value nested = value_map_new();
    value_map_set(&nested.as.map, "k", 1, &(struct value){0});
    size_t before = value_heap_bytes(&nested);
    ck_assert_uint_gt(before, 0);
    record_set_key(&held, "meta", &nested);
    ck_assert_uint_eq(value_map_heap_bytes(&held.fields), owned + 32 + before);
    record_free(&held);
    record_free(&rec);
    record_text_free(&text);
}
END_TEST

/* record_reuse gives each line the time its input read it (one clock read
 * for a block of lines); whatever the line before held is gone. */
START_TEST(test_reuse_with_the_read_time)
{
    struct record_text text;
    struct record rec;
    record_text_init(&text);
    record_init(&rec);
    struct record_time read = {.sec = 1714558500, .nsec = 42};
    record_reuse(&rec, &text, read);
    ck_assert_int_eq(rec.time.sec, read.sec);
    ck_assert_uint_eq(rec.time.nsec, 42);
    rec.origin = (struct record_origin){7, 99};
    rec.time.sec = 5; /* a parser's */
    set_text(&rec, "log", "x");
    record_done(&rec);
    record_reuse(&rec, &text, read);
    ck_assert_int_eq(rec.time.sec, read.sec);
    ck_assert_uint_eq(rec.origin.source_id, 0);
    ck_assert_uint_eq(rec.origin.offset, 0);
    ck_assert_uint_eq(rec.fields.count, 0);
    ck_assert_ptr_eq(rec.text, &text);
    record_free(&rec);
    record_text_free(&text);
}
END_TEST

/* Keys of one length that start alike, or differ only after the first byte,
 * are still told apart (map_find compares the first byte first). */
START_TEST(test_keys_alike)
{
    struct record_text text;
    struct record rec;
    record_text_init(&text);
    record_init(&rec);
    record_reuse_now(&rec, &text);
    set_text(&rec, "stream", "a");
    set_text(&rec, "status", "b");
    set_text(&rec, "strean", "c");
    set_text(&rec, "", "empty key");
    set_text(&rec, "s", "d");
    set_text(&rec, "status", "e"); /* replaces */
    ck_assert_str_eq(keys(&rec.fields), "stream,status,strean,,s");
    ck_assert_str_eq(field(&rec, "stream")->as.string.ptr, "a");
    ck_assert_str_eq(field(&rec, "status")->as.string.ptr, "e");
    ck_assert_str_eq(field(&rec, "strean")->as.string.ptr, "c");
    ck_assert_str_eq(value_map_get(&rec.fields, "", 0)->as.string.ptr, "empty key");
    ck_assert_ptr_null(value_map_get(&rec.fields, "streak", 6));
    ck_assert(value_map_remove(&rec.fields, "strean", 6));
    ck_assert_str_eq(keys(&rec.fields), "stream,status,,s");
    record_free(&rec);
    record_text_free(&text);
}
END_TEST

Suite *record_text_suite(void)
{
    Suite *s = suite_create("record_text");
    TCase *tc = tcase_create("store");
    tcase_add_test(tc, test_lends_and_keeps_storage);
    tcase_add_test(tc, test_changes_within_the_record);
    tcase_add_test(tc, test_move_and_copy_own);
    tcase_add_test(tc, test_long_texts);
    tcase_add_test(tc, test_without_store);
    tcase_add_test(tc, test_heap_bytes_count_what_is_owned);
    tcase_add_test(tc, test_reuse_with_the_read_time);
    tcase_add_test(tc, test_keys_alike);
    suite_add_tcase(s, tc);
    return s;
}
