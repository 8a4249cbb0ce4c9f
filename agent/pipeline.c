/* The pipeline thread: builds the instances from the config, runs inputs and
 * filters on its event loop, routes records into chunks, seals chunks on size
 * or on the flush timer, hands them to the output thread, releases them as
 * outputs finish, and runs the shutdown sequence on SIGTERM/SIGINT (SIGHUP
 * reloads: pipeline_reload.c).
 * Backpressure and acknowledgements live here; chunk bookkeeping lives in
 * chunk_store.c and the output side in output_worker.c. */
#include "pipeline_internal.h"

#include "chunk_store.h"
#include "http_server.h"
#include "log.h"
#include "loop.h"
#include "output_worker.h"
#include "router.h"
#include "xalloc.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* A chunk is sealed when it reaches this size, or a quarter of its input's
 * buffer_limit if that is smaller, so a full buffer holds several chunks and
 * draining one lets the input go on. */
enum { CHUNK_MAX_BYTES = 2 * 1024 * 1024 };

static size_t pipeline_chunk_limit(const struct instance *in)
{
    int64_t quarter = in->config->common.buffer_limit / 4;
    return quarter < CHUNK_MAX_BYTES ? (size_t)quarter : CHUNK_MAX_BYTES;
}

/* Seals the input's open chunks so that the outputs can drain them: with one
 * open chunk per tag (per file, for tail), a full buffer may be all open
 * chunks, and waiting for the flush timer would stall the input. */
static void input_pause(struct instance *in)
{
    pipeline_seal_input(in->pipeline, in->index);
    if (in->core->seal_pending)
        return; /* sealed once the record is done; pipeline_seal_deferred checks again */
    if (!input_must_wait(in))
        return; /* the sealed chunks went to disk: their memory no longer counts */
    in->core->paused = true;
    metric_set(in->metrics.paused, 1);
    metric_add(in->metrics.pauses, 1);
    log_debug(in->alias, "buffer full (%lld bytes in memory), pausing",
              (long long)in->core->buffer_bytes);
    if (in->plugin->pause)
        in->plugin->pause(in);
}

/* The groups whose sealing waited for the records on their way
 * (pipeline_seal_open): sealed now, then each input's buffer checked. */
static void pipeline_seal_deferred(struct pipeline *p)
{
    p->seal_pending = false;
    for (size_t i = 0; i < p->input_count; i++) {
        struct instance *in = p->inputs[i];
        if (!in || !in->core->seal_pending)
            continue;
        pipeline_seal_input(p, (unsigned)i);
        if (!in->core->paused && !p->stopping && input_must_wait(in))
            input_pause(in);
    }
}

static void pipeline_on_flush_timer(struct loop *loop, struct loop_timer *timer, void *data)
{
    struct pipeline *p = data;
    p->flush_timer = NULL; /* one-shot */
    pipeline_seal_all(p);
    if (chunk_store_open_count(p->store) > 0)
        pipeline_arm_flush(p); /* a group seal waited for a record on its way */
}

/* The flush timer runs only while a chunk is open, so that an idle agent
 * sleeps: it is armed when a chunk opens, and fires flush_interval later.
 * Every record waits at most flush_interval for its seal, as with a timer
 * that ticks all the time. */
void pipeline_arm_flush(struct pipeline *p)
{
    if (p->flush_timer || p->stopping)
        return;
    int64_t interval = p->config->service.flush_interval_ms;
    p->flush_due_ms = monotonic_ms() + interval;
    p->flush_timer = loop_add_timer(p->loop, interval, 0, pipeline_on_flush_timer, p);
}

void pipeline_cancel_flush(struct pipeline *p)
{
    if (p->flush_timer) {
        loop_cancel_timer(p->loop, p->flush_timer);
        p->flush_timer = NULL;
    }
}

int64_t input_flush_due_ms(const struct instance *in)
{
    const struct pipeline *p = in->pipeline;
    return p->flush_timer ? p->flush_due_ms : -1;
}

/* ---- the record path ---- */

static enum filter_result pipeline_filter(struct pipeline *p, uint64_t filters, struct instance *in,
                                          const char *tag, struct record *rec)
{
    for (size_t i = 0; i < p->filter_count; i++) {
        if (!(filters & (1ull << i)))
            continue;
        struct instance *f = &p->filters[i];
        metric_add(f->metrics.records, 1);
        enum filter_result result = f->plugin->filter(f, in, tag, rec);
        if (result != FILTER_KEEP)
            return result;
    }
    return FILTER_KEEP;
}

static bool pipeline_in_run(const struct pipeline *p, const struct instance *in, const char *tag)
{
    return p->run.in == in && p->run.tag == tag;
}

void input_run_begin(struct instance *in, const char *tag)
{
    struct pipeline *p = in->pipeline;
    p->run.in = in;
    p->run.tag = tag;
    p->run.route = router_lookup(p->router, tag);
    p->run.chunk = NULL;
    p->run.expect = 0;
}

void input_run_expect(struct instance *in, uint64_t bytes)
{
    struct pipeline *p = in->pipeline;
    if (p->run.in == in)
        p->run.expect = bytes;
}

void input_run_end(struct instance *in)
{
    struct pipeline *p = in->pipeline;
    p->run.in = NULL;
    p->run.tag = NULL;
    p->run.chunk = NULL;
    p->run.expect = 0;
}

static struct route pipeline_lookup_route(struct pipeline *p, const struct instance *in,
                                          const char *tag)
{
    return pipeline_in_run(p, in, tag) ? p->run.route : router_lookup(p->router, tag);
}

/* Room for the record that takes a chunk past its limit, so that a chunk
 * given its limit up front is not grown (copied) for its last record; also
 * the least expected growth worth room up front (below it, growing copies
 * little). */
enum { CHUNK_LAST_RECORD_ROOM = 64 * 1024 };

/* The room a new chunk of (in, tag) is given up front: its whole limit for a
 * stream whose last chunk filled up; what the input expects of the run
 * (input_run_expect), and an eighth more, for records encoded larger than
 * their lines; else none. */
static size_t pipeline_chunk_room(struct pipeline *p, struct instance *in, const char *tag,
                                  bool in_run)
{
    size_t limit = pipeline_chunk_limit(in) + CHUNK_LAST_RECORD_ROOM;
    if (chunk_store_filled_last(p->store, in->index, tag))
        return limit;
    uint64_t expect = in_run ? p->run.expect : 0;
    if (expect < CHUNK_LAST_RECORD_ROOM)
        return 0;
    if (expect > limit)
        return limit;
    size_t room = (size_t)(expect + expect / 8);
    return room < limit ? room : limit;
}

/* A chunk about to get many records gets room for them at once: grown as it
 * fills, by doubling then by half (buf.c), every byte of it would be copied
 * about twice by realloc (6.9 % of the backlog benchmark's CPU). The pages it
 * does not touch cost no memory, and chunk_seal gives back what it did not
 * use. Other chunks (a quiet file's holds what came in a flush_interval) grow
 * as they fill. */
static struct chunk *pipeline_new_chunk(struct pipeline *p, struct instance *in, const char *tag,
                                        uint64_t routes, bool in_run)
{
    struct chunk *chunk =
        chunk_new(++p->next_chunk_id, in->index, tag, routes, loop_now_ms(p->loop));
    size_t room = pipeline_chunk_room(p, in, tag, in_run);
    if (room)
        buf_reserve(&chunk->data, room);
    return chunk;
}

static struct chunk *pipeline_open_chunk(struct pipeline *p, struct instance *in, const char *tag,
                                         uint64_t routes)
{
    bool in_run = pipeline_in_run(p, in, tag);
    if (in_run && p->run.chunk && p->run.generation == chunk_store_open_generation(p->store))
        return p->run.chunk;
    struct chunk *chunk = chunk_store_find_open(p->store, in->index, tag);
    if (!chunk) {
        chunk = pipeline_new_chunk(p, in, tag, routes, in_run);
        chunk_store_add_open(p->store, chunk);
        pipeline_count_memory(p, 0, 1);
        pipeline_arm_flush(p);
    }
    if (in_run) {
        p->run.chunk = chunk;
        p->run.generation = chunk_store_open_generation(p->store);
    }
    return chunk;
}

static void pipeline_append(struct pipeline *p, struct instance *in, const char *tag,
                            uint64_t routes, const struct record *rec)
{
    struct chunk *chunk = pipeline_open_chunk(p, in, tag, routes);
    size_t grown = chunk_append(chunk, rec);
    if (grown == 0) {
        /* The chunk's attachment table is full: start a new chunk. */
        pipeline_seal_full(p, chunk, rec);
        chunk = pipeline_open_chunk(p, in, tag, routes);
        grown = chunk_append(chunk, rec);
    }
    metric_add(in->metrics.bytes, (int64_t)grown);
    input_update_buffer(in, (int64_t)grown);
    pipeline_count_memory(p, (int64_t)grown, 0);
    if (chunk->data.len >= pipeline_chunk_limit(in)) {
        chunk->filled = true;
        pipeline_seal_open(p, chunk);
    }
}

/* A dropped record is acknowledged with the chunk its tag is filling, so that
 * a checkpoint moves past it only after the records before it are done. */
static void pipeline_note_dropped(struct pipeline *p, struct instance *in, const char *tag,
                                  uint64_t routes, const struct record_origin *origin)
{
    if (origin->source_id == 0 && origin->offset == 0)
        return; /* nothing to acknowledge */
    chunk_note_origin(pipeline_open_chunk(p, in, tag, routes), origin);
}

/* Appends a record the filters kept to the chunk of its outputs, or notes
 * the origin of one they dropped or no output takes. */
static void pipeline_route(struct pipeline *p, struct instance *in, const char *tag,
                           uint64_t outputs, enum filter_result result, const struct record *rec)
{
    if (result == FILTER_DROP) {
        pipeline_note_dropped(p, in, tag, outputs, &rec->origin);
    } else if (!outputs) {
        if (!in->core->warned_no_route) {
            log_warn(in->alias,
                     "tag '%s' matches no output's `match`; its records are dropped "
                     "and counted in skiff_records_dropped_total{reason=\"no_route\"}",
                     tag);
            in->core->warned_no_route = true;
        }
        if (!in->core->dropped_no_route)
            in->core->dropped_no_route = instance_dropped_counter(in, "no_route");
        metric_add(in->core->dropped_no_route, 1);
        pipeline_note_dropped(p, in, tag, 0, &rec->origin);
    } else {
        pipeline_append(p, in, tag, outputs, rec);
    }
}

/* Runs the filters in `filters` that match the tag, then routes the record.
 * Takes the record's contents. A record a filter gave a new tag skips that
 * filter. */
static void pipeline_process(struct pipeline *p, struct instance *in, const char *tag,
                             struct record *rec, uint64_t filters)
{
    struct route route = pipeline_lookup_route(p, in, tag);
    enum filter_result result = FILTER_KEEP;

    p->processing++;
    if (rec->retagged_by > 0)
        filters &= ~(1ull << (rec->retagged_by - 1));

    if (route.filters & filters)
        result = pipeline_filter(p, route.filters & filters, in, tag, rec);
    if (result != FILTER_TAKEN) {
        pipeline_route(p, in, tag, route.outputs, result, rec);
        record_done(rec); /* an input's reused record keeps its storage */
    }
    /* Also after FILTER_TAKEN: a filter holding records counts them in the
     * input's buffer (filter_hold). */
    if (!in->core->paused && !p->stopping && input_must_wait(in))
        input_pause(in);
    if (--p->processing == 0 && p->seal_pending)
        pipeline_seal_deferred(p);
}

void input_emit(struct instance *in, const char *tag, struct record *rec)
{
    metric_add(in->metrics.records, 1);
    pipeline_process(in->pipeline, in, tag, rec, ~0ull);
}

void filter_emit(struct instance *filter, struct instance *input, const char *tag,
                 struct record *rec)
{
    uint64_t later = filter->index + 1 < 64 ? ~0ull << (filter->index + 1) : 0;
    pipeline_process(filter->pipeline, input, tag, rec, later);
}

void filter_drop(struct instance *filter, struct instance *input, const char *tag,
                 struct record *rec, struct metric *dropped)
{
    struct pipeline *p = filter->pipeline;
    metric_add(dropped, 1);
    pipeline_note_dropped(p, input, tag, router_lookup(p->router, tag).outputs, &rec->origin);
    record_free(rec);
}

/* A chain of new tags this long ends: the record is dropped. */
enum { RETAG_MAX = 8 };

static void pipeline_drop_retag_loop(struct instance *filter, struct instance *in, const char *tag,
                                     struct record *rec)
{
    struct pipeline *p = filter->pipeline;
    if (!filter->core->warned_rewrite_loop) {
        log_warn(filter->alias,
                 "a record was given a new tag %d times (the last: '%s'): the filters' rules "
                 "make a loop; such records are dropped and counted in "
                 "skiff_records_dropped_total{reason=\"rewrite_loop\"}",
                 RETAG_MAX, tag);
        filter->core->warned_rewrite_loop = true;
    }
    if (!filter->core->dropped_rewrite_loop)
        filter->core->dropped_rewrite_loop = instance_dropped_counter(filter, "rewrite_loop");
    metric_add(filter->core->dropped_rewrite_loop, 1);
    pipeline_note_dropped(p, in, tag, router_lookup(p->router, tag).outputs, &rec->origin);
    record_free(rec);
}

void filter_reemit(struct instance *filter, struct instance *input, const char *tag,
                   struct record *rec)
{
    /* Set before anything is appended under the new tag: from now on the
     * input's chunks are sealed in groups. */
    input->core->retagged = true;
    if (rec->retags >= RETAG_MAX) {
        pipeline_drop_retag_loop(filter, input, tag, rec);
        return;
    }
    rec->retags++;
    rec->retagged_by = (uint8_t)(filter->index + 1);
    pipeline_process(filter->pipeline, input, tag, rec, ~0ull);
}

void filter_hold(struct instance *filter, struct instance *input, int64_t bytes)
{
    input_update_buffer(input, bytes);
    /* Growth is checked after the record the filter is taking (pipeline_process). */
    if (bytes < 0)
        input_maybe_resume(input);
}

/* ---- signals and shutdown ---- */

static void pipeline_stop_inputs(struct pipeline *p)
{
    for (size_t i = 0; i < p->input_count; i++) {
        struct instance *in = p->inputs[i];
        if (!in || in->core->stopped)
            continue; /* a free slot, or one a reload removed */
        in->core->stopped = true;
        if (in->plugin->stop)
            in->plugin->stop(in);
    }
}

/* Filters that hold records (multiline) hand them on before the last seal. */
static void pipeline_drain_filters(struct pipeline *p)
{
    for (size_t i = 0; i < p->filter_count; i++) {
        struct instance *f = &p->filters[i];
        if (f->plugin->drain)
            f->plugin->drain(f);
    }
}

static void pipeline_on_grace_timer(struct loop *loop, struct loop_timer *timer, void *data)
{
    struct pipeline *p = data;
    p->grace_timer = NULL;
    log_warn("pipeline", "grace period of %.1fs is over with %zu chunks still in flight",
             (double)p->config->service.grace_ms / 1000.0, chunk_store_sealed_count(p->store));
    loop_stop(loop);
}

static void pipeline_begin_shutdown(struct pipeline *p, const char *signal_name)
{
    if (p->stopping) {
        log_warn("pipeline", "%s again: stopping now without waiting for outputs", signal_name);
        loop_stop(p->loop);
        return;
    }
    p->stopping = true;
    log_info("pipeline", "%s received: stopping inputs, flushing outputs (grace %.1fs)",
             signal_name, (double)p->config->service.grace_ms / 1000.0);
    pipeline_stop_inputs(p);
    pipeline_drain_filters(p);
    pipeline_cancel_flush(p);
    pipeline_seal_all(p);
    p->grace_timer =
        loop_add_timer(p->loop, p->config->service.grace_ms, 0, pipeline_on_grace_timer, p);
    pipeline_check_drained(p);
}

static void pipeline_on_signal(struct loop *loop, int fd, unsigned events, void *data)
{
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    if (n != (ssize_t)sizeof info)
        return;
    if (info.ssi_signo == SIGHUP)
        pipeline_reload_signal(data);
    else
        pipeline_begin_shutdown(data, info.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
}

static int pipeline_watch_signals(struct pipeline *p)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    p->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (p->signal_fd < 0) {
        log_error("pipeline", "signalfd: %s", strerror(errno));
        return -1;
    }
    return loop_watch_fd(p->loop, p->signal_fd, LOOP_READABLE, pipeline_on_signal, p);
}

/* ---- run ---- */

static int pipeline_start_inputs(struct pipeline *p)
{
    for (size_t i = 0; i < p->input_count; i++) {
        struct instance *in = p->inputs[i];
        if (in && in->plugin->start && in->plugin->start(in) < 0) {
            log_error(in->alias, "cannot start");
            return -1;
        }
    }
    return 0;
}

int pipeline_run(struct pipeline *p)
{
    if (pipeline_watch_signals(p) < 0 || output_worker_start(p->worker) < 0)
        return 1;
    p->worker_started = true;
    pipeline_open_lanes(p);
    if (loop_watch_fd(p->loop, output_worker_completion_fd(p->worker), LOOP_READABLE,
                      pipeline_on_completion, p) < 0 ||
        pipeline_start_http(p) < 0)
        return 1;
    pipeline_replay(p);
    if (pipeline_start_inputs(p) < 0)
        return 1;
    if (chunk_store_open_count(p->store) > 0)
        pipeline_arm_flush(p);
    log_info("pipeline", "started: %zu inputs, %zu filters, %zu outputs", p->config->input_count,
             p->filter_count, p->output_count);

    if (loop_run(p->loop) < 0)
        return 1;

    output_worker_stop(p->worker);
    pipeline_on_completion(p->loop, -1, 0, p);
    pipeline_finish_buffer(p);
    log_info("pipeline", "stopped");
    return 0;
}
