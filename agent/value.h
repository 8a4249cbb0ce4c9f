/* Typed values: the fields of a record and the values of a config `map`
 * option. A value owns what it points to, and value_free() releases it, with
 * one exception: a string marked `borrowed` (and a map key marked
 * `key_borrowed`) lies in its record's text store (record.h), which the
 * record owns and frees. Only a record's own fields hold borrowed strings.
 * Maps keep insertion order (that is the order in which fields are written
 * out) and may not hold two entries with the same key. */
#ifndef SKIFF_VALUE_H
#define SKIFF_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum value_type {
    VALUE_NULL = 0,
    VALUE_BOOL,
    VALUE_INT,
    VALUE_FLOAT,
    VALUE_STRING,
    VALUE_MAP,
    VALUE_ARRAY,
};

struct value;
struct map_entry;

struct value_map {
    struct map_entry *entries;
    uint32_t count;
    uint32_t cap;
};

struct value_array {
    struct value *items;
    uint32_t count;
    uint32_t cap;
};

struct value_string {
    char *ptr; /* NUL-terminated for convenience; may also hold NULs inside */
    size_t len;
};

struct value {
    enum value_type type;
    /* VALUE_STRING only: the bytes are lent by the record that holds the value
     * (its text store, record.h), not owned: value_free leaves them and
     * value_clone and value_own copy them. Set only by record_set_text. */
    bool borrowed;
    union {
        bool boolean;
        int64_t integer;
        double real;
        struct value_string string;
        struct value_map map;
        struct value_array array;
    } as;
};

struct map_entry {
    struct value_string key;
    struct value value;
    bool key_borrowed; /* the key is lent, as a borrowed string (see struct value) */
};

/* Constructors. Strings are copied. */
struct value value_null(void);
struct value value_bool(bool b);
struct value value_int(int64_t i);
struct value value_float(double d);
struct value value_string(const char *s, size_t len);
struct value value_cstring(const char *s);
/* Takes ownership of a malloc'ed buffer of `len` bytes plus a NUL. */
struct value value_string_take(char *s, size_t len);
struct value value_map_new(void);
struct value value_array_new(void);

void value_free(struct value *v);                /* leaves VALUE_NULL behind */
struct value value_clone(const struct value *v); /* deep copy, owning all it holds */
/* Replaces every borrowed string and key in *v (nested ones too) with a copy
 * of its own, so that *v may outlive the store that lent them. */
void value_own(struct value *v);
bool value_equal(const struct value *a, const struct value *b);
/* The heap a value's owned parts take (strings, maps, arrays, with glibc's
 * per-block overhead), not counting the struct value itself: what holding it
 * costs, for budgets such as the kubernetes filter's hold. */
size_t value_heap_bytes(const struct value *v);
size_t value_map_heap_bytes(const struct value_map *map);
const char *value_type_name(enum value_type type);

/* Map operations. `key` need not be NUL-terminated. */
struct value *value_map_get(const struct value_map *map, const char *key, size_t key_len);
/* Inserts or replaces; takes ownership of *v (leaves it VALUE_NULL). Returns the
 * stored value. */
struct value *value_map_set(struct value_map *map, const char *key, size_t key_len,
                            struct value *v);
/* value_map_set, with the new entry borrowing `key` instead of copying it:
 * for record_set_text only (the key lies in the record's text store). */
struct value *value_map_set_borrowed_key(struct value_map *map, const char *key, size_t key_len,
                                         struct value *v);
/* Removes and frees the entry. Returns false if absent. Keeps order. */
bool value_map_remove(struct value_map *map, const char *key, size_t key_len);
/* Removes the entry without freeing its value, which is moved to *out. */
bool value_map_take(struct value_map *map, const char *key, size_t key_len, struct value *out);
void value_map_free(struct value_map *map);
/* Frees the entries but keeps the map's storage for the next ones. */
void value_map_clear(struct value_map *map);

/* Appends, taking ownership of *v. */
void value_array_push(struct value_array *array, struct value *v);

#endif
