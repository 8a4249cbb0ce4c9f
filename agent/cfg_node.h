/* The configuration file as a tree of YAML nodes with their positions, after
 * ${VAR} substitution. Everything that validates the config works on this tree
 * so that each message can name file, line and column. */
#ifndef SKIFF_CFG_NODE_H
#define SKIFF_CFG_NODE_H

#include <stdbool.h>
#include <stddef.h>

struct diag_list;

enum cfg_node_type { CFG_SCALAR, CFG_MAP, CFG_SEQ };

struct cfg_pair;

struct cfg_node {
    enum cfg_node_type type;
    const char *file; /* shared by all nodes of one document */
    unsigned line;    /* 1-based, from libyaml's start mark */
    unsigned column;  /* 1-based */
    /* CFG_SCALAR */
    char *scalar; /* NUL-terminated, after ${VAR} substitution */
    size_t scalar_len;
    bool plain; /* unquoted: `~`, `null` and empty mean no value */
    /* CFG_MAP */
    struct cfg_pair *pairs;
    /* CFG_SEQ */
    struct cfg_node **items;
    size_t count; /* pairs or items */
};

struct cfg_pair {
    struct cfg_node *key; /* always a scalar */
    struct cfg_node *value;
};

/* Parses a YAML document. Anchors and aliases are rejected, duplicate keys in
 * a map are errors, a document that is not a map at the top is an error.
 * Environment references in scalars are replaced: ${VAR}, ${VAR:-default};
 * `$$` stands for a literal `$`. An unset variable without default is an error
 * at the scalar's position. Returns the root, or NULL with the problems in
 * `diags`. */
struct cfg_node *cfg_parse_file(const char *path, struct diag_list *diags);
struct cfg_node *cfg_parse_string(const char *name, const char *text, size_t len,
                                  struct diag_list *diags);
void cfg_node_free(struct cfg_node *root);

/* Map lookup; NULL if `map` is not a map or has no such key. */
const struct cfg_node *cfg_map_get(const struct cfg_node *map, const char *key);
/* True for a plain scalar that is empty, `~` or `null`. */
bool cfg_is_null(const struct cfg_node *node);
const char *cfg_type_name(enum cfg_node_type type);

#endif
