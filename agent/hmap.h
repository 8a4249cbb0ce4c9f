/* An intrusive chained hash table: the caller embeds a `struct hmap_node` in
 * its own struct, computes the hash, and compares keys itself while walking
 * the nodes that share a hash. No allocation per entry; the bucket array
 * doubles when the table gets as many entries as buckets. Not thread-safe. */
#ifndef SKIFF_HMAP_H
#define SKIFF_HMAP_H

#include <stddef.h>
#include <stdint.h>

struct hmap_node {
    struct hmap_node *next;
    uint64_t hash;
};

struct hmap {
    struct hmap_node **buckets;
    size_t bucket_count; /* a power of two, or 0 before the first insert */
    size_t count;
};

#define HMAP_INIT                                                                                  \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* The struct that holds `node` as `member`. */
#define hmap_entry(node, type, member) ((type *)((char *)(node)-offsetof(type, member)))

void hmap_free(struct hmap *map); /* frees the buckets, not the entries */
void hmap_insert(struct hmap *map, struct hmap_node *node, uint64_t hash);
void hmap_remove(struct hmap *map, struct hmap_node *node);

/* The first node with `hash`, then the next with the same hash, or NULL. */
struct hmap_node *hmap_find(const struct hmap *map, uint64_t hash);
struct hmap_node *hmap_find_next(const struct hmap_node *node);

/* Iterates every node: start with *bucket = 0 and node = NULL. To remove
 * nodes while iterating, fetch the next node before removing the current. */
struct hmap_node *hmap_next(const struct hmap *map, size_t *bucket, struct hmap_node *node);

uint64_t hash_bytes(const void *data, size_t len);
uint64_t hash_u64(uint64_t value);

#endif
