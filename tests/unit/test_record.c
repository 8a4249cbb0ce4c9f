/* Unit tests for values, records and field paths; attachments are in
 * test_record_attachment.c. */
#include "suites.h"

#include "record.h"
#include "record_helpers.h"
#include "value.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void map_put_int(struct value_map *map, const char *key, int64_t i)
{
    struct value v = value_int(i);
    value_map_set(map, key, strlen(key), &v);
}

START_TEST(test_map_order)
{
    struct value m = value_map_new();
    map_put_int(&m.as.map, "c", 1);
    map_put_int(&m.as.map, "a", 2);
    map_put_int(&m.as.map, "b", 3);
    ck_assert_str_eq(keys(&m.as.map), "c,a,b");

    map_put_int(&m.as.map, "a", 20);
    ck_assert_str_eq(keys(&m.as.map), "c,a,b");
    ck_assert_int_eq(value_map_get(&m.as.map, "a", 1)->as.integer, 20);

    ck_assert(value_map_remove(&m.as.map, "c", 1));
    ck_assert(!value_map_remove(&m.as.map, "c", 1));
    ck_assert_str_eq(keys(&m.as.map), "a,b");
    map_put_int(&m.as.map, "c", 4);
    ck_assert_str_eq(keys(&m.as.map), "a,b,c");

    struct value taken;
    ck_assert(value_map_take(&m.as.map, "b", 1, &taken));
    ck_assert_int_eq(taken.as.integer, 3);
    ck_assert(!value_map_take(&m.as.map, "b", 1, &taken));
    ck_assert_str_eq(keys(&m.as.map), "a,c");
    ck_assert_ptr_null(value_map_get(&m.as.map, "b", 1));
    /* Keys need not be NUL-terminated. */
    ck_assert_int_eq(value_map_get(&m.as.map, "cx", 1)->as.integer, 4);
    value_free(&m);
    ck_assert_int_eq(m.type, VALUE_NULL);
}
END_TEST

START_TEST(test_map_many_keys)
{
    struct value m = value_map_new();
    char key[16];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "k%d", i);
        map_put_int(&m.as.map, key, i);
    }
    ck_assert_uint_eq(m.as.map.count, 100);
    for (int i = 0; i < 100; i += 2) {
        snprintf(key, sizeof key, "k%d", i);
        ck_assert(value_map_remove(&m.as.map, key, strlen(key)));
    }
    ck_assert_uint_eq(m.as.map.count, 50);
    for (uint32_t i = 0; i < 50; i++)
        ck_assert_int_eq(m.as.map.entries[i].value.as.integer, 2 * i + 1);
    value_free(&m);
}
END_TEST

START_TEST(test_string_values)
{
    struct value s = value_string("a\0b", 3);
    ck_assert_uint_eq(s.as.string.len, 3);
    ck_assert_int_eq(memcmp(s.as.string.ptr, "a\0b\0", 4), 0);
    struct value c = value_cstring("hello");
    ck_assert_uint_eq(c.as.string.len, 5);
    ck_assert_str_eq(c.as.string.ptr, "hello");
    char *owned = strdup("taken");
    struct value t = value_string_take(owned, 5);
    ck_assert_ptr_eq(t.as.string.ptr, owned);
    struct value empty = value_string(NULL, 0);
    ck_assert_str_eq(empty.as.string.ptr, "");
    value_free(&s);
    value_free(&c);
    value_free(&t);
    value_free(&empty);
    ck_assert_int_eq(t.type, VALUE_NULL);
}
END_TEST

static struct value sample_tree(void)
{
    struct value root = value_map_new();
    struct value inner = value_map_new();
    struct value s = value_cstring("x");
    value_map_set(&inner.as.map, "s", 1, &s);
    struct value arr = value_array_new();
    for (int i = 0; i < 3; i++) {
        struct value v = value_int(i);
        value_array_push(&arr.as.array, &v);
    }
    value_map_set(&inner.as.map, "arr", 3, &arr);
    value_map_set(&root.as.map, "inner", 5, &inner);
    struct value f = value_float(1.5);
    value_map_set(&root.as.map, "f", 1, &f);
    return root;
}

START_TEST(test_clone_is_deep)
{
    struct value a = sample_tree();
    struct value b = value_clone(&a);
    ck_assert(value_equal(&a, &b));

    struct value *inner = value_map_get(&b.as.map, "inner", 5);
    struct value *s = value_map_get(&inner->as.map, "s", 1);
    ck_assert_ptr_ne(
        s->as.string.ptr,
        value_map_get(&value_map_get(&a.as.map, "inner", 5)->as.map, "s", 1)->as.string.ptr);
    s->as.string.ptr[0] = 'y';
    value_map_get(&inner->as.map, "arr", 3)->as.array.items[1].as.integer = 42;
    ck_assert(!value_equal(&a, &b));

    const struct value *orig_inner = value_map_get(&a.as.map, "inner", 5);
    ck_assert_str_eq(value_map_get(&orig_inner->as.map, "s", 1)->as.string.ptr, "x");
    ck_assert_int_eq(value_map_get(&orig_inner->as.map, "arr", 3)->as.array.items[1].as.integer, 1);
    value_free(&a);
    value_free(&b);
}
END_TEST

START_TEST(test_equal)
{
    struct value a = value_map_new();
    struct value b = value_map_new();
    map_put_int(&a.as.map, "x", 1);
    map_put_int(&a.as.map, "y", 2);
    map_put_int(&b.as.map, "y", 2);
    map_put_int(&b.as.map, "x", 1);
    ck_assert(value_equal(&a, &b)); /* order is not compared */
    map_put_int(&b.as.map, "x", 3);
    ck_assert(!value_equal(&a, &b));
    value_free(&a);
    value_free(&b);

    struct value i = value_int(1);
    struct value f = value_float(1.0);
    ck_assert(!value_equal(&i, &f));
    struct value nan = value_float(NAN);
    ck_assert(!value_equal(&nan, &nan));
    struct value s1 = value_string("a\0b", 3);
    struct value s2 = value_string("a\0c", 3);
    ck_assert(!value_equal(&s1, &s2));
    ck_assert(value_equal(&s1, &s1));
    value_free(&s1);
    value_free(&s2);
    ck_assert_str_eq(value_type_name(VALUE_ARRAY), "array");
    ck_assert_str_eq(value_type_name(VALUE_FLOAT), "float");
}
END_TEST

START_TEST(test_path_get_set)
{
    struct record rec;
    record_init(&rec);
    set(&rec, "a.b.c", value_int(1));
    ck_assert_int_eq(get_int(&rec, "a.b.c"), 1);
    ck_assert_int_eq(get(&rec, "a.b")->type, VALUE_MAP);
    ck_assert_ptr_null(get(&rec, "a.x"));
    ck_assert_ptr_null(get(&rec, "a.b.c.d")); /* c is not a map */
    ck_assert_ptr_null(get(&rec, "zz"));

    set(&rec, "a.b.d", value_cstring("two"));
    ck_assert_str_eq(keys(&get(&rec, "a.b")->as.map), "c,d");
    set(&rec, "a.b.c", value_int(3));
    ck_assert_int_eq(get_int(&rec, "a.b.c"), 3);
    ck_assert_str_eq(keys(&get(&rec, "a.b")->as.map), "c,d");

    set(&rec, "a[\"x.y\"]", value_int(4));
    ck_assert_int_eq(get_int(&rec, "a['x.y']"), 4);
    ck_assert_ptr_null(get(&rec, "a.x"));
    record_free(&rec);
}
END_TEST

START_TEST(test_set_replaces_non_map)
{
    struct record rec;
    record_init(&rec);
    set(&rec, "a", value_cstring("scalar"));
    set(&rec, "a.b", value_int(7));
    ck_assert_int_eq(get(&rec, "a")->type, VALUE_MAP);
    ck_assert_int_eq(get_int(&rec, "a.b"), 7);
    record_free(&rec);
}
END_TEST

START_TEST(test_delete)
{
    struct record rec;
    record_init(&rec);
    set(&rec, "a.b", value_int(1));
    set(&rec, "a.c", value_int(2));
    set(&rec, "d", value_int(3));
    ck_assert(delete (&rec, "a.b"));
    ck_assert(!delete (&rec, "a.b"));
    ck_assert(!delete (&rec, "a.c.x"));
    ck_assert(!delete (&rec, "nope.x"));
    ck_assert_str_eq(keys(&get(&rec, "a")->as.map), "c");
    ck_assert(delete (&rec, "a"));
    ck_assert_str_eq(keys(&rec.fields), "d");
    record_free(&rec);
}
END_TEST

START_TEST(test_rename)
{
    struct record rec;
    record_init(&rec);
    set(&rec, "a", value_int(1));
    set(&rec, "b", value_int(2));
    ck_assert(rename_path(&rec, "a", "x.y.z"));
    ck_assert_ptr_null(get(&rec, "a"));
    ck_assert_int_eq(get_int(&rec, "x.y.z"), 1);
    ck_assert_str_eq(keys(&rec.fields), "b,x");

    ck_assert(!rename_path(&rec, "missing", "b"));
    ck_assert_int_eq(get_int(&rec, "b"), 2);

    ck_assert(rename_path(&rec, "x.y.z", "b")); /* replaces */
    ck_assert_int_eq(get_int(&rec, "b"), 1);
    ck_assert_uint_eq(get(&rec, "x.y")->as.map.count, 0);
    record_free(&rec);
}
END_TEST

START_TEST(test_rename_within_map)
{
    struct record rec;
    record_init(&rec);
    set(&rec, "m.from", value_cstring("v"));
    set(&rec, "m.other", value_int(1));
    ck_assert(rename_path(&rec, "m.from", "m.to"));
    ck_assert_str_eq(keys(&get(&rec, "m")->as.map), "other,to");
    ck_assert_str_eq(get_str(&rec, "m.to"), "v");

    ck_assert(rename_path(&rec, "m.to", "m.to"));
    ck_assert_str_eq(get_str(&rec, "m.to"), "v");
    ck_assert(!rename_path(&rec, "m.gone", "m.gone"));

    /* Into the map it came from, and out to its own parent. */
    ck_assert(rename_path(&rec, "m", "m.inner"));
    ck_assert_str_eq(get_str(&rec, "m.inner.to"), "v");
    ck_assert(rename_path(&rec, "m.inner.to", "m"));
    ck_assert_str_eq(get_str(&rec, "m"), "v");
    record_free(&rec);
}
END_TEST

static void check_segments(const char *text, int count, const char *const *want)
{
    struct field_path p = path(text);
    ck_assert_str_eq(p.text, text);
    ck_assert_int_eq((int)p.count, count);
    for (int i = 0; i < count; i++) {
        ck_assert_uint_eq(p.segments[i].len, strlen(want[i]));
        ck_assert_str_eq(p.segments[i].ptr, want[i]);
    }
    field_path_free(&p);
}

START_TEST(test_field_path_valid)
{
    check_segments("a", 1, (const char *[]){"a"});
    check_segments("a.b.c", 3, (const char *[]){"a", "b", "c"});
    check_segments("a[\"x.y\"].c", 3, (const char *[]){"a", "x.y", "c"});
    check_segments("a['x.y']", 2, (const char *[]){"a", "x.y"});
    check_segments("[\"k\"]", 1, (const char *[]){"k"});
    check_segments("a[\"b\"][\"c\"]", 3, (const char *[]){"a", "b", "c"});
    check_segments("a[\"q\\\"\\\\\\'\"]", 2, (const char *[]){"a", "q\"\\'"});
    check_segments("a['it\\'s']", 2, (const char *[]){"a", "it's"});
    check_segments("a[\"\"]", 2, (const char *[]){"a", ""});
    check_segments("@timestamp", 1, (const char *[]){"@timestamp"});
    check_segments("labels[\"app.kubernetes.io/name\"]", 2,
                   (const char *[]){"labels", "app.kubernetes.io/name"});
}
END_TEST

static void check_error(const char *text, const char *want)
{
    struct field_path p;
    char *error = NULL;
    ck_assert_int_eq(field_path_parse(text, &p, &error), -1);
    ck_assert_ptr_nonnull(error);
    ck_assert_str_eq(error, want);
    ck_assert_ptr_null(p.segments);
    ck_assert_ptr_null(p.text);
    free(error);
}

START_TEST(test_field_path_errors)
{
    check_error("", "field path '': empty path");
    check_error("a..b", "field path 'a..b': empty segment at column 3");
    check_error(".a", "field path '.a': empty segment at column 1");
    check_error("a.", "field path 'a.': trailing dot at column 2");
    check_error("a[\"x", "field path 'a[\"x': unterminated quote at column 3");
    check_error("a['x\\'", "field path 'a['x\\'': unterminated quote at column 3");
    check_error("a[\"x\\", "field path 'a[\"x\\': unterminated quote at column 3");
    check_error("a[\"x\"]b", "field path 'a[\"x\"]b': unexpected character after ']' at column 7");
    check_error("a[\"x\"", "field path 'a[\"x\"': expected ']' at column 6");
    check_error("a[\"x\"x]", "field path 'a[\"x\"x]': expected ']' at column 6");
    check_error("a[x]", "field path 'a[x]': expected a quote after '[' at column 3");
    check_error("a]", "field path 'a]': unexpected ']' at column 2");
    check_error("a[\"\\n\"]", "field path 'a[\"\\n\"]': invalid escape at column 4");
    check_error("a.[\"x\"]", "field path 'a.[\"x\"]': empty segment at column 3");
}
END_TEST

Suite *record_suite(void)
{
    Suite *s = suite_create("record");
    TCase *values = tcase_create("value");
    tcase_add_test(values, test_map_order);
    tcase_add_test(values, test_map_many_keys);
    tcase_add_test(values, test_string_values);
    tcase_add_test(values, test_clone_is_deep);
    tcase_add_test(values, test_equal);
    suite_add_tcase(s, values);

    TCase *paths = tcase_create("path");
    tcase_add_test(paths, test_path_get_set);
    tcase_add_test(paths, test_set_replaces_non_map);
    tcase_add_test(paths, test_delete);
    tcase_add_test(paths, test_rename);
    tcase_add_test(paths, test_rename_within_map);
    tcase_add_test(paths, test_field_path_valid);
    tcase_add_test(paths, test_field_path_errors);
    suite_add_tcase(s, paths);

    return s;
}
