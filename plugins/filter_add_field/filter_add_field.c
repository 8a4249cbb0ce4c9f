/* Filter `add_field`: sets one field to a constant string on every record it
 * matches, for what the logs do not say themselves (the cluster, the
 * environment). A record that has the field already keeps it unless
 * `overwrite` is set. Also the example of docs/ARCHITECTURE.md, "Adding a
 * plugin": a whole plugin in one folder. */
#include "cfg_node.h"
#include "diag.h"
#include "log.h"
#include "plugin_api.h"
#include "xalloc.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct add_field_options {
    char *key;
    char *value;
    bool overwrite;
};

struct add_field_state {
    struct field_path key; /* compiled once: the hot path only looks it up */
};

static const struct option_spec add_field_options_table[] = {
    {.name = "key",
     .type = OPT_STRING,
     .required = true,
     .offset = offsetof(struct add_field_options, key),
     .description = "field to set, as a path: `cluster`, `kubernetes.cluster`"},
    {.name = "value",
     .type = OPT_STRING,
     .required = true,
     .offset = offsetof(struct add_field_options, value),
     .description = "the string it is set to"},
    {.name = "overwrite",
     .type = OPT_BOOL,
     .default_value = "false",
     .offset = offsetof(struct add_field_options, overwrite),
     .description = "replace the field when the record has it already"},
    {0},
};

/* At load (also --dry-run): the key must be a path. */
static int add_field_validate(const void *options, const struct cfg_node *node, const char *context,
                              struct diag_list *diags)
{
    const struct add_field_options *opts = options;
    struct field_path path;
    char *error = NULL;

    if (field_path_parse(opts->key, &path, &error) < 0) {
        const struct cfg_node *at = cfg_map_get(node, "key");
        diag_add(diags, at ? at : node, "%s: option 'key': %s", context, error);
        free(error);
        return -1;
    }
    field_path_free(&path);
    return 0;
}

static int add_field_init(struct instance *f)
{
    const struct add_field_options *opts = f->options;
    struct add_field_state *state = xcalloc(1, sizeof *state);
    char *error = NULL;

    if (field_path_parse(opts->key, &state->key, &error) < 0) {
        log_error(f->alias, "option 'key': %s", error);
        free(error);
        free(state);
        return -1;
    }
    f->state = state;
    return 0;
}

static void add_field_destroy(struct instance *f)
{
    struct add_field_state *state = f->state;
    if (!state)
        return;
    field_path_free(&state->key);
    free(state);
    f->state = NULL;
}

static enum filter_result add_field_filter(struct instance *f, struct instance *input,
                                           const char *tag, struct record *rec)
{
    const struct add_field_options *opts = f->options;
    struct add_field_state *state = f->state;

    if (!opts->overwrite && record_get(rec, &state->key))
        return FILTER_KEEP;
    struct value v = value_string(opts->value, strlen(opts->value));
    record_set(rec, &state->key, &v);
    return FILTER_KEEP;
}

const struct plugin filter_add_field_plugin = {
    .name = "add_field",
    .kind = PLUGIN_FILTER,
    .description = "sets a field to a constant string on every record",
    .options = add_field_options_table,
    .options_size = sizeof(struct add_field_options),
    .validate = add_field_validate,
    .init = add_field_init,
    .destroy = add_field_destroy,
    .filter = add_field_filter,
};
