/* The engine of `skiff --convert`'s mapping (see convert_map.h): finds a
 * plugin's table, runs it over a section's properties in order, and the
 * helpers the tables' functions share (setting options, comments in place,
 * the lines reported on stderr). Not the tables themselves: those are in
 * convert_map_input.c, convert_map_filter.c, convert_map_output.c. */
#include "convert_map.h"

#include "convert_value.h"
#include "xalloc.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const kind_names[] = {"INPUT", "FILTER", "OUTPUT"};

bool map_is_secret(const char *key)
{
    static const char *const secret[] = {"passw",   "secret", "auth",
                                         "api_key", "apikey", "token_command"};
    size_t len = strlen(key);
    if (len > 5 && strcasecmp(key + len - 5, "_file") == 0)
        return false;
    for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++) {
        if (strcasestr(key, secret[i]))
            return true;
    }
    return false;
}

void convert_note(struct convert *cv, const char *file, unsigned line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = xvasprintf(fmt, ap);
    va_end(ap);
    out_printable(text); /* a key may hold anything */
    cv->notes = xgrow(cv->notes, &cv->note_cap, cv->note_count + 1, sizeof *cv->notes);
    cv->notes[cv->note_count] = (struct convert_note){file, line, cv->note_count, text};
    cv->note_count++;
}

char *map_text(const struct map_ctx *m, const struct fb_prop *p)
{
    return cv_text(m->cv->fb, p->value);
}

void map_set(struct map_ctx *m, const char *path, struct out_node *node, const struct fb_prop *p)
{
    if (p && !node->file)
        out_set_source(node, p->file, p->line);
    out_map_set(m->item, path, node);
}

void map_set_string(struct map_ctx *m, const char *path, const char *text, const struct fb_prop *p)
{
    map_set(m, path, out_string(text), p);
}

void map_set_raw(struct map_ctx *m, const char *path, const char *text, const struct fb_prop *p)
{
    map_set(m, path, out_raw(text), p);
}

void map_set_default(struct map_ctx *m, const char *path, struct out_node *node, const char *why)
{
    out_set_source(node, m->section->file, m->section->line);
    out_set_note(node, "%s", why);
    out_map_set(m->item, path, node);
}

void map_add_item(struct map_ctx *m, const char *path, struct out_node *node,
                  const struct fb_prop *p)
{
    if (p)
        out_set_source(node, p->file, p->line);
    struct out_node *list = out_map_list(m->item, path);
    if (!list->file && p)
        out_set_source(list, p->file, p->line);
    out_list_add(list, node);
}

void map_comment(struct map_ctx *m, const struct fb_prop *p, bool report, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = xvasprintf(fmt, ap);
    va_end(ap);
    const char *value = map_is_secret(p->key) ? "(value not shown)" : p->value;
    struct out_node *c = out_comment("Fluent Bit %s %s: %s", p->key, value, text);
    out_set_source(c, p->file, p->line);
    out_map_comment(m->item, c);
    if (report)
        convert_note(m->cv, p->file, p->line, "%s %s: %s", m->label, p->key, text);
    free(text);
}

void map_none(struct map_ctx *m, const struct fb_prop *p, const char *why)
{
    if (why)
        map_comment(m, p, true, "no equivalent in skiff (%s)", why);
    else
        map_comment(m, p, true, "no equivalent in skiff");
}

void map_bad_value(struct map_ctx *m, const struct fb_prop *p, const char *expected)
{
    const char *value = map_is_secret(p->key) ? "(value not shown)" : p->value;
    char *text =
        xasprintf("%s:%u: %s %s '%s': %s", p->file, p->line, m->label, p->key, value, expected);
    out_printable(text);
    diag_add(&m->cv->errors, NULL, "%s", text);
    free(text);
    map_comment(m, p, false, "not converted: %s", expected);
}

/* Typed kinds: the value after @SET variables; one that still names an
 * environment variable goes to skiff as it is, to be read there. */
static bool from_environment(struct map_ctx *m, const struct map_option *o, const struct fb_prop *p,
                             const char *text)
{
    if (!strstr(text, "${"))
        return false;
    struct out_node *node = out_string(text);
    out_set_note(node, "from the environment: skiff reads it with its own syntax");
    map_set(m, o->skiff, node, p);
    return true;
}

static void map_typed(struct map_ctx *m, const struct map_option *o, const struct fb_prop *p,
                      const char *text)
{
    bool flag;
    int64_t number;
    char *out = NULL;
    const char *expected = NULL;
    switch (o->kind) {
    case MAP_BOOL:
        if (cv_bool(text, &flag) == 0)
            out = xstrdup(flag ? "true" : "false");
        expected = "expected On or Off (true, false, yes, no)";
        break;
    case MAP_INT:
        if (cv_int(text, &number) == 0)
            out = xstrdup(text);
        expected = "expected an integer";
        break;
    case MAP_NUMBER:
        if (cv_number(text) == 0)
            out = xstrdup(text);
        expected = "expected a number";
        break;
    case MAP_SIZE:
        if (cv_size(text, &number) == 0)
            out = cv_size_text(number);
        expected = "expected a size (a number of bytes, or with K, M or G)";
        break;
    case MAP_SECONDS:
        if (cv_seconds(text, &number) == 0)
            out = cv_duration_text(number);
        expected = "expected a number of seconds";
        break;
    default: /* MAP_TIME */
        if (cv_time(text, true, &number) == 0)
            out = cv_duration_text(number);
        expected = "expected a time (seconds, or a number with s, m, h or d)";
        break;
    }
    if (out)
        map_set_raw(m, o->skiff, out, p);
    else
        map_bad_value(m, p, expected);
    free(out);
}

static void map_list(struct map_ctx *m, const struct map_option *o, const struct fb_prop *p,
                     const char *text)
{
    char **items;
    size_t count = cv_split_list(text, &items);
    for (size_t i = 0; i < count; i++)
        map_add_item(m, o->skiff, out_string(items[i]), p);
    cv_free_list(items, count);
}

static void apply_option(struct map_ctx *m, const struct map_option *o, const struct fb_prop *p)
{
    if (o->kind == MAP_LATER)
        return;
    if (o->kind == MAP_NONE || o->kind == MAP_NOTE) {
        if (o->kind == MAP_NONE)
            map_none(m, p, o->note);
        else
            map_comment(m, p, false, "%s", o->note);
        return;
    }
    if (o->kind == MAP_CUSTOM) {
        o->custom(m, p, o);
        return;
    }
    char *text = map_text(m, p);
    if (o->kind == MAP_STRING) {
        map_set_string(m, o->skiff, text, p);
    } else if (o->kind == MAP_LOWER) {
        for (char *c = text; *c; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
        map_set_string(m, o->skiff, text, p);
    } else if (o->kind == MAP_LIST) {
        map_list(m, o, p, text);
    } else if (o->kind == MAP_EACH) {
        map_add_item(m, o->skiff, out_string(text), p);
    } else if (!from_environment(m, o, p, text)) {
        map_typed(m, o, p, text);
    }
    free(text);
}

static const struct map_option *find_option(const struct map_option *const *tables, size_t count,
                                            const char *key)
{
    for (size_t t = 0; t < count; t++) {
        for (const struct map_option *o = tables[t]; o && o->fb; o++) {
            if (strcasecmp(o->fb, key) == 0)
                return o;
        }
    }
    return NULL;
}

static bool header_key(const char *key)
{
    return !strcasecmp(key, "alias") || !strcasecmp(key, "tag") || !strcasecmp(key, "match");
}

/* Pass 0: name, alias, tag and match, so that they lead the item; pass 1:
 * the others, in the order written. */
static void run_pass(struct map_ctx *m, const struct map_option *const *tables, size_t count,
                     int pass)
{
    for (size_t i = 0; i < m->section->prop_count; i++) {
        const struct fb_prop *p = &m->section->props[i];
        if (!strcasecmp(p->key, "name") || header_key(p->key) != (pass == 0))
            continue;
        const struct map_option *o = find_option(tables, count, p->key);
        if (o)
            apply_option(m, o, p);
        else
            map_none(m, p, NULL);
    }
}

void map_groups_none(struct map_ctx *m)
{
    for (size_t i = 0; i < m->section->group_count; i++) {
        const struct fb_section *g = &m->section->groups[i];
        struct fb_prop p = {.key = g->name, .value = "(a group)", .file = g->file, .line = g->line};
        map_none(m, &p, NULL);
    }
}

void map_options(struct map_ctx *m, const struct map_option *const *tables, size_t table_count)
{
    run_pass(m, tables, table_count, 0);
    run_pass(m, tables, table_count, 1);
}

static const struct map_plugin *find_plugin(enum fb_kind kind, const char *name)
{
    const struct map_plugin *const *list = kind == FB_INPUT    ? map_inputs
                                           : kind == FB_FILTER ? map_filters
                                                               : map_outputs;
    for (size_t i = 0; list[i]; i++) {
        if (strcasecmp(list[i]->fb_name, name) == 0)
            return list[i];
    }
    return NULL;
}

static struct out_node *kind_list(struct convert *cv, enum fb_kind kind)
{
    return kind == FB_INPUT ? cv->inputs : kind == FB_FILTER ? cv->filters : cv->outputs;
}

/* Fluent Bit names an input without Tag after its instance, `tail.0`: the
 * input's place among all inputs. */
static void default_tag(struct map_ctx *m, const char *fb_name)
{
    if (fb_section_get(m->section, "tag"))
        return;
    size_t index = 0;
    for (size_t i = 0; i < m->cv->fb->section_count; i++) {
        const struct fb_section *s = &m->cv->fb->sections[i];
        if (s == m->section)
            break;
        index += fb_section_is(s, "input") && !s->from_parsers_file;
    }
    char *tag = xasprintf("%s.%zu", fb_name, index);
    map_set_default(m, "tag", out_string(tag), "Fluent Bit's tag for an input without Tag");
    free(tag);
}

static void default_retry_limit(struct map_ctx *m)
{
    if (fb_section_get(m->section, "retry_limit"))
        return;
    map_set_default(m, "retry_limit", out_raw("1"),
                    "Fluent Bit's default Retry_Limit; skiff's own is -1, retry forever");
}

static void add_item(struct convert *cv, enum fb_kind kind, struct map_ctx *m)
{
    struct out_node *list = kind_list(cv, kind);
    if (!m->drop) {
        out_list_add(list, m->item);
        return;
    }
    struct out_node *c = out_comment("Fluent Bit %s (%s:%u): %s", m->label, m->section->file,
                                     m->section->line, m->drop);
    out_set_source(c, m->section->file, m->section->line);
    out_list_add(list, c);
    convert_note(cv, m->section->file, m->section->line, "%s: %s", m->label, m->drop);
    out_free(m->item);
}

void map_plugin_section(struct convert *cv, enum fb_kind kind, const struct fb_section *s)
{
    const char *name = fb_section_value(s, "name");
    if (!name || !name[0]) {
        diag_add(&cv->errors, NULL, "%s:%u: [%s] without Name: which plugin is it?", s->file,
                 s->line, kind_names[kind]);
        return;
    }
    char *label = xasprintf("[%s] %s", kind_names[kind], name);
    const struct map_plugin *plugin = find_plugin(kind, name);
    if (!plugin) {
        struct out_node *c =
            out_comment("Fluent Bit %s (%s:%u): no equivalent in skiff", label, s->file, s->line);
        out_set_source(c, s->file, s->line);
        out_list_add(kind_list(cv, kind), c);
        convert_note(cv, s->file, s->line, "%s: no equivalent in skiff", label);
    } else if (plugin->convert) {
        plugin->convert(cv, s);
    } else {
        struct map_ctx m = {.cv = cv, .section = s, .label = label, .item = out_map()};
        out_set_source(m.item, s->file, s->line);
        struct out_node *n = out_string(plugin->skiff_name);
        out_set_source(n, s->file, s->line);
        out_map_set(m.item, "name", n);
        const struct map_option *const tables[] = {plugin->options,
                                                   kind == FB_INPUT    ? map_input_common
                                                   : kind == FB_FILTER ? map_filter_common
                                                                       : map_output_common};
        run_pass(&m, tables, 2, 0);
        if (kind == FB_INPUT)
            default_tag(&m, plugin->fb_name);
        if (plugin->begin)
            plugin->begin(&m);
        run_pass(&m, tables, 2, 1);
        map_groups_none(&m);
        if (kind == FB_OUTPUT)
            default_retry_limit(&m);
        if (plugin->finish)
            plugin->finish(&m);
        add_item(cv, kind, &m);
    }
    free(label);
}

void map_retry_limit(struct map_ctx *m, const struct fb_prop *p, const struct map_option *o)
{
    char *text = map_text(m, p);
    int64_t limit;
    if (!strcasecmp(text, "false") || !strcasecmp(text, "off") || !strcasecmp(text, "no_limits"))
        map_set_raw(m, "retry_limit", "-1", p);
    else if (!strcasecmp(text, "no_retries"))
        map_set_raw(m, "retry_limit", "0", p);
    else if (cv_int(text, &limit) == 0 && limit > 0)
        map_set_raw(m, "retry_limit", text, p);
    else if (!from_environment(m, o, p, text))
        map_bad_value(m, p, "expected a number of retries, False or no_limits, or no_retries");
    free(text);
}

const struct map_option map_input_common[] = {
    {"alias", "alias", MAP_STRING, NULL, NULL},
    {"tag", "tag", MAP_STRING, NULL, NULL},
    {"mem_buf_limit", "buffer_limit", MAP_SIZE, NULL, NULL},
    {"storage.type", "storage_type", MAP_LOWER, NULL, NULL},
    {"log_level", NULL, MAP_NONE, "skiff has one log level, service.log_level", NULL},
    {"threaded", NULL, MAP_NOTE, "skiff's inputs run on its pipeline thread", NULL},
    {0},
};

const struct map_option map_filter_common[] = {
    {"alias", "alias", MAP_STRING, NULL, NULL},
    {"match", "match", MAP_STRING, NULL, NULL},
    {"match_regex", NULL, MAP_NONE, "match tags with a glob in match", NULL},
    {"log_level", NULL, MAP_NONE, "skiff has one log level, service.log_level", NULL},
    {0},
};

const struct map_option map_output_common[] = {
    {"alias", "alias", MAP_STRING, NULL, NULL},
    {"match", "match", MAP_STRING, NULL, NULL},
    {"match_regex", NULL, MAP_NONE, "match tags with a glob in match", NULL},
    {"retry_limit", "retry_limit", MAP_CUSTOM, NULL, map_retry_limit},
    {"log_level", NULL, MAP_NONE, "skiff has one log level, service.log_level", NULL},
    {"storage.total_limit_size", NULL, MAP_NONE,
     "service.storage.max_size bounds all chunk files together", NULL},
    {0},
};
