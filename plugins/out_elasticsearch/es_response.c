/* `_bulk` responses (see es_response.h): the public reader, which tries the
 * streaming scan (es_response_scan.c) first, and the value-tree reader that
 * takes what the scan declines: bodies that are not bulk responses, and
 * rare shapes (duplicate keys, escaped keys, deep nesting). The tree reader
 * words every error and is the reference the fuzz target holds the scan to;
 * it allocates every value of the body, which the scan does not. */
#include "es_response_internal.h"

#include "json_parse.h"
#include "value.h"
#include "xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How much of a body that is not JSON goes into the message. */
#define ES_RESPONSE_EXCERPT 40

static int fail(char **error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(char **error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *message = xvasprintf(fmt, ap);
    va_end(ap);
    if (strlen(message) >= ES_RESPONSE_ERROR_SIZE)
        message[ES_RESPONSE_ERROR_SIZE - 1] = '\0'; /* a server's text can be long */
    *error = message;
    return -1;
}

/* The start of the body with control bytes and non-ASCII as '?', so that a
 * proxy's HTML page shows what it is in the log. */
static void excerpt(const char *text, size_t len, char out[ES_RESPONSE_EXCERPT + 1])
{
    size_t n = len < ES_RESPONSE_EXCERPT ? len : ES_RESPONSE_EXCERPT;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    out[n] = '\0';
}

static const struct value *member(const struct value *object, const char *key)
{
    if (object->type != VALUE_MAP)
        return NULL;
    return value_map_get(&object->as.map, key, strlen(key));
}

/* What items without an error point to: nothing to allocate or free. */
static const char no_text[] = "";

/* The string up to its first NUL (as xstrndup), or no_text. */
static const char *string_or_empty(const struct value *v)
{
    if (v && v->type == VALUE_STRING && v->as.string.len && v->as.string.ptr[0])
        return xstrndup(v->as.string.ptr, v->as.string.len);
    return no_text;
}

/* Elasticsearch's IngestService: "pipeline with id [x] does not exist". */
static bool pipeline_missing(const char *type, const char *reason)
{
    return strcmp(type, "illegal_argument_exception") == 0 &&
           strncmp(reason, "pipeline with id [", 18) == 0 && strstr(reason, "] does not exist");
}

/* 401 and 403 are privileges (security_exception on Elasticsearch and
 * OpenSearch), except a write block on the index (cluster_block_exception
 * FORBIDDEN/8), which is about that index only: rejected, so that one
 * blocked index does not hold every other record. */
static enum es_item_class classify(const struct es_item *item, bool create)
{
    int status = item->status;
    if (status >= 200 && status < 300)
        return ES_ITEM_OK;
    if (status == 409 && create)
        return ES_ITEM_ALREADY_EXISTS;
    if ((status == 401 || status == 403) &&
        strcmp(item->error_type, "cluster_block_exception") != 0)
        return ES_ITEM_HELD;
    if (status >= 400 && status < 500 && pipeline_missing(item->error_type, item->error_reason))
        return ES_ITEM_HELD;
    if (status >= 400 && status < 500 && status != 429)
        return ES_ITEM_REJECTED;
    return ES_ITEM_RETRY;
}

void es_item_finish(struct es_item *item, bool create, const struct value *error)
{
    if (error && error->type == VALUE_STRING) {
        item->error_type = no_text;
        item->error_reason = string_or_empty(error);
    } else {
        item->error_type = string_or_empty(error ? member(error, "type") : NULL);
        item->error_reason = string_or_empty(error ? member(error, "reason") : NULL);
    }
    item->class = classify(item, create);
}

/* An item is {"<op>":{"status":N,...}} with exactly one operation. */
static int read_item(const struct value *v, size_t i, struct es_item *item, char **error)
{
    if (v->type != VALUE_MAP || v->as.map.count != 1)
        return fail(error, "bulk response: item %zu is not an object with one operation", i);
    const struct map_entry *op = &v->as.map.entries[0];
    const struct value *status = member(&op->value, "status");
    if (!status || status->type != VALUE_INT || status->as.integer < 100 ||
        status->as.integer > 599)
        return fail(error, "bulk response: item %zu has no valid status", i);
    item->status = (int)status->as.integer;
    bool create = op->key.len == 6 && memcmp(op->key.ptr, "create", 6) == 0;
    es_item_finish(item, create, member(&op->value, "error"));
    return 0;
}

/* A body with "error" and no "items" is a whole-request error; its type and
 * reason say more than "no items". */
static int fail_no_items(const struct value *root, char **error)
{
    const struct value *err = member(root, "error");
    const struct value *type = err ? member(err, "type") : NULL;
    const struct value *reason = err ? member(err, "reason") : NULL;
    if (type && type->type == VALUE_STRING)
        return fail(error, "bulk response has no items: %s: %s", type->as.string.ptr,
                    reason && reason->type == VALUE_STRING ? reason->as.string.ptr : "");
    return fail(error, "bulk response has no items");
}

static int read_items(const struct value *root, size_t expected, struct es_response *out,
                      char **error)
{
    const struct value *items = member(root, "items");
    if (!items || items->type != VALUE_ARRAY)
        return fail_no_items(root, error);
    if (items->as.array.count != expected)
        return fail(error, "bulk response has %u items for %zu records", items->as.array.count,
                    expected);
    out->items = xcalloc(expected ? expected : 1, sizeof *out->items);
    for (size_t i = 0; i < expected; i++) {
        if (read_item(&items->as.array.items[i], i, &out->items[i], error) < 0)
            return -1;
        out->count++;
        out->counts[out->items[i].class]++;
    }
    return 0;
}

int es_response_parse(const char *text, size_t len, size_t expected_items, struct es_response *out,
                      char **error)
{
    if (es_response_scan(text, len, expected_items, out) == 0)
        return 0;
    return es_response_parse_tree(text, len, expected_items, out, error);
}

int es_response_parse_tree(const char *text, size_t len, size_t expected_items,
                           struct es_response *out, char **error)
{
    *out = (struct es_response){0};
    struct value root;
    char *parse_error = NULL;
    if (json_parse(text, len, &root, &parse_error) < 0) {
        char start[ES_RESPONSE_EXCERPT + 1];
        excerpt(text, len, start);
        fail(error, "bulk response is not JSON (%s): \"%s\"", parse_error, start);
        free(parse_error);
        return -1;
    }
    int rc = root.type == VALUE_MAP ? read_items(&root, expected_items, out, error)
                                    : fail(error, "bulk response is not a JSON object");
    value_free(&root);
    if (rc < 0)
        es_response_free(out);
    return rc;
}

void es_response_free(struct es_response *response)
{
    for (size_t i = 0; i < response->count; i++) {
        if (response->items[i].error_type != no_text)
            free((char *)response->items[i].error_type);
        if (response->items[i].error_reason != no_text)
            free((char *)response->items[i].error_reason);
    }
    free(response->items);
    *response = (struct es_response){0};
}

const char *es_item_class_name(enum es_item_class class)
{
    static const char *const names[ES_ITEM_CLASS_COUNT] = {"ok", "already_exists", "retry", "held",
                                                           "rejected"};
    return names[class];
}

static const char *string_member(const struct value *object, const char *key)
{
    const struct value *v = object ? member(object, key) : NULL;
    return v && v->type == VALUE_STRING ? v->as.string.ptr : NULL;
}

/* "type: reason" of an error object; false if it has no type. */
static bool append_error(struct buf *out, const struct value *err)
{
    const char *type = string_member(err, "type");
    const char *reason = string_member(err, "reason");
    if (!type)
        return false;
    buf_printf(out, "%s: %s", type, reason ? reason : "no reason given");
    return true;
}

static bool append_request_error(struct buf *out, const struct value *root)
{
    const struct value *err = member(root, "error");
    if (err && err->type == VALUE_STRING) {
        buf_append(out, err->as.string.ptr, err->as.string.len);
        return true;
    }
    if (!err || err->type != VALUE_MAP)
        return false;
    const struct value *causes = member(err, "root_cause");
    const struct value *first = causes && causes->type == VALUE_ARRAY && causes->as.array.count
                                    ? &causes->as.array.items[0]
                                    : NULL;
    size_t mark = out->len;
    bool have_cause = first && append_error(out, first);
    const char *type = string_member(err, "type");
    const char *reason = string_member(err, "reason");
    const char *cause_type = string_member(first, "type");
    const char *cause_reason = string_member(first, "reason");
    bool same = have_cause && type && reason && cause_type && cause_reason &&
                strcmp(type, cause_type) == 0 && strcmp(reason, cause_reason) == 0;
    if (same)
        return true;
    if (have_cause)
        buf_append_str(out, " (");
    if (!append_error(out, err)) {
        out->len = mark;
        return have_cause && append_error(out, first);
    }
    if (have_cause)
        buf_append_byte(out, ')');
    return true;
}

void es_response_request_error(const char *text, size_t len, struct buf *out)
{
    struct value root;
    bool done = false;
    if (json_parse(text, len, &root, NULL) == 0) {
        done = root.type == VALUE_MAP && append_request_error(out, &root);
        value_free(&root);
    }
    if (!done) {
        char start[ES_RESPONSE_EXCERPT + 1];
        excerpt(text, len, start);
        buf_append_str(out, len ? start : "empty body");
    }
    buf_cstr(out);
}
