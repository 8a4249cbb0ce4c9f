/* The skiff configuration `skiff --convert` writes, as a tree of YAML maps,
 * lists, scalars and comments in the order they are written, each with the
 * Fluent Bit file and line it came from; convert_emit.c writes it out. */
#ifndef SKIFF_CONVERT_OUT_H
#define SKIFF_CONVERT_OUT_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>

enum out_type { OUT_SCALAR, OUT_MAP, OUT_LIST, OUT_COMMENT };

struct out_entry;

struct out_node {
    enum out_type type;
    char *text;  /* OUT_SCALAR: the value; OUT_COMMENT: the comment's text */
    bool raw;    /* OUT_SCALAR: written as it is (numbers, booleans, units) */
    char *note;  /* a comment at the end of the node's first line */
    bool hidden; /* written as comment lines: kept for the reader, not loaded */
    const char *file;
    unsigned line;
    struct out_entry *entries; /* OUT_MAP: keyed; OUT_LIST: key NULL */
    size_t count, cap;
};

struct out_entry {
    char *key;
    struct out_node *node;
};

struct out_node *out_map(void);
struct out_node *out_list(void);
/* A string, quoted when written if YAML would read it otherwise. */
struct out_node *out_string(const char *text);
/* Text written as it is: `true`, `5MB`, `-1`. */
struct out_node *out_raw(const char *text);
struct out_node *out_comment(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void out_free(struct out_node *node);

void out_set_source(struct out_node *node, const char *file, unsigned line);
void out_set_note(struct out_node *node, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Sets `key` of a map, replacing the node of an entry with that key where
 * it is; `path` may name a nested map (`tls.verify`), created as needed. */
void out_map_set(struct out_node *map, const char *path, struct out_node *node);
struct out_node *out_map_get(const struct out_node *map, const char *path);
/* Sets `key` as it is (a record field may have dots in its name). */
void out_map_put(struct out_node *map, const char *key, struct out_node *node);
bool out_map_remove(struct out_node *map, const char *key);
/* The list at `path`, created empty if missing. */
struct out_node *out_map_list(struct out_node *map, const char *path);
/* Appends a comment (or any node without a key) to a map. */
void out_map_comment(struct out_node *map, struct out_node *comment);
void out_list_add(struct out_node *list, struct out_node *node);
void out_list_insert(struct out_node *list, size_t index, struct out_node *node);
/* Entries that are not comments. */
size_t out_count(const struct out_node *node);

/* Where each written line came from: lines[n - 1] for line n. */
struct out_lines {
    const char **files;
    unsigned *lines;
    size_t count, cap;
};

/* Writes the tree as a YAML document (convert_emit.c). */
void out_emit(const struct out_node *root, struct buf *text, struct out_lines *lines);
void out_lines_free(struct out_lines *lines);
/* Replaces in place what a YAML comment cannot hold (control characters,
 * bytes that are not UTF-8) by '?'. */
void out_printable(char *text);
/* True if `text` must be quoted to be read back as this string. */
bool out_needs_quotes(const char *text);

#endif
