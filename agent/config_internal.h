/* What config.c shares with config_parsers.c, config_service.c and
 * config_sections.c. Not for the rest of skiff. */
#ifndef SKIFF_CONFIG_INTERNAL_H
#define SKIFF_CONFIG_INTERNAL_H

#include "config.h"

/* Validates one item of `inputs`, `filters`, `outputs` or `parsers`. */
void config_load_instance(struct instance_config *inst, enum plugin_kind kind, unsigned index,
                          const struct cfg_node *item, struct diag_list *diags);

/* memory, filesystem: service.storage.type and each input's storage_type. */
extern const char *const config_storage_types[];

/* The `service:` map (NULL when absent) into config->service. */
void config_load_service(struct config *config, const struct cfg_node *map,
                         struct diag_list *diags);

void config_load_parsers(struct config *config, const struct cfg_node *list,
                         struct diag_list *diags);
void config_check_parser_refs(const struct config *config, const struct instance_config *insts,
                              size_t count, struct diag_list *diags);

/* The top-level keys: service, parsers, the plugins' sections, pipeline. */
void config_check_top_keys(const struct cfg_node *root, struct diag_list *diags);
/* Each plugin's section (plugin->section_load), in the registry's order. */
void config_load_sections(struct config *config, const struct cfg_node *root,
                          struct diag_list *diags);
/* plugin->validate_config of every input, filter and output that loaded. */
void config_validate_instances(const struct config *config, struct diag_list *diags);
void config_free_sections(struct config *config);

#endif
