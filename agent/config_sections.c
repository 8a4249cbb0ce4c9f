/* Top-level sections that plugins own: the keys they add beside `service`,
 * `parsers` and `pipeline`, loaded by the plugin's section_load, and the
 * plugins' checks of an instance against the whole configuration. Part of the
 * config loader (config.c); what a section means is the plugin's business. */
#include "config.h"
#include "config_internal.h"

#include "cfg_node.h"
#include "xalloc.h"

#include <stdlib.h>

static size_t count_sections(void)
{
    size_t count = 0;
    for (const struct plugin *const *p = plugin_all(); *p; p++)
        count += (*p)->section != NULL;
    return count;
}

void config_check_top_keys(const struct cfg_node *root, struct diag_list *diags)
{
    const char **keys = xcalloc(count_sections() + 3, sizeof *keys);
    size_t count = 0;
    keys[count++] = "service";
    keys[count++] = "parsers";
    for (const struct plugin *const *p = plugin_all(); *p; p++) {
        if ((*p)->section)
            keys[count++] = (*p)->section;
    }
    keys[count++] = "pipeline";
    config_check_keys(root, keys, count, "", diags);
    free(keys);
}

void config_load_sections(struct config *config, const struct cfg_node *root,
                          struct diag_list *diags)
{
    config->sections = xcalloc(count_sections() + 1, sizeof *config->sections);
    for (const struct plugin *const *p = plugin_all(); *p; p++) {
        if (!(*p)->section)
            continue;
        struct config_section *section = &config->sections[config->section_count++];
        section->plugin = *p;
        section->data = (*p)->section_load(cfg_map_get(root, (*p)->section), diags);
    }
}

const void *config_section(const struct config *config, const struct plugin *plugin)
{
    for (size_t i = 0; i < config->section_count; i++) {
        if (config->sections[i].plugin == plugin)
            return config->sections[i].data;
    }
    return NULL;
}

static void validate_instances(const struct config *config, const struct instance_config *insts,
                               size_t count, struct diag_list *diags)
{
    for (size_t i = 0; i < count; i++) {
        const struct plugin *plugin = insts[i].plugin;
        if (plugin && insts[i].options && plugin->validate_config)
            plugin->validate_config(config, &insts[i], diags);
    }
}

void config_validate_instances(const struct config *config, struct diag_list *diags)
{
    validate_instances(config, config->inputs, config->input_count, diags);
    validate_instances(config, config->filters, config->filter_count, diags);
    validate_instances(config, config->outputs, config->output_count, diags);
}

void config_free_sections(struct config *config)
{
    for (size_t i = 0; i < config->section_count; i++)
        config->sections[i].plugin->section_free(config->sections[i].data);
    free(config->sections);
}
