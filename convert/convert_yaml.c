/* The reader of Fluent Bit's YAML configuration format for `skiff --convert`
 * (Fluent Bit's src/config_format/flb_cf_yaml.c): `env` (variables, as @SET),
 * `includes` (paths relative to the including file, globs allowed),
 * `service`, `pipeline` with `inputs`, `filters` and `outputs`, `parsers`
 * and `multiline_parsers` (their `rules` as groups); any other top-level key
 * is kept as a section the converter reports. A list value is the key
 * repeated (`add: [a 1, b 2]` is two `add` lines); a map value is a group.
 * No ${VAR} is replaced here: convert_value.c keeps them for skiff. */
#include "convert_model.h"

#include "xalloc.h"

#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <yaml.h>

#define YAML_MAX_DEPTH 64
#define YAML_MAX_FILES 1000

struct ynode {
    enum { Y_SCALAR, Y_MAP, Y_SEQ } type;
    char *text; /* Y_SCALAR */
    unsigned line;
    struct ynode **items; /* Y_MAP: key, value, key, value...; Y_SEQ: the items */
    size_t count, cap;
};

struct yaml_reader {
    struct fb_config *config;
    bool parsers_file;
    size_t files;
    dev_t devs[YAML_MAX_FILES];
    ino_t inos[YAML_MAX_FILES];
};

struct yaml_doc {
    yaml_parser_t parser;
    const char *file;
    struct fb_config *config;
    bool failed;
};

static void ynode_free(struct ynode *node)
{
    if (!node)
        return;
    for (size_t i = 0; i < node->count; i++)
        ynode_free(node->items[i]);
    free(node->items);
    free(node->text);
    free(node);
}

static void ynode_add(struct ynode *parent, struct ynode *child)
{
    parent->items = xgrow(parent->items, &parent->cap, parent->count + 1, sizeof *parent->items);
    parent->items[parent->count++] = child;
}

static void doc_error(struct yaml_doc *d, unsigned line, const char *what)
{
    if (!d->failed)
        fb_config_error(d->config, d->file, line, "%s", what);
    d->failed = true;
}

static bool next_event(struct yaml_doc *d, yaml_event_t *event)
{
    if (yaml_parser_parse(&d->parser, event))
        return true;
    char *what =
        xasprintf("YAML: %s%s%s", d->parser.problem ? d->parser.problem : "syntax error",
                  d->parser.context ? " " : "", d->parser.context ? d->parser.context : "");
    doc_error(d, (unsigned)d->parser.problem_mark.line + 1, what);
    free(what);
    return false;
}

static struct ynode *parse_node(struct yaml_doc *d, yaml_event_t *event, unsigned depth);

/* Reads the items of a mapping or sequence up to its end event. */
static struct ynode *parse_collection(struct yaml_doc *d, struct ynode *node, yaml_event_type_t end,
                                      unsigned depth)
{
    for (;;) {
        yaml_event_t event;
        if (!next_event(d, &event)) {
            ynode_free(node);
            return NULL;
        }
        if (event.type == end) {
            yaml_event_delete(&event);
            return node;
        }
        struct ynode *child = parse_node(d, &event, depth + 1);
        yaml_event_delete(&event);
        if (!child) {
            ynode_free(node);
            return NULL;
        }
        ynode_add(node, child);
    }
}

static struct ynode *parse_node(struct yaml_doc *d, yaml_event_t *event, unsigned depth)
{
    unsigned line = (unsigned)event->start_mark.line + 1;
    if (depth > YAML_MAX_DEPTH) {
        doc_error(d, line, "YAML nested too deep");
        return NULL;
    }
    struct ynode *node = xcalloc(1, sizeof *node);
    node->line = line;
    switch (event->type) {
    case YAML_SCALAR_EVENT:
        node->type = Y_SCALAR;
        node->text = xstrndup((const char *)event->data.scalar.value, event->data.scalar.length);
        return node;
    case YAML_MAPPING_START_EVENT:
        node->type = Y_MAP;
        return parse_collection(d, node, YAML_MAPPING_END_EVENT, depth);
    case YAML_SEQUENCE_START_EVENT:
        node->type = Y_SEQ;
        return parse_collection(d, node, YAML_SEQUENCE_END_EVENT, depth);
    default:
        free(node);
        doc_error(d, line, "YAML aliases (*name) are not read: write the value");
        return NULL;
    }
}

/* The document's root node, NULL for an empty file or after an error. */
static struct ynode *parse_document(struct yaml_doc *d)
{
    yaml_event_t event;
    struct ynode *root = NULL;
    while (!d->failed && next_event(d, &event)) {
        yaml_event_type_t type = event.type;
        if (type == YAML_MAPPING_START_EVENT || type == YAML_SEQUENCE_START_EVENT ||
            type == YAML_SCALAR_EVENT || type == YAML_ALIAS_EVENT) {
            if (root)
                doc_error(d, (unsigned)event.start_mark.line + 1,
                          "more than one YAML document in the file");
            else
                root = parse_node(d, &event, 0);
        }
        yaml_event_delete(&event);
        if (type == YAML_STREAM_END_EVENT)
            break;
    }
    if (d->failed) {
        ynode_free(root);
        return NULL;
    }
    return root;
}

static int read_path(struct yaml_reader *r, const char *path, const char *from, unsigned from_line);

/* A value of a plugin, service or parser: a scalar is one property, a list
 * of scalars the key repeated, a map (or a list of maps) a group. */
static void add_value(struct fb_section *s, const struct ynode *key, const struct ynode *value,
                      const char *file)
{
    if (value->type == Y_SCALAR) {
        fb_section_add_prop(s, key->text, strlen(key->text), value->text, strlen(value->text), file,
                            key->line);
        return;
    }
    const struct ynode *const *items = (const struct ynode *const *)value->items;
    size_t count = value->type == Y_SEQ ? value->count : 1;
    for (size_t i = 0; i < count; i++) {
        const struct ynode *item = value->type == Y_SEQ ? items[i] : value;
        if (item->type == Y_SCALAR) {
            fb_section_add_prop(s, key->text, strlen(key->text), item->text, strlen(item->text),
                                file, item->line);
            continue;
        }
        unsigned line = value->type == Y_SEQ ? item->line : key->line;
        struct fb_section *group =
            fb_section_add_group(s, key->text, strlen(key->text), file, line);
        for (size_t k = 0; item->type == Y_MAP && k + 1 < item->count; k += 2) {
            if (item->items[k]->type == Y_SCALAR)
                add_value(group, item->items[k], item->items[k + 1], file);
        }
    }
}

static void add_section(struct yaml_reader *r, const char *name, const struct ynode *map,
                        const char *file)
{
    size_t index = fb_config_add_section(r->config, name, strlen(name), file, map->line);
    struct fb_section *s = &r->config->sections[index];
    s->from_parsers_file = r->parsers_file;
    for (size_t k = 0; map->type == Y_MAP && k + 1 < map->count; k += 2) {
        if (map->items[k]->type == Y_SCALAR)
            add_value(s, map->items[k], map->items[k + 1], file);
    }
}

/* `parsers:`, `multiline_parsers:` and the pipeline's lists: one section
 * per item. */
static void add_list(struct yaml_reader *r, const char *name, const struct ynode *list,
                     const char *file)
{
    if (list->type != Y_SEQ) {
        fb_config_error(r->config, file, list->line, "'%s' must be a list", name);
        return;
    }
    for (size_t i = 0; i < list->count; i++) {
        if (list->items[i]->type != Y_MAP)
            fb_config_error(r->config, file, list->items[i]->line,
                            "each item of '%s' must be a map", name);
        else
            add_section(r, name, list->items[i], file);
    }
}

static void add_pipeline(struct yaml_reader *r, const struct ynode *map, const char *file)
{
    static const char *const lists[][2] = {
        {"inputs", "input"}, {"filters", "filter"}, {"outputs", "output"}};
    for (size_t k = 0; map->type == Y_MAP && k + 1 < map->count; k += 2) {
        const struct ynode *key = map->items[k];
        size_t known = 0;
        while (known < 3 && (key->type != Y_SCALAR || strcasecmp(key->text, lists[known][0])))
            known++;
        if (known < 3)
            add_list(r, lists[known][1], map->items[k + 1], file);
        else
            add_section(r, key->type == Y_SCALAR ? key->text : "pipeline", map->items[k + 1], file);
    }
}

static void add_env(struct yaml_reader *r, const struct ynode *env, const char *file)
{
    for (size_t k = 0; env->type == Y_MAP && k + 1 < env->count; k += 2) {
        const struct ynode *key = env->items[k], *value = env->items[k + 1];
        if (key->type == Y_SCALAR && value->type == Y_SCALAR)
            fb_config_set_var(r->config, key->text, strlen(key->text), value->text,
                              strlen(value->text));
        else
            fb_config_error(r->config, file, key->line, "env: each value must be a scalar");
    }
    for (size_t i = 0; env->type == Y_SEQ && i < env->count; i++) {
        const struct ynode *item = env->items[i];
        const char *name = NULL, *value = NULL;
        for (size_t k = 0; item->type == Y_MAP && k + 1 < item->count; k += 2) {
            const struct ynode *key = item->items[k], *v = item->items[k + 1];
            if (key->type == Y_SCALAR && v->type == Y_SCALAR && !strcasecmp(key->text, "name"))
                name = v->text;
            else if (key->type == Y_SCALAR && v->type == Y_SCALAR &&
                     !strcasecmp(key->text, "value"))
                value = v->text;
        }
        if (name && value)
            fb_config_set_var(r->config, name, strlen(name), value, strlen(value));
        else
            fb_config_error(r->config, file, item->line, "env: each item needs name and value");
    }
}

static void add_includes(struct yaml_reader *r, const struct ynode *list, const char *file)
{
    const char *slash = strrchr(file, '/');
    int dir_len = slash ? (int)(slash - file) : 0;
    for (size_t i = 0; list->type == Y_SEQ && i < list->count; i++) {
        const struct ynode *item = list->items[i];
        if (item->type != Y_SCALAR) {
            fb_config_error(r->config, file, item->line, "includes: each item must be a path");
            continue;
        }
        char *path = item->text[0] == '/' || !slash
                         ? xstrdup(item->text)
                         : xasprintf("%.*s/%s", dir_len, file, item->text);
        read_path(r, path, file, item->line);
        free(path);
    }
    if (list->type != Y_SEQ)
        fb_config_error(r->config, file, list->line, "includes: must be a list of paths");
}

static void add_top_level(struct yaml_reader *r, const struct ynode *root, const char *file)
{
    for (size_t k = 0; k + 1 < root->count; k += 2) {
        const struct ynode *key = root->items[k], *value = root->items[k + 1];
        const char *name = key->type == Y_SCALAR ? key->text : "?";
        if (!strcasecmp(name, "env"))
            add_env(r, value, file);
        else if (!strcasecmp(name, "includes"))
            add_includes(r, value, file);
        else if (!strcasecmp(name, "pipeline"))
            add_pipeline(r, value, file);
        else if (!strcasecmp(name, "parsers"))
            add_list(r, "parser", value, file);
        else if (!strcasecmp(name, "multiline_parsers"))
            add_list(r, "multiline_parser", value, file);
        else
            add_section(r, name, value, file);
    }
}

static int read_text(struct yaml_reader *r, const char *file, const char *text, size_t len)
{
    struct yaml_doc d = {.file = file, .config = r->config};
    if (!yaml_parser_initialize(&d.parser)) {
        fb_config_error(r->config, file, 0, "cannot start the YAML parser");
        return -1;
    }
    yaml_parser_set_input_string(&d.parser, (const unsigned char *)text, len);
    struct ynode *root = parse_document(&d);
    yaml_parser_delete(&d.parser);
    if (d.failed)
        return -1;
    if (root && root->type != Y_MAP) {
        fb_config_error(r->config, file, root->line, "the top of the file must be a map");
        ynode_free(root);
        return -1;
    }
    if (root)
        add_top_level(r, root, file);
    ynode_free(root);
    return 0;
}

static int read_one(struct yaml_reader *r, const char *path, const char *from, unsigned from_line)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        for (size_t i = 0; i < r->files; i++) {
            if (r->devs[i] == st.st_dev && r->inos[i] == st.st_ino) {
                fb_config_error(r->config, from ? from : path, from_line,
                                "%s: included twice (a file may be read once)", path);
                return -1;
            }
        }
        if (r->files == YAML_MAX_FILES) {
            fb_config_error(r->config, from ? from : path, from_line,
                            "%s: more than %d files to read", path, YAML_MAX_FILES);
            return -1;
        }
        r->devs[r->files] = st.st_dev;
        r->inos[r->files++] = st.st_ino;
    }
    char *error = NULL;
    size_t len = 0;
    char *text = fb_read_whole(path, &len, &error);
    if (!text) {
        fb_config_error(r->config, from ? from : path, from_line, "%s%s%s", from ? path : "",
                        from ? ": " : "", error);
        free(error);
        return -1;
    }
    int rc = read_text(r, fb_config_file(r->config, path), text, len);
    free(text);
    return rc;
}

static int read_path(struct yaml_reader *r, const char *path, const char *from, unsigned from_line)
{
    if (r->config->no_files) {
        fb_config_error(r->config, from, from_line, "includes: files are not read here");
        return -1;
    }
    if (!strchr(path, '*'))
        return read_one(r, path, from, from_line);
    glob_t found;
    if (glob(path, 0, NULL, &found) != 0) {
        fb_config_error(r->config, from, from_line, "includes: %s: no file matches", path);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < found.gl_pathc && rc == 0; i++)
        rc = read_one(r, found.gl_pathv[i], from, from_line);
    globfree(&found);
    return rc;
}

int fb_read_yaml_file(struct fb_config *config, const char *path, bool parsers_file)
{
    struct yaml_reader *r = xcalloc(1, sizeof *r);
    r->config = config;
    r->parsers_file = parsers_file;
    int rc = read_one(r, path, NULL, 0);
    free(r);
    return rc;
}

int fb_read_yaml_text(struct fb_config *config, const char *name, const char *text, size_t len,
                      bool parsers_file)
{
    struct yaml_reader *r = xcalloc(1, sizeof *r);
    r->config = config;
    r->parsers_file = parsers_file;
    int rc = read_text(r, fb_config_file(config, name), text, len);
    free(r);
    return rc;
}
