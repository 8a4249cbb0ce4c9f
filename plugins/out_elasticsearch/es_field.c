/* Scalar field lookup in encoded records (see es_field.h). Walks the encoded
 * map and skips the values it does not need, so a lookup costs a scan of the
 * keys before the wanted one; it allocates nothing. */
#include "es_field.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Finds `key` in the encoded map whose count is at *pos and leaves *pos at its
 * value's tag. Returns 1 if found, 0 if not, -1 if malformed. */
static int find_member(const uint8_t *data, size_t len, size_t *pos, const struct value_string *key)
{
    uint64_t count;
    if (codec_read_varint(data, len, pos, &count) < 0)
        return -1;
    for (uint64_t i = 0; i < count; i++) {
        const char *k;
        size_t k_len;
        if (codec_read_string(data, len, pos, &k, &k_len) < 0)
            return -1;
        if (k_len == key->len && memcmp(k, key->ptr, k_len) == 0)
            return 1;
        if (codec_skip_value(data, len, pos) < 0)
            return -1;
    }
    return 0;
}

static int read_scalar(const uint8_t *data, size_t len, size_t pos, struct es_field *out)
{
    uint64_t u;
    switch (data[pos++]) {
    case CODEC_INT:
        if (codec_read_varint(data, len, &pos, &u) < 0)
            return -1;
        out->kind = ES_FIELD_INT;
        out->integer = (int64_t)((u >> 1) ^ (0 - (u & 1))); /* zigzag */
        return 0;
    case CODEC_FLOAT:
        if (len - pos < 8)
            return -1;
        u = 0;
        for (int i = 7; i >= 0; i--)
            u = u << 8 | data[pos + (size_t)i];
        memcpy(&out->real, &u, sizeof out->real);
        out->kind = ES_FIELD_FLOAT;
        return 0;
    case CODEC_STRING:
        if (codec_read_string(data, len, &pos, &out->str, &out->len) < 0)
            return -1;
        out->kind = ES_FIELD_STRING;
        return 0;
    default:
        out->kind = ES_FIELD_OTHER;
        return 0;
    }
}

static void value_to_field(const struct value *v, struct es_field *out)
{
    switch (v->type) {
    case VALUE_STRING:
        *out = (struct es_field){
            .kind = ES_FIELD_STRING, .str = v->as.string.ptr, .len = v->as.string.len};
        break;
    case VALUE_INT:
        *out = (struct es_field){.kind = ES_FIELD_INT, .integer = v->as.integer};
        break;
    case VALUE_FLOAT:
        *out = (struct es_field){.kind = ES_FIELD_FLOAT, .real = v->as.real};
        break;
    default:
        *out = (struct es_field){.kind = ES_FIELD_OTHER};
        break;
    }
}

const struct attachment *es_field_attachment(const struct record_view *view,
                                             struct attachment *const *attachments,
                                             const struct field_path *path)
{
    const struct value_string *key = &path->segments[0];
    for (uint8_t i = 0; i < view->attachment_count; i++) {
        const struct attachment *a = attachments[view->attachment_index[i]];
        if (a->key.len == key->len && memcmp(a->key.ptr, key->ptr, key->len) == 0)
            return a;
    }
    return NULL;
}

static void get_in_attachment(const struct attachment *a, const struct field_path *path,
                              struct es_field *out)
{
    const struct value *v = &a->value;
    for (uint32_t n = 1; v && n < path->count; n++)
        v = v->type == VALUE_MAP
                ? value_map_get(&v->as.map, path->segments[n].ptr, path->segments[n].len)
                : NULL;
    if (v)
        value_to_field(v, out);
    else
        *out = (struct es_field){.kind = ES_FIELD_MISSING};
}

int es_field_get(const struct record_view *view, struct attachment *const *attachments,
                 const struct field_path *path, struct es_field *out)
{
    const struct attachment *a = es_field_attachment(view, attachments, path);
    if (a) {
        get_in_attachment(a, path, out);
        return 0;
    }
    *out = (struct es_field){.kind = ES_FIELD_MISSING};
    const uint8_t *data = view->fields;
    size_t len = view->fields_len;
    size_t pos = 0;
    for (uint32_t n = 0; n < path->count; n++) {
        if (n > 0) {
            if (data[pos] != CODEC_MAP)
                return 0;
            pos++;
        }
        int found = find_member(data, len, &pos, &path->segments[n]);
        if (found <= 0)
            return found;
        if (pos >= len)
            return -1;
    }
    return read_scalar(data, len, pos, out);
}

int es_field_member(const struct record_view *view, const char *key, size_t *value_pos)
{
    struct value_string name = {.ptr = (char *)key, .len = strlen(key)};
    size_t pos = 0;
    if (view->fields_len == 0)
        return 0;
    int found = find_member(view->fields, view->fields_len, &pos, &name);
    if (found == 1 && pos >= view->fields_len)
        return -1;
    *value_pos = pos;
    return found;
}

bool es_field_append_text(struct buf *out, const struct es_field *field)
{
    char text[32];
    int n;
    switch (field->kind) {
    case ES_FIELD_STRING:
        buf_append(out, field->str, field->len);
        return true;
    case ES_FIELD_INT:
        n = snprintf(text, sizeof text, "%" PRId64, field->integer);
        break;
    case ES_FIELD_FLOAT:
        if (!isfinite(field->real))
            return false;
        n = snprintf(text, sizeof text, "%.15g", field->real);
        break;
    default:
        return false;
    }
    buf_append(out, text, (size_t)n);
    return true;
}
