/* Filter `throttle`: Fluent Bit's throttle. A record passes while the
 * sliding window of `window` intervals holds fewer than rate × window
 * records; the others are dropped, counted and still acknowledged. With
 * `key`, each value of that field has its own window (a bounded table, least
 * recently seen evicted), so one noisy pod does not starve the others.
 * Windows move on the pipeline loop's clock; throttle_window.c has the
 * arithmetic. */
#include "buf.h"
#include "cfg_node.h"
#include "diag.h"
#include "json.h"
#include "log.h"
#include "loop.h"
#include "plugin_api.h"
#include "throttle_window.h"
#include "xalloc.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>

/* At most one warning about throttled records per this many ms. */
#define THROTTLE_WARN_EVERY_MS 60000

struct throttle_options {
    int64_t rate;
    int64_t window;
    int64_t interval_ms;
    bool print_status;
    char *key;
    int64_t max_keys;
};

struct throttle_state {
    struct throttle_limits limits;
    bool keyed;
    struct field_path key;
    struct throttle_keys keys;
    /* every record without `key`; with it, those without the field */
    struct throttle_window shared;
    uint64_t shared_mark;
    struct buf text;    /* a key value that is not a string, as JSON, reused */
    struct buf message; /* the warning, reused */
    struct metric *dropped;
    struct metric *tracked;   /* keys in the table */
    struct metric *evictions; /* keys evicted while their window held records */
    struct loop_timer *status_timer;
    /* The warning about throttled records: the first after warn_after_ms
     * names its key and counts what was throttled since the one before. */
    int64_t warn_after_ms;
    uint64_t period; /* the warnings' period, marks the keys throttled in it */
    uint64_t period_drops;
    uint64_t period_keys;
    uint64_t storage[]; /* the shared window's counters */
};

static const struct option_spec throttle_options_table[] = {
    {.name = "rate",
     .type = OPT_INT,
     .required = true,
     .min = 1,
     .max = 1000000000,
     .offset = offsetof(struct throttle_options, rate),
     .description = "records per `interval` let through, on average over the window"},
    {.name = "window",
     .type = OPT_INT,
     .default_value = "5",
     .min = 1,
     .max = 1000,
     .offset = offsetof(struct throttle_options, window),
     .description = "intervals in the sliding window: up to rate × window records pass in it"},
    {.name = "interval",
     .type = OPT_DURATION,
     .default_value = "1s",
     .min = 1,
     .max = 86400000,
     .offset = offsetof(struct throttle_options, interval_ms),
     .description = "length of one interval; the window slides by one interval at a time"},
    {.name = "print_status",
     .type = OPT_BOOL,
     .default_value = "false",
     .offset = offsetof(struct throttle_options, print_status),
     .description = "log the limit and the current rate at info level every interval"},
    {.name = "key",
     .type = OPT_STRING,
     .offset = offsetof(struct throttle_options, key),
     .description = "field whose values get a window each, as a path: "
                    "`kubernetes.pod_name`; records without it share one (skiff only)"},
    {.name = "max_keys",
     .type = OPT_INT,
     .default_value = "1024",
     .min = 1,
     .max = 100000,
     .offset = offsetof(struct throttle_options, max_keys),
     .description = "values of `key` tracked at once; past it the least recently seen is "
                    "evicted (skiff only)"},
    {0},
};

static int throttle_validate(const void *options, const struct cfg_node *node, const char *context,
                             struct diag_list *diags)
{
    const struct throttle_options *opts = options;
    const struct cfg_node *max_keys = node ? cfg_map_get(node, "max_keys") : NULL;
    if (!opts->key) {
        if (!max_keys)
            return 0;
        diag_add(diags, max_keys,
                 "%s: option 'max_keys' needs 'key': set the field whose values are "
                 "throttled apart, or remove max_keys",
                 context);
        return -1;
    }
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

/* `ms` as a duration option would be written: 1s, 1500ms, 2m. */
static void put_interval(struct buf *out, int64_t ms)
{
    if (ms % 60000 == 0)
        buf_printf(out, "%" PRId64 "m", ms / 60000);
    else if (ms % 1000 == 0)
        buf_printf(out, "%" PRId64 "s", ms / 1000);
    else
        buf_printf(out, "%" PRId64 "ms", ms);
}

static double per_interval(const struct throttle_window *w, const struct throttle_limits *limits)
{
    return (double)w->total / limits->panes;
}

/* The keyed part of the status line: how many keys, how many at the limit,
 * the busiest. Moves every window to `pane` on the way. */
static void put_key_status(struct buf *line, struct throttle_state *state, int64_t pane)
{
    const struct throttle_key *busiest = NULL;
    size_t full = 0;
    uint64_t cap = state->limits.rate * state->limits.panes;
    for (struct throttle_key *k = state->keys.newest; k; k = k->older) {
        throttle_window_advance(&k->window, &state->limits, pane);
        full += k->window.total >= cap;
        if (!busiest || k->window.total > busiest->window.total)
            busiest = k;
    }
    buf_printf(line, "; %zu keys of %s, %zu at the limit", state->keys.count, state->key.text,
               full);
    if (busiest) {
        buf_append_str(line, ", busiest ");
        json_write_string(line, busiest->text, busiest->len, NULL);
        buf_printf(line, " at %.1f per interval", per_interval(&busiest->window, &state->limits));
    }
    buf_printf(line, "; records without it: %.1f per interval",
               per_interval(&state->shared, &state->limits));
}

/* print_status: Fluent Bit logs the limit and the window's average rate
 * every interval; with `key`, the table's state too. */
static void throttle_on_status(struct loop *loop, struct loop_timer *timer, void *data)
{
    struct instance *f = data;
    struct throttle_state *state = f->state;
    int64_t pane = throttle_pane_at(&state->limits, loop_now_ms(loop));
    struct buf line = BUF_INIT;

    throttle_window_advance(&state->shared, &state->limits, pane);
    buf_printf(&line, "limit %" PRIu64 " per ", state->limits.rate);
    put_interval(&line, state->limits.interval_ms);
    buf_printf(&line, " over a window of %" PRIu32 " interval%s", state->limits.panes,
               state->limits.panes == 1 ? "" : "s");
    if (state->keyed)
        put_key_status(&line, state, pane);
    else
        buf_printf(&line, ", current rate %.1f per interval",
                   per_interval(&state->shared, &state->limits));
    log_info(f->alias, "%s", buf_cstr(&line));
    buf_free(&line);
}

static struct metric *throttle_metric(const struct instance *f, bool gauge, const char *name,
                                      const char *help)
{
    struct buf labels = BUF_INIT;
    metrics_labels(&labels, "instance", f->alias, NULL);
    struct metric *m = gauge ? metrics_gauge(name, help, buf_cstr(&labels))
                             : metrics_counter(name, help, buf_cstr(&labels));
    buf_free(&labels);
    return m;
}

static int throttle_init(struct instance *f)
{
    const struct throttle_options *opts = f->options;
    struct throttle_state *state =
        xcalloc(1, sizeof *state + (size_t)opts->window * sizeof(uint64_t));
    char *error = NULL;

    if (opts->key && field_path_parse(opts->key, &state->key, &error) < 0) {
        log_error(f->alias, "option 'key': %s", error);
        free(error);
        free(state);
        return -1;
    }
    state->keyed = opts->key != NULL;
    state->limits = (struct throttle_limits){.rate = (uint64_t)opts->rate,
                                             .panes = (uint32_t)opts->window,
                                             .interval_ms = opts->interval_ms,
                                             .start_ms = loop_now_ms(f->loop)};
    throttle_window_init(&state->shared, state->storage, 0);
    throttle_keys_init(&state->keys, (size_t)opts->max_keys);
    state->dropped = instance_dropped_counter(f, "throttled");
    if (state->keyed) {
        state->tracked = throttle_metric(f, true, "skiff_throttle_keys",
                                         "Values of the throttle filter's key tracked now");
        state->evictions =
            throttle_metric(f, false, "skiff_throttle_key_evictions_total",
                            "Keys evicted by a new one while their window held records");
    }
    state->period = 1;
    f->state = state;
    if (opts->print_status)
        state->status_timer =
            loop_add_timer(f->loop, opts->interval_ms, opts->interval_ms, throttle_on_status, f);
    return 0;
}

static void throttle_destroy(struct instance *f)
{
    struct throttle_state *state = f->state;
    if (!state)
        return;
    if (state->status_timer)
        loop_cancel_timer(f->loop, state->status_timer);
    if (state->keyed)
        field_path_free(&state->key);
    throttle_keys_free(&state->keys);
    buf_free(&state->text);
    buf_free(&state->message);
    free(state);
    f->state = NULL;
}

/* The text of the record's key field, or false when it has none. A value
 * that is not a string is keyed by its JSON. */
static bool key_text(struct throttle_state *state, const struct record *rec, const char **text,
                     size_t *len)
{
    const struct value *field = record_get(rec, &state->key);
    if (!field)
        return false;
    if (field->type == VALUE_STRING) {
        *text = field->as.string.ptr;
        *len = field->as.string.len;
        return true;
    }
    buf_reset(&state->text);
    json_write_value(&state->text, field, NULL);
    *text = state->text.data;
    *len = state->text.len;
    return true;
}

/* Logs at warn at most once a minute: what is throttled (the key of the
 * record that brought the message), and how much since the last message.
 * Per-key metrics would have unbounded cardinality; this line does not. */
static void warn_throttled(struct instance *f, struct throttle_state *state, int64_t now,
                           const struct throttle_key *k)
{
    struct buf *what = &state->message;
    buf_reset(what);
    if (k) {
        buf_printf(what, "%s ", state->key.text);
        json_write_string(what, k->text, k->len, NULL);
    } else if (state->keyed) {
        buf_printf(what, "records without %s", state->key.text);
    } else {
        buf_append_str(what, "records");
    }
    buf_printf(what, " over %" PRIu64 " per ", state->limits.rate);
    put_interval(what, state->limits.interval_ms);
    buf_printf(what, " on average over %" PRIu32 " interval%s", state->limits.panes,
               state->limits.panes == 1 ? "" : "s");
    if (state->period > 1) {
        buf_printf(what, "; since the previous such message %" PRIu64 " records dropped",
                   state->period_drops);
        if (state->keyed)
            buf_printf(what, ", of %" PRIu64 " keys (records without the field count as one)",
                       state->period_keys);
    }
    log_warn(f->alias, "throttling %s (at most one such message a minute)", buf_cstr(what));
    state->warn_after_ms = now + THROTTLE_WARN_EVERY_MS;
    state->period++;
    state->period_drops = 0;
    state->period_keys = 0;
}

static void note_throttled(struct instance *f, struct throttle_state *state, int64_t now,
                           struct throttle_key *k)
{
    uint64_t *mark = k ? &k->mark : &state->shared_mark;
    state->period_drops++;
    if (*mark != state->period) {
        *mark = state->period;
        state->period_keys++;
    }
    if (now >= state->warn_after_ms)
        warn_throttled(f, state, now, k);
}

static struct throttle_key *find_window(struct throttle_state *state, const struct record *rec,
                                        int64_t pane)
{
    const char *text;
    size_t len;
    if (!state->keyed || !key_text(state, rec, &text, &len))
        return NULL;
    struct throttle_key *k = throttle_keys_get(&state->keys, &state->limits, text, len, pane);
    metric_set(state->tracked, (int64_t)state->keys.count);
    metric_set(state->evictions, (int64_t)state->keys.evicted);
    return k;
}

static enum filter_result throttle_filter(struct instance *f, struct instance *input,
                                          const char *tag, struct record *rec)
{
    struct throttle_state *state = f->state;
    int64_t now = loop_now_ms(f->loop);
    int64_t pane = throttle_pane_at(&state->limits, now);
    struct throttle_key *k = find_window(state, rec, pane);
    struct throttle_window *w = k ? &k->window : &state->shared;

    (void)input;
    (void)tag;
    if (throttle_window_take(w, &state->limits, pane))
        return FILTER_KEEP;
    metric_add(state->dropped, 1);
    note_throttled(f, state, now, k);
    return FILTER_DROP;
}

const struct plugin filter_throttle_plugin = {
    .name = "throttle",
    .kind = PLUGIN_FILTER,
    .description = "Fluent Bit's throttle: drops records over a rate averaged over a sliding "
                   "window, per value of a key if set",
    .options = throttle_options_table,
    .options_size = sizeof(struct throttle_options),
    .validate = throttle_validate,
    .init = throttle_init,
    .destroy = throttle_destroy,
    .filter = throttle_filter,
};
