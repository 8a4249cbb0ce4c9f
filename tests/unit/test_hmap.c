/* The intrusive hash table under the tail input's file indexes. */
#include "suites.h"

#include "hmap.h"
#include "xalloc.h"

#include <stdlib.h>

struct item {
    struct hmap_node node;
    int key;
};

static struct item *find(const struct hmap *map, int key)
{
    for (struct hmap_node *n = hmap_find(map, hash_u64((uint64_t)key)); n; n = hmap_find_next(n)) {
        struct item *it = hmap_entry(n, struct item, node);
        if (it->key == key)
            return it;
    }
    return NULL;
}

START_TEST(test_insert_find_remove_grow)
{
    struct hmap map = HMAP_INIT;
    struct item *items = xcalloc(5000, sizeof *items);
    for (int i = 0; i < 5000; i++) {
        items[i].key = i;
        hmap_insert(&map, &items[i].node, hash_u64((uint64_t)i));
    }
    ck_assert_uint_eq(map.count, 5000);
    ck_assert_uint_ge(map.bucket_count, 5000);
    for (int i = 0; i < 5000; i++)
        ck_assert_ptr_eq(find(&map, i), &items[i]);
    ck_assert_ptr_null(find(&map, 5000));
    for (int i = 0; i < 5000; i += 2)
        hmap_remove(&map, &items[i].node);
    ck_assert_uint_eq(map.count, 2500);
    for (int i = 0; i < 5000; i++)
        ck_assert_ptr_eq(find(&map, i), i % 2 ? &items[i] : NULL);
    hmap_free(&map);
    free(items);
}
END_TEST

START_TEST(test_same_hash_chain)
{
    /* Entries with equal hashes are all reachable and removable. */
    struct hmap map = HMAP_INIT;
    struct item a = {.key = 1}, b = {.key = 2}, c = {.key = 3};
    hmap_insert(&map, &a.node, 42);
    hmap_insert(&map, &b.node, 42);
    hmap_insert(&map, &c.node, 42);
    int seen = 0;
    for (struct hmap_node *n = hmap_find(&map, 42); n; n = hmap_find_next(n))
        seen |= 1 << hmap_entry(n, struct item, node)->key;
    ck_assert_int_eq(seen, 0xe);
    hmap_remove(&map, &b.node);
    seen = 0;
    for (struct hmap_node *n = hmap_find(&map, 42); n; n = hmap_find_next(n))
        seen |= 1 << hmap_entry(n, struct item, node)->key;
    ck_assert_int_eq(seen, 0xa);
    hmap_free(&map);
}
END_TEST

START_TEST(test_iterate_while_removing)
{
    struct hmap map = HMAP_INIT;
    struct item items[300];
    for (int i = 0; i < 300; i++) {
        items[i].key = i;
        /* Few distinct hashes, so buckets hold long chains. */
        hmap_insert(&map, &items[i].node, (uint64_t)(i % 7));
    }
    size_t bucket = 0, visited = 0;
    struct hmap_node *node = hmap_next(&map, &bucket, NULL);
    while (node) {
        struct hmap_node *next = hmap_next(&map, &bucket, node);
        if (hmap_entry(node, struct item, node)->key % 3 == 0)
            hmap_remove(&map, node);
        visited++;
        node = next;
    }
    ck_assert_uint_eq(visited, 300);
    ck_assert_uint_eq(map.count, 200);
    bucket = 0;
    visited = 0;
    for (node = hmap_next(&map, &bucket, NULL); node; node = hmap_next(&map, &bucket, node)) {
        ck_assert_int_ne(hmap_entry(node, struct item, node)->key % 3, 0);
        visited++;
    }
    ck_assert_uint_eq(visited, 200);
    hmap_free(&map);
}
END_TEST

Suite *hmap_suite(void)
{
    Suite *s = suite_create("hmap");
    TCase *tc = tcase_create("hmap");
    tcase_add_test(tc, test_insert_find_remove_grow);
    tcase_add_test(tc, test_same_hash_chain);
    tcase_add_test(tc, test_iterate_while_removing);
    suite_add_tcase(s, tc);
    return s;
}
