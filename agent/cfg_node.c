/* The config file's YAML as a tree of positioned nodes (see cfg_node.h), built
 * from libyaml's event stream with ${VAR} references replaced. Not for giving
 * the nodes meaning: options.c and config.c validate the tree. */
#include "cfg_node.h"

#include "buf.h"
#include "diag.h"
#include "xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* No real config nests this deep; the limit bounds recursion on hostile input. */
enum { MAX_DEPTH = 64 };

struct cfg_parser {
    yaml_parser_t yaml;
    char *file; /* owned by the root node once parsing succeeds */
    struct diag_list *diags;
};

static struct cfg_node *parse_node(struct cfg_parser *p, yaml_event_t *event, unsigned depth);

static struct cfg_node position_at(const struct cfg_parser *p, yaml_mark_t mark)
{
    struct cfg_node at = {
        .type = CFG_SCALAR,
        .file = p->file,
        .line = (unsigned)mark.line + 1,
        .column = (unsigned)mark.column + 1,
    };
    return at;
}

static struct cfg_node *node_new(const struct cfg_parser *p, enum cfg_node_type type,
                                 yaml_mark_t mark)
{
    struct cfg_node *node = xcalloc(1, sizeof *node);
    *node = position_at(p, mark);
    node->type = type;
    return node;
}

/* Frees a node and its children, but not the file name they share. */
static void node_free(struct cfg_node *node)
{
    if (!node)
        return;
    for (size_t i = 0; i < node->count; i++) {
        if (node->type == CFG_MAP) {
            node_free(node->pairs[i].key);
            node_free(node->pairs[i].value);
        } else if (node->type == CFG_SEQ) {
            node_free(node->items[i]);
        }
    }
    free(node->pairs);
    free(node->items);
    free(node->scalar);
    free(node);
}

static void report_syntax_error(struct cfg_parser *p)
{
    const yaml_parser_t *y = &p->yaml;
    const char *problem = y->problem ? y->problem : "out of memory";

    if (y->error == YAML_READER_ERROR) {
        diag_add(p->diags, NULL, "%s: YAML syntax error: %s at byte %zu", p->file, problem,
                 y->problem_offset);
        return;
    }
    struct cfg_node at = position_at(p, y->problem_mark);
    if (y->context)
        diag_add(p->diags, &at, "YAML syntax error: %s (%s)", problem, y->context);
    else
        diag_add(p->diags, &at, "YAML syntax error: %s", problem);
}

static int next_event(struct cfg_parser *p, yaml_event_t *event)
{
    if (yaml_parser_parse(&p->yaml, event))
        return 0;
    report_syntax_error(p);
    return -1;
}

static bool is_env_name(const char *name, size_t len)
{
    if (len == 0 || (name[0] >= '0' && name[0] <= '9'))
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

/* Appends the value of one reference, the text between `${` and `}`. As in the
 * shell, `:-default` also applies when the variable is set but empty. */
static int env_append(const char *ref, size_t len, struct buf *out, const struct cfg_node *at,
                      struct diag_list *diags)
{
    const char *sep = memmem(ref, len, ":-", 2);
    size_t name_len = sep ? (size_t)(sep - ref) : len;

    if (!is_env_name(ref, name_len)) {
        /* Not quoted: the text may be a password with a '${' in it. */
        diag_add(diags, at,
                 "invalid environment variable name after '${' (letters, digits and '_', not "
                 "starting with a digit; write '$$' for a literal '$')");
        return -1;
    }
    char *name = xstrndup(ref, name_len);
    const char *value = getenv(name);
    free(name);
    if (value && (*value || !sep)) {
        buf_append_str(out, value);
        return 0;
    }
    if (sep) {
        buf_append(out, sep + 2, len - name_len - 2);
        return 0;
    }
    diag_add(diags, at,
             "environment variable '%.*s' is not set (set it, or write ${%.*s:-default})",
             (int)name_len, ref, (int)name_len, ref);
    return -1;
}

/* `${kubernetes.namespace_name}` is a record field for the plugins that take
 * patterns (an Elasticsearch index): no environment variable has a '.' or a
 * '[' in its name. */
static bool is_field_reference(const char *ref, size_t len)
{
    bool path = false;
    for (size_t i = 0; i < len; i++) {
        if (ref[i] == ':' && i + 1 < len && ref[i + 1] == '-')
            return false; /* ${VAR:-a.b}: a variable with a default */
        path = path || ref[i] == '.' || ref[i] == '[';
    }
    return path;
}

/* Copies `text` to `out` with ${VAR}, ${VAR:-default} and $$ replaced, and
 * field references (${a.b}) left as they are. The replacements are not
 * scanned again. */
static int env_expand(const char *text, size_t len, struct buf *out, const struct cfg_node *at,
                      struct diag_list *diags)
{
    size_t i = 0;
    while (i < len) {
        const char *dollar = memchr(text + i, '$', len - i);
        if (!dollar) {
            buf_append(out, text + i, len - i);
            break;
        }
        size_t pos = (size_t)(dollar - text);
        buf_append(out, text + i, pos - i);
        char next = pos + 1 < len ? text[pos + 1] : '\0';
        if (next != '{') {
            buf_append_byte(out, '$');
            i = next == '$' ? pos + 2 : pos + 1;
            continue;
        }
        const char *ref = text + pos + 2;
        const char *close = memchr(ref, '}', len - pos - 2);
        if (!close) {
            /* The value is not quoted: it may be a password. */
            diag_add(diags, at, "unterminated '${' in this value (write '$$' for a literal '$')");
            return -1;
        }
        if (is_field_reference(ref, (size_t)(close - ref)))
            buf_append(out, dollar, (size_t)(close - dollar) + 1);
        else if (env_append(ref, (size_t)(close - ref), out, at, diags) < 0)
            return -1;
        i = (size_t)(close - text) + 1;
    }
    return 0;
}

static struct cfg_node *parse_scalar(struct cfg_parser *p, const yaml_event_t *event)
{
    struct cfg_node *node = node_new(p, CFG_SCALAR, event->start_mark);
    const char *text = (const char *)event->data.scalar.value;
    size_t len = event->data.scalar.length;
    struct buf expanded = BUF_INIT;

    node->plain = event->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    if (env_expand(text, len, &expanded, node, p->diags) < 0) {
        buf_reset(&expanded);
        buf_append(&expanded, text, len);
    }
    node->scalar_len = expanded.len;
    buf_cstr(&expanded);
    node->scalar = expanded.data;
    return node;
}

static struct cfg_node *parse_sequence(struct cfg_parser *p, const yaml_event_t *start,
                                       unsigned depth)
{
    struct cfg_node *node = node_new(p, CFG_SEQ, start->start_mark);
    size_t cap = 0;

    for (;;) {
        yaml_event_t event;
        if (next_event(p, &event) < 0)
            break;
        if (event.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&event);
            return node;
        }
        struct cfg_node *item = parse_node(p, &event, depth + 1);
        if (!item)
            break;
        node->items = xgrow(node->items, &cap, node->count + 1, sizeof *node->items);
        node->items[node->count++] = item;
    }
    node_free(node);
    return NULL;
}

/* Adds a pair unless its key is not a scalar or repeats an earlier key; those
 * are reported and dropped. */
static void map_add(struct cfg_parser *p, struct cfg_node *map, size_t *cap, struct cfg_node *key,
                    struct cfg_node *value)
{
    if (key->type != CFG_SCALAR) {
        diag_add(p->diags, key, "a map key must be a scalar, got a %s", cfg_type_name(key->type));
        goto drop;
    }
    for (size_t i = 0; i < map->count; i++) {
        const struct cfg_node *seen = map->pairs[i].key;
        if (seen->scalar_len == key->scalar_len &&
            memcmp(seen->scalar, key->scalar, key->scalar_len) == 0) {
            diag_add(p->diags, key, "duplicate key '%s' (first given at line %u)", key->scalar,
                     seen->line);
            goto drop;
        }
    }
    map->pairs = xgrow(map->pairs, cap, map->count + 1, sizeof *map->pairs);
    map->pairs[map->count].key = key;
    map->pairs[map->count].value = value;
    map->count++;
    return;
drop:
    node_free(key);
    node_free(value);
}

static struct cfg_node *parse_mapping(struct cfg_parser *p, const yaml_event_t *start,
                                      unsigned depth)
{
    struct cfg_node *node = node_new(p, CFG_MAP, start->start_mark);
    size_t cap = 0;

    for (;;) {
        yaml_event_t event;
        if (next_event(p, &event) < 0)
            break;
        if (event.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&event);
            return node;
        }
        struct cfg_node *key = parse_node(p, &event, depth + 1);
        if (!key)
            break;
        if (next_event(p, &event) < 0) {
            node_free(key);
            break;
        }
        struct cfg_node *value = parse_node(p, &event, depth + 1);
        if (!value) {
            node_free(key);
            break;
        }
        map_add(p, node, &cap, key, value);
    }
    node_free(node);
    return NULL;
}

static const yaml_char_t *event_tag(const yaml_event_t *event)
{
    switch (event->type) {
    case YAML_SCALAR_EVENT:
        return event->data.scalar.tag;
    case YAML_SEQUENCE_START_EVENT:
        return event->data.sequence_start.tag;
    case YAML_MAPPING_START_EVENT:
        return event->data.mapping_start.tag;
    default:
        return NULL;
    }
}

/* Builds the node that `event` starts, then deletes the event. Returns NULL
 * only when parsing cannot go on (a syntax error); other problems are reported
 * and parsing continues, so that one run shows them all. */
static struct cfg_node *parse_node(struct cfg_parser *p, yaml_event_t *event, unsigned depth)
{
    struct cfg_node *node;
    struct cfg_node at = position_at(p, event->start_mark);
    const yaml_char_t *tag = event_tag(event);

    if (depth > MAX_DEPTH) {
        diag_add(p->diags, &at, "YAML nesting deeper than %d levels", MAX_DEPTH);
        yaml_event_delete(event);
        return NULL;
    }
    /* Neither the tag nor the alias is quoted: a password that starts with
     * '!' or '*' is read as one. */
    if (tag)
        diag_add(p->diags, &at,
                 "YAML tags (a value starting with '!') are not supported; quote the value");
    if (event->type == YAML_SCALAR_EVENT) {
        node = parse_scalar(p, event);
    } else if (event->type == YAML_SEQUENCE_START_EVENT) {
        node = parse_sequence(p, event, depth);
    } else if (event->type == YAML_MAPPING_START_EVENT) {
        node = parse_mapping(p, event, depth);
    } else { /* an alias: the only other event where a node may start */
        diag_add(p->diags, &at,
                 "YAML aliases (a value starting with '*') are not supported; write the value "
                 "out, quoted");
        node = node_new(p, CFG_SCALAR, event->start_mark);
        node->scalar = xstrdup("");
        node->plain = true;
    }
    yaml_event_delete(event);
    return node;
}

/* Skips the stream and document start, parses the one document's root, and
 * checks that no second document follows. */
static struct cfg_node *parse_document(struct cfg_parser *p)
{
    yaml_event_t event;
    struct cfg_node *root = NULL;

    for (int skip = 0; skip < 2; skip++) {
        if (next_event(p, &event) < 0)
            return NULL;
        if (event.type == YAML_STREAM_END_EVENT) {
            diag_add(p->diags, NULL, "%s: the configuration is empty", p->file);
            yaml_event_delete(&event);
            return NULL;
        }
        yaml_event_delete(&event);
    }
    if (next_event(p, &event) < 0 || !(root = parse_node(p, &event, 0)))
        return NULL;
    if (next_event(p, &event) < 0) /* the document's end */
        goto fail;
    yaml_event_delete(&event);
    if (next_event(p, &event) < 0)
        goto fail;
    if (event.type == YAML_DOCUMENT_START_EVENT) {
        struct cfg_node at = position_at(p, event.start_mark);
        diag_add(p->diags, &at, "only one YAML document is allowed");
        yaml_event_delete(&event);
        goto fail;
    }
    yaml_event_delete(&event);
    return root;
fail:
    node_free(root);
    return NULL;
}

struct cfg_node *cfg_parse_string(const char *name, const char *text, size_t len,
                                  struct diag_list *diags)
{
    struct cfg_parser p = {.file = xstrdup(name), .diags = diags};
    size_t before = diags->count;

    if (!yaml_parser_initialize(&p.yaml)) {
        diag_add(diags, NULL, "%s: out of memory starting the YAML parser", name);
        free(p.file);
        return NULL;
    }
    yaml_parser_set_input_string(&p.yaml, (const unsigned char *)text, len);
    struct cfg_node *root = parse_document(&p);
    yaml_parser_delete(&p.yaml);

    if (root && cfg_is_null(root)) {
        diag_add(diags, NULL, "%s: the configuration is empty", name);
    } else if (root && root->type != CFG_MAP) {
        diag_add(diags, root, "the configuration must be a map of keys, got a %s",
                 cfg_type_name(root->type));
    }
    if (!root || diags->count > before) {
        node_free(root);
        free(p.file);
        return NULL;
    }
    return root;
}

struct cfg_node *cfg_parse_file(const char *path, struct diag_list *diags)
{
    struct buf text = BUF_INIT;
    FILE *f = fopen(path, "r");
    char chunk[8192];
    size_t n;

    if (f) {
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
            buf_append(&text, chunk, n);
    }
    if (!f || ferror(f)) {
        diag_add(diags, NULL, "%s: cannot read config: %s", path, strerror(errno));
        if (f)
            fclose(f);
        buf_free(&text);
        return NULL;
    }
    fclose(f);
    struct cfg_node *root = cfg_parse_string(path, text.data ? text.data : "", text.len, diags);
    buf_free(&text);
    return root;
}

void cfg_node_free(struct cfg_node *root)
{
    if (!root)
        return;
    char *file = (char *)root->file;
    node_free(root);
    free(file);
}

const struct cfg_node *cfg_map_get(const struct cfg_node *map, const char *key)
{
    if (!map || map->type != CFG_MAP)
        return NULL;
    for (size_t i = 0; i < map->count; i++) {
        if (strcmp(map->pairs[i].key->scalar, key) == 0)
            return map->pairs[i].value;
    }
    return NULL;
}

bool cfg_is_null(const struct cfg_node *node)
{
    if (!node || node->type != CFG_SCALAR || !node->plain)
        return false;
    const char *s = node->scalar;
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

const char *cfg_type_name(enum cfg_node_type type)
{
    switch (type) {
    case CFG_SCALAR:
        return "scalar";
    case CFG_MAP:
        return "map";
    case CFG_SEQ:
        return "sequence";
    }
    return "?";
}
