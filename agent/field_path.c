/* Compiles field paths such as `kubernetes.labels["app.kubernetes.io/name"]`
 * into segments, once at config time. Not for walking records: record.c does
 * that with the compiled segments.
 *
 *   path    := segment ( '.' bare | quoted )*
 *   segment := bare | quoted
 *   quoted  := '[' ( '"' chars '"' | '\'' chars '\'' ) ']'   escapes: \" \' \\
 */
#include "record.h"

#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

struct path_parser {
    const char *text;
    size_t pos;
    struct field_path *out;
    size_t cap;
    char *error;
};

static int parser_fail(struct path_parser *p, const char *what, size_t at)
{
    p->error = xasprintf("field path '%s': %s at column %zu", p->text, what, at + 1);
    return -1;
}

static void parser_add(struct path_parser *p, char *s, size_t len)
{
    struct field_path *out = p->out;
    out->segments = xgrow(out->segments, &p->cap, (size_t)out->count + 1, sizeof *out->segments);
    out->segments[out->count++] = (struct value_string){.ptr = s, .len = len};
}

static int parse_bare(struct path_parser *p)
{
    size_t start = p->pos;
    size_t len = strcspn(p->text + start, ".[]");
    if (p->text[start + len] == ']')
        return parser_fail(p, "unexpected ']'", start + len);
    if (len == 0)
        return parser_fail(p, "empty segment", start);
    parser_add(p, xstrndup(p->text + start, len), len);
    p->pos = start + len;
    return 0;
}

/* Reads the quoted key after '[' and its closing ']'; p->pos is at the '['. */
static int parse_quoted(struct path_parser *p)
{
    const char *t = p->text;
    size_t open = p->pos + 1;
    char quote = t[open];
    if (quote != '"' && quote != '\'')
        return parser_fail(p, "expected a quote after '['", open);

    char *key = xmalloc(strlen(t + open) + 1);
    size_t len = 0;
    size_t i = open + 1;
    for (; t[i] && t[i] != quote; i++) {
        if (t[i] == '\\') {
            char next = t[i + 1];
            if (next != '"' && next != '\'' && next != '\\') {
                free(key);
                return parser_fail(p, next ? "invalid escape" : "unterminated quote",
                                   next ? i : open);
            }
            i++;
        }
        key[len++] = t[i];
    }
    key[len] = '\0';
    if (!t[i] || t[i + 1] != ']') {
        free(key);
        return t[i] ? parser_fail(p, "expected ']'", i + 1)
                    : parser_fail(p, "unterminated quote", open);
    }
    parser_add(p, key, len);
    p->pos = i + 2;
    return 0;
}

static int parse_segment(struct path_parser *p)
{
    return p->text[p->pos] == '[' ? parse_quoted(p) : parse_bare(p);
}

/* After a segment: end, '.' then a bare segment, or '[' then a quoted one. */
static int parse_next(struct path_parser *p)
{
    char c = p->text[p->pos];
    if (c == '[')
        return parse_quoted(p);
    if (c != '.')
        return parser_fail(p, "unexpected character after ']'", p->pos);
    if (p->text[p->pos + 1] == '\0')
        return parser_fail(p, "trailing dot", p->pos);
    p->pos++;
    return parse_bare(p);
}

int field_path_parse(const char *text, struct field_path *out, char **error)
{
    *out = (struct field_path){0};
    *error = NULL;
    if (text[0] == '\0') {
        *error = xstrdup("field path '': empty path");
        return -1;
    }
    struct path_parser p = {.text = text, .out = out};
    int rc = parse_segment(&p);
    while (rc == 0 && text[p.pos] != '\0')
        rc = parse_next(&p);
    if (rc < 0) {
        field_path_free(out);
        *error = p.error;
        return -1;
    }
    out->text = xstrdup(text);
    return 0;
}

void field_path_free(struct field_path *path)
{
    for (uint32_t i = 0; i < path->count; i++)
        free(path->segments[i].ptr);
    free(path->segments);
    free(path->text);
    *path = (struct field_path){0};
}
