/* Intrusive chained hash table (see hmap.h). */
#include "hmap.h"

#include "xalloc.h"

#include <stdlib.h>

void hmap_free(struct hmap *map)
{
    free(map->buckets);
    map->buckets = NULL;
    map->bucket_count = 0;
    map->count = 0;
}

static void hmap_resize(struct hmap *map, size_t bucket_count)
{
    struct hmap_node **buckets = xcalloc(bucket_count, sizeof *buckets);
    for (size_t i = 0; i < map->bucket_count; i++) {
        for (struct hmap_node *node = map->buckets[i], *next; node; node = next) {
            next = node->next;
            size_t slot = node->hash & (bucket_count - 1);
            node->next = buckets[slot];
            buckets[slot] = node;
        }
    }
    free(map->buckets);
    map->buckets = buckets;
    map->bucket_count = bucket_count;
}

void hmap_insert(struct hmap *map, struct hmap_node *node, uint64_t hash)
{
    if (map->count >= map->bucket_count)
        hmap_resize(map, map->bucket_count ? map->bucket_count * 2 : 16);
    size_t slot = hash & (map->bucket_count - 1);
    node->hash = hash;
    node->next = map->buckets[slot];
    map->buckets[slot] = node;
    map->count++;
}

void hmap_remove(struct hmap *map, struct hmap_node *node)
{
    if (!map->bucket_count)
        return;
    struct hmap_node **link = &map->buckets[node->hash & (map->bucket_count - 1)];
    for (; *link; link = &(*link)->next) {
        if (*link == node) {
            *link = node->next;
            node->next = NULL;
            map->count--;
            return;
        }
    }
}

struct hmap_node *hmap_find(const struct hmap *map, uint64_t hash)
{
    if (!map->bucket_count)
        return NULL;
    struct hmap_node *node = map->buckets[hash & (map->bucket_count - 1)];
    while (node && node->hash != hash)
        node = node->next;
    return node;
}

struct hmap_node *hmap_find_next(const struct hmap_node *node)
{
    uint64_t hash = node->hash;
    for (node = node->next; node && node->hash != hash; node = node->next)
        ;
    return (struct hmap_node *)node;
}

struct hmap_node *hmap_next(const struct hmap *map, size_t *bucket, struct hmap_node *node)
{
    if (node && node->next)
        return node->next;
    if (node)
        (*bucket)++;
    for (; *bucket < map->bucket_count; (*bucket)++) {
        if (map->buckets[*bucket])
            return map->buckets[*bucket];
    }
    return NULL;
}

uint64_t hash_bytes(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

uint64_t hash_u64(uint64_t value)
{
    /* The finaliser of SplitMix64: spreads every input bit over the result. */
    value ^= value >> 30;
    value *= 0xbf58476d1ce4e5b9ull;
    value ^= value >> 27;
    value *= 0x94d049bb133111ebull;
    value ^= value >> 31;
    return value;
}
