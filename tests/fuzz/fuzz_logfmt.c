/* Fuzz target: the logfmt parser. Every value it adds is a string or true,
 * and a rejected line leaves the map as it was. */
#include "fuzz.h"

#include "logfmt.h"

#include <stdlib.h>

static void check_values(const struct value_map *map)
{
    for (uint32_t i = 1; i < map->count; i++) {
        const struct value *v = &map->entries[i].value;
        if (v->type != VALUE_STRING && !(v->type == VALUE_BOOL && v->as.boolean))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct value_map map = {0};
    struct value sentinel = value_int(1);
    value_map_set(&map, "", 0, &sentinel);
    if (logfmt_parse((const char *)data, size, &map) == 0)
        check_values(&map);
    else if (map.count != 1 || map.entries[0].value.type != VALUE_INT)
        abort();
    value_map_free(&map);
    return 0;
}
