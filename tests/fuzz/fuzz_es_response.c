/* Fuzz target: the `_bulk` response parser. The first byte is the number of
 * records the request had; the rest is the body. Any body is accepted with
 * exactly that many classified items or rejected with a message, without
 * crashing or leaking. */
#include "fuzz.h"

#include "plugins/out_elasticsearch/es_response.h"

#include <stdbool.h>
#include <stdlib.h>

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t expected = data[0];
    struct es_response response;
    char *error = NULL;
    int rc = es_response_parse((const char *)data + 1, size - 1, expected, &response, &error);
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
