/* The plugin registry: every plugin built into skiff, found by name and kind.
 * Adding a plugin means declaring it here; nothing registers at run time. */
#include "plugin.h"

#include <string.h>

extern const struct plugin filter_grep_plugin;
extern const struct plugin filter_parser_plugin;
extern const struct plugin filter_multiline_plugin;
extern const struct plugin filter_kubernetes_plugin;
extern const struct plugin in_dummy_plugin;
extern const struct plugin in_tail_plugin;
extern const struct plugin out_elasticsearch_plugin;
extern const struct plugin out_file_plugin;
extern const struct plugin out_null_plugin;
extern const struct plugin out_stdout_plugin;
extern const struct plugin parser_cri_plugin;
extern const struct plugin parser_docker_plugin;
extern const struct plugin parser_json_plugin;
extern const struct plugin parser_logfmt_plugin;
extern const struct plugin parser_regex_plugin;

/* One per line, so that adding a plugin is a one-line change. */
/* clang-format off */
static const struct plugin *const registry[] = {
    &in_dummy_plugin,
    &in_tail_plugin,
    &filter_grep_plugin,
    &filter_parser_plugin,
    &filter_multiline_plugin,
    &filter_kubernetes_plugin,
    &out_elasticsearch_plugin,
    &out_file_plugin,
    &out_null_plugin,
    &out_stdout_plugin,
    &parser_cri_plugin,
    &parser_docker_plugin,
    &parser_json_plugin,
    &parser_logfmt_plugin,
    &parser_regex_plugin,
    NULL,
};
/* clang-format on */

const struct plugin *plugin_find(const char *name, enum plugin_kind kind)
{
    for (const struct plugin *const *p = registry; *p; p++) {
        if ((*p)->kind == kind && strcmp((*p)->name, name) == 0)
            return *p;
    }
    return NULL;
}

const struct plugin *const *plugin_all(void)
{
    return registry;
}

const char *plugin_kind_name(enum plugin_kind kind)
{
    switch (kind) {
    case PLUGIN_INPUT:
        return "input";
    case PLUGIN_FILTER:
        return "filter";
    case PLUGIN_OUTPUT:
        return "output";
    case PLUGIN_PARSER:
        return "parser";
    }
    return "?";
}
