/* The router: which filters and outputs a tag goes to, as bit masks over the
 * configured filters and outputs. The answer for a tag is computed once and
 * cached; tags repeat (one per file), so routing a record costs a hash lookup.
 * The cache is bounded: when full it is cleared and refilled. */
#ifndef SKIFF_ROUTER_H
#define SKIFF_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#define ROUTER_MAX_ROUTES 64

struct route {
    uint64_t filters; /* bit i: filter i's match fits the tag */
    uint64_t outputs; /* bit i: output i's match fits the tag */
};

struct router;

/* `filter_matches` and `output_matches` are the match globs in config order
 * (at most ROUTER_MAX_ROUTES each); the router keeps pointers to them. */
struct router *router_create(const char *const *filter_matches, size_t filter_count,
                             const char *const *output_matches, size_t output_count,
                             size_t cache_limit);
void router_destroy(struct router *router);
struct route router_lookup(struct router *router, const char *tag);

#endif
