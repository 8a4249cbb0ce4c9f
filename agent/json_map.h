/* The maps of parsed JSON objects (json_map.c), for json_parse.c. */
#ifndef SKIFF_JSON_MAP_H
#define SKIFF_JSON_MAP_H

#include "value.h"

/* Appends without looking for the key (takes `key` and *v): json_map_dedup
 * does that once the whole object is read. */
void json_map_push(struct value_map *map, struct value_string key, struct value *v);
/* Leaves one entry per key, at the first one's position with the last one's
 * value. */
void json_map_dedup(struct value_map *map);

#endif
