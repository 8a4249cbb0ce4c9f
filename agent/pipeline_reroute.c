/* The second half of a reload (pipeline_reload.c has the first): once the
 * old output thread has ended, the old filters hand on what they hold, every
 * open chunk is sealed, the new filters, outputs and router take over, and
 * each chunk not yet delivered is routed again by its tag to the new outputs.
 * A chunk an output already took is not sent to the output of the same alias
 * again, as a restart would not send it again either (the chunk file names
 * the outputs done by alias). Chunk files follow their chunk's new outputs. */
#include "pipeline_reload.h"

#include "chunk_store.h"
#include "log.h"
#include "loop.h"
#include "output_worker.h"
#include "router.h"
#include "storage.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

/* Records the old filters hold go on through the old filters after them and
 * the old router, as at shutdown. */
static void drain_old_filters(struct pipeline *p)
{
    for (size_t i = 0; i < p->filter_count; i++) {
        struct instance *f = &p->filters[i];
        if (f->plugin->drain)
            f->plugin->drain(f);
    }
}

/* For each old output, the new output of the same alias, or -1. */
static void map_outputs(const struct pipeline *p, const struct pipeline_parts *old, int *map)
{
    for (size_t i = 0; i < old->output_count; i++) {
        map[i] = -1;
        for (size_t j = 0; j < p->output_count; j++) {
            if (strcmp(old->outputs[i].alias, p->outputs[j].alias) == 0)
                map[i] = (int)j;
        }
    }
}

struct chunk_list {
    struct chunk **items;
    size_t count;
    size_t cap;
};

static void collect_chunk(struct chunk *chunk, void *data)
{
    struct chunk_list *list = data;
    list->items = xgrow(list->items, &list->cap, list->count + 1, sizeof *list->items);
    list->items[list->count++] = chunk;
}

static int compare_ids(const void *a, const void *b)
{
    uint64_t x = (*(struct chunk *const *)a)->id, y = (*(struct chunk *const *)b)->id;
    return (x > y) - (x < y);
}

/* The aliases of `outputs` whose bit is in `mask`. */
static size_t aliases(const struct instance *outputs, size_t count, uint64_t mask, const char **out)
{
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        if (mask & (1ull << i))
            out[n++] = outputs[i].alias;
    }
    return n;
}

static bool same_aliases(const char *const *a, size_t a_count, const char *const *b, size_t b_count)
{
    if (a_count != b_count)
        return false;
    for (size_t i = 0; i < a_count; i++) {
        bool found = false;
        for (size_t j = 0; j < b_count && !found; j++)
            found = strcmp(a[i], b[j]) == 0;
        if (!found)
            return false;
    }
    return true;
}

/* The chunk file lists the outputs it still goes to: it follows the change
 * when the aliases differ (a restart then sends it to the new ones). */
static void reroute_file(struct pipeline *p, const struct pipeline_parts *old, struct chunk *chunk,
                         uint64_t old_pending, uint64_t pending)
{
    const char *before[CHUNK_FILE_MAX_OUTPUTS], *after[CHUNK_FILE_MAX_OUTPUTS];
    size_t before_count = aliases(old->outputs, old->output_count, old_pending, before);
    size_t after_count = aliases(p->outputs, p->output_count, pending, after);
    if (!chunk->persisted || after_count == 0 ||
        same_aliases(before, before_count, after, after_count))
        return;
    storage_set_outputs(p->storage, chunk, after, after_count);
}

/* No new output takes what the old ones still owed: counted as dropped per
 * old output, `output_removed` when its alias is gone, else `no_route` (its
 * new match leaves the tag out). */
static void count_unrouted(const struct pipeline_parts *old, const int *map,
                           const struct chunk *chunk, uint64_t old_pending)
{
    for (size_t i = 0; i < old->output_count; i++) {
        if (!(old_pending & (1ull << i)))
            continue;
        const char *reason = map[i] < 0 ? "output_removed" : "no_route";
        instance_count_dropped(&old->outputs[i], reason, chunk->record_count);
        log_warn("reload",
                 "chunk %llu (tag %s, %u records) was owed to output '%s', and no output of "
                 "the new configuration takes it: dropped "
                 "(skiff_records_dropped_total{reason=\"%s\"})",
                 (unsigned long long)chunk->id, chunk->tag, chunk->record_count,
                 old->outputs[i].alias, reason);
    }
}

/* Routes a sealed chunk to the new outputs: those its tag goes to, but the
 * ones whose alias already took it. */
static void reroute_chunk(struct pipeline *p, const struct pipeline_parts *old, const int *map,
                          struct chunk *chunk)
{
    uint64_t old_pending = chunk->routes & ~chunk->routes_done;
    if (chunk->routes_left == 0 || !old_pending) {
        /* Delivered everywhere; waits for the chunks before it to be acknowledged. */
        chunk->routes = chunk->routes_done = 0;
        chunk->routes_left = 0;
        return;
    }
    uint64_t done = 0;
    for (size_t i = 0; i < old->output_count; i++) {
        if ((chunk->routes_done & (1ull << i)) && map[i] >= 0)
            done |= 1ull << map[i];
    }
    uint64_t pending = router_lookup(p->router, chunk->tag).outputs & ~done;
    if (!pending)
        count_unrouted(old, map, chunk, old_pending);
    reroute_file(p, old, chunk, old_pending, pending);
    chunk->routes = pending | done;
    chunk->routes_done = done;
    chunk->routes_left = (unsigned)__builtin_popcountll(pending);
}

static void reroute_all(struct pipeline *p, const struct pipeline_parts *old)
{
    int map[64];
    struct chunk_list list = {0};
    map_outputs(p, old, map);
    chunk_store_each_sealed(p->store, collect_chunk, &list);
    /* In the order they were made, as the lanes had them. */
    if (list.count > 1)
        qsort(list.items, list.count, sizeof *list.items, compare_ids);
    /* One rewrite per pack, not one per chunk in it. */
    if (p->storage)
        storage_begin_updates(p->storage);
    for (size_t i = 0; i < list.count; i++)
        reroute_chunk(p, old, map, list.items[i]);
    if (p->storage)
        storage_end_updates(p->storage);
    for (size_t i = 0; i < list.count; i++) {
        struct chunk *chunk = list.items[i];
        for (size_t j = 0; j < p->output_count; j++) {
            if (chunk->routes & ~chunk->routes_done & (1ull << j))
                lane_push(&p->lanes[j], chunk);
        }
    }
    free(list.items);
}

/* skiff_output_failing follows the new outputs; the series of one removed
 * goes to 0. */
static void reset_failing(struct pipeline *p, const struct pipeline_parts *old)
{
    for (size_t i = 0; i < old->output_count; i++)
        metric_set(old->outputs[i].metrics.failing, 0);
    for (size_t i = 0; i < p->output_count; i++)
        metric_set(p->outputs[i].metrics.failing, p->outputs[i].core->failing);
}

/* A new flush_interval takes effect at once for the chunks open now. */
static void reschedule_flush(struct pipeline *p, int64_t old_interval_ms)
{
    int64_t interval = p->config->service.flush_interval_ms;
    if (!p->flush_timer || interval == old_interval_ms)
        return;
    pipeline_cancel_flush(p);
    pipeline_arm_flush(p);
}

/* Ends the old output thread and takes its last results. */
static void end_old_outputs(struct pipeline *p)
{
    int fd = output_worker_completion_fd(p->worker);
    output_worker_stop(p->worker); /* at once if it finished; else what runs is abandoned */
    pipeline_on_completion(p->loop, -1, 0, p);
    loop_unwatch_fd(p->loop, fd);
}

void pipeline_reload_finish(struct pipeline *p)
{
    struct reload *reload = p->reloader->running;
    int64_t waited = loop_now_ms(p->loop) - reload->started_ms;
    loop_cancel_timer(p->loop, reload->grace_timer);
    reload->grace_timer = NULL;
    end_old_outputs(p);
    reload_inputs_retire(p, reload->parts.config, reload);
    drain_old_filters(p);
    pipeline_seal_all(p);

    pipeline_close_lanes(p);
    pipeline_parts_swap(p, &reload->parts); /* from here on p runs the new parts */
    pipeline_open_lanes(p);
    p->outputs_closing = false;
    reroute_all(p, &reload->parts);
    loop_watch_fd(p->loop, output_worker_completion_fd(p->worker), LOOP_READABLE,
                  pipeline_on_completion, p);
    reset_failing(p, &reload->parts);
    reschedule_flush(p, reload->parts.config->service.flush_interval_ms);
    size_t pending = chunk_store_sealed_count(p->store);

    pipeline_parts_swap(p, &reload->parts); /* the old parts, to destroy them */
    reload_inputs_hold_parsers(p, reload->parts.parsers, reload->parts.parser_count);
    pipeline_unbuild(p, reload->parts.parsers, reload->parts.parser_count);
    pipeline_parts_swap(p, &reload->parts);
    reload_inputs_start(p, p->config, reload);
    reload_inputs_drop(reload);
    free(reload);
    p->reloader->running = NULL;

    pipeline_advance_all(p);
    pipeline_retire_check(p);
    for (size_t i = 0; i < p->output_count; i++)
        lane_dispatch(p, (unsigned)i);
    metric_set(p->chunks_pending, (int64_t)chunk_store_sealed_count(p->store));
    log_debug("reload", "the old outputs ended after %lldms; %zu chunks routed again",
              (long long)waited, pending);
    pipeline_check_drained(p);
    pipeline_reload_done(p);
}
