/* Between the two readers of `_bulk` responses: the streaming scan
 * (es_response_scan.c) and the value-tree reader (es_response.c), which
 * reads what the scan declines and is the reference the fuzz target checks
 * the scan against. Internal to the plugin and its tests. */
#ifndef SKIFF_ES_RESPONSE_INTERNAL_H
#define SKIFF_ES_RESPONSE_INTERNAL_H

#include "es_response.h"
#include "value.h"

#include <stdbool.h>
#include <stddef.h>

/* Reads a usual bulk response without a value tree. Returns 0 with `out`
 * filled in as es_response_parse would, or -1 (`out` empty, no message)
 * when the body is anything else: the tree reader then decides. */
int es_response_scan(const char *text, size_t len, size_t expected_items, struct es_response *out);

/* es_response_parse by the value tree alone. */
int es_response_parse_tree(const char *text, size_t len, size_t expected_items,
                           struct es_response *out, char **error);

/* Sets the item's error texts from its "error" member (NULL if it has none:
 * an object with type and reason, or a plain string from very old versions,
 * kept as the reason) and its class; `item->status` is set. */
void es_item_finish(struct es_item *item, bool create, const struct value *error);

#endif
