/* Filter `redact`: replaces card numbers, tokens, passwords, keys and IBANs
 * (built-in detectors) and what the user's named regexes match, in every
 * string value of a record or in chosen fields, by a mask or a keyed hash.
 * Counts per detector; never logs what it found. The work is in
 * redact_engine.c (a text) and redact_record.c (a record); this file is the
 * options, their checks and the plugin. */
#include "cfg_node.h"
#include "diag.h"
#include "log.h"
#include "plugin_api.h"
#include "redact_hmac.h"
#include "redact_marker.h"
#include "redact_options.h"
#include "redact_record.h"
#include "xalloc.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct redact_state {
    struct redact_engine *engine;
    struct redact_walk walk;
    struct field_path *paths;
    size_t path_count;
    struct metric **redactions; /* per label; NULL for detectors switched off */
    struct metric **rule_errors;
    bool *rule_warned;
    const char *alias;
};

static void rule_error(void *arg, uint32_t rule, int pcre2_error)
{
    struct redact_state *state = arg;
    metric_add(state->rule_errors[rule], 1);
    if (state->rule_warned[rule])
        return;
    state->rule_warned[rule] = true;
    log_warn(state->alias,
             "rule '%s' could not finish matching a value (PCRE2 error %d: a match or stack "
             "limit); the whole value was replaced; simplify the rule (logged once)",
             redact_engine_label(state->engine, REDACT_DETECTOR_COUNT + rule), pcre2_error);
}

static struct metric *counter(const char *name, const char *help, const char *alias,
                              const char *label, const char *value)
{
    struct buf labels = BUF_INIT;
    metrics_labels(&labels, "instance", alias, label, value, NULL);
    struct metric *m = metrics_counter(name, help, buf_cstr(&labels));
    buf_free(&labels);
    return m;
}

static void make_metrics(struct redact_state *state)
{
    uint32_t labels = redact_engine_label_count(state->engine);
    uint32_t rules = labels - REDACT_DETECTOR_COUNT;
    state->redactions = xcalloc(labels, sizeof *state->redactions);
    state->rule_errors = xcalloc(rules, sizeof *state->rule_errors);
    state->rule_warned = xcalloc(rules, sizeof *state->rule_warned);
    for (uint32_t i = 0; i < labels; i++) {
        if (!redact_engine_label_active(state->engine, i))
            continue;
        const char *name = redact_engine_label(state->engine, i);
        state->redactions[i] = counter("skiff_redactions_total",
                                       "Values replaced by the redact filter, by detector or rule",
                                       state->alias, "detector", name);
        if (i >= REDACT_DETECTOR_COUNT)
            state->rule_errors[i - REDACT_DETECTOR_COUNT] =
                counter("skiff_redact_rule_errors_total",
                        "Values a redact rule could not finish matching (replaced whole)",
                        state->alias, "rule", name);
    }
}

static int make_paths(struct redact_state *state, const struct string_list *fields)
{
    state->paths = xcalloc(fields->count, sizeof *state->paths);
    for (size_t i = 0; i < fields->count; i++) {
        char *error = NULL;
        if (field_path_parse(fields->items[i], &state->paths[i], &error) < 0) {
            log_error(state->alias, "option 'fields': %s", error);
            free(error);
            return -1;
        }
        state->path_count++;
    }
    return 0;
}

static void redact_destroy(struct instance *f)
{
    struct redact_state *state = f->state;
    if (!state)
        return;
    if (state->engine)
        redact_walk_free(&state->walk);
    redact_engine_free(state->engine);
    for (size_t i = 0; i < state->path_count; i++)
        field_path_free(&state->paths[i]);
    free(state->paths);
    free(state->redactions);
    free(state->rule_errors);
    free(state->rule_warned);
    free(state);
    f->state = NULL;
}

static int redact_init(struct instance *f)
{
    const struct redact_options *opts = f->options;
    struct redact_state *state = xcalloc(1, sizeof *state);
    char *error = NULL;
    f->state = state;
    state->alias = f->alias;
    state->engine = redact_options_engine(opts, &error);
    if (!state->engine) {
        log_error(f->alias, "%s", error);
        free(error);
        redact_destroy(f);
        return -1;
    }
    redact_walk_init(&state->walk, state->engine);
    redact_engine_on_rule_error(state->engine, rule_error, state);
    if (make_paths(state, &opts->fields) < 0) {
        redact_destroy(f);
        return -1;
    }
    make_metrics(state);
    return 0;
}

/* Adds the record's replacements to the counters and, at debug level, says
 * how many of each there were: names and numbers only, never a value. */
static void report(struct redact_state *state, const char *tag)
{
    struct redact_walk *walk = &state->walk;
    struct buf summary = BUF_INIT;
    for (uint32_t i = 0; i < walk->label_count; i++) {
        if (walk->counts[i] == 0)
            continue;
        metric_add(state->redactions[i], walk->counts[i]);
        if (log_get_level() >= LOG_DEBUG)
            buf_printf(&summary, "%s%s %u", summary.len ? ", " : "",
                       redact_engine_label(state->engine, i), walk->counts[i]);
        walk->counts[i] = 0;
    }
    if (summary.len)
        log_debug(state->alias, "record of tag %s: replaced %s", tag, buf_cstr(&summary));
    buf_free(&summary);
}

static enum filter_result redact_filter(struct instance *f, struct instance *input, const char *tag,
                                        struct record *rec)
{
    (void)input;
    struct redact_state *state = f->state;
    size_t n = state->path_count
                   ? redact_walk_paths(&state->walk, rec, state->paths, state->path_count)
                   : redact_walk_record(&state->walk, rec);
    if (n > 0)
        report(state, tag);
    return FILTER_KEEP;
}

const struct plugin filter_redact_plugin = {
    .name = "redact",
    .kind = PLUGIN_FILTER,
    .description = "replaces card numbers, tokens, passwords, keys, IBANs and what named regexes "
                   "match by a mask or a keyed hash",
    .options = redact_options_table,
    .options_size = sizeof(struct redact_options),
    .validate = redact_options_validate,
    .init = redact_init,
    .destroy = redact_destroy,
    .filter = redact_filter,
};
