/* The multiline filter's own section of the configuration, `multiline_parsers:`:
 * named rule sets, checked and compiled once at load time (each regex here and
 * nowhere else), and the check that each multiline filter's `parser` names a
 * built-in or defined set. Not for matching lines: multiline_rules.c does. */
#include "multiline_config.h"

#include "cfg_node.h"
#include "config.h"
#include "diag.h"
#include "multiline_rules.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

/* One rule as written, kept while its set is checked. */
struct rule_text {
    char *state;
    char *regex;
    char *next_state;
};

struct multiline_set {
    char *name;
    struct multiline_rules *rules; /* NULL when the set has a problem */
};

struct multiline_sets {
    struct multiline_set *sets;
    size_t count;
};

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

/* Compiles the rule into `rules`; a rule without its states still has its
 * regex checked (the set is dropped anyway). */
static void compile_rule(struct multiline_rules *rules, const struct rule_text *text,
                         const struct cfg_node *node, const char *context, struct diag_list *diags)
{
    const struct multiline_rule_def def = {
        .state = text->state ? text->state : "",
        .regex = text->regex,
        .next_state = text->next_state ? text->next_state : "",
    };
    char *error = NULL;
    if (multiline_rules_add(rules, &def, &error) != 0)
        diag_add(diags, cfg_map_get(node, "regex"), "%s: regex: %s", context, error);
    free(error);
}

static void load_rule(struct multiline_rules *rules, struct rule_text *text,
                      const struct cfg_node *node, const char *context, struct diag_list *diags)
{
    static const char *const keys[] = {"state", "regex", "next_state"};
    if (node->type != CFG_MAP) {
        diag_add(diags, node, "%s: must be a map with state, regex and next_state, got a %s",
                 context, cfg_type_name(node->type));
        return;
    }
    check_map_keys(node, keys, 3, context, diags);
    text->state = required_scalar(node, "state", context, diags);
    text->regex = required_scalar(node, "regex", context, diags);
    text->next_state = required_scalar(node, "next_state", context, diags);
    if (text->regex)
        compile_rule(rules, text, node, context, diags);
}

static bool has_state(const struct rule_text *texts, size_t count, const char *state)
{
    for (size_t i = 0; i < count; i++) {
        if (texts[i].state && strcmp(texts[i].state, state) == 0)
            return true;
    }
    return false;
}

/* Every next_state must be a state with rules, and start_state must have one. */
static void check_states(const struct rule_text *texts, const struct cfg_node *rules,
                         const char *context, struct diag_list *diags)
{
    for (size_t i = 0; i < rules->count; i++) {
        const char *next = texts[i].next_state;
        if (next && !has_state(texts, rules->count, next))
            diag_add(diags, cfg_map_get(rules->items[i], "next_state"),
                     "%s: rules[%zu]: next_state '%s' names no state (no rule has state '%s')",
                     context, i, next, next);
    }
    if (!has_state(texts, rules->count, MULTILINE_START_STATE))
        diag_add(diags, rules, "%s: no rule has state '%s', where an event starts", context,
                 MULTILINE_START_STATE);
}

static void free_texts(struct rule_text *texts, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(texts[i].state);
        free(texts[i].regex);
        free(texts[i].next_state);
    }
    free(texts);
}

/* The set's compiled rules, or NULL after the messages on what is wrong. */
static struct multiline_rules *load_rules(const struct cfg_node *entry, const char *context,
                                          struct diag_list *diags)
{
    const struct cfg_node *list = cfg_map_get(entry, "rules");
    if (!list || cfg_is_null(list)) {
        diag_add(diags, entry, "%s: missing required key 'rules'", context);
        return NULL;
    }
    if (list->type != CFG_SEQ || list->count == 0) {
        diag_add(diags, list, "%s: 'rules' must be a non-empty sequence of rules", context);
        return NULL;
    }
    size_t before = diags->count;
    struct multiline_rules *rules = multiline_rules_new();
    struct rule_text *texts = xcalloc(list->count, sizeof *texts);
    for (size_t i = 0; i < list->count; i++) {
        char *rule_context = xasprintf("%s: rules[%zu]", context, i);
        load_rule(rules, &texts[i], list->items[i], rule_context, diags);
        free(rule_context);
    }
    check_states(texts, list, context, diags);
    free_texts(texts, list->count);
    if (diags->count == before)
        return rules;
    multiline_rules_free(rules);
    return NULL;
}

static const struct multiline_set *find_set(const struct multiline_sets *sets, const char *name)
{
    for (size_t i = 0; sets && i < sets->count; i++) {
        if (sets->sets[i].name && strcmp(sets->sets[i].name, name) == 0)
            return &sets->sets[i];
    }
    return NULL;
}

static void load_name(const struct multiline_sets *sets, struct multiline_set *set,
                      const struct cfg_node *entry, const char *context, struct diag_list *diags)
{
    set->name = required_scalar(entry, "name", context, diags);
    if (!set->name)
        return;
    const struct cfg_node *at = cfg_map_get(entry, "name");
    if (multiline_is_builtin(set->name))
        diag_add(diags, at, "%s: '%s' is a built-in multiline parser; give yours another name",
                 context, set->name);
    else if (find_set(sets, set->name) != set)
        diag_add(diags, at, "%s: another multiline parser is named '%s'", context, set->name);
}

static void load_set(struct multiline_sets *sets, size_t index, const struct cfg_node *entry,
                     struct diag_list *diags)
{
    static const char *const keys[] = {"name", "rules"};
    struct multiline_set *set = &sets->sets[index];
    char *context = xasprintf("multiline_parsers[%zu]", index);
    if (entry->type != CFG_MAP) {
        diag_add(diags, entry, "%s: must be a map with 'name' and 'rules', got a %s", context,
                 cfg_type_name(entry->type));
    } else {
        check_map_keys(entry, keys, 2, context, diags);
        load_name(sets, set, entry, context, diags);
        set->rules = load_rules(entry, context, diags);
    }
    free(context);
}

void *multiline_sets_load(const struct cfg_node *list, struct diag_list *diags)
{
    struct multiline_sets *sets = xcalloc(1, sizeof *sets);
    if (!list || cfg_is_null(list))
        return sets;
    if (list->type != CFG_SEQ) {
        diag_add(diags, list, "'multiline_parsers' must be a sequence, got a %s",
                 cfg_type_name(list->type));
        return sets;
    }
    sets->sets = xcalloc(list->count ? list->count : 1, sizeof *sets->sets);
    sets->count = list->count;
    for (size_t i = 0; i < list->count; i++)
        load_set(sets, i, list->items[i], diags);
    return sets;
}

void multiline_sets_free(void *data)
{
    struct multiline_sets *sets = data;
    if (!sets)
        return;
    for (size_t i = 0; i < sets->count; i++) {
        multiline_rules_free(sets->sets[i].rules);
        free(sets->sets[i].name);
    }
    free(sets->sets);
    free(sets);
}

struct multiline_rules *multiline_sets_find(const struct multiline_sets *sets, const char *name)
{
    const struct multiline_set *set = find_set(sets, name);
    return set ? set->rules : NULL;
}

void multiline_check_parser(const struct config *config, const struct instance_config *inst,
                            const char *name, struct diag_list *diags)
{
    const struct multiline_sets *sets = config_section(config, inst->plugin);
    if (!name || multiline_is_builtin(name) || find_set(sets, name))
        return;

    size_t count = 0;
    const char **names = xcalloc((sets ? sets->count : 0) + 4, sizeof *names);
    for (size_t i = 0; multiline_builtin_names[i]; i++)
        names[count++] = multiline_builtin_names[i];
    for (size_t i = 0; sets && i < sets->count; i++) {
        if (sets->sets[i].name)
            names[count++] = sets->sets[i].name;
    }
    const char *hint = diag_closest(name, names, count);
    char *context = config_instance_context(inst->plugin->kind, inst->index, inst->plugin);
    diag_add(diags, config_option_node(inst, "parser"),
             "%s: option '%s': no multiline parser named '%s'%s%s%s; use java, python, go or "
             "define it under 'multiline_parsers:'",
             context, "parser", name, hint ? " (did you mean '" : "", hint ? hint : "",
             hint ? "'?)" : "");
    free(context);
    free(names);
}
