/* Filter `grep`: keeps or drops records by matching one field against regular
 * expressions. `regex` keeps only the records whose field matches; `exclude`
 * drops those whose field matches. Dropped records are counted and still
 * acknowledged, so a checkpoint moves past them. */
#include "cfg_node.h"
#include "diag.h"
#include "json.h"
#include "log.h"
#include "plugin_api.h"
#include "xalloc.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>
#include <stdlib.h>

struct grep_options {
    char *key;
    struct option_regex regex;
    struct option_regex exclude;
};

struct grep_state {
    struct field_path key;
    pcre2_match_data *match_data;
    struct buf text; /* a non-string field as JSON, reused */
    struct metric *dropped;
};

static const struct option_spec grep_options_table[] = {
    {.name = "key",
     .type = OPT_STRING,
     .default_value = "log",
     .offset = offsetof(struct grep_options, key),
     .description = "field to match, as a path: `log`, `kubernetes.labels.app`"},
    {.name = "regex",
     .type = OPT_REGEX,
     .offset = offsetof(struct grep_options, regex),
     .description =
         "keep only records whose field matches (a record without the field is dropped)"},
    {.name = "exclude",
     .type = OPT_REGEX,
     .offset = offsetof(struct grep_options, exclude),
     .description = "drop records whose field matches"},
    {0},
};

static int grep_validate(const void *options, const struct cfg_node *node, const char *context,
                         struct diag_list *diags)
{
    const struct grep_options *opts = options;
    int problems = 0;

    if (!opts->regex.code && !opts->exclude.code) {
        diag_add(diags, node,
                 "%s: set `regex` (records to keep), `exclude` (records to drop), "
                 "or both",
                 context);
        problems++;
    }
    struct field_path path;
    char *error = NULL;
    if (field_path_parse(opts->key, &path, &error) < 0) {
        const struct cfg_node *at = cfg_map_get(node, "key");
        diag_add(diags, at ? at : node, "%s: option 'key': %s", context, error);
        free(error);
        problems++;
    } else {
        field_path_free(&path);
    }
    return problems ? -1 : 0;
}

static int grep_init(struct instance *f)
{
    const struct grep_options *opts = f->options;
    struct grep_state *state = xcalloc(1, sizeof *state);
    char *error = NULL;

    if (field_path_parse(opts->key, &state->key, &error) < 0) {
        log_error(f->alias, "option 'key': %s", error);
        free(error);
        free(state);
        return -1;
    }
    state->match_data = pcre2_match_data_create(1, NULL);
    state->dropped = instance_dropped_counter(f, "grep");
    f->state = state;
    return 0;
}

static void grep_destroy(struct instance *f)
{
    struct grep_state *state = f->state;
    if (!state)
        return;
    field_path_free(&state->key);
    pcre2_match_data_free(state->match_data);
    buf_free(&state->text);
    free(state);
    f->state = NULL;
}

static bool grep_matches(struct grep_state *state, const struct option_regex *regex,
                         const char *text, size_t len)
{
    int rc = pcre2_match(regex->code, (PCRE2_SPTR)text, len, 0, 0, state->match_data, NULL);
    return rc >= 0;
}

static enum filter_result grep_filter(struct instance *f, struct instance *input, const char *tag,
                                      struct record *rec)
{
    const struct grep_options *opts = f->options;
    struct grep_state *state = f->state;
    const struct value *field = record_get(rec, &state->key);
    const char *text = NULL;
    size_t len = 0;

    if (field && field->type == VALUE_STRING) {
        text = field->as.string.ptr;
        len = field->as.string.len;
    } else if (field) {
        buf_reset(&state->text);
        json_write_value(&state->text, field, NULL);
        text = state->text.data;
        len = state->text.len;
    }
    bool keep = opts->regex.code ? text && grep_matches(state, &opts->regex, text, len) : true;
    if (keep && opts->exclude.code && text && grep_matches(state, &opts->exclude, text, len))
        keep = false;
    if (keep)
        return FILTER_KEEP;
    metric_add(state->dropped, 1);
    return FILTER_DROP;
}

const struct plugin filter_grep_plugin = {
    .name = "grep",
    .kind = PLUGIN_FILTER,
    .description = "keeps or drops records by matching a field against regular expressions",
    .options = grep_options_table,
    .options_size = sizeof(struct grep_options),
    .validate = grep_validate,
    .init = grep_init,
    .destroy = grep_destroy,
    .filter = grep_filter,
};
