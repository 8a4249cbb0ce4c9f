/* Input `dummy`: emits a fixed record at a given rate, with an increasing
 * `seq` field, for demos, tests and benchmarks. Rate 0 emits as fast as the
 * pipeline takes records (bounded batches per loop iteration). Each record's
 * origin is (a source id new at every start, seq + 1), so outputs that derive
 * ids from origins (Elasticsearch's `id: origin`) give each record its own. */
#include "loop.h"
#include "plugin_api.h"
#include "xalloc.h"

#include <stddef.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct dummy_options {
    struct value record;
    int64_t rate;
    int64_t count;
};

struct dummy_state {
    struct loop_timer *timer;
    uint64_t source_id;
    uint64_t seq;
    double credit; /* records owed by the rate since the last tick */
    int64_t last_ms;
    bool done;
};

enum {
    TICK_MS = 10,
    UNLIMITED_BATCH = 1024, /* records per loop iteration when rate is 0 */
};

static const struct option_spec dummy_options_table[] = {
    {.name = "record",
     .type = OPT_MAP,
     .default_value = "{message: dummy}",
     .offset = offsetof(struct dummy_options, record),
     .description = "the record to emit; a field `seq` is added"},
    {.name = "rate",
     .type = OPT_INT,
     .default_value = "1",
     .min = 0,
     .max = 100000000,
     .offset = offsetof(struct dummy_options, rate),
     .description = "records per second; 0 emits as fast as the pipeline takes them"},
    {.name = "count",
     .type = OPT_INT,
     .default_value = "0",
     .min = 0,
     .max = INT64_MAX,
     .offset = offsetof(struct dummy_options, count),
     .description = "records to emit in all, then stop; 0 = forever"},
    {0},
};

static void dummy_emit_one(struct instance *in, struct dummy_state *state)
{
    const struct dummy_options *opts = in->options;
    struct record rec;

    record_init_now(&rec);
    for (uint32_t i = 0; i < opts->record.as.map.count; i++) {
        const struct map_entry *e = &opts->record.as.map.entries[i];
        struct value copy = value_clone(&e->value);
        value_map_set(&rec.fields, e->key.ptr, e->key.len, &copy);
    }
    rec.origin = (struct record_origin){.source_id = state->source_id, .offset = state->seq + 1};
    struct value seq = value_int((int64_t)state->seq++);
    value_map_set(&rec.fields, "seq", 3, &seq);
    input_emit(in, in->config->common.tag, &rec);
}

/* Emits up to `n` records, stopping early when paused or when count is
 * reached. */
static void dummy_emit(struct instance *in, struct dummy_state *state, uint64_t n)
{
    const struct dummy_options *opts = in->options;
    for (uint64_t i = 0; i < n && !input_is_paused(in) && !state->done; i++) {
        dummy_emit_one(in, state);
        if (opts->count > 0 && state->seq >= (uint64_t)opts->count)
            state->done = true;
    }
}

static void dummy_arm(struct instance *in);
static void dummy_disarm(struct instance *in);

static void dummy_tick(struct loop *loop, struct loop_timer *timer, void *data)
{
    struct instance *in = data;
    struct dummy_state *state = in->state;
    const struct dummy_options *opts = in->options;

    if (opts->rate == 0) {
        state->timer = NULL; /* one-shot: freed after this callback */
        dummy_emit(in, state, UNLIMITED_BATCH);
        if (!input_is_paused(in) && !state->done)
            dummy_arm(in);
        return;
    }
    int64_t now = loop_now_ms(loop);
    state->credit += (double)(now - state->last_ms) * (double)opts->rate / 1000.0;
    state->last_ms = now;
    /* Never bank more than one second of records (after a pause, say). */
    if (state->credit > (double)opts->rate)
        state->credit = (double)opts->rate;
    uint64_t due = (uint64_t)state->credit;
    state->credit -= (double)due;
    dummy_emit(in, state, due);
    if (state->done)
        dummy_disarm(in);
}

static void dummy_arm(struct instance *in)
{
    struct dummy_state *state = in->state;
    const struct dummy_options *opts = in->options;

    if (state->timer || state->done)
        return;
    state->last_ms = loop_now_ms(in->loop);
    if (opts->rate == 0)
        state->timer = loop_add_timer(in->loop, 0, 0, dummy_tick, in);
    else
        state->timer = loop_add_timer(in->loop, TICK_MS, TICK_MS, dummy_tick, in);
}

static void dummy_disarm(struct instance *in)
{
    struct dummy_state *state = in->state;
    if (state->timer) {
        loop_cancel_timer(in->loop, state->timer);
        state->timer = NULL;
    }
}

/* Differs between inputs and between runs: a run's records must not share
 * ids with an earlier run's, whose seq started at 0 too. */
static uint64_t dummy_source_id(const struct instance *in)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t h = 1469598103934665603ull ^ (uint64_t)now.tv_sec * 1000000000u ^
                 (uint64_t)now.tv_nsec ^ ((uint64_t)getpid() << 32);
    for (const char *p = in->alias; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return h | 1; /* 0 means "no source" */
}

static int dummy_init(struct instance *in)
{
    struct dummy_state *state = xcalloc(1, sizeof *state);
    state->source_id = dummy_source_id(in);
    in->state = state;
    return 0;
}

static void dummy_destroy(struct instance *in)
{
    free(in->state);
    in->state = NULL;
}

static int dummy_start(struct instance *in)
{
    dummy_arm(in);
    return 0;
}

const struct plugin in_dummy_plugin = {
    .name = "dummy",
    .kind = PLUGIN_INPUT,
    .description = "emits a fixed record at a given rate, with an increasing `seq` field",
    .options = dummy_options_table,
    .options_size = sizeof(struct dummy_options),
    .init = dummy_init,
    .destroy = dummy_destroy,
    .start = dummy_start,
    .pause = dummy_disarm,
    .resume = dummy_arm,
    .stop = dummy_disarm,
};
