/* The `parsers:` list of the configuration, and the check that every
 * `parser:` option names a parser that exists. Part of the config loader
 * (config.c); not for building parsers, which pipeline_setup.c does. */
#include "config.h"
#include "config_internal.h"

#include "cfg_node.h"
#include "timefmt.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

static bool builtin_parser(const char *name)
{
    const struct plugin *plugin = plugin_find(name, PLUGIN_PARSER);
    return plugin && plugin->builtin;
}

static const struct instance_config *find_user_parser(const struct config *config, const char *name)
{
    for (size_t i = 0; i < config->parser_count; i++) {
        const char *own = config->parsers[i].common.alias;
        if (own && strcmp(own, name) == 0)
            return &config->parsers[i];
    }
    return NULL;
}

/* types: each value must be one of the conversions parser.c knows. */
static void check_parser_types(const struct instance_config *p, const char *context,
                               struct diag_list *diags)
{
    static const char *const known[] = {"int", "float", "bool", "string"};
    const struct value *types = &p->common.types;
    if (types->type != VALUE_MAP)
        return;
    for (uint32_t i = 0; i < types->as.map.count; i++) {
        const struct map_entry *e = &types->as.map.entries[i];
        bool ok = false;
        for (size_t k = 0; k < 4 && e->value.type == VALUE_STRING; k++)
            ok |= strcmp(e->value.as.string.ptr, known[k]) == 0;
        if (!ok)
            diag_add(diags, config_option_node(p, "types"),
                     "%s: types: field '%s' must be int, float, bool or string", context,
                     e->key.ptr);
    }
}

static void check_parser_time_format(const struct instance_config *p, const char *context,
                                     struct diag_list *diags)
{
    if (!p->common.time_format)
        return;
    char *error = NULL;
    struct time_format *format = timefmt_compile(p->common.time_format, &error);
    if (!format) {
        diag_add(diags, config_option_node(p, "time_format"), "%s: time_format: %s", context,
                 error);
        free(error);
    }
    timefmt_free(format);
}

static void check_parser_time_zone(const struct instance_config *p, const char *context,
                                   struct diag_list *diags)
{
    if (!p->common.time_zone)
        return;
    char *error = NULL;
    struct time_zone *zone = timefmt_zone_load(p->common.time_zone, &error);
    if (!zone) {
        diag_add(diags, config_option_node(p, "time_zone"), "%s: time_zone: %s", context, error);
        free(error);
    }
    timefmt_zone_free(zone);
}

static void check_parser_names(const struct config *config, struct diag_list *diags)
{
    for (size_t i = 0; i < config->parser_count; i++) {
        const struct instance_config *p = &config->parsers[i];
        const char *name = p->common.alias;
        if (!name || !p->plugin)
            continue;
        char *context = config_instance_context(PLUGIN_PARSER, p->index, p->plugin);
        if (builtin_parser(name))
            diag_add(diags, config_option_node(p, "name"),
                     "%s: '%s' is a built-in parser; give yours another name", context, name);
        else if (find_user_parser(config, name) != p)
            diag_add(diags, config_option_node(p, "name"), "%s: another parser is named '%s'",
                     context, name);
        check_parser_types(p, context, diags);
        check_parser_time_format(p, context, diags);
        check_parser_time_zone(p, context, diags);
        free(context);
    }
}

void config_load_parsers(struct config *config, const struct cfg_node *list,
                         struct diag_list *diags)
{
    if (!list || cfg_is_null(list))
        return;
    if (list->type != CFG_SEQ) {
        diag_add(diags, list, "'parsers' must be a sequence, got a %s", cfg_type_name(list->type));
        return;
    }
    config->parsers = xcalloc(list->count ? list->count : 1, sizeof *config->parsers);
    config->parser_count = list->count;
    for (size_t i = 0; i < list->count; i++)
        config_load_instance(&config->parsers[i], PLUGIN_PARSER, (unsigned)i, list->items[i],
                             diags);
    check_parser_names(config, diags);
}

/* Every `parser:` option must name a built-in parser or one under `parsers:`. */
static void check_parser_ref(const struct config *config, const struct instance_config *inst,
                             const struct option_spec *spec, struct diag_list *diags)
{
    const char *name = *(char *const *)((const char *)inst->options + spec->offset);
    if (!name || builtin_parser(name) || find_user_parser(config, name))
        return;

    size_t count = 0;
    const char **names = xcalloc(config->parser_count + 16, sizeof *names);
    for (const struct plugin *const *p = plugin_all(); *p && count < 16; p++) {
        if ((*p)->kind == PLUGIN_PARSER && (*p)->builtin)
            names[count++] = (*p)->name;
    }
    for (size_t i = 0; i < config->parser_count; i++) {
        if (config->parsers[i].common.alias)
            names[count++] = config->parsers[i].common.alias;
    }
    const char *hint = diag_closest(name, names, count);
    char *context = config_instance_context(inst->plugin->kind, inst->index, inst->plugin);
    diag_add(diags, config_option_node(inst, spec->name),
             "%s: option '%s': no parser named '%s'%s%s%s; define it under 'parsers:'", context,
             spec->name, name, hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
    free(context);
    free(names);
}

void config_check_parser_refs(const struct config *config, const struct instance_config *insts,
                              size_t count, struct diag_list *diags)
{
    for (size_t i = 0; i < count; i++) {
        if (!insts[i].plugin || !insts[i].plugin->options)
            continue;
        for (const struct option_spec *spec = insts[i].plugin->options; spec->name; spec++) {
            if (spec->type == OPT_PARSER)
                check_parser_ref(config, &insts[i], spec, diags);
        }
    }
}
