/* Decodes the API server's LIST answers and WATCH streams (see k8s_watch_decode.h).
 * Everything here comes from the network: shapes and types are checked, and
 * every failure is an error message, never an abort. */
#include "k8s_watch_decode.h"

#include "json_parse.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void k8s_stream_init(struct k8s_stream *s, size_t max_line)
{
    s->partial = (struct buf)BUF_INIT;
    s->max_line = max_line;
}

void k8s_stream_reset(struct k8s_stream *s)
{
    buf_reset(&s->partial);
}

void k8s_stream_free(struct k8s_stream *s)
{
    buf_free(&s->partial);
}

size_t k8s_stream_pending(const struct k8s_stream *s)
{
    return s->partial.len;
}

static int stream_line(k8s_line_cb *cb, void *data, const char *line, size_t len)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len == 0)
        return 0;
    return cb(data, line, len);
}

/* Lines wholly inside `bytes` go to `cb` without a copy; only the partial
 * ends are buffered. */
int k8s_stream_feed(struct k8s_stream *s, const char *bytes, size_t len, k8s_line_cb *cb,
                    void *data)
{
    while (len > 0) {
        const char *nl = memchr(bytes, '\n', len);
        size_t piece = nl ? (size_t)(nl - bytes) : len;
        if (s->partial.len + piece > s->max_line) {
            buf_reset(&s->partial);
            return -2;
        }
        if (!nl) {
            buf_append(&s->partial, bytes, piece);
            return 0;
        }
        int rc;
        if (s->partial.len > 0) {
            buf_append(&s->partial, bytes, piece);
            rc = stream_line(cb, data, s->partial.data, s->partial.len);
            buf_reset(&s->partial);
        } else {
            rc = stream_line(cb, data, bytes, piece);
        }
        if (rc != 0)
            return -1;
        bytes += piece + 1;
        len -= piece + 1;
    }
    return 0;
}

static const struct value *member(const struct value *v, const char *key, enum value_type type)
{
    if (!v || v->type != VALUE_MAP)
        return NULL;
    const struct value *m = value_map_get(&v->as.map, key, strlen(key));
    return m && m->type == type ? m : NULL;
}

const char *k8s_object_meta(const struct value *object, const char *key)
{
    const struct value *s = member(member(object, "metadata", VALUE_MAP), key, VALUE_STRING);
    return s && s->as.string.len > 0 ? s->as.string.ptr : NULL;
}

static const struct {
    const char *name;
    enum k8s_event_type type;
} event_types[] = {
    {"ADDED", K8S_EVENT_ADDED},     {"MODIFIED", K8S_EVENT_MODIFIED},
    {"DELETED", K8S_EVENT_DELETED}, {"BOOKMARK", K8S_EVENT_BOOKMARK},
    {"ERROR", K8S_EVENT_ERROR},
};

static int event_type_of(const struct value *type, enum k8s_event_type *out)
{
    for (size_t i = 0; i < sizeof event_types / sizeof event_types[0]; i++) {
        if (strcmp(type->as.string.ptr, event_types[i].name) == 0) {
            *out = event_types[i].type;
            return 0;
        }
    }
    return -1;
}

int k8s_event_decode(const char *line, size_t len, struct k8s_event *out, char **error)
{
    memset(out, 0, sizeof *out);
    struct value doc;
    if (json_parse(line, len, &doc, error) != 0)
        return -1;
    const struct value *type = member(&doc, "type", VALUE_STRING);
    const char *problem = NULL;
    if (!type)
        problem = "event without a \"type\" string";
    else if (event_type_of(type, &out->type) != 0)
        problem = "event of an unknown \"type\"";
    else if (!member(&doc, "object", VALUE_MAP))
        problem = "event without an \"object\"";
    if (problem) {
        *error = xstrdup(problem);
        value_free(&doc);
        return -1;
    }
    value_map_take(&doc.as.map, "object", strlen("object"), &out->object);
    value_free(&doc);
    if (out->type == K8S_EVENT_ERROR) {
        const struct value *code = member(&out->object, "code", VALUE_INT);
        out->code = code ? (long)code->as.integer : 0;
    }
    const char *rv = k8s_object_meta(&out->object, "resourceVersion");
    out->resource_version = rv ? xstrdup(rv) : NULL;
    return 0;
}

void k8s_event_free(struct k8s_event *ev)
{
    value_free(&ev->object);
    free(ev->resource_version);
    ev->resource_version = NULL;
}

int k8s_list_decode(const char *body, size_t len, struct value *items, char **resource_version,
                    char **error)
{
    *items = value_null();
    *resource_version = NULL;
    struct value doc;
    if (json_parse(body, len, &doc, error) != 0)
        return -1;
    if (!member(&doc, "items", VALUE_ARRAY)) {
        /* An empty list may come as "items": null. */
        const struct value *null_items = member(&doc, "items", VALUE_NULL);
        if (!null_items) {
            *error = xstrdup("list without an \"items\" array");
            value_free(&doc);
            return -1;
        }
        *items = value_array_new();
    } else {
        value_map_take(&doc.as.map, "items", strlen("items"), items);
    }
    const char *rv = k8s_object_meta(&doc, "resourceVersion");
    *resource_version = rv ? xstrdup(rv) : NULL;
    value_free(&doc);
    return 0;
}
