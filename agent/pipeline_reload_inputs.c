/* Inputs across a reload. One the new config keeps as it is (same alias,
 * plugin and options, same parser definitions) goes on running with its
 * state: open files, offsets, watches, acknowledgements to come. One it drops
 * or changes is stopped (as at shutdown) and retires: its chunks go on to the
 * new outputs, its acknowledgements still reach it, and once they all did it
 * is destroyed, saving its checkpoints. A changed input's new instance (its
 * successor, same alias, hence the same checkpoints) is initialised and
 * started only then, so it reads on from where the old one's records were
 * delivered: nothing is read twice, nothing skipped. An added input is
 * initialised before the reload commits (a failure refuses it) and starts
 * with the new filters. */
#include "pipeline_reload.h"

#include "chunk_store.h"
#include "log.h"
#include "loop.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

/* The input the running config has under `alias`: a live one that is not
 * retiring, or the successor a retiring one holds. */
static struct instance *current_input(const struct pipeline *p, const char *alias)
{
    for (size_t i = 0; i < p->input_count; i++) {
        struct instance *in = p->inputs[i];
        if (!in)
            continue;
        struct instance *current = in->core->retiring ? in->core->successor : in;
        if (current && strcmp(current->alias, alias) == 0)
            return current;
    }
    return NULL;
}

static struct instance *retiring_input(const struct pipeline *p, const char *alias)
{
    for (size_t i = 0; i < p->input_count; i++) {
        struct instance *in = p->inputs[i];
        if (in && in->core->retiring && strcmp(in->alias, alias) == 0)
            return in;
    }
    return NULL;
}

int reload_inputs_build(struct pipeline *p, const struct config *next, struct reload *reload)
{
    reload->added = xcalloc(next->input_count ? next->input_count : 1, sizeof *reload->added);
    for (size_t i = 0; i < next->input_count; i++) {
        const char *alias = next->inputs[i].common.alias;
        if (reload->input_from[i] >= 0 || current_input(p, alias) || retiring_input(p, alias))
            continue; /* kept, or changed: its successor starts later */
        struct instance *in = input_create(p, &next->inputs[i]);
        reload->added[reload->added_count++] = in;
        if (input_init(in) < 0)
            return -1;
    }
    return 0;
}

void reload_inputs_drop(struct reload *reload)
{
    for (size_t i = 0; i < reload->added_count; i++)
        input_destroy(reload->added[i]);
    free(reload->added);
    free(reload->input_from);
    reload->added = NULL;
    reload->input_from = NULL;
    reload->added_count = 0;
}

static bool kept(const struct config *next, const struct reload *reload, const char *alias)
{
    for (size_t i = 0; i < next->input_count; i++) {
        if (reload->input_from[i] >= 0 && strcmp(next->inputs[i].common.alias, alias) == 0)
            return true;
    }
    return false;
}

static void input_retire(struct instance *in)
{
    log_info(in->alias, "stopped by the reload; it is destroyed once its records are delivered");
    if (!in->core->stopped && in->plugin->stop)
        in->plugin->stop(in);
    in->core->stopped = true;
    in->core->retiring = true;
}

void reload_inputs_retire(struct pipeline *p, const struct config *next,
                          const struct reload *reload)
{
    for (size_t i = 0; i < p->input_count; i++) {
        struct instance *in = p->inputs[i];
        if (!in)
            continue;
        if (!in->core->retiring && !kept(next, reload, in->alias))
            input_retire(in);
        struct instance *successor = in->core->successor;
        if (successor && !kept(next, reload, successor->alias)) {
            input_destroy(successor); /* never started: the new config drops or changes it */
            in->core->successor = NULL;
        }
    }
}

/* A free slot (its queue is empty: a slot is freed only then), or a new one. */
static unsigned slot_take(struct pipeline *p)
{
    for (size_t i = 0; i < p->input_count; i++) {
        if (!p->inputs[i] && i != p->replay_queue)
            return (unsigned)i;
    }
    unsigned slot = chunk_store_add_queue(p->store);
    p->inputs = xrealloc(p->inputs, (p->input_count + 1) * sizeof *p->inputs);
    p->inputs[p->input_count++] = NULL;
    return slot;
}

static void input_start(struct pipeline *p, struct instance *in, unsigned slot)
{
    in->index = slot;
    p->inputs[slot] = in;
    in->core->uses_disk = p->storage && input_uses_disk(in);
    if (p->stopping) {
        in->core->stopped = true; /* shutdown began: it never reads */
        return;
    }
    if (in->plugin->start && in->plugin->start(in) < 0) {
        log_error(in->alias, "cannot start; it is left out until the next reload or restart");
        in->core->stopped = true;
        in->core->retiring = true;
        pipeline_retire_soon(p);
    }
}

static struct instance *take_added(struct reload *reload, const struct instance_config *config)
{
    for (size_t i = 0; i < reload->added_count; i++) {
        struct instance *in = reload->added[i];
        if (in && in->config == config) {
            reload->added[i] = NULL;
            return in;
        }
    }
    return NULL;
}

void reload_inputs_start(struct pipeline *p, const struct config *next, struct reload *reload)
{
    for (size_t i = 0; i < next->input_count; i++) {
        if (reload->input_from[i] >= 0)
            continue;
        struct instance *predecessor = retiring_input(p, next->inputs[i].common.alias);
        struct instance *added = take_added(reload, &next->inputs[i]);
        if (added) {
            input_start(p, added, slot_take(p));
        } else if (predecessor) {
            input_destroy(predecessor->core->successor);
            predecessor->core->successor = input_create(p, &next->inputs[i]);
        }
    }
}

/* ---- retiring ---- */

static void on_retire_timer(struct loop *loop, struct loop_timer *timer, void *data)
{
    struct pipeline *p = data;
    p->retire_timer = NULL;
    pipeline_retire_check(p);
}

void pipeline_retire_soon(struct pipeline *p)
{
    if (!p->retire_timer)
        p->retire_timer = loop_add_timer(p->loop, 0, 0, on_retire_timer, p);
}

static bool has_open_chunks(const struct pipeline *p, unsigned slot)
{
    size_t count;
    struct chunk **open = chunk_store_list_open(p->store, &count);
    bool found = false;
    for (size_t i = 0; i < count && !found; i++)
        found = open[i]->input_index == slot;
    free(open);
    return found;
}

/* Its chunks are all acknowledged: destroyed (it saves its checkpoints), and
 * its successor takes the slot. */
static void retire_slot(struct pipeline *p, unsigned slot)
{
    struct instance *in = p->inputs[slot];
    struct instance *successor = in->core->successor;
    in->core->successor = NULL;
    metric_set(in->metrics.paused, 0);
    log_info(in->alias, "its records are all delivered: destroyed%s",
             successor ? ", and its new configuration starts" : "");
    input_destroy(in);
    p->inputs[slot] = NULL;
    if (!successor)
        return;
    if (input_init(successor) < 0) {
        log_error(successor->alias, "the reloaded input cannot start; it is left out until the "
                                    "next reload or restart");
        input_destroy(successor);
        return;
    }
    input_start(p, successor, slot);
}

static bool any_retiring(const struct pipeline *p)
{
    for (size_t i = 0; i < p->input_count; i++) {
        if (p->inputs[i] && p->inputs[i]->core->retiring)
            return true;
    }
    return false;
}

void reload_inputs_hold_parsers(struct pipeline *p, struct instance *const *kept, size_t count)
{
    if (!any_retiring(p))
        return;
    size_t n = 0;
    for (size_t i = 0; i < p->parser_count; i++) {
        struct instance *parser = p->parsers[i];
        bool stays = false;
        for (size_t k = 0; k < count && !stays; k++)
            stays = kept[k] == parser;
        if (stays) {
            p->parsers[n++] = parser;
            continue;
        }
        p->orphan_parsers =
            xrealloc(p->orphan_parsers, (p->orphan_parser_count + 1) * sizeof *p->orphan_parsers);
        p->orphan_parsers[p->orphan_parser_count++] = parser;
    }
    p->parser_count = n;
}

static void release_orphan_parsers(struct pipeline *p)
{
    if (!p->orphan_parser_count || any_retiring(p))
        return;
    for (size_t i = 0; i < p->orphan_parser_count; i++)
        parser_destroy(p->orphan_parsers[i]);
    free(p->orphan_parsers);
    p->orphan_parsers = NULL;
    p->orphan_parser_count = 0;
}

void pipeline_retire_check(struct pipeline *p)
{
    /* During a reload's wait the swap does it; at shutdown pipeline_destroy. */
    if (p->stopping || (p->reloader && p->reloader->running))
        return;
    bool retired = false;
    for (size_t i = 0; i < p->input_count; i++) {
        struct instance *in = p->inputs[i];
        if (in && in->core->retiring && chunk_store_queue_empty(p->store, (unsigned)i) &&
            !has_open_chunks(p, (unsigned)i)) {
            retire_slot(p, (unsigned)i);
            retired = true;
        }
    }
    release_orphan_parsers(p);
    if (retired)
        pipeline_reload_collect(p);
}
