/* `skiff --convert` for Fluent Bit's grep filter (plugins/filter_grep/grep.c).
 * Fluent Bit's grep holds any number of `Regex KEY REGEX` and `Exclude KEY
 * REGEX` rules; skiff's holds one key with one regex or exclude. With the
 * default Logical_Op (legacy) a record must pass every rule, so each rule
 * becomes its own skiff grep filter, in order, which is the same; so do
 * Logical_Op AND with Regex rules and OR with Exclude rules. Logical_Op OR of
 * Regex rules (and AND of Exclude rules) on one key becomes one regex; on
 * several keys skiff has no equivalent. */
#include "convert_map.h"

#include "buf.h"
#include "convert_value.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct grep_rule {
    const struct fb_prop *prop;
    bool exclude;
    char *key;   /* skiff field path */
    char *regex; /* skiff text */
};

enum grep_op { GREP_LEGACY, GREP_AND, GREP_OR };

static const struct map_option grep_options[] = {
    {"regex", NULL, MAP_LATER, NULL, NULL},
    {"exclude", NULL, MAP_LATER, NULL, NULL},
    {"logical_op", NULL, MAP_LATER, NULL, NULL},
    {0},
};

/* Reads the rules; false (after an error) if one cannot be converted. */
static bool grep_rules(struct map_ctx *m, struct grep_rule *rules, size_t *count)
{
    bool ok = true;
    for (size_t i = 0; i < m->section->prop_count; i++) {
        const struct fb_prop *p = &m->section->props[i];
        bool exclude = !strcasecmp(p->key, "exclude");
        if (!exclude && strcasecmp(p->key, "regex") != 0)
            continue;
        char *text = map_text(m, p);
        size_t key_len = strcspn(text, " ");
        const char *regex = text + key_len;
        while (*regex == ' ')
            regex++;
        char *error = NULL;
        text[key_len] = '\0';
        char *key = *regex ? cv_field_path(text, false, &error) : NULL;
        if (!key) {
            map_bad_value(m, p, error ? error : "expected `KEY REGEX`");
            ok = false;
        } else {
            rules[*count] = (struct grep_rule){p, exclude, key, xstrdup(regex)};
            (*count)++;
        }
        free(error);
        free(text);
    }
    return ok;
}

static enum grep_op grep_op(struct map_ctx *m)
{
    const struct fb_prop *p = fb_section_get(m->section, "logical_op");
    if (!p || !strcasecmp(p->value, "legacy"))
        return GREP_LEGACY;
    if (!strcasecmp(p->value, "and"))
        return GREP_AND;
    if (!strcasecmp(p->value, "or"))
        return GREP_OR;
    map_bad_value(m, p, "expected legacy, AND or OR");
    return GREP_LEGACY;
}

/* Another skiff grep after the first: its name, alias and match. */
static struct out_node *next_item(const struct out_node *first, size_t index)
{
    struct out_node *item = out_map();
    out_map_set(item, "name", out_string("grep"));
    const struct out_node *alias = out_map_get(first, "alias");
    if (alias) {
        char *text = xasprintf("%s.%zu", alias->text, index);
        out_map_set(item, "alias", out_string(text));
        free(text);
    }
    const struct out_node *match = out_map_get(first, "match");
    if (match)
        out_map_set(item, "match", out_string(match->text));
    return item;
}

static void set_rule(struct out_node *item, const struct grep_rule *r, const char *regex)
{
    struct out_node *key = out_string(r->key);
    struct out_node *value = out_string(regex);
    out_set_source(key, r->prop->file, r->prop->line);
    out_set_source(value, r->prop->file, r->prop->line);
    out_map_set(item, "key", key);
    out_map_set(item, r->exclude ? "exclude" : "regex", value);
}

/* OR of Regex rules: any matches. AND of Exclude rules: all match, written
 * as lookaheads, each searching the whole text as the rule would. */
static char *combined_regex(const struct grep_rule *rules, size_t count, bool all)
{
    struct buf out = BUF_INIT;
    if (all)
        buf_append_byte(&out, '^');
    for (size_t i = 0; i < count; i++) {
        if (all)
            buf_printf(&out, "(?=[\\s\\S]*?(?:%s))", rules[i].regex);
        else
            buf_printf(&out, "%s(?:%s)", i ? "|" : "", rules[i].regex);
    }
    buf_cstr(&out);
    return out.data;
}

static const char *grep_shape(const struct grep_rule *rules, size_t count, enum grep_op op)
{
    for (size_t i = 1; i < count; i++) {
        if (op != GREP_LEGACY && rules[i].exclude != rules[0].exclude)
            return "Regex and Exclude together with Logical_Op: Fluent Bit refuses it";
    }
    bool one_regex =
        count > 1 && ((op == GREP_OR && !rules[0].exclude) || (op == GREP_AND && rules[0].exclude));
    for (size_t i = 1; one_regex && i < count; i++) {
        if (strcmp(rules[i].key, rules[0].key) != 0)
            return "no equivalent in skiff: its grep filters keep a record only if it passes "
                   "each, and these rules are on different keys";
    }
    return NULL;
}

static void grep_items(struct map_ctx *m, struct grep_rule *rules, size_t count, enum grep_op op)
{
    struct out_node *filters = m->cv->filters;
    bool one_regex =
        count > 1 && ((op == GREP_OR && !rules[0].exclude) || (op == GREP_AND && rules[0].exclude));
    if (one_regex) {
        char *regex = combined_regex(rules, count, op == GREP_AND);
        set_rule(m->item, &rules[0], regex);
        out_set_note(out_map_get(m->item, rules[0].exclude ? "exclude" : "regex"),
                     "Fluent Bit's %zu rules with Logical_Op %s", count,
                     op == GREP_AND ? "AND" : "OR");
        free(regex);
        out_list_add(filters, m->item);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        struct out_node *item = i == 0 ? m->item : next_item(m->item, i);
        out_set_source(item, rules[i].prop->file, rules[i].prop->line);
        set_rule(item, &rules[i], rules[i].regex);
        out_list_add(filters, item);
    }
}

static void drop(struct map_ctx *m, const char *why)
{
    struct out_node *c =
        out_comment("Fluent Bit %s (%s:%u): %s", m->label, m->section->file, m->section->line, why);
    out_set_source(c, m->section->file, m->section->line);
    out_list_add(m->cv->filters, c);
    convert_note(m->cv, m->section->file, m->section->line, "%s: %s", m->label, why);
    out_free(m->item);
}

void map_grep(struct convert *cv, const struct fb_section *s)
{
    struct map_ctx m = {.cv = cv, .section = s, .label = "[FILTER] grep", .item = out_map()};
    out_set_source(m.item, s->file, s->line);
    out_map_set(m.item, "name", out_string("grep"));
    const struct map_option *const tables[] = {grep_options, map_filter_common};
    map_options(&m, tables, 2);
    map_groups_none(&m);
    struct grep_rule *rules = xcalloc(s->prop_count + 1, sizeof *rules);
    size_t count = 0;
    bool ok = grep_rules(&m, rules, &count);
    enum grep_op op = grep_op(&m);
    const char *problem = grep_shape(rules, count, op);
    if (!ok)
        out_list_add(cv->filters, m.item);
    else if (problem)
        drop(&m, problem);
    else if (count == 0)
        drop(&m, "no Regex or Exclude: it keeps every record, so skiff needs no filter");
    else
        grep_items(&m, rules, count, op);
    for (size_t i = 0; i < count; i++) {
        free(rules[i].key);
        free(rules[i].regex);
    }
    free(rules);
}
