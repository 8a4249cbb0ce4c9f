/* Filter `multiline`: joins the lines of one logical event (a Java stack trace,
 * a Python traceback, a Go panic) into one record, per source and stream, with
 * the rule sets of multiline_rules.c. Records of a source are handed on in the
 * order they arrived: while an event is open, the source's other records wait
 * behind it. Not for joining partial lines of a runtime (the cri and docker
 * parsers do that). */
#include "hmap.h"
#include "log.h"
#include "loop.h"
#include "multiline_config.h"
#include "multiline_rules.h"
#include "plugin_api.h"
#include "xalloc.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* What one source may hold before its oldest event is handed on unfinished. */
enum { SOURCE_MAX_RECORDS = 10000, SOURCE_MAX_BYTES = 8 << 20, TIMER_MIN_MS = 50 };

struct multiline_options {
    char *key;
    char *parser;
    int64_t flush_timeout_ms;
    int64_t max_size;
};

/* A record held in its source's FIFO: a finished one waits for those before
 * it; an open one is an event still taking lines. */
struct held {
    struct held *next;
    struct held *next_open; /* the source's open events */
    struct instance *input;
    char *tag;
    struct record rec; /* the first line's; origin is the last line's */
    size_t bytes;      /* counted against SOURCE_MAX_BYTES */
    bool open;
    int state;
    char *stream;
    struct buf text; /* the joined lines, while open */
    size_t lines;
    int64_t last_ms;
};

struct source {
    struct hmap_node node;
    uint64_t id;
    struct held *head, *tail, *open;
    size_t count, bytes;
};

struct multiline_state {
    struct multiline_rules *rules;
    bool owns_rules; /* a built-in set; a defined one is the config's */
    struct hmap sources;
    struct loop_timer *timer;
    struct metric *events, *lines_joined, *by_timeout, *truncated;
};

static const struct option_spec multiline_options_table[] = {
    {.name = "key",
     .type = OPT_STRING,
     .default_value = "log",
     .offset = offsetof(struct multiline_options, key),
     .description = "top-level field holding the line's text"},
    {.name = "parser",
     .type = OPT_STRING,
     .required = true,
     .offset = offsetof(struct multiline_options, parser),
     .description = "rule set: java, python, go or one from `multiline_parsers:`"},
    {.name = "flush_timeout",
     .type = OPT_DURATION,
     .default_value = "2s",
     .min = 1,
     .max = 3600000,
     .offset = offsetof(struct multiline_options, flush_timeout_ms),
     .description = "an open event with no new line for this long is handed on"},
    {.name = "max_size",
     .type = OPT_SIZE,
     .default_value = "1MiB",
     .min = 1024,
     .max = SOURCE_MAX_BYTES,
     .offset = offsetof(struct multiline_options, max_size),
     .description = "an event whose text would grow past this is handed on as it is"},
    {0},
};

/* ---- held records and sources ---- */

static struct source *source_get(struct multiline_state *state, uint64_t id)
{
    uint64_t hash = hash_u64(id);
    for (struct hmap_node *n = hmap_find(&state->sources, hash); n; n = hmap_find_next(n)) {
        struct source *s = hmap_entry(n, struct source, node);
        if (s->id == id)
            return s;
    }
    struct source *s = xcalloc(1, sizeof *s);
    s->id = id;
    hmap_insert(&state->sources, &s->node, hash);
    return s;
}

static void source_release_if_empty(struct multiline_state *state, struct source *s)
{
    if (s->head)
        return;
    hmap_remove(&state->sources, &s->node);
    free(s);
}

static void held_free(struct held *h)
{
    record_free(&h->rec);
    buf_free(&h->text);
    free(h->tag);
    free(h->stream);
    free(h);
}

/* Takes the record into a new entry at the tail of the source's FIFO. */
static struct held *source_push(struct source *s, struct instance *input, const char *tag,
                                struct record *rec, size_t bytes)
{
    struct held *h = xcalloc(1, sizeof *h);
    h->input = input;
    h->tag = xstrdup(tag);
    record_move(&h->rec, rec);
    h->bytes = bytes + strlen(tag);
    if (s->tail)
        s->tail->next = h;
    else
        s->head = h;
    s->tail = h;
    s->count++;
    s->bytes += h->bytes;
    return h;
}

struct ordered {
    struct held *held;
    size_t arrival;
};

static int ordered_compare(const void *a, const void *b)
{
    const struct ordered *x = a, *y = b;
    uint64_t ox = x->held->rec.origin.offset, oy = y->held->rec.origin.offset;
    if (ox != oy)
        return ox < oy ? -1 : 1;
    return (x->arrival > y->arrival) - (x->arrival < y->arrival);
}

/* Hands on the finished records at the head of the source's FIFO, in the
 * order of their origin offsets: a joined event carries its last line's
 * offset, and a line of the other stream that came in while the event was
 * open has a smaller one. Handing on in offset order keeps the input's
 * acknowledgements in order, so a checkpoint never passes a record that is
 * still in flight. Everything behind an open event stays held. */
static void source_flush(struct instance *f, struct source *s)
{
    size_t count = 0;
    for (struct held *h = s->head; h && !h->open; h = h->next)
        count++;
    if (count == 0)
        return;
    struct ordered *order = xmalloc(count * sizeof *order);
    for (size_t i = 0; i < count; i++) {
        order[i] = (struct ordered){s->head, i};
        s->head = s->head->next;
        s->count--;
        s->bytes -= order[i].held->bytes;
    }
    if (!s->head)
        s->tail = NULL;
    qsort(order, count, sizeof *order, ordered_compare);
    for (size_t i = 0; i < count; i++) {
        struct held *h = order[i].held;
        filter_emit(f, h->input, h->tag, &h->rec);
        held_free(h);
    }
    free(order);
}

/* ---- events ---- */

static void event_unlink_open(struct source *s, struct held *ev)
{
    for (struct held **p = &s->open; *p; p = &(*p)->next_open) {
        if (*p == ev) {
            *p = ev->next_open;
            return;
        }
    }
}

/* Ends an event: its record's key becomes the joined text. */
static void event_complete(struct instance *f, struct source *s, struct held *ev)
{
    const struct multiline_options *opts = f->options;
    struct multiline_state *state = f->state;
    event_unlink_open(s, ev);
    ev->open = false;
    if (ev->lines > 1) {
        struct value text = value_string(ev->text.data, ev->text.len);
        value_map_set(&ev->rec.fields, opts->key, strlen(opts->key), &text);
        metric_add(state->events, 1);
        metric_add(state->lines_joined, (int64_t)ev->lines);
    }
    buf_free(&ev->text);
}

static void event_open(struct instance *f, struct source *s, struct held *ev, int next,
                       const struct value_string *stream, const struct value_string *text)
{
    struct multiline_state *state = f->state;
    ev->open = true;
    ev->state = next;
    ev->stream = xstrndup(stream->ptr, stream->len);
    buf_append(&ev->text, text->ptr, text->len);
    ev->lines = 1;
    ev->last_ms = loop_now_ms(f->loop);
    ev->next_open = s->open;
    s->open = ev;
    if (multiline_rules_final(state->rules, next))
        event_complete(f, s, ev);
}

static struct held *event_find(struct source *s, const struct value_string *stream)
{
    for (struct held *ev = s->open; ev; ev = ev->next_open) {
        if (strlen(ev->stream) == stream->len && memcmp(ev->stream, stream->ptr, stream->len) == 0)
            return ev;
    }
    return NULL;
}

/* Adds a line to an open event if it continues it and fits. Returns false if
 * the event is over (completed here) and the line must be tried afresh. */
static bool event_append(struct instance *f, struct source *s, struct held *ev,
                         const struct value_string *text, struct record *rec)
{
    const struct multiline_options *opts = f->options;
    struct multiline_state *state = f->state;
    int next = text ? multiline_rules_match(state->rules, ev->state, text->ptr, text->len) : -1;
    if (next >= 0 && ev->text.len + 1 + text->len > (size_t)opts->max_size) {
        metric_add(state->truncated, 1);
        next = -1;
    }
    if (next < 0) {
        event_complete(f, s, ev);
        return false;
    }
    buf_append_byte(&ev->text, '\n');
    buf_append(&ev->text, text->ptr, text->len);
    ev->bytes += 1 + text->len;
    s->bytes += 1 + text->len;
    ev->lines++;
    ev->state = next;
    ev->last_ms = loop_now_ms(f->loop);
    ev->rec.origin = rec->origin;
    record_free(rec);
    if (multiline_rules_final(state->rules, next))
        event_complete(f, s, ev);
    return true;
}

/* Keeps the source within its bounds by ending its oldest events. */
static void source_bound(struct instance *f, struct source *s)
{
    while (s->head && (s->count > SOURCE_MAX_RECORDS || s->bytes > SOURCE_MAX_BYTES)) {
        if (s->head->open)
            event_complete(f, s, s->head);
        source_flush(f, s);
    }
}

/* ---- callbacks ---- */

static const struct value_string *string_field(const struct record *rec, const char *key)
{
    const struct value *v = value_map_get(&rec->fields, key, strlen(key));
    return v && v->type == VALUE_STRING ? &v->as.string : NULL;
}

static enum filter_result multiline_filter(struct instance *f, struct instance *input,
                                           const char *tag, struct record *rec)
{
    const struct multiline_options *opts = f->options;
    struct multiline_state *state = f->state;
    static const struct value_string no_stream = {"", 0};
    const struct value_string *text = string_field(rec, opts->key);
    const struct value_string *stream = string_field(rec, "stream");
    if (!stream)
        stream = &no_stream;

    struct source *s = source_get(state, rec->origin.source_id);
    struct held *ev = event_find(s, stream);
    if (ev && event_append(f, s, ev, text, rec)) {
        source_flush(f, s);
        source_release_if_empty(state, s);
        return FILTER_TAKEN;
    }
    int next =
        text ? multiline_rules_match(state->rules, MULTILINE_START, text->ptr, text->len) : -1;
    source_flush(f, s);
    if (next < 0 && !s->head) {
        source_release_if_empty(state, s);
        return FILTER_KEEP;
    }
    size_t bytes = text ? text->len : 0;
    struct held *h = source_push(s, input, tag, rec, bytes);
    /* Read again from the held record: rec's strings may have been lent by
     * its input's text store, and the move gave the held record copies. */
    text = string_field(&h->rec, opts->key);
    stream = string_field(&h->rec, "stream");
    if (next >= 0)
        event_open(f, s, h, next, stream ? stream : &no_stream, text ? text : &no_stream);
    source_flush(f, s);
    source_bound(f, s);
    source_release_if_empty(state, s);
    return FILTER_TAKEN;
}

/* Ends every open event of the source (those idle for flush_timeout, or all
 * when `all`), then hands on what is ready. */
static void source_expire(struct instance *f, struct source *s, bool all)
{
    const struct multiline_options *opts = f->options;
    struct multiline_state *state = f->state;
    int64_t now = loop_now_ms(f->loop);
    struct held *ev = s->open;
    while (ev) {
        struct held *next = ev->next_open;
        if (all || now - ev->last_ms >= opts->flush_timeout_ms) {
            if (!all)
                metric_add(state->by_timeout, 1);
            event_complete(f, s, ev);
        }
        ev = next;
    }
    source_flush(f, s);
}

static void multiline_expire_all(struct instance *f, bool all)
{
    struct multiline_state *state = f->state;
    size_t bucket = 0;
    struct hmap_node *n = hmap_next(&state->sources, &bucket, NULL);
    while (n) {
        struct hmap_node *next = hmap_next(&state->sources, &bucket, n);
        struct source *s = hmap_entry(n, struct source, node);
        source_expire(f, s, all);
        source_release_if_empty(state, s);
        n = next;
    }
}

static void multiline_on_timer(struct loop *loop, struct loop_timer *timer, void *data)
{
    multiline_expire_all(data, false);
}

static void multiline_drain(struct instance *f)
{
    multiline_expire_all(f, true);
}

/* A built-in set is compiled for the instance; a defined one was compiled
 * when the configuration loaded and belongs to it. */
static struct multiline_rules *multiline_load_rules(struct instance *f, bool *owned)
{
    const struct multiline_options *opts = f->options;
    *owned = multiline_is_builtin(opts->parser);
    if (*owned)
        return multiline_rules_builtin(opts->parser);
    struct multiline_rules *rules =
        multiline_sets_find(config_section(pipeline_config(f->pipeline), f->plugin), opts->parser);
    if (!rules)
        log_error(f->alias, "no multiline parser named '%s'", opts->parser);
    return rules;
}

static void multiline_validate_config(const struct config *config,
                                      const struct instance_config *inst, struct diag_list *diags)
{
    const struct multiline_options *opts = inst->options;
    multiline_check_parser(config, inst, opts->parser, diags);
}

static struct metric *multiline_counter(const struct instance *f, const char *name,
                                        const char *help)
{
    struct buf labels = BUF_INIT;
    metrics_labels(&labels, "instance", f->alias, NULL);
    struct metric *m = metrics_counter(name, help, buf_cstr(&labels));
    buf_free(&labels);
    return m;
}

static int multiline_init(struct instance *f)
{
    const struct multiline_options *opts = f->options;
    bool owned;
    struct multiline_rules *rules = multiline_load_rules(f, &owned);
    if (!rules)
        return -1;
    struct multiline_state *state = xcalloc(1, sizeof *state);
    state->rules = rules;
    state->owns_rules = owned;
    state->events = multiline_counter(f, "skiff_multiline_events_total",
                                      "Events of several lines joined and handed on");
    state->lines_joined = multiline_counter(f, "skiff_multiline_lines_joined_total",
                                            "Lines joined into those events");
    state->by_timeout = multiline_counter(f, "skiff_multiline_flushed_by_timeout_total",
                                          "Events handed on after flush_timeout without a line");
    state->truncated = multiline_counter(f, "skiff_multiline_truncated_total",
                                         "Events cut because they would exceed max_size");
    int64_t interval = opts->flush_timeout_ms / 4;
    if (interval < TIMER_MIN_MS)
        interval = TIMER_MIN_MS;
    state->timer = loop_add_timer(f->loop, interval, interval, multiline_on_timer, f);
    f->state = state;
    return 0;
}

/* Frees what is still held, unacknowledged: a restart reads it again. */
static void multiline_destroy(struct instance *f)
{
    struct multiline_state *state = f->state;
    if (!state)
        return;
    size_t bucket = 0;
    struct hmap_node *n = hmap_next(&state->sources, &bucket, NULL);
    while (n) {
        struct hmap_node *next = hmap_next(&state->sources, &bucket, n);
        struct source *s = hmap_entry(n, struct source, node);
        for (struct held *h = s->head, *after; h; h = after) {
            after = h->next;
            held_free(h);
        }
        free(s);
        n = next;
    }
    hmap_free(&state->sources);
    loop_cancel_timer(f->loop, state->timer);
    if (state->owns_rules)
        multiline_rules_free(state->rules);
    free(state);
    f->state = NULL;
}

const struct plugin filter_multiline_plugin = {
    .name = "multiline",
    .kind = PLUGIN_FILTER,
    .description = "joins the lines of a stack trace or other multi-line event into one record",
    .options = multiline_options_table,
    .options_size = sizeof(struct multiline_options),
    .section = "multiline_parsers",
    .section_load = multiline_sets_load,
    .section_free = multiline_sets_free,
    .validate_config = multiline_validate_config,
    .init = multiline_init,
    .destroy = multiline_destroy,
    .filter = multiline_filter,
    .drain = multiline_drain,
};
