/* Building the tree of the configuration `skiff --convert` writes (see
 * convert_out.h). Not for writing it: convert_emit.c does. */
#include "convert_out.h"

#include "xalloc.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static struct out_node *node_new(enum out_type type)
{
    struct out_node *node = xcalloc(1, sizeof *node);
    node->type = type;
    return node;
}

struct out_node *out_map(void)
{
    return node_new(OUT_MAP);
}

struct out_node *out_list(void)
{
    return node_new(OUT_LIST);
}

struct out_node *out_string(const char *text)
{
    struct out_node *node = node_new(OUT_SCALAR);
    node->text = xstrdup(text);
    return node;
}

struct out_node *out_raw(const char *text)
{
    struct out_node *node = out_string(text);
    node->raw = true;
    return node;
}

/* A comment is one line of what YAML can hold. */
static void one_line(char *text)
{
    for (char *p = text; *p; p++) {
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    }
    out_printable(text);
}

struct out_node *out_comment(const char *fmt, ...)
{
    struct out_node *node = node_new(OUT_COMMENT);
    va_list ap;
    va_start(ap, fmt);
    node->text = xvasprintf(fmt, ap);
    va_end(ap);
    one_line(node->text);
    return node;
}

void out_free(struct out_node *node)
{
    if (!node)
        return;
    for (size_t i = 0; i < node->count; i++) {
        free(node->entries[i].key);
        out_free(node->entries[i].node);
    }
    free(node->entries);
    free(node->text);
    free(node->note);
    free(node);
}

void out_set_source(struct out_node *node, const char *file, unsigned line)
{
    node->file = file;
    node->line = line;
}

void out_set_note(struct out_node *node, const char *fmt, ...)
{
    free(node->note);
    va_list ap;
    va_start(ap, fmt);
    node->note = xvasprintf(fmt, ap);
    va_end(ap);
    one_line(node->note);
}

static void add_entry(struct out_node *node, char *key, struct out_node *child, size_t index)
{
    node->entries = xgrow(node->entries, &node->cap, node->count + 1, sizeof *node->entries);
    memmove(&node->entries[index + 1], &node->entries[index],
            (node->count - index) * sizeof *node->entries);
    node->entries[index] = (struct out_entry){.key = key, .node = child};
    node->count++;
}

static struct out_entry *find(const struct out_node *map, const char *key, size_t len)
{
    for (size_t i = 0; map && map->type == OUT_MAP && i < map->count; i++) {
        const char *k = map->entries[i].key;
        if (k && strlen(k) == len && memcmp(k, key, len) == 0)
            return &map->entries[i];
    }
    return NULL;
}

void out_map_set(struct out_node *map, const char *path, struct out_node *node)
{
    const char *dot = strchr(path, '.');
    if (dot) {
        size_t len = (size_t)(dot - path);
        struct out_entry *e = find(map, path, len);
        if (!e || e->node->type != OUT_MAP) {
            struct out_node *sub = out_map();
            out_set_source(sub, node->file, node->line);
            if (e) {
                out_free(e->node);
                e->node = sub;
            } else {
                add_entry(map, xstrndup(path, len), sub, map->count);
            }
            e = find(map, path, len);
        }
        out_map_set(e->node, dot + 1, node);
        return;
    }
    out_map_put(map, path, node);
}

void out_map_put(struct out_node *map, const char *key, struct out_node *node)
{
    struct out_entry *e = find(map, key, strlen(key));
    if (e) {
        out_free(e->node);
        e->node = node;
        return;
    }
    add_entry(map, xstrdup(key), node, map->count);
}

bool out_map_remove(struct out_node *map, const char *key)
{
    struct out_entry *e = find(map, key, strlen(key));
    if (!e)
        return false;
    size_t index = (size_t)(e - map->entries);
    free(e->key);
    out_free(e->node);
    memmove(e, e + 1, (map->count - index - 1) * sizeof *e);
    map->count--;
    return true;
}

struct out_node *out_map_get(const struct out_node *map, const char *path)
{
    const char *dot = strchr(path, '.');
    struct out_entry *e = find(map, path, dot ? (size_t)(dot - path) : strlen(path));
    if (!e)
        return NULL;
    return dot ? out_map_get(e->node, dot + 1) : e->node;
}

struct out_node *out_map_list(struct out_node *map, const char *path)
{
    struct out_node *list = out_map_get(map, path);
    if (list && list->type == OUT_LIST)
        return list;
    list = out_list();
    out_map_set(map, path, list);
    return list;
}

void out_map_comment(struct out_node *map, struct out_node *comment)
{
    add_entry(map, NULL, comment, map->count);
}

void out_list_add(struct out_node *list, struct out_node *node)
{
    add_entry(list, NULL, node, list->count);
}

void out_list_insert(struct out_node *list, size_t index, struct out_node *node)
{
    add_entry(list, NULL, node, index < list->count ? index : list->count);
}

size_t out_count(const struct out_node *node)
{
    size_t n = 0;
    for (size_t i = 0; i < node->count; i++)
        n += node->entries[i].node->type != OUT_COMMENT && !node->entries[i].node->hidden;
    return n;
}
