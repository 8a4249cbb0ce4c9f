/* Filter `rewrite_tag`: Fluent Bit's rewrite_tag. The first rule whose KEY
 * holds a string its REGEX matches gives the record a NEW_TAG; the record
 * goes through the whole pipeline again under it (filter_reemit), still its
 * input's, so the input is acknowledged for it. With KEEP the record also
 * goes on under its own tag. The rules are compiled once at load
 * (rewrite_rules.c). */
#include "cfg_node.h"
#include "diag.h"
#include "log.h"
#include "plugin_api.h"
#include "rewrite_rules.h"
#include "xalloc.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct rewrite_tag_options {
    struct string_list rules;
};

static const struct option_spec rewrite_tag_options_table[] = {
    {.name = "rules",
     .type = OPT_LIST,
     .required = true,
     .offset = offsetof(struct rewrite_tag_options, rules),
     .description = "the rules, in order, each `KEY REGEX NEW_TAG KEEP` as Fluent Bit's `Rule`; "
                    "the first that matches gives the record NEW_TAG ($TAG, $TAG[n], $0..$9, "
                    "${field.path}); KEEP true also keeps it under its tag"},
    {0},
};

struct rewrite_tag_state {
    struct rewrite_rules rules;
    struct buf tag; /* the new tag being written */
    struct metric *emitted;
    struct metric *unusable;
    bool warned_unusable;
};

/* The node of rule `i`, for messages: the item when `rules` is a sequence. */
static const struct cfg_node *rule_node(const struct cfg_node *node, size_t i)
{
    const struct cfg_node *at = node ? cfg_map_get(node, "rules") : NULL;
    if (at && at->type == CFG_SEQ && i < at->count)
        return at->items[i];
    return at ? at : node;
}

/* Compiles every rule; with `diags` reports each bad one at its line, else
 * logs the first. */
static int compile_rules(const struct rewrite_tag_options *opts, struct rewrite_rules *rules,
                         const struct cfg_node *node, const char *context, struct diag_list *diags)
{
    int rc = 0;
    for (size_t i = 0; i < opts->rules.count && (rc == 0 || diags); i++) {
        char *error;
        if (rewrite_rules_add(rules, opts->rules.items[i], &error) == 0)
            continue;
        if (diags)
            diag_add(diags, rule_node(node, i), "%s: option 'rules': %s", context, error);
        else
            log_error(context, "option 'rules': %s", error);
        free(error);
        rc = -1;
    }
    return rc;
}

static int rewrite_tag_validate(const void *options, const struct cfg_node *node,
                                const char *context, struct diag_list *diags)
{
    struct rewrite_rules rules = {0};
    int rc = compile_rules(options, &rules, node, context, diags);
    rewrite_rules_free(&rules);
    return rc;
}

static struct metric *rewrite_tag_counter(const struct instance *f, const char *name,
                                          const char *help)
{
    struct buf labels = BUF_INIT;
    metrics_labels(&labels, "instance", f->alias, NULL);
    struct metric *m = metrics_counter(name, help, buf_cstr(&labels));
    buf_free(&labels);
    return m;
}

static int rewrite_tag_init(struct instance *f)
{
    struct rewrite_tag_state *state = xcalloc(1, sizeof *state);
    if (compile_rules(f->options, &state->rules, NULL, f->alias, NULL) < 0) {
        rewrite_rules_free(&state->rules);
        free(state);
        return -1;
    }
    state->emitted = rewrite_tag_counter(f, "skiff_rewrite_tag_emitted_total",
                                         "Records a rewrite_tag filter sent on under a new tag");
    state->unusable = rewrite_tag_counter(
        f, "skiff_rewrite_tag_unusable_total",
        "Records whose rule gave a tag that cannot be used; they keep their tag");
    f->state = state;
    return 0;
}

static void rewrite_tag_destroy(struct instance *f)
{
    struct rewrite_tag_state *state = f->state;
    if (!state)
        return;
    rewrite_rules_free(&state->rules);
    buf_free(&state->tag);
    free(state);
    f->state = NULL;
}

static void rewrite_tag_warn(struct instance *f, int rule, const char *tag, const char *why)
{
    struct rewrite_tag_state *state = f->state;
    metric_add(state->unusable, 1);
    if (state->warned_unusable)
        return;
    state->warned_unusable = true;
    log_warn(f->alias,
             "rule %d ('%s') gave a record of tag '%s' a new tag that cannot be used: %s; such "
             "records keep their tag and are counted in skiff_rewrite_tag_unusable_total",
             rule + 1, ((const struct rewrite_tag_options *)f->options)->rules.items[rule], tag,
             why);
}

static enum filter_result rewrite_tag_filter(struct instance *f, struct instance *input,
                                             const char *tag, struct record *rec)
{
    struct rewrite_tag_state *state = f->state;
    int rule = rewrite_rules_match(&state->rules, rec);
    if (rule < 0)
        return FILTER_KEEP;
    buf_reset(&state->tag);
    rewrite_rules_tag(&state->rules, rule, tag, rec, &state->tag);
    const char *why = rewrite_tag_unusable(buf_cstr(&state->tag), state->tag.len);
    if (why) {
        rewrite_tag_warn(f, rule, tag, why);
        return FILTER_KEEP;
    }
    /* A copy: the record may meet this filter again further down the
     * pipeline (given yet another tag by another filter), which reuses
     * state->tag while this tag is still in use. */
    char new_tag[REWRITE_TAG_MAX + 1];
    memcpy(new_tag, state->tag.data, state->tag.len + 1);
    metric_add(state->emitted, 1);
    if (!rewrite_rules_keep(&state->rules, rule)) {
        filter_reemit(f, input, new_tag, rec);
        return FILTER_TAKEN;
    }
    struct record copy;
    record_copy(&copy, rec);
    filter_reemit(f, input, new_tag, &copy);
    return FILTER_KEEP;
}

/* For the config's reach check: each rule's NEW_TAG with `*` for its
 * variable parts. */
static char **rewrite_tag_emitted_tags(const void *options)
{
    const struct rewrite_tag_options *opts = options;
    char **tags = xcalloc(opts->rules.count + 1, sizeof *tags);
    size_t n = 0;
    for (size_t i = 0; i < opts->rules.count; i++) {
        char *pattern = rewrite_rule_tag_pattern(opts->rules.items[i]);
        if (pattern)
            tags[n++] = pattern;
    }
    return tags;
}

const struct plugin filter_rewrite_tag_plugin = {
    .name = "rewrite_tag",
    .kind = PLUGIN_FILTER,
    .description = "Fluent Bit's rewrite_tag: sends records whose field matches a rule through "
                   "the pipeline again under a new tag",
    .options = rewrite_tag_options_table,
    .options_size = sizeof(struct rewrite_tag_options),
    .validate = rewrite_tag_validate,
    .init = rewrite_tag_init,
    .destroy = rewrite_tag_destroy,
    .filter = rewrite_tag_filter,
    .emitted_tags = rewrite_tag_emitted_tags,
};
