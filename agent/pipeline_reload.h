/* Reloading, shared by pipeline_reload.c (the request: load, compare, build,
 * commit, answer) and pipeline_reroute.c (the swap once the old outputs are
 * done). Core only, like pipeline_internal.h. */
#ifndef SKIFF_PIPELINE_RELOAD_H
#define SKIFF_PIPELINE_RELOAD_H

#include "config.h"
#include "pipeline_internal.h"

#include <stdbool.h>
#include <stddef.h>

/* What a reload makes anew and swaps in: the fields of struct pipeline that
 * pipeline_build fills. Inputs, the chunk store and the disk buffer stay. */
struct pipeline_parts {
    const struct config *config;
    struct router *router;
    const char **filter_matches;
    const char **output_matches;
    struct instance **parsers;
    size_t parser_count;
    struct dead_letter *dead_letter;
    struct instance *outputs;
    size_t output_count;
    size_t outputs_initialised;
    struct output_worker *worker;
    bool worker_started;
    struct instance *filters;
    size_t filter_count;
};

/* Exchanges p's parts with `parts`. */
void pipeline_parts_swap(struct pipeline *p, struct pipeline_parts *parts);

/* A configuration a reload loaded; freed once no instance runs on it. */
struct owned_config {
    struct config config;
    struct owned_config *next;
};

/* A reload that was applied and waits for the old outputs' attempts under
 * way (at most service.grace) before the new parts take over. */
struct reload {
    struct pipeline_parts parts; /* the new ones meanwhile */
    struct loop_timer *grace_timer;
    int64_t started_ms;
    int64_t grace_ms;        /* the new config's service.grace */
    int *input_from;         /* config_diff's: per new input, the old one it keeps */
    struct instance **added; /* new inputs, initialised, started by the swap */
    size_t added_count;
};

struct reloader {
    struct owned_config *configs;
    struct metric *applied;
    struct metric *refused;
    struct metric *load_time;
    struct metric *successful;
    bool again;              /* a SIGHUP came during a reload: one more after it */
    struct reload *running;  /* applied, waiting for the old outputs; or NULL */
    struct loop_timer *next; /* runs the reload `again` asked for */
};

/* pipeline_reload_inputs.c. Before the commit: creates and initialises the
 * inputs `next` adds (-1 after logging: the reload is refused). */
int reload_inputs_build(struct pipeline *p, const struct config *next, struct reload *reload);
/* Destroys the added inputs not started, and frees the reload's input data. */
void reload_inputs_drop(struct reload *reload);
/* At the swap, before the old filters drain: stops the inputs `next` drops
 * or changes, which retire. */
void reload_inputs_retire(struct pipeline *p, const struct config *next,
                          const struct reload *reload);
/* After the swap: starts the added inputs; a changed one becomes the
 * successor of the input it replaces. */
void reload_inputs_start(struct pipeline *p, const struct config *next, struct reload *reload);

/* p holds the old parts: its parsers not in `kept` (the new parts') wait in
 * p->orphan_parsers while inputs retire, which may hold them (their files'
 * parser states); they are destroyed once none retires. */
void reload_inputs_hold_parsers(struct pipeline *p, struct instance *const *kept, size_t count);

/* pipeline_reroute.c: the old outputs are done (or their grace is over):
 * the old filters hand on what they hold, every chunk is sealed, the new
 * parts take over, each chunk not yet delivered is routed again by its tag,
 * and the old parts are destroyed. */
void pipeline_reload_finish(struct pipeline *p);
/* pipeline_reload.c: frees the configs no instance runs on any more. */
void pipeline_reload_collect(struct pipeline *p);
/* The same, then starts the reload a SIGHUP asked for meanwhile. */
void pipeline_reload_done(struct pipeline *p);

#endif
