/* The `multiline_parsers:` list of the configuration: rule sets for the
 * multiline filter, checked at load time, and the check that each multiline
 * filter's `parser` names one. Part of the config loader (config.c); not for
 * matching lines, which plugins/filter_multiline does. */
#include "config.h"
#include "config_internal.h"

#include "cfg_node.h"
#include "plugins/filter_multiline/multiline_rules.h"
#include "xalloc.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

static void check_map_keys(const struct cfg_node *map, const char *const *allowed, size_t count,
                           const char *context, struct diag_list *diags)
{
    char *prefix = xasprintf("%s: ", context);
    config_check_keys(map, allowed, count, prefix, diags);
    free(prefix);
}

/* The text of a required scalar `key` of `map`, or NULL after a message. */
static char *required_scalar(const struct cfg_node *map, const char *key, const char *context,
                             struct diag_list *diags)
{
    const struct cfg_node *value = cfg_map_get(map, key);
    if (!value || cfg_is_null(value)) {
        diag_add(diags, map, "%s: missing required key '%s'", context, key);
        return NULL;
    }
    if (value->type != CFG_SCALAR) {
        diag_add(diags, value, "%s: '%s' must be a string, got a %s", context, key,
                 cfg_type_name(value->type));
        return NULL;
    }
    return xstrdup(value->scalar);
}

static void check_regex(const struct cfg_node *rule, const char *pattern, const char *context,
                        struct diag_list *diags)
{
    int code_error;
    PCRE2_SIZE offset;
    pcre2_code *code =
        pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                      PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code_error, &offset, NULL);
    if (code) {
        pcre2_code_free(code);
        return;
    }
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(code_error, message, sizeof message);
    diag_add(diags, cfg_map_get(rule, "regex"), "%s: regex: %s at offset %zu", context,
             (char *)message, (size_t)offset);
}

static void load_rule(struct multiline_rule_config *rule, const struct cfg_node *node,
                      const char *context, struct diag_list *diags)
{
    static const char *const keys[] = {"state", "regex", "next_state"};
    if (node->type != CFG_MAP) {
        diag_add(diags, node, "%s: must be a map with state, regex and next_state, got a %s",
                 context, cfg_type_name(node->type));
        return;
    }
    check_map_keys(node, keys, 3, context, diags);
    rule->state = required_scalar(node, "state", context, diags);
    rule->regex = required_scalar(node, "regex", context, diags);
    rule->next_state = required_scalar(node, "next_state", context, diags);
    if (rule->regex)
        check_regex(node, rule->regex, context, diags);
}

static bool has_state(const struct multiline_config *parser, const char *state)
{
    for (size_t i = 0; i < parser->rule_count; i++) {
        if (parser->rules[i].state && strcmp(parser->rules[i].state, state) == 0)
            return true;
    }
    return false;
}

/* Every next_state must be a state with rules, and start_state must have one. */
static void check_states(const struct multiline_config *parser, const struct cfg_node *rules,
                         const char *context, struct diag_list *diags)
{
    for (size_t i = 0; i < parser->rule_count; i++) {
        const char *next = parser->rules[i].next_state;
        if (next && !has_state(parser, next))
            diag_add(diags, cfg_map_get(rules->items[i], "next_state"),
                     "%s: rules[%zu]: next_state '%s' names no state (no rule has state '%s')",
                     context, i, next, next);
    }
    if (!has_state(parser, MULTILINE_START_STATE))
        diag_add(diags, rules, "%s: no rule has state '%s', where an event starts", context,
                 MULTILINE_START_STATE);
}

static void load_rules(struct multiline_config *parser, const char *context,
                       struct diag_list *diags)
{
    const struct cfg_node *rules = cfg_map_get(parser->node, "rules");
    if (!rules || cfg_is_null(rules)) {
        diag_add(diags, parser->node, "%s: missing required key 'rules'", context);
        return;
    }
    if (rules->type != CFG_SEQ || rules->count == 0) {
        diag_add(diags, rules, "%s: 'rules' must be a non-empty sequence of rules", context);
        return;
    }
    parser->rules = xcalloc(rules->count, sizeof *parser->rules);
    parser->rule_count = rules->count;
    for (size_t i = 0; i < rules->count; i++) {
        char *rule_context = xasprintf("%s: rules[%zu]", context, i);
        load_rule(&parser->rules[i], rules->items[i], rule_context, diags);
        free(rule_context);
    }
    check_states(parser, rules, context, diags);
}

static void load_name(const struct config *config, struct multiline_config *parser,
                      const char *context, struct diag_list *diags)
{
    parser->name = required_scalar(parser->node, "name", context, diags);
    if (!parser->name)
        return;
    const struct cfg_node *at = cfg_map_get(parser->node, "name");
    if (multiline_is_builtin(parser->name))
        diag_add(diags, at, "%s: '%s' is a built-in multiline parser; give yours another name",
                 context, parser->name);
    else if (config_multiline_parser(config, parser->name) != parser)
        diag_add(diags, at, "%s: another multiline parser is named '%s'", context, parser->name);
}

void config_load_multiline(struct config *config, const struct cfg_node *list,
                           struct diag_list *diags)
{
    static const char *const keys[] = {"name", "rules"};
    if (!list || cfg_is_null(list))
        return;
    if (list->type != CFG_SEQ) {
        diag_add(diags, list, "'multiline_parsers' must be a sequence, got a %s",
                 cfg_type_name(list->type));
        return;
    }
    config->multiline_parsers =
        xcalloc(list->count ? list->count : 1, sizeof *config->multiline_parsers);
    config->multiline_parser_count = list->count;
    for (size_t i = 0; i < list->count; i++) {
        struct multiline_config *parser = &config->multiline_parsers[i];
        parser->node = list->items[i];
        char *context = xasprintf("multiline_parsers[%zu]", i);
        if (parser->node->type != CFG_MAP) {
            diag_add(diags, parser->node, "%s: must be a map with 'name' and 'rules', got a %s",
                     context, cfg_type_name(parser->node->type));
        } else {
            check_map_keys(parser->node, keys, 2, context, diags);
            load_name(config, parser, context, diags);
            load_rules(parser, context, diags);
        }
        free(context);
    }
}

const struct multiline_config *config_multiline_parser(const struct config *config,
                                                       const char *name)
{
    for (size_t i = 0; i < config->multiline_parser_count; i++) {
        const char *own = config->multiline_parsers[i].name;
        if (own && strcmp(own, name) == 0)
            return &config->multiline_parsers[i];
    }
    return NULL;
}

static void check_multiline_ref(const struct config *config, const struct instance_config *inst,
                                const struct option_spec *spec, struct diag_list *diags)
{
    const char *name = *(char *const *)((const char *)inst->options + spec->offset);
    if (!name || multiline_is_builtin(name) || config_multiline_parser(config, name))
        return;

    size_t count = 0;
    const char **names = xcalloc(config->multiline_parser_count + 4, sizeof *names);
    for (size_t i = 0; multiline_builtin_names[i]; i++)
        names[count++] = multiline_builtin_names[i];
    for (size_t i = 0; i < config->multiline_parser_count; i++) {
        if (config->multiline_parsers[i].name)
            names[count++] = config->multiline_parsers[i].name;
    }
    const char *hint = diag_closest(name, names, count);
    char *context = config_instance_context(inst->plugin->kind, inst->index, inst->plugin);
    diag_add(diags, config_option_node(inst, spec->name),
             "%s: option '%s': no multiline parser named '%s'%s%s%s; use java, python, go or "
             "define it under 'multiline_parsers:'",
             context, spec->name, name, hint ? " (did you mean '" : "", hint ? hint : "",
             hint ? "'?)" : "");
    free(context);
    free(names);
}

void config_check_multiline_refs(const struct config *config, struct diag_list *diags)
{
    for (size_t i = 0; i < config->filter_count; i++) {
        const struct instance_config *inst = &config->filters[i];
        if (!inst->plugin || !inst->options || strcmp(inst->plugin->name, "multiline") != 0)
            continue;
        for (const struct option_spec *spec = inst->plugin->options; spec->name; spec++) {
            if (strcmp(spec->name, "parser") == 0)
                check_multiline_ref(config, inst, spec, diags);
        }
    }
}

void config_free_multiline(struct config *config)
{
    for (size_t i = 0; i < config->multiline_parser_count; i++) {
        struct multiline_config *parser = &config->multiline_parsers[i];
        for (size_t r = 0; r < parser->rule_count; r++) {
            free(parser->rules[r].state);
            free(parser->rules[r].regex);
            free(parser->rules[r].next_state);
        }
        free(parser->rules);
        free(parser->name);
    }
    free(config->multiline_parsers);
}
