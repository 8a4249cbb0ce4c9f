/* The chunk life cycle on the pipeline thread: a sealed chunk is written to
 * disk (filesystem storage), queued on the lane of each output it is routed
 * to (pipeline_lanes.c hands lanes on to the output thread), acknowledged to
 * its input once it is safe (delivered everywhere, or on disk), and released
 * when every output took it.
 *
 * Memory: an input's buffer_limit bounds its records in memory that are not on
 * disk; chunks on disk stay in memory while an output is sending them, or
 * when its next delivery takes them and memory is under half the input's
 * buffer_limit (pipeline_maybe_evict). */
#include "chunk_store.h"
#include "log.h"
#include "loop.h"
#include "output_worker.h"
#include "pipeline_internal.h"
#include "storage.h"
#include "xalloc.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

/* ---- accounting and backpressure ---- */

bool input_uses_disk(const struct instance *in)
{
    const char *type = in->config->common.storage_type ? in->config->common.storage_type
                                                       : in->service->storage.type;
    return strcmp(type, "filesystem") == 0;
}

void pipeline_note_storage(struct pipeline *p)
{
    for (size_t i = 0; i < p->input_count; i++) {
        if (p->inputs[i])
            p->inputs[i]->core->uses_disk = p->storage && input_uses_disk(p->inputs[i]);
    }
}

bool input_is_paused(const struct instance *in)
{
    return in->core->paused;
}

void input_update_buffer(struct instance *in, int64_t delta)
{
    in->core->buffer_bytes += delta;
    metric_set(in->metrics.buffer_bytes, in->core->buffer_bytes);
}

void pipeline_count_memory(struct pipeline *p, int64_t bytes, int64_t chunks)
{
    p->memory_bytes += bytes;
    p->memory_chunks += chunks;
    metric_set(p->memory_bytes_gauge, p->memory_bytes);
    metric_set(p->memory_chunks_gauge, p->memory_chunks);
}

bool input_must_wait(const struct instance *in)
{
    const struct pipeline *p = in->pipeline;
    if (in->core->buffer_bytes >= in->config->common.buffer_limit)
        return true;
    return in->core->uses_disk && storage_full(p->storage);
}

void input_maybe_resume(struct instance *in)
{
    if (!in->core->paused || in->core->stopped || in->pipeline->stopping || input_must_wait(in))
        return;
    in->core->paused = false;
    metric_set(in->metrics.paused, 0);
    log_debug(in->alias, "buffer has room (%lld bytes), resuming",
              (long long)in->core->buffer_bytes);
    if (in->plugin->resume)
        in->plugin->resume(in);
}

static void inputs_maybe_resume(struct pipeline *p)
{
    for (size_t i = 0; i < p->input_count; i++) {
        if (p->inputs[i])
            input_maybe_resume(p->inputs[i]);
    }
}

static struct instance *chunk_input(struct pipeline *p, const struct chunk *chunk)
{
    return chunk->replayed ? NULL : p->inputs[chunk->input_index];
}

/* ---- acknowledgement and release ---- */

static void pipeline_ack_chunk(struct chunk *chunk, void *data)
{
    struct instance *in = chunk_input(data, chunk);
    if (!in || !in->plugin->ack)
        return;
    for (size_t i = 0; i < chunk->origin_count; i++)
        in->plugin->ack(in, &chunk->origins[i]);
}

/* glibc keeps freed memory inside its heaps: only a free top goes back to
 * the kernel, and the pages of a free block below a live one stay resident.
 * Records and chunks are not freed in the order they were allocated (the
 * kubernetes filter holds records at start-up, the chunks of different files
 * are released as their deliveries end), so the heap would stay at its
 * high-water mark, most of it free: 13 of 19 MiB in the backlog benchmark
 * (tests/bench/README.md, session 6). malloc_trim gives the free pages back
 * (MADV_DONTNEED), so resident memory follows what is buffered now. A block
 * reused after a trim faults its pages in again: at most once a second, and
 * only after TRIM_AFTER_BYTES of chunks were freed, keeps that cost out of
 * the throughput (trimming after every 2 MiB cost about 8 % more CPU). */
enum { TRIM_AFTER_BYTES = 2 * 1024 * 1024, TRIM_INTERVAL_MS = 1000 };

/* Only the pipeline thread releases chunks. */
static size_t released_since_trim;
static int64_t last_trim_ms = INT64_MIN / 2;

static void pipeline_note_released(const struct pipeline *p, size_t bytes)
{
    released_since_trim += bytes;
    if (released_since_trim < TRIM_AFTER_BYTES)
        return;
    int64_t now = loop_now_ms(p->loop);
    if (now - last_trim_ms < TRIM_INTERVAL_MS)
        return;
    last_trim_ms = now;
    released_since_trim = 0;
    malloc_trim(0);
}

static void pipeline_release_chunk(struct chunk *chunk, void *data)
{
    struct pipeline *p = data;
    struct instance *in = chunk_input(p, chunk);
    bool freed_disk = chunk->persisted;

    if (in && !chunk->persisted)
        input_update_buffer(in, -(int64_t)chunk->bytes);
    size_t freed_memory = chunk->evicted ? 0 : chunk->bytes;
    if (!chunk->evicted)
        pipeline_count_memory(p, -(int64_t)chunk->bytes, -1);
    if (p->storage)
        storage_remove(p->storage, chunk);
    chunk_free(chunk);
    pipeline_note_released(p, freed_memory);
    metric_set(p->chunks_pending, (int64_t)chunk_store_sealed_count(p->store));
    if (freed_disk)
        inputs_maybe_resume(p);
    else if (in)
        input_maybe_resume(in);
    if (in && in->core->retiring)
        pipeline_retire_soon(p); /* destroyed once its last chunk is released */
}

const struct chunk_store_hooks *pipeline_hooks(struct pipeline *p)
{
    static struct chunk_store_hooks hooks = {pipeline_ack_chunk, pipeline_release_chunk, NULL};
    hooks.data = p;
    return &hooks;
}

/* Reading a chunk back costs a read and its checks: a chunk its lanes hand on
 * with their next delivery stays in memory, as long as memory is well under
 * its input's buffer_limit. A lane that waits (an outage) keeps at most one
 * delivery's worth; the rest leaves memory. */
static bool pipeline_keeps_in_memory(struct pipeline *p, const struct chunk *chunk)
{
    const struct instance *in = chunk->replayed ? NULL : p->inputs[chunk->input_index];
    if (!in || p->memory_bytes > in->config->common.buffer_limit / 2)
        return false;
    for (size_t i = 0; i < p->output_count; i++) {
        uint64_t bit = 1ull << i;
        if (chunk->routes & bit && !(chunk->routes_done & bit) &&
            !lane_takes_next(&p->lanes[i], &p->outputs[i], chunk))
            return false;
    }
    return true;
}

void pipeline_maybe_evict(struct pipeline *p, struct chunk *chunk)
{
    if (!chunk->persisted || chunk->evicted || chunk->submitted > 0 || chunk->routes_left == 0)
        return;
    if (pipeline_keeps_in_memory(p, chunk))
        return;
    storage_evict(p->storage, chunk);
    pipeline_count_memory(p, -(int64_t)chunk->bytes, -1);
}

/* ---- routes finished ---- */

void pipeline_route_finished(struct pipeline *p, struct chunk *chunk, unsigned output)
{
    chunk->routes_done |= 1ull << output;
    if (chunk->persisted && chunk->routes_left > 1)
        storage_mark_done(p->storage, chunk, p->outputs[output].alias);
    if (chunk->routes_left > 1)
        pipeline_maybe_evict(p, chunk);
    chunk_store_route_done(p->store, chunk, pipeline_hooks(p));
}

/* ---- sealing ---- */

/* Chunks sealed together (by the flush timer, an input's end, a group) are
 * all queued before the lanes dispatch, once: an output that takes several
 * chunks per delivery then gets them together, not the first one alone; and
 * those of each filesystem input go to disk as one file first. */
struct seal_batch {
    struct chunk **queued; /* with outputs: may be evicted after the dispatch */
    size_t count;
    size_t cap;
    struct chunk **to_disk; /* of inputs that buffer on disk, in seal order */
    size_t disk_count;
    size_t disk_cap;
    uint64_t dispatch; /* outputs whose lanes took chunks */
    struct pipeline *pipeline;
};

/* The aliases of the outputs a chunk still goes to, into `outputs`. */
static size_t pipeline_owed_outputs(const struct pipeline *p, const struct chunk *chunk,
                                    const char **outputs)
{
    size_t count = 0;
    for (size_t i = 0; i < p->output_count; i++) {
        if (chunk->routes & (1ull << i) && !(chunk->routes_done & (1ull << i)))
            outputs[count++] = p->outputs[i].alias;
    }
    return count;
}

/* Writes the batch's chunks of one input (from to_disk[from], up to the
 * next input's) as one pack; once written, their records no longer count
 * against the input's buffer_limit. Returns where the next input's start. */
static size_t pipeline_persist_input(struct pipeline *p, struct seal_batch *batch, size_t from)
{
    static const bool none_done[CHUNK_FILE_MAX_OUTPUTS];
    unsigned input_index = batch->to_disk[from]->input_index;
    struct instance *in = p->inputs[input_index];
    size_t n = 0;
    while (from + n < batch->disk_count && batch->to_disk[from + n]->input_index == input_index)
        n++;
    struct chunk_file_entry *entries = xcalloc(n, sizeof *entries);
    const char **aliases = xcalloc(n * p->output_count + 1, sizeof *aliases);
    for (size_t i = 0; i < n; i++) {
        const char **outputs = aliases + i * p->output_count;
        entries[i].chunk = batch->to_disk[from + i];
        entries[i].info =
            (struct chunk_file_info){(char *)in->alias, (char **)outputs, (bool *)none_done,
                                     pipeline_owed_outputs(p, entries[i].chunk, outputs)};
    }
    size_t written = storage_persist_pack(p->storage, entries, n);
    for (size_t i = 0; i < written; i++)
        input_update_buffer(in, -(int64_t)entries[i].chunk->bytes);
    free(aliases);
    free(entries);
    return from + n;
}

/* Chunks of an input appear in the batch in runs (one input per seal, or
 * all of one input's after another's at a flush): a pack per run. */
static void pipeline_persist_batch(struct pipeline *p, struct seal_batch *batch)
{
    for (size_t i = 0; i < batch->disk_count;)
        i = pipeline_persist_input(p, batch, i);
}

/* Closes the chunk to new records; returns how many outputs take it. */
static unsigned pipeline_close(struct chunk *chunk)
{
    unsigned routes = chunk->record_count ? (unsigned)__builtin_popcountll(chunk->routes) : 0;
    chunk_seal(chunk);
    chunk->bytes = chunk->data.len;
    return routes;
}

/* A chunk just sealed in the store is queued to go to disk (if its input
 * buffers there) and onto the lane of each output it is routed to. */
static void batch_queue(struct pipeline *p, struct seal_batch *batch, struct chunk *chunk,
                        unsigned routes)
{
    metric_set(p->chunks_pending, (int64_t)chunk_store_sealed_count(p->store));
    if (routes == 0)
        return;
    if (p->inputs[chunk->input_index]->core->uses_disk) {
        batch->to_disk =
            xgrow(batch->to_disk, &batch->disk_cap, batch->disk_count + 1, sizeof *batch->to_disk);
        batch->to_disk[batch->disk_count++] = chunk;
    }
    for (size_t i = 0; i < p->output_count; i++) {
        if (chunk->routes & (1ull << i))
            lane_push(&p->lanes[i], chunk);
    }
    batch->queued = xgrow(batch->queued, &batch->cap, batch->count + 1, sizeof *batch->queued);
    batch->queued[batch->count++] = chunk;
    batch->dispatch |= chunk->routes;
}

static void batch_seal(struct pipeline *p, struct seal_batch *batch, struct chunk *chunk)
{
    unsigned routes = pipeline_close(chunk);
    chunk_store_seal(p->store, chunk, routes);
    batch_queue(p, batch, chunk, routes);
}

/* Writes the chunks of filesystem inputs to disk, dispatches the lanes once;
 * then the chunks on disk that wait for a later delivery leave memory. The
 * caller acknowledges (chunk_store_advance) after: a chunk with no output
 * may be released by that step, so only chunks with outputs are touched
 * here. */
static void batch_dispatch(struct pipeline *p, struct seal_batch *batch)
{
    pipeline_persist_batch(p, batch);
    for (size_t i = 0; i < p->output_count; i++) {
        if (batch->dispatch & (1ull << i))
            lane_dispatch(p, (unsigned)i);
    }
    for (size_t i = 0; i < batch->count; i++)
        pipeline_maybe_evict(p, batch->queued[i]);
    free(batch->queued);
    free(batch->to_disk);
    *batch = (struct seal_batch){0};
}

void pipeline_seal(struct pipeline *p, struct chunk *chunk)
{
    unsigned input_index = chunk->input_index;
    struct seal_batch batch = {0};
    batch_seal(p, &batch, chunk);
    batch_dispatch(p, &batch);
    /* Acknowledges it if it is on disk, or releases it if no output takes it. */
    chunk_store_advance(p->store, input_index, pipeline_hooks(p));
}

/* Seals every open chunk of an input whose records were given new tags as
 * one group (chunk_store_seal_group), so that a checkpoint waits for all the
 * tags a source's records went to. `in_flight`: the origin of a record on
 * its way, or NULL. Every chunk is in the store before any is handed on. */
static void seal_group_into(struct pipeline *p, struct seal_batch *batch, unsigned input_index,
                            const struct record_origin *in_flight)
{
    size_t count, n = 0;
    struct chunk **group = chunk_store_list_open(p->store, &count);
    for (size_t i = 0; i < count; i++) {
        if (group[i]->input_index == input_index)
            group[n++] = group[i];
    }
    unsigned *routes = xcalloc(n ? n : 1, sizeof *routes);
    for (size_t i = 0; i < n; i++)
        routes[i] = pipeline_close(group[i]);
    chunk_store_seal_group(p->store, group, n, routes, in_flight);
    if (p->inputs[input_index])
        p->inputs[input_index]->core->seal_pending = false;
    for (size_t i = 0; i < n; i++)
        batch_queue(p, batch, group[i], routes[i]);
    free(routes);
    free(group);
}

static void pipeline_seal_group(struct pipeline *p, unsigned input_index,
                                const struct record_origin *in_flight)
{
    struct seal_batch batch = {0};
    seal_group_into(p, &batch, input_index, in_flight);
    batch_dispatch(p, &batch);
    chunk_store_advance(p->store, input_index, pipeline_hooks(p));
}

static bool input_seals_in_groups(const struct pipeline *p, unsigned input_index)
{
    return input_index < p->input_count && p->inputs[input_index] &&
           p->inputs[input_index]->core->retagged;
}

/* While a record is on its way (p->processing), a group is not sealed: with
 * KEEP one copy of the record could be in it and another in the next, and
 * its acknowledgement would pass the copy still to come. It is sealed once
 * the record is done (pipeline_seal_deferred). */
static bool pipeline_defer_group(struct pipeline *p, unsigned input_index)
{
    if (p->processing == 0)
        return false;
    if (p->inputs[input_index])
        p->inputs[input_index]->core->seal_pending = true;
    p->seal_pending = true;
    return true;
}

void pipeline_seal_open(struct pipeline *p, struct chunk *chunk)
{
    if (!input_seals_in_groups(p, chunk->input_index))
        pipeline_seal(p, chunk);
    else if (!pipeline_defer_group(p, chunk->input_index))
        pipeline_seal_group(p, chunk->input_index, NULL);
}

void pipeline_seal_full(struct pipeline *p, struct chunk *chunk, const struct record *rec)
{
    if (input_seals_in_groups(p, chunk->input_index))
        pipeline_seal_group(p, chunk->input_index, &rec->origin);
    else
        pipeline_seal(p, chunk);
}

void pipeline_seal_input(struct pipeline *p, unsigned input_index)
{
    if (input_seals_in_groups(p, input_index)) {
        if (!pipeline_defer_group(p, input_index))
            pipeline_seal_group(p, input_index, NULL);
        return;
    }
    size_t count;
    struct chunk **open = chunk_store_list_open(p->store, &count);
    struct seal_batch batch = {0};
    for (size_t i = 0; i < count; i++) {
        if (open[i]->input_index == input_index)
            batch_seal(p, &batch, open[i]);
    }
    free(open);
    batch_dispatch(p, &batch);
    chunk_store_advance(p->store, input_index, pipeline_hooks(p));
}

void pipeline_seal_all(struct pipeline *p)
{
    size_t count;
    struct chunk **open = chunk_store_list_open(p->store, &count);
    struct seal_batch batch = {0};
    for (size_t i = 0; i < count; i++) {
        if (!input_seals_in_groups(p, open[i]->input_index))
            batch_seal(p, &batch, open[i]);
    }
    free(open);
    for (size_t i = 0; i < p->input_count; i++) {
        if (input_seals_in_groups(p, (unsigned)i))
            seal_group_into(p, &batch, (unsigned)i, NULL);
    }
    batch_dispatch(p, &batch);
    pipeline_advance_all(p);
}

void pipeline_advance_all(struct pipeline *p)
{
    for (size_t i = 0; i < p->input_count; i++) /* the queue of replayed chunks too */
        chunk_store_advance(p->store, (unsigned)i, pipeline_hooks(p));
}

/* ---- start and end ---- */

static void pipeline_count_lost_route(const char *output, uint64_t records)
{
    struct buf labels = BUF_INIT;
    metrics_labels(&labels, "instance", output, "reason", "output_removed", NULL);
    metric_add(metrics_counter("skiff_records_dropped_total",
                               "Records dropped on purpose or given up on, by reason",
                               buf_cstr(&labels)),
               (int64_t)records);
    buf_free(&labels);
}

static int pipeline_output_index(const struct pipeline *p, const char *alias)
{
    for (size_t i = 0; i < p->output_count; i++) {
        if (strcmp(p->outputs[i].alias, alias) == 0)
            return (int)i;
    }
    return -1;
}

static void pipeline_replay_chunk(struct chunk *chunk, const struct chunk_file_info *info,
                                  void *data)
{
    struct pipeline *p = data;
    for (size_t i = 0; i < info->output_count; i++) {
        if (info->done[i])
            continue;
        int out = pipeline_output_index(p, info->outputs[i]);
        if (out < 0) {
            log_warn("storage",
                     "chunk %llu on disk is for output '%s', which is no longer configured: its "
                     "%u records are dropped for it (skiff_records_dropped_total"
                     "{reason=\"output_removed\"})",
                     (unsigned long long)chunk->id, info->outputs[i], chunk->record_count);
            pipeline_count_lost_route(info->outputs[i], chunk->record_count);
            continue;
        }
        chunk->routes |= 1ull << out;
    }
    chunk->replayed = true;
    chunk->acked = true; /* its input was acknowledged when it was written */
    chunk->input_index = p->replay_queue;
    unsigned routes = (unsigned)__builtin_popcountll(chunk->routes);
    if (routes == 0) {
        storage_remove(p->storage, chunk);
        chunk_free(chunk);
        return;
    }
    storage_evict(p->storage, chunk); /* read again when its turn comes */
    if (!chunk->evicted)              /* not on disk after all (recovered but not written back) */
        pipeline_count_memory(p, (int64_t)chunk->bytes, 1);
    chunk_store_add_sealed(p->store, p->replay_queue, chunk, routes);
    for (size_t i = 0; i < p->output_count; i++) {
        if (chunk->routes & (1ull << i))
            lane_push(&p->lanes[i], chunk);
    }
}

void pipeline_replay(struct pipeline *p)
{
    if (!p->storage)
        return;
    size_t before = chunk_store_sealed_count(p->store);
    uint64_t max_id = storage_replay(p->storage, pipeline_replay_chunk, p);
    if (max_id > p->next_chunk_id)
        p->next_chunk_id = max_id;
    size_t replayed = chunk_store_sealed_count(p->store) - before;
    if (replayed > 0)
        log_info("storage", "%zu chunks (%llu bytes) left on disk by the last run are sent first",
                 replayed, (unsigned long long)storage_disk_bytes(p->storage));
    metric_set(p->chunks_pending, (int64_t)chunk_store_sealed_count(p->store));
    for (size_t i = 0; i < p->output_count; i++)
        lane_dispatch(p, (unsigned)i);
}

/* A last try for chunks of filesystem inputs kept in memory (their writes
 * failed): collected into a batch, a pack per input. */
static void pipeline_collect_unwritten(struct chunk *chunk, void *data)
{
    struct seal_batch *batch = data;
    struct pipeline *p = batch->pipeline;
    if (chunk->persisted || chunk->replayed || chunk->routes_left == 0 ||
        !p->inputs[chunk->input_index] || !p->inputs[chunk->input_index]->core->uses_disk)
        return;
    batch->to_disk =
        xgrow(batch->to_disk, &batch->disk_cap, batch->disk_count + 1, sizeof *batch->to_disk);
    batch->to_disk[batch->disk_count++] = chunk;
}

struct leftover {
    struct pipeline *p;
    uint64_t on_disk_chunks;
    uint64_t lost_chunks;
    uint64_t lost_records;
};

static void pipeline_count_leftover(struct chunk *chunk, void *data)
{
    struct leftover *left = data;
    struct pipeline *p = left->p;
    if (chunk->persisted) {
        left->on_disk_chunks++;
        return;
    }
    if (chunk->routes_left == 0)
        return;
    left->lost_chunks++;
    left->lost_records += chunk->record_count;
    for (size_t i = 0; i < p->output_count; i++) {
        if (chunk->routes & ~chunk->routes_done & (1ull << i))
            instance_count_dropped(&p->outputs[i], "shutdown", chunk->record_count);
    }
}

void pipeline_finish_buffer(struct pipeline *p)
{
    struct leftover left = {.p = p};
    if (p->storage) {
        struct seal_batch batch = {.pipeline = p};
        chunk_store_each_sealed(p->store, pipeline_collect_unwritten, &batch);
        pipeline_persist_batch(p, &batch);
        free(batch.to_disk);
    }
    chunk_store_each_sealed(p->store, pipeline_count_leftover, &left);
    /* Chunks written just now may let checkpoints advance. */
    for (size_t i = 0; i < p->input_count; i++)
        chunk_store_advance(p->store, (unsigned)i, pipeline_hooks(p));
    if (left.on_disk_chunks > 0)
        log_info("storage", "%llu undelivered chunks stay on disk and are sent at the next start",
                 (unsigned long long)left.on_disk_chunks);
    if (left.lost_records > 0)
        log_error("pipeline",
                  "%llu records in %llu chunks were not delivered before shutdown; they are "
                  "counted in skiff_records_dropped_total{reason=\"shutdown\"} and will be "
                  "read again by inputs that keep checkpoints",
                  (unsigned long long)left.lost_records, (unsigned long long)left.lost_chunks);
}
