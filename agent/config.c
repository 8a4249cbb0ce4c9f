/* Loading the configuration: the service section and every input, filter and
 * output, validated against the common and plugin option tables, with every
 * problem reported in one run. Not for starting anything: that is pipeline.c. */
#include "config.h"
#include "config_internal.h"

#include "buf.h"
#include "cfg_node.h"
#include "options_units.h"
#include "router.h"
#include "tag_match.h"
#include "xalloc.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* `name` and `alias` are the same for every kind of instance. */
#define NAME_OPTION(text)                                                                          \
    {                                                                                              \
        .name = "name", .type = OPT_STRING, .required = true,                                      \
        .offset = offsetof(struct instance_common, name), .description = text                      \
    }
#define ALIAS_OPTION                                                                               \
    {                                                                                              \
        .name = "alias", .type = OPT_STRING, .offset = offsetof(struct instance_common, alias),    \
        .description = "names the instance in logs and metrics; default `<plugin>.<index>`"        \
    }

const struct option_spec input_common_options[] = {
    NAME_OPTION("the input plugin"),
    ALIAS_OPTION,
    {.name = "tag",
     .type = OPT_STRING,
     .offset = offsetof(struct instance_common, tag),
     .description = "tag of the records it reads, for `match`; default: the plugin name"},
    {.name = "buffer_limit",
     .type = OPT_SIZE,
     .default_value = "8MiB",
     .min = 64LL << 10,
     .max = 64LL << 30,
     .offset = offsetof(struct instance_common, buffer_limit),
     .description = "bytes of this input's chunks kept in memory before it pauses"},
    {.name = "storage_type",
     .type = OPT_STRING,
     .choices = config_storage_types,
     .offset = offsetof(struct instance_common, storage_type),
     .description = "`memory` or `filesystem` for this input's chunks; default: "
                    "service.storage.type"},
    {0},
};

const struct option_spec filter_common_options[] = {
    NAME_OPTION("the filter plugin"),
    ALIAS_OPTION,
    {.name = "match",
     .type = OPT_STRING,
     .required = true,
     .offset = offsetof(struct instance_common, match),
     .description = "tags this filter applies to; `*` matches any run of characters"},
    {0},
};

const struct option_spec output_common_options[] = {
    NAME_OPTION("the output plugin"),
    ALIAS_OPTION,
    {.name = "match",
     .type = OPT_STRING,
     .required = true,
     .offset = offsetof(struct instance_common, match),
     .description = "tags this output receives; `*` matches any run of characters"},
    {.name = "retry_min",
     .type = OPT_DURATION,
     .default_value = "1s",
     .min = 1,
     .max = 3600000,
     .offset = offsetof(struct instance_common, retry_min_ms),
     .description = "delay before the first retry; it doubles up to retry_max"},
    {.name = "retry_max",
     .type = OPT_DURATION,
     .default_value = "60s",
     .min = 1,
     .max = 86400000,
     .offset = offsetof(struct instance_common, retry_max_ms),
     .description = "longest delay between two retries"},
    {.name = "retry_limit",
     .type = OPT_INT,
     .default_value = "-1",
     .min = -1,
     .max = 1000000000,
     .offset = offsetof(struct instance_common, retry_limit),
     .description = "retries of a chunk after the first attempt; -1 = retry forever, 0 = never "
                    "retry"},
    {0},
};

const struct option_spec parser_common_options[] = {
    {.name = "name",
     .type = OPT_STRING,
     .required = true,
     .offset = offsetof(struct instance_common, alias),
     .description = "the parser's name, for `parser:` options"},
    {.name = "format",
     .type = OPT_STRING,
     .required = true,
     .offset = offsetof(struct instance_common, name),
     .description = "the parser plugin, one of kind parser in `skiff --list-plugins`"},
    {.name = "time_key",
     .type = OPT_STRING,
     .offset = offsetof(struct instance_common, time_key),
     .description = "field that holds the record's time; unset = the parser's own or none"},
    {.name = "time_format",
     .type = OPT_STRING,
     .offset = offsetof(struct instance_common, time_format),
     .description = "strptime-style format of time_key, with %L and %N for fractions; "
                    "unset = RFC 3339"},
    {.name = "time_keep",
     .type = OPT_BOOL,
     .default_value = "false",
     .offset = offsetof(struct instance_common, time_keep),
     .description = "keep the time_key field in the record"},
    {.name = "time_zone",
     .type = OPT_STRING,
     .offset = offsetof(struct instance_common, time_zone),
     .description = "IANA zone (Europe/Paris) of times written without an offset, summer "
                    "time included, from the system's zoneinfo; unset = UTC"},
    {.name = "types",
     .type = OPT_MAP,
     .offset = offsetof(struct instance_common, types),
     .description = "field types: `{status: int, took: float, ok: bool}`; others stay strings"},
    {0},
};

const struct option_spec *config_common_options(enum plugin_kind kind)
{
    switch (kind) {
    case PLUGIN_INPUT:
        return input_common_options;
    case PLUGIN_FILTER:
        return filter_common_options;
    case PLUGIN_OUTPUT:
        return output_common_options;
    case PLUGIN_PARSER:
        return parser_common_options;
    }
    return NULL;
}

char *config_instance_context(enum plugin_kind kind, unsigned index, const struct plugin *plugin)
{
    if (!plugin)
        return xasprintf("%ss[%u]", plugin_kind_name(kind), index);
    return xasprintf("%ss[%u] (%s)", plugin_kind_name(kind), index, plugin->name);
}

void config_check_keys(const struct cfg_node *map, const char *const *allowed, size_t count,
                       const char *prefix, struct diag_list *diags)
{
    for (size_t i = 0; i < map->count; i++) {
        const struct cfg_node *key = map->pairs[i].key;
        bool known = false;
        for (size_t k = 0; k < count; k++)
            known |= strcmp(key->scalar, allowed[k]) == 0;
        if (known)
            continue;
        const char *hint = diag_closest(key->scalar, allowed, count);
        if (hint)
            diag_add(diags, key, "%sunknown key '%s' (did you mean '%s'?)", prefix, key->scalar,
                     hint);
        else
            diag_add(diags, key, "%sunknown key '%s'", prefix, key->scalar);
    }
}

static void report_unknown_plugin(enum plugin_kind kind, const struct cfg_node *name,
                                  const char *context, struct diag_list *diags)
{
    const struct plugin *const *all = plugin_all();
    size_t total = 0, count = 0;

    while (all[total])
        total++;
    const char **names = xcalloc(total, sizeof *names);
    for (size_t i = 0; i < total; i++) {
        if (all[i]->kind == kind)
            names[count++] = all[i]->name;
    }
    const char *hint = diag_closest(name->scalar, names, count);
    const struct plugin *other = NULL;
    for (size_t i = 0; i < total && !other; i++) {
        if (strcmp(all[i]->name, name->scalar) == 0)
            other = all[i];
    }
    if (other)
        diag_add(diags, name, "%s: plugin '%s' is for %ss, not %ss", context, name->scalar,
                 plugin_kind_name(other->kind), plugin_kind_name(kind));
    else if (hint)
        diag_add(diags, name,
                 "%s: unknown %s plugin '%s' (did you mean '%s'?); see skiff --list-plugins",
                 context, plugin_kind_name(kind), name->scalar, hint);
    else
        diag_add(diags, name, "%s: unknown %s plugin '%s'; see skiff --list-plugins", context,
                 plugin_kind_name(kind), name->scalar);
    free(names);
}

/* The key that names an item's plugin: `format` for parsers, whose `name` is
 * their own. */
static const char *plugin_key(enum plugin_kind kind)
{
    return kind == PLUGIN_PARSER ? "format" : "name";
}

static const struct plugin *find_plugin(enum plugin_kind kind, const struct cfg_node *item,
                                        const char *context, struct diag_list *diags)
{
    const char *key = plugin_key(kind);
    if (item->type != CFG_MAP) {
        diag_add(diags, item, "%s: must be a map with a '%s', got a %s", context, key,
                 cfg_type_name(item->type));
        return NULL;
    }
    const struct cfg_node *name = cfg_map_get(item, key);
    if (!name) {
        diag_add(diags, item, "%s: missing required option '%s' (the %s plugin to use)", context,
                 key, plugin_kind_name(kind));
        return NULL;
    }
    if (name->type != CFG_SCALAR) {
        diag_add(diags, name, "%s: option '%s' must be a plugin name, got a %s", context, key,
                 cfg_type_name(name->type));
        return NULL;
    }
    const struct plugin *plugin = plugin_find(name->scalar, kind);
    if (!plugin)
        report_unknown_plugin(kind, name, context, diags);
    return plugin;
}

const struct cfg_node *config_option_node(const struct instance_config *inst, const char *key)
{
    const struct cfg_node *value = cfg_map_get(inst->node, key);
    return value ? value : inst->node;
}

static bool is_alias_text(const char *alias)
{
    return alias[0] != '\0' &&
           alias[strspn(alias, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "0123456789_.-")] == '\0';
}

static void check_instance(const struct instance_config *inst, const char *context,
                           struct diag_list *diags)
{
    const struct instance_common *common = &inst->common;

    if (common->alias && !is_alias_text(common->alias))
        diag_add(diags, config_option_node(inst, "alias"),
                 "%s: alias '%s' may only contain letters, digits, '_', '.' and '-'", context,
                 common->alias);
    if (inst->plugin->kind == PLUGIN_OUTPUT && common->retry_min_ms > common->retry_max_ms) {
        char min[OPTIONS_NUMBER_TEXT_MAX], max[OPTIONS_NUMBER_TEXT_MAX];
        options_format_number(OPT_DURATION, common->retry_min_ms, min);
        options_format_number(OPT_DURATION, common->retry_max_ms, max);
        diag_add(diags, config_option_node(inst, "retry_min"),
                 "%s: retry_min (%s) must not be greater than retry_max (%s)", context, min, max);
    }
}

void config_load_instance(struct instance_config *inst, enum plugin_kind kind, unsigned index,
                          const struct cfg_node *item, struct diag_list *diags)
{
    /* find_plugin checked it; taken as text, since the `null` output's name
     * is also YAML's null. */
    const char *const ignored[] = {plugin_key(kind), NULL};
    char *context = config_instance_context(kind, index, NULL);
    const struct plugin *plugin = find_plugin(kind, item, context, diags);

    inst->index = index;
    inst->node = item;
    free(context);
    if (!plugin)
        return;
    inst->plugin = plugin;
    inst->options = xcalloc(1, plugin->options_size);
    context = config_instance_context(kind, index, plugin);

    struct option_target targets[] = {
        {config_common_options(kind), &inst->common},
        {plugin->options, inst->options},
    };
    size_t before = diags->count;
    options_apply(targets, plugin->options ? 2 : 1, item, context, ignored, diags);
    inst->common.name = xstrdup(plugin->name);
    if (!inst->common.alias && kind != PLUGIN_PARSER)
        inst->common.alias = xasprintf("%s.%u", plugin->name, index);
    if (kind == PLUGIN_INPUT && !inst->common.tag)
        inst->common.tag = xstrdup(plugin->name);
    check_instance(inst, context, diags);
    /* A plugin's own checks assume its options converted cleanly. */
    if (diags->count == before && plugin->validate)
        plugin->validate(inst->options, item, context, diags);
    free(context);
}

struct kind_section {
    enum plugin_kind kind;
    const char *key;
    bool required;
    size_t max; /* 0 = no limit */
};

static void load_kind(const struct cfg_node *pipeline, const struct kind_section *section,
                      struct instance_config **out, size_t *out_count, struct diag_list *diags)
{
    const char *kind_name = plugin_kind_name(section->kind);
    const struct cfg_node *seq = cfg_map_get(pipeline, section->key);

    if (!seq || cfg_is_null(seq)) {
        if (section->required)
            diag_add(diags, seq ? seq : pipeline, "pipeline: missing '%s' (at least one %s)",
                     section->key, kind_name);
        return;
    }
    if (seq->type != CFG_SEQ) {
        diag_add(diags, seq, "pipeline: '%s' must be a sequence, got a %s", section->key,
                 cfg_type_name(seq->type));
        return;
    }
    if (seq->count == 0 && section->required)
        diag_add(diags, seq, "pipeline: '%s' must list at least one %s", section->key, kind_name);
    if (section->max && seq->count > section->max)
        diag_add(diags, seq, "pipeline: at most %zu %s are allowed, got %zu", section->max,
                 section->key, seq->count);
    *out = xcalloc(seq->count, sizeof **out);
    *out_count = seq->count;
    for (size_t i = 0; i < seq->count; i++)
        config_load_instance(&(*out)[i], section->kind, (unsigned)i, seq->items[i], diags);
}

static void append_known(const struct instance_config **all, size_t *count,
                         const struct instance_config *insts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (insts[i].plugin)
            all[(*count)++] = &insts[i];
    }
}

static void check_aliases_unique(const struct config *config, struct diag_list *diags)
{
    size_t total = config->input_count + config->filter_count + config->output_count;
    const struct instance_config **all = xcalloc(total, sizeof *all);
    size_t count = 0;

    append_known(all, &count, config->inputs, config->input_count);
    append_known(all, &count, config->filters, config->filter_count);
    append_known(all, &count, config->outputs, config->output_count);
    for (size_t i = 0; i < count; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(all[i]->common.alias, all[j]->common.alias) != 0)
                continue;
            char *context =
                config_instance_context(all[i]->plugin->kind, all[i]->index, all[i]->plugin);
            char *first =
                config_instance_context(all[j]->plugin->kind, all[j]->index, all[j]->plugin);
            diag_add(diags, config_option_node(all[i], "alias"),
                     "%s: alias '%s' is already used by %s", context, all[i]->common.alias, first);
            free(context);
            free(first);
            break;
        }
    }
    free(all);
}

/* Whether a tag a filter may give (plugin->emitted_tags) fits `match`. */
static bool reaches_retag(const struct config *config, const char *match)
{
    bool found = false;
    for (size_t i = 0; i < config->filter_count && !found; i++) {
        const struct instance_config *f = &config->filters[i];
        if (!f->plugin || !f->plugin->emitted_tags)
            continue;
        char **tags = f->plugin->emitted_tags(f->options);
        for (size_t j = 0; tags && tags[j]; j++) {
            found = found || tag_patterns_overlap(match, tags[j]);
            free(tags[j]);
        }
        free(tags);
    }
    return found;
}

static bool reaches_input(const struct config *config, const char *match)
{
    for (size_t i = 0; i < config->input_count; i++) {
        const char *tag = config->inputs[i].common.tag;
        if (tag && tag_patterns_overlap(match, tag))
            return true;
    }
    return reaches_retag(config, match);
}

/* "'test', 'app.*'", or NULL when no input has a tag (they all failed to
 * load, and a reach check would only add noise). */
static char *input_tags_text(const struct config *config)
{
    struct buf text = BUF_INIT;
    for (size_t i = 0; i < config->input_count; i++) {
        const char *tag = config->inputs[i].common.tag;
        if (tag)
            buf_printf(&text, "%s'%s'", text.len ? ", " : "", tag);
    }
    if (text.len == 0)
        return NULL;
    buf_cstr(&text);
    return text.data;
}

static void check_reach(const struct config *config, const struct instance_config *insts,
                        size_t count, const char *input_tags, struct diag_list *diags)
{
    for (size_t i = 0; i < count; i++) {
        const struct instance_config *inst = &insts[i];
        if (!inst->plugin || !inst->common.match || reaches_input(config, inst->common.match))
            continue;
        char *context = config_instance_context(inst->plugin->kind, inst->index, inst->plugin);
        diag_add(diags, config_option_node(inst, "match"),
                 "%s: match '%s' reaches no input (input tags: %s)", context, inst->common.match,
                 input_tags);
        free(context);
    }
}

static void load_pipeline(struct config *config, const struct cfg_node *pipeline,
                          struct diag_list *diags)
{
    static const char *const keys[] = {"inputs", "filters", "outputs"};
    static const struct kind_section inputs = {PLUGIN_INPUT, "inputs", true, 0};
    static const struct kind_section filters = {PLUGIN_FILTER, "filters", false, ROUTER_MAX_ROUTES};
    static const struct kind_section outputs = {PLUGIN_OUTPUT, "outputs", true, ROUTER_MAX_ROUTES};

    if (!pipeline || cfg_is_null(pipeline)) {
        diag_add(diags, config->root, "missing 'pipeline' (with 'inputs' and 'outputs')");
        return;
    }
    if (pipeline->type != CFG_MAP) {
        diag_add(diags, pipeline, "'pipeline' must be a map, got a %s",
                 cfg_type_name(pipeline->type));
        return;
    }
    config_check_keys(pipeline, keys, 3, "pipeline: ", diags);
    load_kind(pipeline, &inputs, &config->inputs, &config->input_count, diags);
    load_kind(pipeline, &filters, &config->filters, &config->filter_count, diags);
    load_kind(pipeline, &outputs, &config->outputs, &config->output_count, diags);
    check_aliases_unique(config, diags);

    char *input_tags = input_tags_text(config);
    if (input_tags) {
        check_reach(config, config->filters, config->filter_count, input_tags, diags);
        check_reach(config, config->outputs, config->output_count, input_tags, diags);
    }
    free(input_tags);
}

/* Takes `root` (NULL when parsing failed); `before` is the number of problems
 * known before parsing. */
static int config_build(const char *name, struct cfg_node *root, size_t before, struct config *out,
                        struct diag_list *diags)
{
    if (!root)
        return -1;
    out->path = xstrdup(name);
    out->root = root;
    config_check_top_keys(root, diags);
    config_load_service(out, cfg_map_get(root, "service"), diags);
    config_load_parsers(out, cfg_map_get(root, "parsers"), diags);
    config_load_sections(out, root, diags);
    load_pipeline(out, cfg_map_get(root, "pipeline"), diags);
    config_validate_instances(out, diags);
    config_check_parser_refs(out, out->inputs, out->input_count, diags);
    config_check_parser_refs(out, out->filters, out->filter_count, diags);
    if (diags->count == before)
        return 0;
    config_free(out);
    return -1;
}

int config_load(const char *path, struct config *out, struct diag_list *diags)
{
    size_t before = diags->count;
    memset(out, 0, sizeof *out);
    return config_build(path, cfg_parse_file(path, diags), before, out, diags);
}

int config_load_string(const char *name, const char *yaml, struct config *out,
                       struct diag_list *diags)
{
    size_t before = diags->count;
    memset(out, 0, sizeof *out);
    return config_build(name, cfg_parse_string(name, yaml, strlen(yaml), diags), before, out,
                        diags);
}

static void free_instances(struct instance_config *insts, size_t count, enum plugin_kind kind)
{
    for (size_t i = 0; i < count; i++) {
        const struct plugin *plugin = insts[i].plugin;
        options_free(config_common_options(kind), &insts[i].common);
        if (plugin && plugin->options)
            options_free(plugin->options, insts[i].options);
        free(insts[i].options);
    }
    free(insts);
}

void config_free(struct config *config)
{
    options_free(service_options, &config->service);
    free_instances(config->inputs, config->input_count, PLUGIN_INPUT);
    free_instances(config->filters, config->filter_count, PLUGIN_FILTER);
    free_instances(config->outputs, config->output_count, PLUGIN_OUTPUT);
    free_instances(config->parsers, config->parser_count, PLUGIN_PARSER);
    config_free_sections(config);
    cfg_node_free(config->root);
    free(config->path);
    memset(config, 0, sizeof *config);
}
