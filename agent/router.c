/* Tag routing with a bounded cache (see router.h). Open addressing with linear
 * probing over FNV-1a hashes; the table is at most half full. */
#include "router.h"

#include "tag_match.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

struct route_entry {
    char *tag; /* NULL: empty slot */
    uint64_t hash;
    struct route route;
};

struct router {
    const char *const *filter_matches;
    size_t filter_count;
    const char *const *output_matches;
    size_t output_count;
    struct route_entry *slots;
    size_t slot_count; /* a power of two, >= 2 * cache_limit */
    size_t used;
    size_t cache_limit;
};

static uint64_t router_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

struct router *router_create(const char *const *filter_matches, size_t filter_count,
                             const char *const *output_matches, size_t output_count,
                             size_t cache_limit)
{
    struct router *router = xcalloc(1, sizeof *router);
    router->filter_matches = filter_matches;
    router->filter_count = filter_count;
    router->output_matches = output_matches;
    router->output_count = output_count;
    router->cache_limit = cache_limit ? cache_limit : 1;
    router->slot_count = 16;
    while (router->slot_count < 2 * router->cache_limit)
        router->slot_count *= 2;
    router->slots = xcalloc(router->slot_count, sizeof *router->slots);
    return router;
}

static void router_clear(struct router *router)
{
    for (size_t i = 0; i < router->slot_count; i++) {
        free(router->slots[i].tag);
        router->slots[i].tag = NULL;
    }
    router->used = 0;
}

void router_destroy(struct router *router)
{
    if (!router)
        return;
    router_clear(router);
    free(router->slots);
    free(router);
}

static uint64_t router_mask(const char *const *matches, size_t count, const char *tag)
{
    uint64_t mask = 0;
    for (size_t i = 0; i < count; i++) {
        if (tag_match(matches[i], tag))
            mask |= 1ull << i;
    }
    return mask;
}

struct route router_lookup(struct router *router, const char *tag)
{
    uint64_t hash = router_hash(tag);
    size_t mask = router->slot_count - 1;
    size_t i = (size_t)hash & mask;

    for (; router->slots[i].tag; i = (i + 1) & mask) {
        struct route_entry *e = &router->slots[i];
        if (e->hash == hash && strcmp(e->tag, tag) == 0)
            return e->route;
    }
    struct route route = {
        .filters = router_mask(router->filter_matches, router->filter_count, tag),
        .outputs = router_mask(router->output_matches, router->output_count, tag),
    };
    if (router->used == router->cache_limit) {
        router_clear(router);
        i = (size_t)hash & mask;
    }
    router->slots[i] = (struct route_entry){.tag = xstrdup(tag), .hash = hash, .route = route};
    router->used++;
    return route;
}
