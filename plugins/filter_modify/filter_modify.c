/* Filter `modify`: Fluent Bit's modify filter. Rules (`set level error`,
 * `rename log message`, ...) run in order on each record for which every
 * condition (`key_value_equals stream stderr`, ...) holds. The program is
 * compiled once at load; modify_rules.c has the actions. */
#include "buf.h"
#include "cfg_node.h"
#include "diag.h"
#include "log.h"
#include "modify_rules.h"
#include "plugin_api.h"
#include "xalloc.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

struct modify_options {
    struct string_list rules;
    struct string_list condition;
    int64_t encode_max_size;
};

static const struct option_spec modify_options_table[] = {
    {.name = "rules",
     .type = OPT_LIST,
     .required = true,
     .offset = offsetof(struct modify_options, rules),
     .description = "the rules, in order, each `action arg...`: `set KEY VALUE`, "
                    "`add KEY VALUE`, `remove KEY`, `remove_wildcard PREFIX*`, "
                    "`remove_regex REGEX`, `rename KEY NEW`, `hard_rename KEY NEW`, "
                    "`copy KEY NEW`, `hard_copy KEY NEW`, `encode_json KEY` (a map or array "
                    "becomes one string of its JSON)"},
    {.name = "condition",
     .type = OPT_LIST,
     .offset = offsetof(struct modify_options, condition),
     .description = "conditions that must all hold for the rules to run: `key_exists KEY`, "
                    "`key_does_not_exist KEY`, `a_key_matches REGEX`, `no_key_matches REGEX`, "
                    "`key_value_equals KEY VALUE`, `key_value_does_not_equal KEY VALUE`, "
                    "`key_value_matches KEY REGEX`, `key_value_does_not_match KEY REGEX`, "
                    "`matching_keys_have_matching_values KEY_REGEX VALUE_REGEX`, "
                    "`matching_keys_do_not_have_matching_values KEY_REGEX VALUE_REGEX`"},
    {.name = "encode_max_size",
     .type = OPT_SIZE,
     .default_value = "32KiB",
     .min = 256,
     .max = 64 << 20,
     .offset = offsetof(struct modify_options, encode_max_size),
     .description = "encode_json: longer JSON is cut to this size and ends in `...[cut N bytes]` "
                    "(counted in skiff_modify_encode_cut_total)"},
    {0},
};

/* The node of item `i` of option `name`, for messages: the item when the
 * option is a sequence, else the option itself. */
static const struct cfg_node *item_node(const struct cfg_node *node, const char *name, size_t i)
{
    const struct cfg_node *at = node ? cfg_map_get(node, name) : NULL;
    if (at && at->type == CFG_SEQ && i < at->count)
        return at->items[i];
    return at ? at : node;
}

/* Compiles one option's lines into `prog`; with `diags`, reports each bad
 * line at its position, else logs the first. */
static int compile_list(struct modify_program *prog, const struct string_list *lines,
                        bool condition, const struct cfg_node *node, const char *context,
                        struct diag_list *diags)
{
    const char *name = condition ? "condition" : "rules";
    int rc = 0;
    for (size_t i = 0; i < lines->count; i++) {
        char *error = NULL;
        if (modify_add_line(prog, condition, lines->items[i], &error) == 0)
            continue;
        if (diags)
            diag_add(diags, item_node(node, name, i), "%s: option '%s': %s", context, name, error);
        else
            log_error(context, "option '%s': %s", name, error);
        free(error);
        rc = -1;
    }
    return rc;
}

static int compile_program(const struct modify_options *opts, struct modify_program *prog,
                           const struct cfg_node *node, const char *context,
                           struct diag_list *diags)
{
    int rc = compile_list(prog, &opts->condition, true, node, context, diags);
    if (compile_list(prog, &opts->rules, false, node, context, diags) < 0)
        rc = -1;
    return rc;
}

/* At load (also --dry-run): every line is a known action with the right
 * number of arguments, valid paths and regexes. */
static int modify_validate(const void *options, const struct cfg_node *node, const char *context,
                           struct diag_list *diags)
{
    struct modify_program prog = {0};
    int rc = compile_program(options, &prog, node, context, diags);
    modify_program_free(&prog);
    return rc;
}

static struct metric *encode_cut_counter(const struct instance *f)
{
    struct buf labels = BUF_INIT;
    metrics_labels(&labels, "instance", f->alias, NULL);
    struct metric *m =
        metrics_counter("skiff_modify_encode_cut_total",
                        "Values encode_json cut at encode_max_size", buf_cstr(&labels));
    buf_free(&labels);
    return m;
}

static int modify_init(struct instance *f)
{
    const struct modify_options *opts = f->options;
    struct modify_program *prog = xcalloc(1, sizeof *prog);
    if (compile_program(opts, prog, NULL, f->alias, NULL) < 0) {
        modify_program_free(prog);
        free(prog);
        return -1;
    }
    prog->encode_max_bytes = (size_t)opts->encode_max_size;
    prog->encode_cut = encode_cut_counter(f);
    f->state = prog;
    return 0;
}

static void modify_destroy(struct instance *f)
{
    struct modify_program *prog = f->state;
    if (!prog)
        return;
    modify_program_free(prog);
    free(prog);
    f->state = NULL;
}

static enum filter_result modify_filter(struct instance *f, struct instance *input, const char *tag,
                                        struct record *rec)
{
    (void)input;
    (void)tag;
    modify_apply(f->state, rec);
    return FILTER_KEEP;
}

const struct plugin filter_modify_plugin = {
    .name = "modify",
    .kind = PLUGIN_FILTER,
    .description = "Fluent Bit's modify: sets, adds, removes, renames and copies keys, "
                   "under conditions",
    .options = modify_options_table,
    .options_size = sizeof(struct modify_options),
    .validate = modify_validate,
    .init = modify_init,
    .destroy = modify_destroy,
    .filter = modify_filter,
};
