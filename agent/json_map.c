/* Building the maps of parsed JSON objects (json_parse.c): members are
 * appended as read, then duplicate keys are resolved once per object. */
#include "json_map.h"

#include "xalloc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Maps up to this size find duplicate keys by comparing every pair; larger
 * ones sort their keys, so that a hostile line with 100,000 keys costs
 * n log n rather than n². */
#define DEDUP_PAIRWISE_MAX 32

void json_map_push(struct value_map *map, struct value_string key, struct value *v)
{
    if (map->count == map->cap) {
        size_t cap = map->cap;
        map->entries = xgrow(map->entries, &cap, (size_t)map->count + 1, sizeof *map->entries);
        map->cap = (uint32_t)cap;
    }
    map->entries[map->count++] = (struct map_entry){.key = key, .value = *v};
    *v = value_null();
}

static bool key_equal(const struct value_string *a, const struct value_string *b)
{
    return a->len == b->len && memcmp(a->ptr, b->ptr, a->len) == 0;
}

/* A later duplicate's value replaces an earlier one's; its key is dropped and
 * the entry marked by a NULL key. */
static void entry_absorb(struct map_entry *earlier, struct map_entry *later)
{
    value_free(&earlier->value);
    earlier->value = later->value;
    free(later->key.ptr);
    later->key.ptr = NULL;
}

static void map_compact(struct value_map *map)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < map->count; i++) {
        if (map->entries[i].key.ptr)
            map->entries[kept++] = map->entries[i];
    }
    map->count = kept;
}

static void dedup_pairwise(struct value_map *map)
{
    bool found = false;
    for (uint32_t i = 1; i < map->count; i++) {
        for (uint32_t j = 0; j < i; j++) {
            struct map_entry *earlier = &map->entries[j];
            if (earlier->key.ptr && key_equal(&earlier->key, &map->entries[i].key)) {
                entry_absorb(earlier, &map->entries[i]);
                found = true;
                break;
            }
        }
    }
    if (found)
        map_compact(map);
}

/* Orders entry indices by key (length first), then by position. */
static int entry_order(const void *a, const void *b, void *entries)
{
    const struct map_entry *e = entries;
    uint32_t i = *(const uint32_t *)a;
    uint32_t j = *(const uint32_t *)b;
    if (e[i].key.len != e[j].key.len)
        return e[i].key.len < e[j].key.len ? -1 : 1;
    int c = memcmp(e[i].key.ptr, e[j].key.ptr, e[i].key.len);
    if (c)
        return c;
    return i < j ? -1 : 1;
}

static void dedup_sorted(struct value_map *map)
{
    uint32_t n = map->count;
    uint32_t *order = xmalloc(n * sizeof *order);
    for (uint32_t i = 0; i < n; i++)
        order[i] = i;
    qsort_r(order, n, sizeof *order, entry_order, map->entries);
    bool found = false;
    struct map_entry *first = &map->entries[order[0]];
    for (uint32_t i = 1; i < n; i++) {
        struct map_entry *e = &map->entries[order[i]];
        if (key_equal(&first->key, &e->key)) {
            entry_absorb(first, e);
            found = true;
        } else {
            first = e;
        }
    }
    free(order);
    if (found)
        map_compact(map);
}

void json_map_dedup(struct value_map *map)
{
    if (map->count <= DEDUP_PAIRWISE_MAX)
        dedup_pairwise(map);
    else
        dedup_sorted(map);
}
