/* What config.c shares with config_parsers.c and config_multiline.c. Not for the rest of skiff. */
#ifndef SKIFF_CONFIG_INTERNAL_H
#define SKIFF_CONFIG_INTERNAL_H

#include "config.h"

/* Reports every key of `map` not in `allowed`, with a "did you mean";
 * `prefix` starts each message ("pipeline: ", or "" at the top). */
void config_check_keys(const struct cfg_node *map, const char *const *allowed, size_t count,
                       const char *prefix, struct diag_list *diags);
/* "outputs[0]", and "outputs[0] (file)" once the plugin is known. */
char *config_instance_context(enum plugin_kind kind, unsigned index, const struct plugin *plugin);
/* Where a message about option `key` of an item points: its value if given,
 * else the item. */
const struct cfg_node *config_option_node(const struct instance_config *inst, const char *key);
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

/* The `multiline_parsers:` list, and the check that each multiline filter's
 * `parser` names a built-in or defined rule set (after the filters loaded). */
void config_load_multiline(struct config *config, const struct cfg_node *list,
                           struct diag_list *diags);
void config_check_multiline_refs(const struct config *config, struct diag_list *diags);
void config_free_multiline(struct config *config);

#endif
