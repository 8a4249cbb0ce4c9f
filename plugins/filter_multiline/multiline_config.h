/* The multiline filter's section of the configuration, `multiline_parsers:`:
 * named rule sets, compiled once when the configuration loads. */
#ifndef SKIFF_MULTILINE_CONFIG_H
#define SKIFF_MULTILINE_CONFIG_H

struct cfg_node;
struct config;
struct diag_list;
struct instance_config;
struct multiline_sets;

/* plugin->section_load and section_free: the list (NULL when absent) with
 * every problem in `diags`. */
void *multiline_sets_load(const struct cfg_node *list, struct diag_list *diags);
void multiline_sets_free(void *sets);

/* The compiled rules of the set with that name (owned by the sets), or NULL. */
struct multiline_rules *multiline_sets_find(const struct multiline_sets *sets, const char *name);

/* The check that a multiline filter's `parser`, `name`, is a built-in or
 * defined set, with a "did you mean" when it is neither. */
void multiline_check_parser(const struct config *config, const struct instance_config *inst,
                            const char *name, struct diag_list *diags);

#endif
