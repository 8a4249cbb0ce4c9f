/* merge_log (see k8s_merge.h). */
#include "k8s_merge.h"

#include "json_parse.h"

#include <string.h>

static bool looks_like_object(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i < len && s[i] == '{';
}

void k8s_merge_members(struct record *rec, struct value_map *members,
                       struct k8s_merge_collisions *collisions)
{
    for (uint32_t i = 0; i < members->count; i++) {
        struct map_entry *e = &members->entries[i];
        if (!record_has_root_key(rec, e->key.ptr, e->key.len)) {
            value_map_set(&rec->fields, e->key.ptr, e->key.len, &e->value);
            continue;
        }
        if (collisions->count++ == 0) {
            size_t n = e->key.len < sizeof collisions->first_key - 1
                           ? e->key.len
                           : sizeof collisions->first_key - 1;
            memcpy(collisions->first_key, e->key.ptr, n);
            collisions->first_key[n] = '\0';
        }
    }
    struct value emptied = {.type = VALUE_MAP, .as.map = *members};
    value_free(&emptied);
    memset(members, 0, sizeof *members);
}

static size_t trimmed_length(const char *s, size_t len)
{
    for (;;) {
        if (len >= 1 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
            len--;
        else if (len >= 2 && s[len - 2] == '\\' && (s[len - 1] == 'n' || s[len - 1] == 'r'))
            len -= 2;
        else
            return len;
    }
}

static void trim_values(struct value_map *map)
{
    for (uint32_t i = 0; i < map->count; i++) {
        struct value *v = &map->entries[i].value;
        if (v->type != VALUE_STRING)
            continue;
        size_t len = trimmed_length(v->as.string.ptr, v->as.string.len);
        v->as.string.len = len;
        v->as.string.ptr[len] = '\0';
    }
}

void k8s_merge_place(struct record *rec, struct value_map *members,
                     const struct k8s_merge_options *opts, struct k8s_merge_collisions *collisions)
{
    if (opts->trim)
        trim_values(members);
    if (!opts->merge_key[0]) {
        k8s_merge_members(rec, members, collisions);
        return;
    }
    struct value placed = {.type = VALUE_MAP, .as.map = *members};
    memset(members, 0, sizeof *members);
    if (placed.as.map.count > 0)
        record_set_key(rec, opts->merge_key, &placed);
    else
        value_free(&placed);
}

enum k8s_merge_result k8s_merge_log(struct record *rec, const struct k8s_merge_options *opts,
                                    struct k8s_merge_collisions *collisions)
{
    const char *log_key = opts->log_key;
    size_t log_len = strlen(log_key);
    const struct value *text = value_map_get(&rec->fields, log_key, log_len);
    if (!text || text->type != VALUE_STRING ||
        !looks_like_object(text->as.string.ptr, text->as.string.len))
        return K8S_MERGE_NONE;
    /* The container runtime keeps the line's newline in the text. */
    size_t len = text->as.string.len;
    while (len > 0 &&
           (text->as.string.ptr[len - 1] == '\n' || text->as.string.ptr[len - 1] == '\r'))
        len--;
    struct value parsed = value_map_new();
    if (json_parse_object_into(text->as.string.ptr, len, &parsed.as.map, NULL) != 0) {
        value_free(&parsed);
        return K8S_MERGE_FAILED;
    }
    if (!opts->keep_log)
        value_map_remove(&rec->fields, log_key, log_len);
    k8s_merge_place(rec, &parsed.as.map, opts, collisions);
    return K8S_MERGE_OK;
}
