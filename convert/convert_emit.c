/* Writes the tree of convert_out.h as a YAML document in block style, two
 * spaces per level, lists as `- ` items, a comment after a value as
 * `  # note`; a hidden item as comment lines. Strings are written plain when
 * YAML reads them back as the same string, else single-quoted (double-quoted
 * with escapes when they hold control characters). Records, per written
 * line, the Fluent Bit file and line it came from, so that skiff's own
 * messages about the result can name the source. */
#include "convert_out.h"

#include "xalloc.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct writer {
    struct buf *out;
    struct out_lines *lines;
    int hidden_at; /* indent of the hidden item being written, or -1 */
    const char *file;
    unsigned line;
};

static bool yaml_word(const char *text)
{
    static const char *const words[] = {"null", "~",  "true", "false", "yes",
                                        "no",   "on", "off",  "y",     "n"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (strcasecmp(text, words[i]) == 0)
            return true;
    }
    return false;
}

static bool numeric(const char *text)
{
    char *end;
    strtod(text, &end);
    if (end != text && *end == '\0')
        return true;
    strtoll(text, &end, 0);
    return end != text && *end == '\0';
}

/* The UTF-8 sequence at `p`: its length and code point, or 0 when it is not
 * valid (a stray byte, an overlong form, a surrogate, past U+10FFFF). */
static size_t utf8_char(const unsigned char *p, uint32_t *cp)
{
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    size_t n = p[0] < 0x80                    ? 1
               : p[0] >= 0xc2 && p[0] <= 0xdf ? 2
               : (p[0] & 0xf0) == 0xe0        ? 3
               : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4
                                              : 0;
    if (n == 0)
        return 0;
    uint32_t value = n == 1 ? p[0] : p[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        value = value << 6 | (p[i] & 0x3f);
    }
    if (value < min[n] || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff))
        return 0;
    *cp = value;
    return n;
}

/* What YAML lets a scalar or comment hold as it is (libyaml's printable
 * set, and the tab). */
static bool printable(uint32_t cp)
{
    return cp == 0x09 || (cp >= 0x20 && cp <= 0x7e) || cp == 0x85 || (cp >= 0xa0 && cp <= 0xd7ff) ||
           (cp >= 0xe000 && cp <= 0xfffd && cp != 0xfeff) || (cp >= 0x10000 && cp <= 0x10ffff);
}

void out_printable(char *text)
{
    unsigned char *p = (unsigned char *)text;
    while (*p) {
        uint32_t cp;
        size_t n = utf8_char(p, &cp);
        if (n == 0 || !printable(cp)) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
}

static bool all_printable(const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    while (*p) {
        uint32_t cp;
        size_t n = utf8_char(p, &cp);
        if (n == 0 || !printable(cp) || cp == 0x09)
            return false;
        p += n;
    }
    return true;
}

bool out_needs_quotes(const char *text)
{
    size_t len = strlen(text);
    if (len == 0 || strchr("-?:,[]{}#&*!|>'\"%@` \t", text[0]) || text[len - 1] == ' ' ||
        text[len - 1] == ':')
        return true;
    return strstr(text, ": ") || strstr(text, " #") || yaml_word(text) || numeric(text) ||
           !all_printable(text);
}

/* Double-quoted, with escapes for what YAML cannot hold as it is; a byte
 * that is not UTF-8 is written as the character of that number. */
static void write_double_quoted(struct buf *out, const char *text)
{
    buf_append_byte(out, '"');
    const unsigned char *p = (const unsigned char *)text;
    while (*p) {
        uint32_t cp;
        size_t n = utf8_char(p, &cp);
        if (n == 0)
            buf_printf(out, "\\x%02x", *p++);
        else if (cp == '"' || cp == '\\')
            buf_printf(out, "\\%c", (char)cp);
        else if (cp == '\n')
            buf_append_str(out, "\\n");
        else if (cp == '\t')
            buf_append_str(out, "\\t");
        else if (!printable(cp))
            buf_printf(out, cp < 0x100 ? "\\x%02x" : "\\u%04x", (unsigned)cp);
        else
            buf_append(out, p, n);
        p += n;
    }
    buf_append_byte(out, '"');
}

static void write_scalar(struct buf *out, const char *text, bool raw)
{
    if (raw || !out_needs_quotes(text)) {
        buf_append_str(out, text);
        return;
    }
    if (!all_printable(text)) {
        write_double_quoted(out, text);
        return;
    }
    buf_append_byte(out, '\'');
    for (const char *p = text; *p; p++) {
        if (*p == '\'')
            buf_append_byte(out, '\'');
        buf_append_byte(out, *p);
    }
    buf_append_byte(out, '\'');
}

static void begin_line(struct writer *w, int indent, const struct out_node *source)
{
    if (source && source->file) {
        w->file = source->file;
        w->line = source->line;
    }
    if (w->hidden_at >= 0) {
        buf_printf(w->out, "%*s# %*s", w->hidden_at, "", indent - w->hidden_at, "");
        return;
    }
    buf_printf(w->out, "%*s", indent, "");
}

static void end_line(struct writer *w, const char *note)
{
    if (note)
        buf_printf(w->out, "  # %s", note);
    buf_append_byte(w->out, '\n');
    struct out_lines *l = w->lines;
    if (!l)
        return;
    if (l->count == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->files = xrealloc(l->files, l->cap * sizeof *l->files);
        l->lines = xrealloc(l->lines, l->cap * sizeof *l->lines);
    }
    l->files[l->count] = w->file;
    l->lines[l->count++] = w->line;
}

static void write_entries(struct writer *w, const struct out_node *node, int indent);

/* What follows `key:` or `- `: a scalar on the same line, else the
 * collection on the lines below (or {} and [] when it is empty). */
static void write_value(struct writer *w, const struct out_node *node, int indent)
{
    if (node->type == OUT_SCALAR) {
        buf_append_byte(w->out, ' ');
        write_scalar(w->out, node->text, node->raw);
        end_line(w, node->note);
    } else {
        /* Comments and hidden items alone leave the collection empty. */
        if (out_count(node) == 0)
            buf_append_str(w->out, node->type == OUT_MAP ? " {}" : " []");
        end_line(w, node->note);
        write_entries(w, node, indent + 2);
    }
}

static void write_comment(struct writer *w, const struct out_node *node, int indent)
{
    begin_line(w, indent, node);
    buf_printf(w->out, "# %s", node->text);
    end_line(w, NULL);
}

/* A map as a list item: its first key on the `- ` line. */
static void write_item_map(struct writer *w, const struct out_node *node, int indent)
{
    bool first = true;
    for (size_t i = 0; i < node->count; i++) {
        const struct out_entry *e = &node->entries[i];
        if (e->node->type == OUT_COMMENT) {
            write_comment(w, e->node, indent + 2);
            continue;
        }
        begin_line(w, first ? indent : indent + 2, e->node);
        buf_append_str(w->out, first ? "- " : "");
        write_scalar(w->out, e->key, false);
        buf_append_byte(w->out, ':');
        write_value(w, e->node, indent + 2);
        first = false;
    }
}

static void write_item(struct writer *w, const struct out_node *node, int indent)
{
    if (node->type == OUT_COMMENT) {
        write_comment(w, node, indent);
        return;
    }
    bool hide = node->hidden && w->hidden_at < 0;
    if (hide)
        w->hidden_at = indent;
    if (node->type == OUT_MAP && out_count(node) > 0) {
        write_item_map(w, node, indent);
    } else {
        begin_line(w, indent, node);
        buf_append_byte(w->out, '-');
        write_value(w, node, indent);
    }
    if (hide)
        w->hidden_at = -1;
}

static void write_entries(struct writer *w, const struct out_node *node, int indent)
{
    for (size_t i = 0; i < node->count; i++) {
        const struct out_entry *e = &node->entries[i];
        if (node->type == OUT_LIST) {
            write_item(w, e->node, indent);
        } else if (e->node->type == OUT_COMMENT) {
            write_comment(w, e->node, indent);
        } else {
            begin_line(w, indent, e->node);
            write_scalar(w->out, e->key, false);
            buf_append_byte(w->out, ':');
            write_value(w, e->node, indent);
        }
    }
}

void out_emit(const struct out_node *root, struct buf *text, struct out_lines *lines)
{
    struct writer w = {.out = text, .lines = lines, .hidden_at = -1};
    write_entries(&w, root, 0);
}

void out_lines_free(struct out_lines *lines)
{
    free(lines->files);
    free(lines->lines);
    memset(lines, 0, sizeof *lines);
}
