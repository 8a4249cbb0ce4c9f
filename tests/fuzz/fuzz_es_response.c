/* Fuzz target: the `_bulk` response readers. The first byte is the number of
 * records the request had; the rest is the body. Any body is accepted with
 * exactly that many classified items or rejected with a message, without
 * crashing or leaking; and whatever the streaming scan accepts, the
 * value-tree reader (the reference) reads the same, item by item. */
#include "fuzz.h"

#include "plugins/out_elasticsearch/es_response_internal.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static void check_item(const struct es_item *item)
{
    if (item->status < 100 || item->status > 599 || !item->error_type || !item->error_reason)
        abort();
    bool ok = item->status >= 200 && item->status < 300;
    if (ok != (item->class == ES_ITEM_OK))
        abort();
    if (item->class == ES_ITEM_ALREADY_EXISTS && item->status != 409)
        abort();
    if (item->class == ES_ITEM_REJECTED &&
        (item->status < 400 || item->status >= 500 || item->status == 429))
        abort();
}

static void same_items(const struct es_response *a, const struct es_response *b)
{
    if (a->count != b->count || memcmp(a->counts, b->counts, sizeof a->counts) != 0)
        abort();
    for (size_t i = 0; i < a->count; i++) {
        const struct es_item *x = &a->items[i], *y = &b->items[i];
        if (x->status != y->status || x->class != y->class ||
            strcmp(x->error_type, y->error_type) != 0 ||
            strcmp(x->error_reason, y->error_reason) != 0)
            abort();
    }
}

/* The scan accepts only what the tree reader accepts, with the same items. */
static void check_scan(const char *text, size_t len, size_t expected)
{
    struct es_response scanned, tree;
    if (es_response_scan(text, len, expected, &scanned) < 0) {
        if (scanned.items || scanned.count)
            abort();
        return;
    }
    char *error = NULL;
    if (es_response_parse_tree(text, len, expected, &tree, &error) < 0)
        abort();
    same_items(&scanned, &tree);
    es_response_free(&scanned);
    es_response_free(&tree);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t expected = data[0];
    const char *text = (const char *)data + 1;
    struct es_response response;
    char *error = NULL;
    check_scan(text, size - 1, expected);
    int rc = es_response_parse(text, size - 1, expected, &response, &error);
    if (rc < 0) {
        if (!error || error[0] == '\0' || response.items || response.count)
            abort();
        free(error);
        return 0;
    }
    if (response.count != expected)
        abort();
    size_t total = 0;
    for (size_t i = 0; i < response.count; i++)
        check_item(&response.items[i]);
    for (int c = 0; c < ES_ITEM_CLASS_COUNT; c++)
        total += response.counts[c];
    if (total != expected)
        abort();
    es_response_free(&response);
    return 0;
}
