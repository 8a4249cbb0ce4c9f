/* The pipeline's state, shared by pipeline.c (the record path and the run
 * loop), pipeline_buffer.c (the chunk life cycle) and pipeline_setup.c
 * (building and tearing down instances). Not for plugins: they see only
 * plugin_api.h. */
#ifndef SKIFF_PIPELINE_INTERNAL_H
#define SKIFF_PIPELINE_INTERNAL_H

#include "pipeline.h"
#include "plugin_api.h"
#include "router.h"

#include <stdbool.h>
#include <stdint.h>

struct chunk;
struct chunk_store;
struct chunk_store_hooks;
struct http_reply;
struct reloader;
struct dead_letter;
struct http_server;
struct storage;
struct loop_timer;
struct output_worker;
struct router;

/* What the core owns of an instance (instance->core); plugins see it only
 * through core functions (input_is_paused, output_set_failing). */
struct instance_core {
    /* Inputs, pipeline thread. */
    bool paused;          /* by backpressure; the input must not emit */
    int64_t buffer_bytes; /* in memory, in chunks neither released nor on disk */
    bool uses_disk;       /* its chunks are written to the disk buffer */
    bool warned_no_route;
    struct metric *dropped_no_route; /* looked up on the first such record */
    /* A filter gave some of its records new tags (filter_reemit): its open
     * chunks are sealed together, as one group (pipeline_buffer.c). */
    bool retagged;
    bool seal_pending; /* its group is sealed once the record on its way is done */
    /* Filters: records dropped at the end of a chain of new tags. */
    bool warned_rewrite_loop;
    struct metric *dropped_rewrite_loop;
    bool initialised; /* plugin init done: destroy is due */
    bool stopped;     /* plugin stop called: it emits no more */
    /* A reload removed or changed it: it is destroyed (its checkpoints saved)
     * once its chunks are all acknowledged, then `successor` (the changed
     * input, not initialised yet) takes its slot and starts. */
    bool retiring;
    struct instance *successor;
    /* Outputs: output_set_failing's state, under output_health.c's lock. */
    bool failing;
    char failing_reason[256];
};

struct pipeline {
    const struct config *config;
    struct loop *loop;
    /* Inputs by slot; a slot is the chunk store queue of the input's chunks
     * (chunk->input_index, instance->index). NULL for the queue of chunks
     * replayed from disk and for slots a removed input freed. */
    struct instance **inputs;
    size_t input_count; /* slots */
    unsigned replay_queue;
    struct loop_timer *retire_timer; /* pipeline_retire_soon */
    struct instance *filters;
    size_t filter_count;
    struct instance *outputs;
    size_t output_count;
    size_t outputs_initialised; /* plugin init done, and not yet destroyed */
    struct instance **parsers;  /* the user's, then the built-in ones */
    size_t parser_count;
    /* Parsers a reload dropped while inputs that may hold them retire. */
    struct instance **orphan_parsers;
    size_t orphan_parser_count;
    struct instance_config *builtin_parsers; /* configs of the built-in ones */
    size_t builtin_parser_count;
    const char **filter_matches;
    const char **output_matches;

    struct router *router;
    struct chunk_store *store;
    struct output_worker *worker;
    bool worker_started;
    struct http_server *http;
    int signal_fd;
    /* The input's run of records of one tag (input_run_begin): its route,
     * and its open chunk while the open table's generation is run_generation. */
    struct {
        const struct instance *in; /* NULL: no run */
        const char *tag;
        struct route route;
        struct chunk *chunk;
        uint64_t generation;
        uint64_t expect; /* input_run_expect */
    } run;
    struct loop_timer *flush_timer; /* armed only while a chunk is open */
    int64_t flush_due_ms;           /* when flush_timer fires (monotonic) */
    struct loop_timer *grace_timer;
    uint64_t next_chunk_id;
    bool stopping;
    unsigned processing; /* records on their way (pipeline_process, nested by re-entry) */
    bool seal_pending;   /* some input's group waits for processing to end */

    struct metric *chunks_pending;
    struct metric *memory_bytes_gauge;
    struct metric *memory_chunks_gauge;
    int64_t memory_bytes; /* records of every chunk held in memory */
    int64_t memory_chunks;

    struct storage *storage; /* NULL when no input uses the disk and none is left there */
    struct dead_letter *dead_letter;
    struct output_lane *lanes; /* one per output */

    /* A reload waits for the old outputs' attempts under way: nothing more
     * is handed to them (pipeline_reload.c). */
    bool outputs_closing;
    struct reloader *reloader;
};

/* The chunks waiting for one output, in the order it must take them
 * (pipeline_lanes.c). Only `window` deliveries are with the output thread at
 * a time: with a disk buffer, so that the others can wait on disk rather
 * than in memory; for an output that takes several chunks per delivery
 * (delivery_max_bytes), so that chunks sealed while every delivery is under
 * way wait here and go on together. */
struct output_lane {
    struct chunk **ring;
    size_t head;
    size_t count;
    size_t cap;
    unsigned submitted; /* deliveries with the output thread */
    unsigned window;
    struct chunk **taken; /* scratch: the chunks of the delivery being made */
    size_t taken_cap;
    uint64_t deliveries; /* made so far */
};

/* pipeline.c: the flush timer, armed while a chunk is open (a no-op when it
 * is armed already or the pipeline stops); cancelling stops it. */
void pipeline_arm_flush(struct pipeline *p);
void pipeline_cancel_flush(struct pipeline *p);

/* pipeline_buffer.c: the chunk life cycle. */
void pipeline_seal(struct pipeline *p, struct chunk *chunk);
/* Seals a full open chunk: alone, or with all of its input's open chunks
 * when the input's records were given new tags (core->retagged), then
 * after the record on its way (pipeline_seal_input likewise). */
void pipeline_seal_open(struct pipeline *p, struct chunk *chunk);
/* Seals a chunk whose attachment table is full, now, before `rec` goes into
 * a new one: in a group, rec's offset is left to the next group. */
void pipeline_seal_full(struct pipeline *p, struct chunk *chunk, const struct record *rec);
void pipeline_seal_input(struct pipeline *p, unsigned input_index);
void pipeline_seal_all(struct pipeline *p);
/* Reads back the chunks left on disk and queues them first. */
void pipeline_replay(struct pipeline *p);
/* Appends a line per failing output (output_set_failing) to `out`; returns
 * how many there are. */
size_t output_health_report(const struct instance *outputs, size_t count, struct buf *out);

/* pipeline_buffer.c: `output` finished with the chunk (delivered, given up
 * on, or nothing to send): marked in its chunk file, the chunk acknowledged
 * and released when it was the last; may free the chunk. */
void pipeline_route_finished(struct pipeline *p, struct chunk *chunk, unsigned output);
/* Frees the records of a chunk on disk that no output is sending now,
 * unless every lane it waits in hands it on with its next delivery and
 * memory is well under its input's buffer_limit. */
void pipeline_maybe_evict(struct pipeline *p, struct chunk *chunk);
const struct chunk_store_hooks *pipeline_hooks(struct pipeline *p);

/* pipeline_lanes.c: the deliveries an output's lane keeps with the output
 * thread at once (its window). */
unsigned lane_window(const struct instance *output, bool disk_buffer);
/* Sizes the output lanes once the outputs' max_in_flight is known. */
void pipeline_open_lanes(struct pipeline *p);
/* Frees the lanes (not the chunks they hold: the chunk store owns them). */
void pipeline_close_lanes(struct pipeline *p);
void lane_push(struct output_lane *lane, struct chunk *chunk);
/* Whether `chunk` is in the part of the lane its next delivery takes. */
bool lane_takes_next(const struct output_lane *lane, const struct instance *output,
                     const struct chunk *chunk);
/* Hands a lane's chunks to the output thread, as far as its window goes: a
 * delivery per chunk, or per run of chunks within delivery_max_bytes. */
void lane_dispatch(struct pipeline *p, unsigned output);
void pipeline_on_completion(struct loop *loop, int fd, unsigned events, void *data);
/* After the output thread stopped: what was not delivered stays on disk, or
 * is counted as dropped. */
void pipeline_finish_buffer(struct pipeline *p);
void pipeline_check_drained(struct pipeline *p);
/* Acknowledges and releases what became ready in every queue (after a
 * reload changed which outputs chunks wait for). */
void pipeline_advance_all(struct pipeline *p);
bool input_uses_disk(const struct instance *in);
/* Sets each input's uses_disk, once the storage is open (or not). */
void pipeline_note_storage(struct pipeline *p);
void input_update_buffer(struct instance *in, int64_t delta);
void input_maybe_resume(struct instance *in);
/* The input's buffer is full: its memory, or the disk it buffers on. */
bool input_must_wait(const struct instance *in);
/* Records held in memory changed by `bytes` and `chunks`. */
void pipeline_count_memory(struct pipeline *p, int64_t bytes, int64_t chunks);

/* parser.c: a parser's time format and counters. */
int parser_support_init(struct instance *parser);
void parser_support_free(struct instance *parser);

/* Starts the HTTP server if service.http.listen is set. Returns 0 or -1. */
int pipeline_start_http(struct pipeline *p);
/* Serves on listener `fd` (http_listener_open; -1: stops listening), making
 * the server on first use. Returns 0 or -1 (logged). */
int pipeline_http_listen(struct pipeline *p, int fd, const char *listen);

/* pipeline_setup.c: an input from `config` (of p->config), with its core and
 * metrics; input_init runs plugin init (-1 after logging); input_destroy
 * runs plugin destroy if init ran, and frees it and its successor. */
struct instance *input_create(struct pipeline *p, const struct instance_config *config);
int input_init(struct instance *in);
void input_destroy(struct instance *in);
/* Runs plugin destroy on a parser and frees it. */
void parser_destroy(struct instance *parser);
/* pipeline_reload_inputs.c: destroys the retiring inputs whose chunks are
 * all acknowledged and starts their successors; pipeline_retire_soon does it
 * from a timer, for callers inside the chunk store's hooks. */
void pipeline_retire_check(struct pipeline *p);
void pipeline_retire_soon(struct pipeline *p);

/* pipeline_setup.c: what a reload makes anew from p->config (router,
 * parsers, dead-letter folder, outputs and their worker, filters), into p's
 * fields. Parsers of `old_parsers` that are the same are taken over. Returns
 * 0, or -1 after logging (the caller unbuilds what was made). */
int pipeline_build(struct pipeline *p, struct instance *const *old_parsers, size_t old_count);
/* Destroys what pipeline_build made, but the parsers in `keep_parsers`. */
void pipeline_unbuild(struct pipeline *p, struct instance *const *keep_parsers, size_t keep_count);

/* pipeline_reload.c: reloading the configuration on SIGHUP or POST /reload. */
void pipeline_reload_init(struct pipeline *p);
/* Cancels a reload under way (its new parts are destroyed). */
void pipeline_reload_destroy(struct pipeline *p);
/* Frees the configs reloads loaded, once every instance is gone. */
void pipeline_reload_free(struct pipeline *p);
/* SIGHUP: reloads, or notes that one more reload is wanted when one is
 * under way; ignored once shutdown began. */
void pipeline_reload_signal(struct pipeline *p);
/* The /reload route (POST). */
void pipeline_reload_http(const char *path, struct http_reply *reply, void *data);

#endif
