/* Compiling and applying the rewrite_tag filter's rules (see rewrite_rules.h).
 * A line is split on blanks ("..." keeps blanks in one part, with \" and \\);
 * NEW_TAG is compiled into parts (text, the tag, a piece of it, a capture, a
 * field) that are written out per record. */
#include "rewrite_rules.h"

#include "xalloc.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <inttypes.h>
#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* $0..$9, as Fluent Bit. */
#define CAPTURES_MAX 10

enum part_kind { PART_TEXT, PART_TAG, PART_TAG_PIECE, PART_CAPTURE, PART_FIELD };

struct tag_part {
    enum part_kind kind;
    char *text; /* PART_TEXT */
    size_t len;
    unsigned n; /* PART_TAG_PIECE, PART_CAPTURE */
    struct field_path path;
};

struct tag_template {
    struct tag_part *parts;
    size_t count;
    size_t cap;
};

struct rewrite_rule {
    struct field_path key;
    pcre2_code *regex;
    struct tag_template tag;
    bool keep;
};

/* ---- splitting a line ---- */

enum { PARTS_MAX = 4 };

struct rule_tokens {
    char *items[PARTS_MAX];
    size_t count; /* may exceed PARTS_MAX: the parts past it are not kept */
};

/* Reads one "..." part at *p (on the opening quote); NULL if unterminated. */
static char *read_quoted(const char **p)
{
    const char *s = *p + 1;
    struct buf out = BUF_INIT;
    for (; *s && *s != '"'; s++) {
        if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
            s++;
        buf_append_byte(&out, *s);
    }
    if (!*s) {
        buf_free(&out);
        return NULL;
    }
    *p = s + 1;
    buf_cstr(&out);
    return out.data ? out.data : xstrdup("");
}

static void tokens_free(struct rule_tokens *t)
{
    for (size_t i = 0; i < t->count && i < PARTS_MAX; i++)
        free(t->items[i]);
}

static int tokenize(const char *line, struct rule_tokens *out, char **error)
{
    const char *p = line;
    memset(out, 0, sizeof *out);
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            return 0;
        char *item;
        if (*p == '"') {
            item = read_quoted(&p);
            if (!item) {
                *error = xasprintf("rule '%s': unterminated '\"'", line);
                tokens_free(out);
                return -1;
            }
        } else {
            size_t len = strcspn(p, " \t");
            item = xstrndup(p, len);
            p += len;
        }
        if (out->count < PARTS_MAX)
            out->items[out->count] = item;
        else
            free(item);
        out->count++;
    }
}

/* ---- NEW_TAG ---- */

static struct tag_part *template_add(struct tag_template *t, enum part_kind kind)
{
    t->parts = xgrow(t->parts, &t->cap, t->count + 1, sizeof *t->parts);
    struct tag_part *part = &t->parts[t->count++];
    *part = (struct tag_part){.kind = kind};
    return part;
}

static void template_add_text(struct tag_template *t, const char *s, size_t len)
{
    if (len == 0)
        return;
    struct tag_part *part = template_add(t, PART_TEXT);
    part->text = xstrndup(s, len);
    part->len = len;
}

static void template_free(struct tag_template *t)
{
    for (size_t i = 0; i < t->count; i++) {
        free(t->parts[i].text);
        field_path_free(&t->parts[i].path);
    }
    free(t->parts);
    *t = (struct tag_template){0};
}

/* A field path written `a.b`, `a['b']` or with Fluent Bit's leading `$`. */
static int parse_key(const char *text, size_t len, struct field_path *out, char **error)
{
    char *path = xstrndup(text, len);
    const char *start = path[0] == '$' ? path + 1 : path;
    char *path_error;
    int rc = field_path_parse(start, out, &path_error);
    if (rc < 0) {
        *error =
            xasprintf("%s%s", path_error,
                      strchr(start, '[') ? " (array indexes such as [0] are not supported)" : "");
        free(path_error);
    }
    free(path);
    return rc;
}

/* Where Fluent Bit's `$name['sub']...` ends in a tag: at '.', ' ', ',' or
 * '"' outside single quotes. */
static size_t accessor_end(const char *text, size_t i)
{
    bool quoted = false;
    for (; text[i]; i++) {
        if (text[i] == '\'')
            quoted = !quoted;
        else if (!quoted && strchr(". ,\"", text[i]))
            break;
    }
    return i;
}

/* Compiles the reference at text[i] == '$'; returns the index after it, or 0
 * with *error set. */
static size_t compile_reference(struct tag_template *t, const char *text, size_t i, char **error)
{
    const char *s = text + i + 1;
    if (*s >= '0' && *s <= '9') {
        template_add(t, PART_CAPTURE)->n = (unsigned)(*s - '0');
        return i + 2;
    }
    if (strncmp(s, "TAG[", 4) == 0) {
        char *end;
        unsigned long n = strtoul(s + 4, &end, 10);
        if (end == s + 4 || *end != ']' || n > 255) {
            *error = xasprintf("NEW_TAG '%s': '$TAG[' at column %zu needs a number from 0 to 255 "
                               "and ']'",
                               text, i + 1);
            return 0;
        }
        template_add(t, PART_TAG_PIECE)->n = (unsigned)n;
        return (size_t)(end - text) + 1;
    }
    if (strncmp(s, "TAG", 3) == 0) {
        template_add(t, PART_TAG);
        return i + 4;
    }
    size_t start = i + 1, end;
    if (*s == '{') {
        const char *close = strchr(s, '}');
        if (!close) {
            *error = xasprintf("NEW_TAG '%s': unterminated '${' at column %zu", text, i + 1);
            return 0;
        }
        start = i + 2;
        end = (size_t)(close - text);
    } else {
        end = accessor_end(text, start);
    }
    if (end == start) {
        *error = xasprintf("NEW_TAG '%s': '$' at column %zu names nothing (use $TAG, $TAG[n], "
                           "$0..$9, ${field.path} or $field)",
                           text, i + 1);
        return 0;
    }
    char *path_error;
    struct field_path path;
    if (parse_key(text + start, end - start, &path, &path_error) < 0) {
        *error = xasprintf("NEW_TAG '%s': %s", text, path_error);
        free(path_error);
        return 0;
    }
    template_add(t, PART_FIELD)->path = path;
    return *s == '{' ? end + 1 : end;
}

static int template_compile(struct tag_template *t, const char *text, char **error)
{
    size_t literal = 0, i = 0;
    while (text[i]) {
        if (text[i] != '$') {
            i++;
            continue;
        }
        template_add_text(t, text + literal, i - literal);
        i = compile_reference(t, text, i, error);
        if (i == 0) {
            template_free(t);
            return -1;
        }
        literal = i;
    }
    template_add_text(t, text + literal, i - literal);
    return 0;
}

/* Piece `n` of the tag split on dots (empty when there is none). */
static void append_tag_piece(struct buf *out, const char *tag, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        tag = strchr(tag, '.');
        if (!tag)
            return;
        tag++;
    }
    buf_append(out, tag, strcspn(tag, "."));
}

/* Strings as they are, numbers and booleans as text (as Fluent Bit); a
 * missing field, null, a map or an array adds nothing. */
static void append_field(struct buf *out, const struct record *rec, const struct field_path *path)
{
    const struct value *v = record_get(rec, path);
    if (!v)
        return;
    switch (v->type) {
    case VALUE_STRING:
        buf_append(out, v->as.string.ptr, v->as.string.len);
        break;
    case VALUE_INT:
        buf_printf(out, "%" PRId64, v->as.integer);
        break;
    case VALUE_FLOAT:
        if (isfinite(v->as.real))
            buf_printf(out, "%.15g", v->as.real);
        break;
    case VALUE_BOOL:
        buf_append_str(out, v->as.boolean ? "true" : "false");
        break;
    default:
        break;
    }
}

static void append_capture(struct buf *out, const struct rewrite_rules *rules, unsigned n)
{
    pcre2_match_data *md = rules->match_data;
    if (n >= pcre2_get_ovector_count(md))
        return;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    if (ov[2 * n] == PCRE2_UNSET || ov[2 * n + 1] < ov[2 * n])
        return;
    buf_append(out, rules->subject + ov[2 * n], ov[2 * n + 1] - ov[2 * n]);
}

void rewrite_rules_tag(const struct rewrite_rules *rules, int index, const char *tag,
                       const struct record *rec, struct buf *out)
{
    const struct tag_template *t = &rules->items[index].tag;
    for (size_t i = 0; i < t->count; i++) {
        const struct tag_part *part = &t->parts[i];
        switch (part->kind) {
        case PART_TEXT:
            buf_append(out, part->text, part->len);
            break;
        case PART_TAG:
            buf_append_str(out, tag);
            break;
        case PART_TAG_PIECE:
            append_tag_piece(out, tag, part->n);
            break;
        case PART_CAPTURE:
            if (part->n < rules->captures_set)
                append_capture(out, rules, part->n);
            break;
        case PART_FIELD:
            append_field(out, rec, &part->path);
            break;
        }
    }
}

/* ---- rules ---- */

static int parse_keep(const char *text, bool *keep)
{
    static const char *const yes[] = {"true", "on", "yes"}, *const no[] = {"false", "off", "no"};
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(text, yes[i]) == 0 || strcasecmp(text, no[i]) == 0) {
            *keep = strcasecmp(text, yes[i]) == 0;
            return 0;
        }
    }
    return -1;
}

static int compile_regex(struct rewrite_rule *rule, const char *text, char **error)
{
    int code;
    PCRE2_SIZE offset;
    rule->regex = pcre2_compile((PCRE2_SPTR)text, PCRE2_ZERO_TERMINATED, 0, &code, &offset, NULL);
    if (rule->regex) {
        pcre2_jit_compile(rule->regex, PCRE2_JIT_COMPLETE); /* the interpreter when it fails */
        return 0;
    }
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(code, message, sizeof message);
    *error = xasprintf("REGEX '%s' at offset %zu: %s", text, (size_t)offset, (const char *)message);
    return -1;
}

static void rule_free(struct rewrite_rule *rule)
{
    field_path_free(&rule->key);
    pcre2_code_free(rule->regex);
    template_free(&rule->tag);
}

static int rule_compile(struct rewrite_rule *rule, const struct rule_tokens *t, char **error)
{
    char *part_error = NULL;
    if (parse_key(t->items[0], strlen(t->items[0]), &rule->key, &part_error) < 0) {
        *error = xasprintf("KEY '%s': %s", t->items[0], part_error);
        free(part_error);
        return -1;
    }
    if (compile_regex(rule, t->items[1], error) < 0 ||
        template_compile(&rule->tag, t->items[2], error) < 0)
        return -1;
    if (parse_keep(t->items[3], &rule->keep) < 0) {
        *error = xasprintf("KEEP '%s': use true or false", t->items[3]);
        return -1;
    }
    return 0;
}

int rewrite_rules_add(struct rewrite_rules *rules, const char *line, char **error)
{
    struct rule_tokens t;
    char *part_error = NULL;
    *error = NULL;
    if (tokenize(line, &t, error) < 0)
        return -1;
    if (t.count != PARTS_MAX) {
        *error = xasprintf("rule '%s' has %zu parts: write KEY REGEX NEW_TAG KEEP (quote a part "
                           "that has blanks: \"a b\")",
                           line, t.count);
        tokens_free(&t);
        return -1;
    }
    struct rewrite_rule rule = {0};
    int rc = rule_compile(&rule, &t, &part_error);
    tokens_free(&t);
    if (rc < 0) {
        *error = xasprintf("rule '%s': %s", line, part_error);
        free(part_error);
        rule_free(&rule);
        return -1;
    }
    rules->items = xrealloc(rules->items, (rules->count + 1) * sizeof *rules->items);
    rules->items[rules->count++] = rule;
    if (!rules->match_data)
        rules->match_data = pcre2_match_data_create(CAPTURES_MAX, NULL);
    return 0;
}

void rewrite_rules_free(struct rewrite_rules *rules)
{
    for (size_t i = 0; i < rules->count; i++)
        rule_free(&rules->items[i]);
    free(rules->items);
    pcre2_match_data_free(rules->match_data);
    *rules = (struct rewrite_rules){0};
}

int rewrite_rules_match(struct rewrite_rules *rules, const struct record *rec)
{
    for (size_t i = 0; i < rules->count; i++) {
        const struct value *v = record_get(rec, &rules->items[i].key);
        if (!v || v->type != VALUE_STRING)
            continue; /* as Fluent Bit: only a string matches */
        int rc = pcre2_match(rules->items[i].regex, (PCRE2_SPTR)v->as.string.ptr, v->as.string.len,
                             0, 0, rules->match_data, NULL);
        if (rc < 0)
            continue;
        rules->subject = v->as.string.ptr;
        /* 0: more groups than the match data holds; all of those are set. */
        rules->captures_set = rc == 0 ? CAPTURES_MAX : (unsigned)rc;
        return (int)i;
    }
    return -1;
}

bool rewrite_rules_keep(const struct rewrite_rules *rules, int index)
{
    return rules->items[index].keep;
}

const char *rewrite_tag_unusable(const char *tag, size_t len)
{
    if (len == 0)
        return "it is empty";
    if (len > REWRITE_TAG_MAX)
        return "it is longer than 256 bytes";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)tag[i];
        if (c < 0x20 || c == 0x7f)
            return "it has a control character";
    }
    return NULL;
}

char *rewrite_rule_tag_pattern(const char *line)
{
    struct rule_tokens t;
    struct tag_template tag = {0};
    char *error = NULL;
    if (tokenize(line, &t, &error) < 0) {
        free(error);
        return NULL;
    }
    int rc = t.count >= 3 ? template_compile(&tag, t.items[2], &error) : -1;
    tokens_free(&t);
    free(error);
    if (rc < 0)
        return NULL;
    struct buf pattern = BUF_INIT;
    for (size_t i = 0; i < tag.count; i++) {
        if (tag.parts[i].kind == PART_TEXT)
            buf_append(&pattern, tag.parts[i].text, tag.parts[i].len);
        else if (pattern.len == 0 || pattern.data[pattern.len - 1] != '*')
            buf_append_byte(&pattern, '*');
    }
    template_free(&tag);
    buf_cstr(&pattern);
    return pattern.data ? pattern.data : xstrdup("");
}
