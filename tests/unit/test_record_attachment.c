/* Unit tests for attachments: shared, read-only values under one root key that
 * records read through and copy on write. */
#include "suites.h"

#include "record.h"
#include "record_helpers.h"
#include "value.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct attachment *k8s_attachment(void)
{
    struct value meta = value_map_new();
    struct value pod = value_cstring("web-1");
    value_map_set(&meta.as.map, "pod", 3, &pod);
    struct value labels = value_map_new();
    struct value app = value_cstring("web");
    value_map_set(&labels.as.map, "app", 3, &app);
    value_map_set(&meta.as.map, "labels", 6, &labels);
    struct attachment *a = attachment_new("kubernetes", &meta);
    ck_assert_int_eq(meta.type, VALUE_NULL);
    return a;
}

START_TEST(test_attachment_read_through)
{
    struct attachment *a = k8s_attachment();
    struct record rec;
    record_init(&rec);
    ck_assert_int_eq(record_attach(&rec, a), 0);
    ck_assert_uint_eq(atomic_load(&a->refs), 2);
    ck_assert_str_eq(get_str(&rec, "kubernetes.pod"), "web-1");
    ck_assert_str_eq(get_str(&rec, "kubernetes.labels.app"), "web");
    ck_assert_ptr_eq(record_get_key(&rec, "kubernetes"), &a->value);
    ck_assert_ptr_null(get(&rec, "kubernetes.nope"));
    ck_assert_uint_eq(rec.fields.count, 0);

    /* Missing paths below an attachment change nothing. */
    ck_assert(!delete (&rec, "kubernetes.nope"));
    ck_assert(!rename_path(&rec, "kubernetes.nope", "x"));
    ck_assert_uint_eq(rec.attachment_count, 1);

    struct record moved;
    record_move(&moved, &rec);
    ck_assert_uint_eq(rec.attachment_count, 0);
    ck_assert_str_eq(get_str(&moved, "kubernetes.pod"), "web-1");
    record_free(&rec);
    record_free(&moved);
    ck_assert_uint_eq(atomic_load(&a->refs), 1);
    attachment_unref(a);
}
END_TEST

START_TEST(test_attachment_copy_on_write)
{
    struct attachment *a = k8s_attachment();
    struct value before = value_clone(&a->value);
    struct record rec;
    record_init(&rec);
    set(&rec, "msg", value_cstring("hi"));
    record_attach(&rec, a);

    set(&rec, "kubernetes.labels.tier", value_cstring("front"));
    ck_assert_uint_eq(rec.attachment_count, 0);
    ck_assert_uint_eq(atomic_load(&a->refs), 1);
    ck_assert_str_eq(keys(&rec.fields), "msg,kubernetes");
    ck_assert_str_eq(get_str(&rec, "kubernetes.labels.tier"), "front");
    ck_assert_str_eq(get_str(&rec, "kubernetes.labels.app"), "web");
    ck_assert_str_eq(get_str(&rec, "kubernetes.pod"), "web-1");
    ck_assert(value_equal(&a->value, &before));

    value_free(&before);
    record_free(&rec);
    attachment_unref(a);
}
END_TEST

START_TEST(test_attachment_cow_delete_rename)
{
    struct attachment *a = k8s_attachment();
    struct record rec;
    record_init(&rec);

    record_attach(&rec, a);
    ck_assert(delete (&rec, "kubernetes.labels.app"));
    ck_assert_uint_eq(rec.attachment_count, 0);
    ck_assert_uint_eq(get(&rec, "kubernetes.labels")->as.map.count, 0);
    ck_assert_str_eq(get_str(&rec, "kubernetes.pod"), "web-1");
    record_free(&rec);

    record_init(&rec);
    record_attach(&rec, a);
    ck_assert(rename_path(&rec, "kubernetes.pod", "pod_name"));
    ck_assert_str_eq(get_str(&rec, "pod_name"), "web-1");
    ck_assert_ptr_null(get(&rec, "kubernetes.pod"));
    ck_assert_str_eq(get_str(&rec, "kubernetes.labels.app"), "web");
    record_free(&rec);

    record_init(&rec);
    record_attach(&rec, a);
    ck_assert(rename_path(&rec, "kubernetes", "k8s"));
    ck_assert_uint_eq(rec.attachment_count, 0);
    ck_assert_str_eq(get_str(&rec, "k8s.pod"), "web-1");
    ck_assert_ptr_null(get(&rec, "kubernetes"));
    record_free(&rec);

    record_init(&rec);
    record_attach(&rec, a);
    ck_assert(delete (&rec, "kubernetes"));
    ck_assert_uint_eq(rec.attachment_count, 0);
    ck_assert_uint_eq(rec.fields.count, 0);
    record_free(&rec);

    ck_assert_uint_eq(atomic_load(&a->refs), 1);
    ck_assert_str_eq(value_map_get(&a->value.as.map, "pod", 3)->as.string.ptr, "web-1");
    attachment_unref(a);
}
END_TEST

START_TEST(test_attachment_replaced_by_set)
{
    struct attachment *a = k8s_attachment();
    struct record rec;
    record_init(&rec);
    record_attach(&rec, a);
    set(&rec, "kubernetes", value_int(5));
    ck_assert_uint_eq(rec.attachment_count, 0);
    ck_assert_int_eq(get_int(&rec, "kubernetes"), 5);

    record_attach(&rec, a);
    struct value v = value_cstring("plain");
    record_set_key(&rec, "kubernetes", &v);
    ck_assert_uint_eq(rec.attachment_count, 0);
    ck_assert_str_eq(record_get_key(&rec, "kubernetes")->as.string.ptr, "plain");
    ck_assert_uint_eq(atomic_load(&a->refs), 1);
    record_free(&rec);
    attachment_unref(a);
}
END_TEST

START_TEST(test_attach_replaces)
{
    struct attachment *a = k8s_attachment();
    struct attachment *b = k8s_attachment();
    struct record rec;
    record_init(&rec);
    set(&rec, "kubernetes.old", value_int(1));
    set(&rec, "msg", value_int(2));
    ck_assert_int_eq(record_attach(&rec, a), 0);
    ck_assert_str_eq(keys(&rec.fields), "msg");
    ck_assert_ptr_null(get(&rec, "kubernetes.old"));

    ck_assert_int_eq(record_attach(&rec, b), 0);
    ck_assert_uint_eq(rec.attachment_count, 1);
    ck_assert_ptr_eq(rec.attachments[0], b);
    ck_assert_uint_eq(atomic_load(&a->refs), 1);
    ck_assert_int_eq(record_attach(&rec, b), 0); /* the same one again */
    ck_assert_uint_eq(atomic_load(&b->refs), 2);
    record_free(&rec);
    attachment_unref(a);
    attachment_unref(b);
}
END_TEST

START_TEST(test_attach_limit)
{
    struct record rec;
    record_init(&rec);
    struct attachment *all[RECORD_MAX_ATTACHMENTS + 1];
    for (int i = 0; i <= RECORD_MAX_ATTACHMENTS; i++) {
        char key[8];
        snprintf(key, sizeof key, "k%d", i);
        struct value v = value_int(i);
        all[i] = attachment_new(key, &v);
    }
    for (int i = 0; i < RECORD_MAX_ATTACHMENTS; i++)
        ck_assert_int_eq(record_attach(&rec, all[i]), 0);
    ck_assert_int_eq(record_attach(&rec, all[RECORD_MAX_ATTACHMENTS]), -1);
    ck_assert_uint_eq(atomic_load(&all[RECORD_MAX_ATTACHMENTS]->refs), 1);

    /* Dropping one from the middle keeps the others in order. */
    ck_assert(delete (&rec, "k1"));
    ck_assert_ptr_eq(rec.attachments[0], all[0]);
    ck_assert_ptr_eq(rec.attachments[1], all[2]);
    ck_assert_ptr_eq(rec.attachments[2], all[3]);
    ck_assert_int_eq(get_int(&rec, "k3"), 3);
    record_free(&rec);
    for (int i = 0; i <= RECORD_MAX_ATTACHMENTS; i++) {
        ck_assert_uint_eq(atomic_load(&all[i]->refs), 1);
        attachment_unref(all[i]);
    }
}
END_TEST

Suite *record_attachment_suite(void)
{
    Suite *s = suite_create("record_attachment");

    TCase *attachments = tcase_create("attachment");
    tcase_add_test(attachments, test_attachment_read_through);
    tcase_add_test(attachments, test_attachment_copy_on_write);
    tcase_add_test(attachments, test_attachment_cow_delete_rename);
    tcase_add_test(attachments, test_attachment_replaced_by_set);
    tcase_add_test(attachments, test_attach_replaces);
    tcase_add_test(attachments, test_attach_limit);
    suite_add_tcase(s, attachments);
    return s;
}
