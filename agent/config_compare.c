/* Comparing two configurations for a reload (see config_compare.h). */
#include "config_compare.h"

#include "cfg_node.h"
#include "xalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Service settings a running pipeline takes on at a reload. Any other
 * setting (state_dir, storage.type, one added later) needs a restart. */
static const char *const service_live[] = {
    "log_level",    "flush_interval",       "grace",
    "http.listen",  "http.reload",          "storage.max_size",
    "storage.sync", "dead_letter.max_size", NULL,
};

static bool text_equal(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool lists_equal(const struct string_list *a, const struct string_list *b)
{
    if (a->count != b->count)
        return false;
    for (size_t i = 0; i < a->count; i++) {
        if (!text_equal(a->items[i], b->items[i]))
            return false;
    }
    return true;
}

/* A map option's entries in the same order too: a dummy input writes its
 * record's fields in that order. */
static bool maps_equal(const struct value *a, const struct value *b)
{
    if (a->type != VALUE_MAP || b->type != VALUE_MAP)
        return value_equal(a, b);
    if (a->as.map.count != b->as.map.count)
        return false;
    for (uint32_t i = 0; i < a->as.map.count; i++) {
        const struct map_entry *x = &a->as.map.entries[i], *y = &b->as.map.entries[i];
        if (x->key.len != y->key.len || memcmp(x->key.ptr, y->key.ptr, x->key.len) != 0 ||
            !value_equal(&x->value, &y->value))
            return false;
    }
    return true;
}

static bool option_equal(const struct option_spec *spec, const void *a, const void *b)
{
    const void *x = (const char *)a + spec->offset;
    const void *y = (const char *)b + spec->offset;
    switch (spec->type) {
    case OPT_STRING:
    case OPT_PARSER:
        return text_equal(*(char *const *)x, *(char *const *)y);
    case OPT_INT:
    case OPT_SIZE:
    case OPT_DURATION:
        return *(const int64_t *)x == *(const int64_t *)y;
    case OPT_BOOL:
        return *(const bool *)x == *(const bool *)y;
    case OPT_LIST:
        return lists_equal(x, y);
    case OPT_MAP:
        return maps_equal(x, y);
    case OPT_REGEX:
        return text_equal(((const struct option_regex *)x)->pattern,
                          ((const struct option_regex *)y)->pattern);
    case OPT_SECTION:
        return options_equal(spec->section, x, y);
    }
    return false;
}

bool options_equal(const struct option_spec *specs, const void *a, const void *b)
{
    for (const struct option_spec *spec = specs; spec->name; spec++) {
        if (!option_equal(spec, a, b))
            return false;
    }
    return true;
}

bool config_instance_equal(const struct instance_config *a, const struct instance_config *b)
{
    if (!a->plugin || a->plugin != b->plugin)
        return false;
    if (!options_equal(config_common_options(a->plugin->kind), &a->common, &b->common))
        return false;
    return !a->plugin->options || options_equal(a->plugin->options, a->options, b->options);
}

bool cfg_node_equal(const struct cfg_node *a, const struct cfg_node *b)
{
    if (!a || !b)
        return a == b;
    if (a->type != b->type || a->count != b->count)
        return false;
    switch (a->type) {
    case CFG_SCALAR:
        return a->plain == b->plain && a->scalar_len == b->scalar_len &&
               memcmp(a->scalar, b->scalar, a->scalar_len) == 0;
    case CFG_MAP:
        for (size_t i = 0; i < a->count; i++) {
            if (!cfg_node_equal(a->pairs[i].value, cfg_map_get(b, a->pairs[i].key->scalar)))
                return false;
        }
        return true;
    case CFG_SEQ:
        for (size_t i = 0; i < a->count; i++) {
            if (!cfg_node_equal(a->items[i], b->items[i]))
                return false;
        }
        return true;
    }
    return false;
}

static const struct instance_config *find_parser(const struct config *config, const char *name)
{
    for (size_t i = 0; i < config->parser_count; i++) {
        if (text_equal(config->parsers[i].common.alias, name))
            return &config->parsers[i];
    }
    return NULL;
}

/* A parser name means the same in both: defined the same, or in neither (a
 * built-in one). */
static bool parser_same(const struct config *old, const struct config *new, const char *name)
{
    const struct instance_config *a = find_parser(old, name);
    const struct instance_config *b = find_parser(new, name);
    if (!a || !b)
        return a == b;
    return config_instance_equal(a, b);
}

static bool parsers_named_same(const struct option_spec *specs, const void *options,
                               const struct config *old, const struct config *new)
{
    for (const struct option_spec *spec = specs; spec->name; spec++) {
        const void *field = (const char *)options + spec->offset;
        if (spec->type == OPT_SECTION && !parsers_named_same(spec->section, field, old, new))
            return false;
        if (spec->type == OPT_PARSER && *(char *const *)field &&
            !parser_same(old, new, *(char *const *)field))
            return false;
    }
    return true;
}

bool config_input_same(const struct config *old, const struct instance_config *a,
                       const struct config *new, const struct instance_config *b)
{
    if (!config_instance_equal(a, b))
        return false;
    const struct plugin *plugin = a->plugin;
    if (plugin->options && !parsers_named_same(plugin->options, b->options, old, new))
        return false;
    return !plugin->section || cfg_node_equal(cfg_map_get(old->root, plugin->section),
                                              cfg_map_get(new->root, plugin->section));
}

/* ---- the diff ---- */

/* "; what: " before the first item of a group, ", " before the others. */
static void summary_item(struct buf *summary, bool *group_open, const char *group, const char *name,
                         const char *what)
{
    if (!*group_open)
        buf_printf(summary, "%s%s: ", summary->len ? "; " : "", group);
    else
        buf_append_str(summary, ", ");
    *group_open = true;
    buf_printf(summary, "%s%s", name, what);
}

static bool is_live(const char *name)
{
    for (const char *const *live = service_live; *live; live++) {
        if (strcmp(*live, name) == 0)
            return true;
    }
    return false;
}

/* Adds each changed service setting to the summary, and the first one that
 * needs a restart to `restart`. */
static void diff_service(const struct option_spec *specs, const void *a, const void *b,
                         const char *prefix, struct buf *summary, bool *group_open, char **restart)
{
    for (const struct option_spec *spec = specs; spec->name; spec++) {
        char *name = xasprintf("%s%s", prefix, spec->name);
        if (spec->type == OPT_SECTION) {
            char *nested = xasprintf("%s.", name);
            diff_service(spec->section, (const char *)a + spec->offset,
                         (const char *)b + spec->offset, nested, summary, group_open, restart);
            free(nested);
        } else if (!option_equal(spec, a, b)) {
            summary_item(summary, group_open, "service", name, "");
            if (!is_live(name) && !*restart)
                *restart = xasprintf("service.%s", name);
        }
        free(name);
    }
}

static const struct instance_config *find_alias(const struct instance_config *insts, size_t count,
                                                const char *alias)
{
    for (size_t i = 0; i < count; i++) {
        if (text_equal(insts[i].common.alias, alias))
            return &insts[i];
    }
    return NULL;
}

/* Filters, outputs or parsers, by alias (a parser's alias is its name). */
static void diff_instances(const char *group, const struct instance_config *old, size_t old_count,
                           const struct instance_config *new, size_t new_count, struct buf *summary)
{
    bool open = false;
    for (size_t i = 0; i < new_count; i++) {
        const struct instance_config *was = find_alias(old, old_count, new[i].common.alias);
        if (!was)
            summary_item(summary, &open, group, new[i].common.alias, " added");
        else if (!config_instance_equal(was, &new[i]))
            summary_item(summary, &open, group, new[i].common.alias, " changed");
        else if (was->index != new[i].index &&new[i].plugin->kind == PLUGIN_FILTER)
            summary_item(summary, &open, group, new[i].common.alias, " moved");
    }
    for (size_t i = 0; i < old_count; i++) {
        if (!find_alias(new, new_count, old[i].common.alias))
            summary_item(summary, &open, group, old[i].common.alias, " removed");
    }
}

static void diff_sections(const struct config *old, const struct config *new, struct buf *summary)
{
    bool open = false;
    for (const struct plugin *const *p = plugin_all(); *p; p++) {
        if ((*p)->section && !cfg_node_equal(cfg_map_get(old->root, (*p)->section),
                                             cfg_map_get(new->root, (*p)->section)))
            summary_item(summary, &open, "sections", (*p)->section, "");
    }
}

/* Fills diff->input_from and lists in the summary every input that cannot
 * keep running as it is. */
static void diff_inputs(const struct config *old, const struct config *new,
                        struct config_diff *diff)
{
    struct buf *changes = &diff->summary;
    bool open = false;
    diff->input_count = new->input_count;
    diff->input_from = xcalloc(new->input_count ? new->input_count : 1, sizeof *diff->input_from);
    for (size_t i = 0; i < new->input_count; i++) {
        const struct instance_config *b = &new->inputs[i];
        const struct instance_config *a =
            find_alias(old->inputs, old->input_count, b->common.alias);
        diff->input_from[i] = -1;
        if (!a)
            summary_item(changes, &open, "inputs", b->common.alias, " added");
        else if (!config_input_same(old, a, new, b))
            summary_item(changes, &open, "inputs", b->common.alias, " changed");
        else
            diff->input_from[i] = (int)a->index;
    }
    for (size_t i = 0; i < old->input_count; i++) {
        if (!find_alias(new->inputs, new->input_count, old->inputs[i].common.alias))
            summary_item(changes, &open, "inputs", old->inputs[i].common.alias, " removed");
    }
}

void config_diff(const struct config *old, const struct config *new, struct config_diff *diff)
{
    memset(diff, 0, sizeof *diff);
    char *restart = NULL;
    bool open = false;

    diff_inputs(old, new, diff);
    diff_service(service_options, &old->service, &new->service, "", &diff->summary, &open,
                 &restart);
    if (restart)
        diff->refused = xasprintf("changing %s needs a restart", restart);
    free(restart);
    diff_instances("parsers", old->parsers, old->parser_count, new->parsers, new->parser_count,
                   &diff->summary);
    diff_sections(old, new, &diff->summary);
    diff_instances("filters", old->filters, old->filter_count, new->filters, new->filter_count,
                   &diff->summary);
    diff_instances("outputs", old->outputs, old->output_count, new->outputs, new->output_count,
                   &diff->summary);
    if (diff->summary.len == 0)
        buf_append_str(&diff->summary, "nothing changed");
    buf_cstr(&diff->summary);
}

void config_diff_free(struct config_diff *diff)
{
    free(diff->refused);
    buf_free(&diff->summary);
    free(diff->input_from);
    memset(diff, 0, sizeof *diff);
}
