/* Parser `regex`: a PCRE2 regular expression (JIT-compiled) whose named groups
 * become fields. Defined by the user under `parsers:`, e.g.
 *   - name: nginx
 *     format: regex
 *     regex: '^(?<remote>\S+) \S+ \S+ \[(?<time>[^\]]+)\] "(?<method>\S+) (?<path>\S+)'
 *     time_key: time
 *     time_format: "%d/%b/%Y:%H:%M:%S %z"
 * A group that did not take part in the match is left out. */
#include "cfg_node.h"
#include "diag.h"
#include "plugin_api.h"
#include "xalloc.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct regex_options {
    struct option_regex regex;
};

struct regex_group {
    uint32_t number;
    char *name;
    size_t name_len;
};

struct regex_state {
    pcre2_match_data *match_data;
    struct regex_group *groups;
    uint32_t group_count;
};

static const struct option_spec regex_options_table[] = {
    {.name = "regex",
     .type = OPT_REGEX,
     .required = true,
     .offset = offsetof(struct regex_options, regex),
     .description = "PCRE2 regular expression; each named group `(?<name>...)` becomes a field"},
    {0},
};

static int regex_validate(const void *options, const struct cfg_node *node, const char *context,
                          struct diag_list *diags)
{
    const struct regex_options *opts = options;
    uint32_t names = 0;
    pcre2_pattern_info(opts->regex.code, PCRE2_INFO_NAMECOUNT, &names);
    if (names > 0)
        return 0;
    const struct cfg_node *at = cfg_map_get(node, "regex");
    diag_add(diags, at ? at : node,
             "%s: option 'regex' has no named group, so it would give no fields; "
             "name them like (?<level>\\w+)",
             context);
    return -1;
}

static int regex_group_compare(const void *a, const void *b)
{
    const struct regex_group *x = a, *y = b;
    return (x->number > y->number) - (x->number < y->number);
}

/* The name table is read once: each entry is a 2-byte group number followed
 * by the NUL-terminated name, in entries of a fixed size. It is sorted by
 * name; fields come out in the order the groups appear in the regex. */
static int regex_init(struct instance *parser)
{
    const struct regex_options *opts = parser->options;
    pcre2_code *code = opts->regex.code;
    struct regex_state *state = xcalloc(1, sizeof *state);
    PCRE2_SPTR table;
    uint32_t entry_size;

    pcre2_pattern_info(code, PCRE2_INFO_NAMECOUNT, &state->group_count);
    pcre2_pattern_info(code, PCRE2_INFO_NAMETABLE, &table);
    pcre2_pattern_info(code, PCRE2_INFO_NAMEENTRYSIZE, &entry_size);
    state->groups = xcalloc(state->group_count ? state->group_count : 1, sizeof *state->groups);
    for (uint32_t i = 0; i < state->group_count; i++) {
        PCRE2_SPTR entry = table + (size_t)i * entry_size;
        state->groups[i].number = (uint32_t)(entry[0] << 8 | entry[1]);
        state->groups[i].name = xstrdup((const char *)entry + 2);
        state->groups[i].name_len = strlen(state->groups[i].name);
    }
    qsort(state->groups, state->group_count, sizeof *state->groups, regex_group_compare);
    state->match_data = pcre2_match_data_create_from_pattern(code, NULL);
    parser->state = state;
    return 0;
}

static void regex_destroy(struct instance *parser)
{
    struct regex_state *state = parser->state;
    if (!state)
        return;
    for (uint32_t i = 0; i < state->group_count; i++)
        free(state->groups[i].name);
    free(state->groups);
    pcre2_match_data_free(state->match_data);
    free(state);
    parser->state = NULL;
}

static enum parse_result regex_parse(struct instance *parser, void *source_state, const char *text,
                                     size_t len, struct record *rec)
{
    const struct regex_options *opts = parser->options;
    struct regex_state *state = parser->state;
    int rc = pcre2_match(opts->regex.code, (PCRE2_SPTR)text, len, 0, 0, state->match_data, NULL);
    if (rc < 0)
        return PARSE_FAILED;
    PCRE2_SIZE *ovector = pcre2_get_ovector_pointer(state->match_data);
    for (uint32_t i = 0; i < state->group_count; i++) {
        const struct regex_group *g = &state->groups[i];
        PCRE2_SIZE start = ovector[2 * g->number], end = ovector[2 * g->number + 1];
        if (start == PCRE2_UNSET || (int)g->number >= rc)
            continue;
        struct value v = value_string(text + start, end - start);
        value_map_set(&rec->fields, g->name, g->name_len, &v);
    }
    return PARSE_OK;
}

const struct plugin parser_regex_plugin = {
    .name = "regex",
    .kind = PLUGIN_PARSER,
    .description = "a regular expression whose named groups become fields",
    .options = regex_options_table,
    .options_size = sizeof(struct regex_options),
    .validate = regex_validate,
    .init = regex_init,
    .destroy = regex_destroy,
    .parse = regex_parse,
};
