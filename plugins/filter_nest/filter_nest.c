/* Filter `nest`: Fluent Bit's nest filter, with its option names. `operation:
 * nest` moves the top-level fields whose keys match `wildcard` into a map under
 * `nest_under`; `operation: lift` moves the fields of the map under
 * `nested_under` to the top level. Keys may lose a prefix (`remove_prefix`) or
 * gain one (`add_prefix`) on the way. Where Fluent Bit would write a key twice
 * (the nest_under key exists already, a lifted key exists already), the moved
 * value replaces the old one: a record never holds a key twice. Attachments
 * (the `kubernetes` metadata) are top-level keys like any other, read and
 * changed through the record API. */
#include "cfg_node.h"
#include "diag.h"
#include "log.h"
#include "plugin_api.h"
#include "xalloc.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct nest_options {
    char *operation;
    struct string_list wildcard;
    char *nest_under;
    char *nested_under;
    char *add_prefix;
    char *remove_prefix;
};

static const char *const operation_choices[] = {"nest", "lift", NULL};

static const struct option_spec nest_options_table[] = {
    {.name = "operation",
     .type = OPT_STRING,
     .required = true,
     .choices = operation_choices,
     .offset = offsetof(struct nest_options, operation),
     .description = "`nest` (fields into a map) or `lift` (a map's fields to the top level)"},
    {.name = "wildcard",
     .type = OPT_LIST,
     .offset = offsetof(struct nest_options, wildcard),
     .description = "nest: the top-level keys to move, each exact or a prefix ending in `*` "
                    "(`kubernetes_*`; `*` alone matches every key)"},
    {.name = "nest_under",
     .type = OPT_STRING,
     .offset = offsetof(struct nest_options, nest_under),
     .description = "nest (required): the top-level key of the new map; replaces a field "
                    "of that name"},
    {.name = "nested_under",
     .type = OPT_STRING,
     .offset = offsetof(struct nest_options, nested_under),
     .description = "lift (required): the top-level key whose map is lifted; a lifted key "
                    "replaces a field of that name; a value that is not a map stays"},
    {.name = "add_prefix",
     .type = OPT_STRING,
     .offset = offsetof(struct nest_options, add_prefix),
     .description = "prepended to every moved key"},
    {.name = "remove_prefix",
     .type = OPT_STRING,
     .offset = offsetof(struct nest_options, remove_prefix),
     .description = "removed from the moved keys that start with it"},
    {0},
};

static bool is_nest(const struct nest_options *opts)
{
    return strcmp(opts->operation, "nest") == 0;
}

static int nest_missing(const struct cfg_node *node, const char *context, const char *name,
                        const char *operation, struct diag_list *diags)
{
    diag_add(diags, node, "%s: option '%s' is required with operation %s", context, name,
             operation);
    return -1;
}

/* At load (also --dry-run): what each operation needs, and one prefix. */
static int nest_validate(const void *options, const struct cfg_node *node, const char *context,
                         struct diag_list *diags)
{
    const struct nest_options *opts = options;
    int rc = 0;

    if (is_nest(opts)) {
        if (!opts->nest_under || !*opts->nest_under)
            rc = nest_missing(node, context, "nest_under", "nest", diags);
        if (opts->wildcard.count == 0)
            rc = nest_missing(node, context, "wildcard", "nest", diags);
    } else if (!opts->nested_under || !*opts->nested_under) {
        rc = nest_missing(node, context, "nested_under", "lift", diags);
    }
    if (opts->add_prefix && opts->remove_prefix) {
        const struct cfg_node *at = cfg_map_get(node, "remove_prefix");
        diag_add(diags, at ? at : node,
                 "%s: options 'add_prefix' and 'remove_prefix' exclude each other", context);
        rc = -1;
    }
    for (size_t i = 0; i < opts->wildcard.count; i++) {
        if (!*opts->wildcard.items[i]) {
            const struct cfg_node *at = cfg_map_get(node, "wildcard");
            diag_add(diags, at ? at : node, "%s: option 'wildcard': an empty pattern", context);
            rc = -1;
        }
    }
    return rc;
}

/* Exact, or a prefix when the pattern ends in `*` (Fluent Bit's rule). */
static bool nest_key_matches(const struct nest_options *opts, const struct value_string *key)
{
    for (size_t i = 0; i < opts->wildcard.count; i++) {
        const char *p = opts->wildcard.items[i];
        size_t len = strlen(p);
        if (len > 0 && p[len - 1] == '*') {
            if (key->len >= len - 1 && memcmp(key->ptr, p, len - 1) == 0)
                return true;
        } else if (key->len == len && memcmp(key->ptr, p, len) == 0) {
            return true;
        }
    }
    return false;
}

/* The key as moved: with add_prefix, or without remove_prefix when it starts
 * with it. Malloc'ed, NUL-terminated; *len is its length. */
static char *nest_moved_key(const struct nest_options *opts, const struct value_string *key,
                            size_t *len)
{
    const char *from = key->ptr;
    size_t from_len = key->len;
    const char *prefix = "";
    size_t prefix_len = 0;

    if (opts->add_prefix) {
        prefix = opts->add_prefix;
        prefix_len = strlen(prefix);
    } else if (opts->remove_prefix) {
        size_t r = strlen(opts->remove_prefix);
        if (from_len >= r && memcmp(from, opts->remove_prefix, r) == 0) {
            from += r;
            from_len -= r;
        }
    }
    char *out = xmalloc(prefix_len + from_len + 1);
    memcpy(out, prefix, prefix_len);
    memcpy(out + prefix_len, from, from_len);
    out[prefix_len + from_len] = '\0';
    *len = prefix_len + from_len;
    return out;
}

static bool nest_delete_root(struct record *rec, const struct value_string *key)
{
    struct value_string segment = *key;
    struct field_path path = {.text = key->ptr, .segments = &segment, .count = 1};
    return record_delete(rec, &path);
}

/* Moves the matching root value `key` into `nested`. */
static void nest_take(const struct nest_options *opts, struct record *rec,
                      const struct value_string *key, struct value_map *nested)
{
    const struct value *found = record_get_key(rec, key->ptr);
    if (!found)
        return;
    struct value copy = value_clone(found);
    size_t len;
    char *moved = nest_moved_key(opts, key, &len);
    value_map_set(nested, moved, len, &copy);
    free(moved);
    nest_delete_root(rec, key);
}

/* The record's top-level keys (fields, then attachments), copied: the caller
 * changes the record while it walks them, and frees them. */
static struct value_string *nest_root_keys(const struct record *rec, size_t *count)
{
    size_t n = rec->fields.count + rec->attachment_count;
    struct value_string *keys = xcalloc(n ? n : 1, sizeof *keys);
    size_t k = 0;
    for (uint32_t i = 0; i < rec->fields.count; i++)
        keys[k++] = rec->fields.entries[i].key;
    for (uint8_t i = 0; i < rec->attachment_count; i++)
        keys[k++] = rec->attachments[i]->key;
    for (size_t i = 0; i < n; i++) {
        char *copy = xmalloc(keys[i].len + 1);
        memcpy(copy, keys[i].ptr, keys[i].len);
        copy[keys[i].len] = '\0';
        keys[i].ptr = copy;
    }
    *count = n;
    return keys;
}

static void nest_record(const struct nest_options *opts, struct record *rec)
{
    size_t count;
    struct value_string *keys = nest_root_keys(rec, &count);
    struct value nested = value_map_new();

    for (size_t i = 0; i < count; i++) {
        bool plain = strlen(keys[i].ptr) == keys[i].len; /* no NUL inside */
        if (plain && nest_key_matches(opts, &keys[i]))
            nest_take(opts, rec, &keys[i], &nested.as.map);
        free(keys[i].ptr);
    }
    free(keys);
    if (nested.as.map.count == 0) {
        value_free(&nested); /* nothing matched: the record stays as it was */
        return;
    }
    record_set_key(rec, opts->nest_under, &nested);
}

static void lift_record(const struct nest_options *opts, struct record *rec)
{
    const struct value *found = record_get_key(rec, opts->nested_under);
    if (!found || found->type != VALUE_MAP)
        return; /* absent, or not a map: Fluent Bit leaves it too */
    struct value map = value_clone(found);
    struct value_string key = {opts->nested_under, strlen(opts->nested_under)};
    nest_delete_root(rec, &key);
    for (uint32_t i = 0; i < map.as.map.count; i++) {
        struct map_entry *e = &map.as.map.entries[i];
        size_t len;
        char *moved = nest_moved_key(opts, &e->key, &len);
        if (len == strlen(moved))
            record_set_key(rec, moved, &e->value);
        free(moved);
    }
    value_free(&map);
}

static enum filter_result nest_filter(struct instance *f, struct instance *input, const char *tag,
                                      struct record *rec)
{
    const struct nest_options *opts = f->options;

    if (is_nest(opts))
        nest_record(opts, rec);
    else
        lift_record(opts, rec);
    return FILTER_KEEP;
}

const struct plugin filter_nest_plugin = {
    .name = "nest",
    .kind = PLUGIN_FILTER,
    .description = "moves fields into a map, or a map's fields to the top level (Fluent Bit's "
                   "nest)",
    .options = nest_options_table,
    .options_size = sizeof(struct nest_options),
    .validate = nest_validate,
    .filter = nest_filter,
};
