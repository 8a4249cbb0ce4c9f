/* Typed values (see value.h): constructors, deep copy, comparison and the
 * small ordered map that holds a record's fields. Not a general container
 * library: maps are expected to hold tens of keys, not thousands. */
#include "value.h"

#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

struct value value_null(void)
{
    return (struct value){.type = VALUE_NULL};
}

struct value value_bool(bool b)
{
    return (struct value){.type = VALUE_BOOL, .as.boolean = b};
}

struct value value_int(int64_t i)
{
    return (struct value){.type = VALUE_INT, .as.integer = i};
}

struct value value_float(double d)
{
    return (struct value){.type = VALUE_FLOAT, .as.real = d};
}

static struct value_string string_copy(const char *s, size_t len)
{
    char *p = xmalloc(len + 1);
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return (struct value_string){.ptr = p, .len = len};
}

struct value value_string(const char *s, size_t len)
{
    return (struct value){.type = VALUE_STRING, .as.string = string_copy(s, len)};
}

struct value value_cstring(const char *s)
{
    return value_string(s, strlen(s));
}

struct value value_string_take(char *s, size_t len)
{
    return (struct value){.type = VALUE_STRING, .as.string = {.ptr = s, .len = len}};
}

struct value value_map_new(void)
{
    return (struct value){.type = VALUE_MAP};
}

struct value value_array_new(void)
{
    return (struct value){.type = VALUE_ARRAY};
}

static void array_free(struct value_array *array)
{
    for (uint32_t i = 0; i < array->count; i++)
        value_free(&array->items[i]);
    free(array->items);
    *array = (struct value_array){0};
}

void value_free(struct value *v)
{
    switch (v->type) {
    case VALUE_STRING:
        if (!v->borrowed)
            free(v->as.string.ptr);
        break;
    case VALUE_MAP:
        value_map_free(&v->as.map);
        break;
    case VALUE_ARRAY:
        array_free(&v->as.array);
        break;
    default:
        break;
    }
    *v = value_null();
}

static struct value_map map_clone(const struct value_map *map)
{
    struct value_map copy = {0};
    if (map->count == 0)
        return copy;
    copy.entries = xmalloc(map->count * sizeof *copy.entries);
    copy.count = copy.cap = map->count;
    for (uint32_t i = 0; i < map->count; i++) {
        const struct map_entry *e = &map->entries[i];
        copy.entries[i].key = string_copy(e->key.ptr, e->key.len);
        copy.entries[i].key_borrowed = false;
        copy.entries[i].value = value_clone(&e->value);
    }
    return copy;
}

static struct value_array array_clone(const struct value_array *array)
{
    struct value_array copy = {0};
    if (array->count == 0)
        return copy;
    copy.items = xmalloc(array->count * sizeof *copy.items);
    copy.count = copy.cap = array->count;
    for (uint32_t i = 0; i < array->count; i++)
        copy.items[i] = value_clone(&array->items[i]);
    return copy;
}

struct value value_clone(const struct value *v)
{
    struct value copy = *v;
    switch (v->type) {
    case VALUE_STRING:
        copy.as.string = string_copy(v->as.string.ptr, v->as.string.len);
        copy.borrowed = false;
        break;
    case VALUE_MAP:
        copy.as.map = map_clone(&v->as.map);
        break;
    case VALUE_ARRAY:
        copy.as.array = array_clone(&v->as.array);
        break;
    default:
        break;
    }
    return copy;
}

void value_own(struct value *v)
{
    if (v->type == VALUE_STRING && v->borrowed) {
        v->as.string = string_copy(v->as.string.ptr, v->as.string.len);
        v->borrowed = false;
    } else if (v->type == VALUE_MAP) {
        for (uint32_t i = 0; i < v->as.map.count; i++) {
            struct map_entry *e = &v->as.map.entries[i];
            if (e->key_borrowed)
                e->key = string_copy(e->key.ptr, e->key.len);
            e->key_borrowed = false;
            value_own(&e->value);
        }
    } else if (v->type == VALUE_ARRAY) {
        for (uint32_t i = 0; i < v->as.array.count; i++)
            value_own(&v->as.array.items[i]);
    }
}

/* What one malloc'ed block of `bytes` takes from glibc's heap: the
 * requested size plus its 8-byte header, in 16-byte steps, 32 at least. */
static size_t heap_block(size_t bytes)
{
    size_t block = (bytes + 8 + 15) & ~(size_t)15;
    return block < 32 ? 32 : block;
}

size_t value_heap_bytes(const struct value *v)
{
    size_t bytes = 0;
    if (v->type == VALUE_STRING && !v->borrowed) {
        bytes = heap_block(v->as.string.len + 1);
    } else if (v->type == VALUE_MAP) {
        bytes = value_map_heap_bytes(&v->as.map);
    } else if (v->type == VALUE_ARRAY && v->as.array.cap) {
        bytes = heap_block(v->as.array.cap * sizeof *v->as.array.items);
        for (uint32_t i = 0; i < v->as.array.count; i++)
            bytes += value_heap_bytes(&v->as.array.items[i]);
    }
    return bytes;
}

size_t value_map_heap_bytes(const struct value_map *map)
{
    if (!map->cap)
        return 0;
    size_t bytes = heap_block(map->cap * sizeof *map->entries);
    for (uint32_t i = 0; i < map->count; i++) {
        const struct map_entry *e = &map->entries[i];
        if (!e->key_borrowed)
            bytes += heap_block(e->key.len + 1);
        bytes += value_heap_bytes(&e->value);
    }
    return bytes;
}

static bool string_equal(const struct value_string *a, const char *b, size_t b_len)
{
    return a->len == b_len && memcmp(a->ptr, b, b_len) == 0;
}

/* Keys are unique, so equal counts plus every key of `a` found in `b` with an
 * equal value means equal maps. Insertion order is not compared. */
static bool map_equal(const struct value_map *a, const struct value_map *b)
{
    if (a->count != b->count)
        return false;
    for (uint32_t i = 0; i < a->count; i++) {
        const struct map_entry *e = &a->entries[i];
        const struct value *other = value_map_get(b, e->key.ptr, e->key.len);
        if (!other || !value_equal(&e->value, other))
            return false;
    }
    return true;
}

static bool array_equal(const struct value_array *a, const struct value_array *b)
{
    if (a->count != b->count)
        return false;
    for (uint32_t i = 0; i < a->count; i++) {
        if (!value_equal(&a->items[i], &b->items[i]))
            return false;
    }
    return true;
}

bool value_equal(const struct value *a, const struct value *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case VALUE_NULL:
        return true;
    case VALUE_BOOL:
        return a->as.boolean == b->as.boolean;
    case VALUE_INT:
        return a->as.integer == b->as.integer;
    case VALUE_FLOAT:
        return a->as.real == b->as.real;
    case VALUE_STRING:
        return string_equal(&a->as.string, b->as.string.ptr, b->as.string.len);
    case VALUE_MAP:
        return map_equal(&a->as.map, &b->as.map);
    case VALUE_ARRAY:
        return array_equal(&a->as.array, &b->as.array);
    }
    return false;
}

const char *value_type_name(enum value_type type)
{
    switch (type) {
    case VALUE_NULL:
        return "null";
    case VALUE_BOOL:
        return "bool";
    case VALUE_INT:
        return "int";
    case VALUE_FLOAT:
        return "float";
    case VALUE_STRING:
        return "string";
    case VALUE_MAP:
        return "map";
    case VALUE_ARRAY:
        return "array";
    }
    return "unknown";
}

/* A linear scan: records carry a few dozen fields at most, where a scan over
 * contiguous entries beats hashing. Index the map if that ever changes. Keys
 * of the same length are told apart by their first byte before memcmp is
 * called: a record's keys mostly differ there (time/file, stream/logtag), and
 * the call cost more than the compare in profiles. */
static int64_t map_find(const struct value_map *map, const char *key, size_t key_len)
{
    for (uint32_t i = 0; i < map->count; i++) {
        const struct value_string *k = &map->entries[i].key;
        if (k->len == key_len &&
            (key_len == 0 || (k->ptr[0] == key[0] && memcmp(k->ptr, key, key_len) == 0)))
            return i;
    }
    return -1;
}

struct value *value_map_get(const struct value_map *map, const char *key, size_t key_len)
{
    int64_t i = map_find(map, key, key_len);
    return i < 0 ? NULL : &map->entries[i].value;
}

static struct map_entry *map_append(struct value_map *map)
{
    if (map->count == map->cap) {
        size_t cap = map->cap;
        map->entries = xgrow(map->entries, &cap, (size_t)map->count + 1, sizeof *map->entries);
        map->cap = (uint32_t)cap;
    }
    return &map->entries[map->count++];
}

/* A replaced entry keeps its key; a new one copies or borrows `key`. */
static struct value *map_set(struct value_map *map, const char *key, size_t key_len,
                             struct value *v, bool borrow_key)
{
    int64_t i = map_find(map, key, key_len);
    struct map_entry *e;
    if (i >= 0) {
        e = &map->entries[i];
        value_free(&e->value);
    } else {
        e = map_append(map);
        e->key = borrow_key ? (struct value_string){.ptr = (char *)key, .len = key_len}
                            : string_copy(key, key_len);
        e->key_borrowed = borrow_key;
    }
    e->value = *v;
    *v = value_null();
    return &e->value;
}

struct value *value_map_set(struct value_map *map, const char *key, size_t key_len, struct value *v)
{
    return map_set(map, key, key_len, v, false);
}

struct value *value_map_set_borrowed_key(struct value_map *map, const char *key, size_t key_len,
                                         struct value *v)
{
    return map_set(map, key, key_len, v, true);
}

static void entry_free_key(struct map_entry *e)
{
    if (!e->key_borrowed)
        free(e->key.ptr);
}

/* Drops entry `i`'s key and closes the gap, keeping the order of the rest. */
static void map_erase(struct value_map *map, uint32_t i)
{
    entry_free_key(&map->entries[i]);
    memmove(&map->entries[i], &map->entries[i + 1], (map->count - i - 1) * sizeof *map->entries);
    map->count--;
}

bool value_map_remove(struct value_map *map, const char *key, size_t key_len)
{
    int64_t i = map_find(map, key, key_len);
    if (i < 0)
        return false;
    value_free(&map->entries[i].value);
    map_erase(map, (uint32_t)i);
    return true;
}

bool value_map_take(struct value_map *map, const char *key, size_t key_len, struct value *out)
{
    int64_t i = map_find(map, key, key_len);
    if (i < 0)
        return false;
    *out = map->entries[i].value;
    map_erase(map, (uint32_t)i);
    return true;
}

void value_map_clear(struct value_map *map)
{
    for (uint32_t i = 0; i < map->count; i++) {
        entry_free_key(&map->entries[i]);
        value_free(&map->entries[i].value);
    }
    map->count = 0;
}

void value_map_free(struct value_map *map)
{
    value_map_clear(map);
    free(map->entries);
    *map = (struct value_map){0};
}

void value_array_push(struct value_array *array, struct value *v)
{
    if (array->count == array->cap) {
        size_t cap = array->cap;
        array->items = xgrow(array->items, &cap, (size_t)array->count + 1, sizeof *array->items);
        array->cap = (uint32_t)cap;
    }
    array->items[array->count++] = *v;
    *v = value_null();
}
