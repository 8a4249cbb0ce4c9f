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

enum k8s_merge_result k8s_merge_log(struct record *rec, const char *log_key, const char *merge_key,
                                    bool keep_log)
{
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
    struct value original;
    value_map_take(&rec->fields, log_key, log_len, &original);
    if (merge_key[0]) {
        record_set_key(rec, merge_key, &parsed);
    } else {
        for (uint32_t i = 0; i < parsed.as.map.count; i++) {
            struct map_entry *e = &parsed.as.map.entries[i];
            value_map_set(&rec->fields, e->key.ptr, e->key.len, &e->value);
        }
        value_free(&parsed);
    }
    if (keep_log)
        value_map_set(&rec->fields, log_key, log_len, &original);
    else
        value_free(&original);
    return K8S_MERGE_OK;
}
