/* Filter `record_modifier`: Fluent Bit's record_modifier, with its option
 * names. `remove_key` drops the top-level fields whose keys match, or
 * `allowlist_key` (also `whitelist_key`) keeps only those; then `record` sets
 * its fields. Keys match as in Fluent Bit: case-insensitively, exactly, or as
 * a prefix when the pattern ends in `*`. Where Fluent Bit appends a `record`
 * key the record has already (writing it twice), skiff replaces the value: a
 * record never holds a key twice. Attachments (the `kubernetes` metadata) are
 * top-level keys like any other. */
#include "cfg_node.h"
#include "diag.h"
#include "log.h"
#include "plugin_api.h"
#include "xalloc.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct record_modifier_options {
    struct value record;
    struct string_list remove_key;
    struct string_list allowlist_key;
    struct string_list whitelist_key;
};

static const struct option_spec record_modifier_options_table[] = {
    {.name = "record",
     .type = OPT_MAP,
     .offset = offsetof(struct record_modifier_options, record),
     .description = "top-level fields to set, `key: value` (Fluent Bit's `Record key value` "
                    "lines); replaces a field of that name"},
    {.name = "remove_key",
     .type = OPT_LIST,
     .offset = offsetof(struct record_modifier_options, remove_key),
     .description = "top-level keys to remove: exact or a prefix ending in `*`, any case"},
    {.name = "allowlist_key",
     .type = OPT_LIST,
     .offset = offsetof(struct record_modifier_options, allowlist_key),
     .description = "top-level keys to keep, every other is removed (before `record` is set); "
                    "patterns as `remove_key`"},
    {.name = "whitelist_key",
     .type = OPT_LIST,
     .offset = offsetof(struct record_modifier_options, whitelist_key),
     .description = "the older name of `allowlist_key` (both lists are used)"},
    {0},
};

static const struct cfg_node *at_option(const struct cfg_node *node, const char *name)
{
    const struct cfg_node *at = cfg_map_get(node, name);
    return at ? at : node;
}

static bool pattern_list_valid(const struct string_list *list, const struct cfg_node *node,
                               const char *name, const char *context, struct diag_list *diags)
{
    for (size_t i = 0; i < list->count; i++) {
        if (!*list->items[i]) {
            diag_add(diags, at_option(node, name), "%s: option '%s': an empty key", context, name);
            return false;
        }
    }
    return true;
}

/* At load (also --dry-run): removing and keeping exclude each other, as in
 * Fluent Bit; no empty pattern. */
static int record_modifier_validate(const void *options, const struct cfg_node *node,
                                    const char *context, struct diag_list *diags)
{
    const struct record_modifier_options *opts = options;
    int rc = 0;

    if (!pattern_list_valid(&opts->remove_key, node, "remove_key", context, diags) ||
        !pattern_list_valid(&opts->allowlist_key, node, "allowlist_key", context, diags) ||
        !pattern_list_valid(&opts->whitelist_key, node, "whitelist_key", context, diags))
        rc = -1;
    if (opts->remove_key.count > 0 && opts->allowlist_key.count + opts->whitelist_key.count > 0) {
        diag_add(diags, at_option(node, "remove_key"),
                 "%s: options 'remove_key' and 'allowlist_key' exclude each other", context);
        rc = -1;
    }
    for (uint32_t i = 0; opts->record.type == VALUE_MAP && i < opts->record.as.map.count; i++) {
        const struct value_string *key = &opts->record.as.map.entries[i].key;
        if (key->len == 0 || strlen(key->ptr) != key->len) {
            diag_add(diags, at_option(node, "record"), "%s: option 'record': an empty key",
                     context);
            rc = -1;
        }
    }
    return rc;
}

static bool key_matches(const struct string_list *list, const struct value_string *key)
{
    for (size_t i = 0; i < list->count; i++) {
        const char *p = list->items[i];
        size_t len = strlen(p);
        if (len > 0 && p[len - 1] == '*') {
            if (key->len >= len - 1 && strncasecmp(key->ptr, p, len - 1) == 0)
                return true;
        } else if (key->len == len && strncasecmp(key->ptr, p, len) == 0) {
            return true;
        }
    }
    return false;
}

static bool keep_key(const struct record_modifier_options *opts, const struct value_string *key)
{
    if (opts->remove_key.count > 0)
        return !key_matches(&opts->remove_key, key);
    if (opts->allowlist_key.count + opts->whitelist_key.count > 0)
        return key_matches(&opts->allowlist_key, key) || key_matches(&opts->whitelist_key, key);
    return true;
}

static void delete_root(struct record *rec, const struct value_string *key)
{
    struct value_string segment = *key;
    struct field_path path = {.text = key->ptr, .segments = &segment, .count = 1};
    record_delete(rec, &path);
}

/* Removes the top-level keys not kept: attachments first (each removal
 * changes the list), then the fields, from the end. */
static void remove_keys(const struct record_modifier_options *opts, struct record *rec)
{
    for (int i = (int)rec->attachment_count - 1; i >= 0; i--) {
        if (i < rec->attachment_count && !keep_key(opts, &rec->attachments[i]->key)) {
            struct value_string key = rec->attachments[i]->key;
            delete_root(rec, &key);
        }
    }
    for (int64_t i = (int64_t)rec->fields.count - 1; i >= 0; i--) {
        if (!keep_key(opts, &rec->fields.entries[i].key)) {
            struct value_string key = rec->fields.entries[i].key;
            value_map_remove(&rec->fields, key.ptr, key.len);
        }
    }
}

static enum filter_result record_modifier_filter(struct instance *f, struct instance *input,
                                                 const char *tag, struct record *rec)
{
    const struct record_modifier_options *opts = f->options;

    remove_keys(opts, rec);
    for (uint32_t i = 0; opts->record.type == VALUE_MAP && i < opts->record.as.map.count; i++) {
        const struct map_entry *e = &opts->record.as.map.entries[i];
        struct value v = value_clone(&e->value);
        record_set_key(rec, e->key.ptr, &v);
    }
    return FILTER_KEEP;
}

const struct plugin filter_record_modifier_plugin = {
    .name = "record_modifier",
    .kind = PLUGIN_FILTER,
    .description = "removes top-level fields, or keeps only some, and sets fields to constants "
                   "(Fluent Bit's record_modifier)",
    .options = record_modifier_options_table,
    .options_size = sizeof(struct record_modifier_options),
    .validate = record_modifier_validate,
    .filter = record_modifier_filter,
};
