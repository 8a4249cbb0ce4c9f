/* Input `systemd`: reads journald's journal through libsystemd's sd-journal
 * (the kubelet's and the container runtime's logs on a node), one record per
 * entry, from a checkpoint (a journal cursor) that moves only as records are
 * acknowledged. This file is the plugin: options, life cycle,
 * acknowledgements and the checkpoint. Reading and wake-ups are in
 * systemd_read.c; the journal, its files and its entries in the other
 * systemd_*.c files (systemd.h). */
#include "systemd.h"

#include "cfg_node.h"
#include "diag.h"
#include "log.h"
#include "loop.h"
#include "systemd_checkpoint.h"
#include "systemd_match.h"
#include "xalloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
    RING_BYTES_PER_ENTRY = 512, /* one entry in flight per this many bytes of buffer_limit */
    RING_MIN = 1024,
    RING_MAX = 1 << 20,
};

static const struct option_spec systemd_options_table[] = {
    {.name = "path",
     .type = OPT_STRING,
     .offset = offsetof(struct systemd_options, path),
     .description = "journal folder to read (its files and machine-id subfolders); unset or "
                    "\"\": the system's journal, /var/log/journal and /run/log/journal, this "
                    "machine's only"},
    {.name = "matches",
     .type = OPT_LIST,
     .offset = offsetof(struct systemd_options, matches),
     .description = "entries to read, as `FIELD=value` (`_SYSTEMD_UNIT=kubelet.service`): "
                    "values of one field ORed, different fields ANDed, as journalctl does; "
                    "none: every entry"},
    {.name = "match_any",
     .type = OPT_BOOL,
     .default_value = "false",
     .offset = offsetof(struct systemd_options, match_any),
     .description = "read an entry that fits any one of `matches`, also across fields "
                    "(Fluent Bit's Systemd_Filter_Type Or)"},
    {.name = "read_from_head",
     .type = OPT_BOOL,
     .default_value = "false",
     .offset = offsetof(struct systemd_options, read_from_head),
     .description = "at the very first start (no checkpoint yet), read the entries already in "
                    "the journal instead of only new ones"},
    {.name = "max_entries",
     .type = OPT_INT,
     .default_value = "5000",
     .min = 1,
     .max = 1000000,
     .offset = offsetof(struct systemd_options, max_entries),
     .description = "entries read in one turn of the event loop before it serves the rest"},
    {.name = "max_fields",
     .type = OPT_INT,
     .default_value = "256",
     .min = 1,
     .max = 65536,
     .offset = offsetof(struct systemd_options, max_fields),
     .description = "fields kept per entry besides MESSAGE; the rest are left out (counted)"},
    {.name = "max_field_size",
     .type = OPT_SIZE,
     .default_value = "64KiB",
     .min = 1024,
     .max = 64LL << 20,
     .offset = offsetof(struct systemd_options, max_field_size),
     .description = "longest value kept; longer ones are cut (counted)"},
    {.name = "strip_underscores",
     .type = OPT_BOOL,
     .default_value = "false",
     .offset = offsetof(struct systemd_options, strip_underscores),
     .description = "remove the leading '_' of field names (`_PID` becomes `PID`)"},
    {.name = "lowercase",
     .type = OPT_BOOL,
     .default_value = "false",
     .offset = offsetof(struct systemd_options, lowercase),
     .description = "write field names in lower case"},
    {.name = "message_key",
     .type = OPT_STRING,
     .default_value = "message",
     .offset = offsetof(struct systemd_options, message_key),
     .description = "field that holds the entry's MESSAGE; \"\": MESSAGE stays a field like the "
                    "others (Fluent Bit's shape)"},
    {.name = "checkpoint_interval",
     .type = OPT_DURATION,
     .default_value = "1s",
     .min = 10,
     .max = 600000,
     .offset = offsetof(struct systemd_options, checkpoint_interval_ms),
     .description = "how often the acknowledged position is saved (and at shutdown)"},
    {0},
};

/* ---- configuration ---- */

static int systemd_validate(const void *options, const struct cfg_node *node, const char *context,
                            struct diag_list *diags)
{
    const struct systemd_options *opts = options;
    int rc = 0;
    if (opts->path && *opts->path && opts->path[0] != '/') {
        diag_add(diags, cfg_map_get(node, "path") ? cfg_map_get(node, "path") : node,
                 "%s: option 'path': '%s' is not an absolute folder", context, opts->path);
        rc = -1;
    }
    const struct cfg_node *list = cfg_map_get(node, "matches");
    for (size_t i = 0; i < opts->matches.count; i++) {
        char *error = NULL;
        if (journal_match_check(opts->matches.items[i], &error) == 0)
            continue;
        const struct cfg_node *at = list && list->type == CFG_SEQ && i < list->count
                                        ? list->items[i]
                                        : (list ? list : node);
        diag_add(diags, at, "%s: option 'matches': %s", context, error);
        free(error);
        rc = -1;
    }
    return rc;
}

/* ---- the checkpoint ---- */

static void systemd_save(struct systemd_input *s)
{
    if (!s->checkpoint_dirty)
        return;
    char *error = NULL;
    if (journal_checkpoint_save(s->checkpoint_path, s->done_cursor, &error) == 0) {
        if (s->save_failed)
            log_info(s->in->alias, "%s: saved again", s->checkpoint_path);
        s->checkpoint_dirty = false;
        s->save_failed = false;
        return;
    }
    if (!s->save_failed)
        log_error(s->in->alias,
                  "%s (the position stays in memory; saving is tried again every "
                  "checkpoint_interval)",
                  error);
    s->save_failed = true;
    free(error);
}

static void systemd_on_checkpoint_timer(struct loop *loop, struct loop_timer *timer, void *data)
{
    systemd_save(data);
}

/* ---- life cycle ---- */

static struct metric *systemd_metric(const struct instance *in, bool gauge, const char *name,
                                     const char *help, const char *label, const char *value)
{
    struct buf labels = BUF_INIT;
    metrics_labels(&labels, "instance", in->alias, label, value, NULL);
    struct metric *m = gauge ? metrics_gauge(name, help, buf_cstr(&labels))
                             : metrics_counter(name, help, buf_cstr(&labels));
    buf_free(&labels);
    return m;
}

static void systemd_register_metrics(struct systemd_input *s)
{
    const struct instance *in = s->in;
    struct systemd_metrics *m = &s->metrics;
    m->entries = systemd_metric(in, false, "skiff_systemd_entries_total",
                                "Journal entries read and emitted", NULL, NULL);
    m->cut_max_fields = systemd_metric(in, false, "skiff_systemd_fields_cut_total",
                                       "Fields left out or cut, by reason", "reason", "max_fields");
    m->cut_field_size =
        systemd_metric(in, false, "skiff_systemd_fields_cut_total",
                       "Fields left out or cut, by reason", "reason", "max_field_size");
    m->cursor_lost = systemd_metric(in, false, "skiff_systemd_cursor_lost_total",
                                    "Starts whose checkpoint entry was no longer in the journal "
                                    "(vacuumed or rotated away): reading resumed at the oldest "
                                    "entry",
                                    NULL, NULL);
    m->files_skipped = systemd_metric(in, false, "skiff_systemd_files_skipped_total",
                                      "Journal files libsystemd could not open", NULL, NULL);
    m->read_errors = systemd_metric(in, false, "skiff_systemd_read_errors_total",
                                    "sd_journal calls that failed while reading", NULL, NULL);
    m->waits_for_acks = systemd_metric(in, false, "skiff_systemd_waits_total",
                                       "Times reading waited for acknowledgements because the "
                                       "entries in flight reached their bound",
                                       NULL, NULL);
    m->renumbered = systemd_metric(in, false, "skiff_systemd_renumbered_total",
                                   "Entries whose journal sequence number was not above the "
                                   "last read for their seqnum id; they got new origins",
                                   NULL, NULL);
    m->unreadable = instance_dropped_counter(in, "unreadable");
}

static size_t systemd_ring_capacity(const struct instance *in)
{
    int64_t n = in->config->common.buffer_limit / RING_BYTES_PER_ENTRY;
    return n < RING_MIN ? RING_MIN : n > RING_MAX ? RING_MAX : (size_t)n;
}

/* Differs between runs: the source of entries whose cursors do not parse. */
static uint64_t systemd_fallback_epoch(const struct instance *in)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t parts[3] = {(uint64_t)now.tv_sec, (uint64_t)now.tv_nsec, (uint64_t)getpid()};
    return hash_bytes(parts, sizeof parts) ^ hash_bytes(in->alias, strlen(in->alias));
}

static void systemd_destroy(struct instance *in);

static int systemd_load_checkpoint(struct systemd_input *s)
{
    char *error = NULL;
    s->checkpoint_path =
        xasprintf("%s/systemd/%s.checkpoint", s->in->service->state_dir, s->in->alias);
    int found = journal_checkpoint_load(s->checkpoint_path, s->in->alias, &s->start_cursor, &error);
    if (found < 0) {
        log_error(s->in->alias, "%s (check service.state_dir)", error);
        free(error);
        return -1;
    }
    s->checkpoint_found = found > 0;
    return 0;
}

static int systemd_init(struct instance *in)
{
    struct systemd_input *s = xcalloc(1, sizeof *s);
    s->in = in;
    s->opts = in->options;
    s->fd = -1;
    in->state = s;
    s->ring = journal_ring_new(systemd_ring_capacity(in));
    s->numbering = journal_numbering_new();
    s->fallback_epoch = systemd_fallback_epoch(in);
    systemd_register_metrics(s);
    if (systemd_load_checkpoint(s) < 0 || systemd_journal_open(s) < 0) {
        systemd_destroy(in);
        return -1;
    }
    if (s->start_cursor)
        journal_numbering_seed(s->numbering, s->start_cursor);
    systemd_files_check(s);
    s->files_checked_ms = monotonic_ms();
    return 0;
}

static void systemd_log_start(const struct systemd_input *s)
{
    const struct systemd_options *opts = s->opts;
    char *matches =
        journal_matches_describe(opts->matches.items, opts->matches.count, opts->match_any);
    log_info(s->in->alias, "reading %s %s; entries: %s",
             opts->path && *opts->path ? opts->path : "the system's journal", s->start_place,
             matches);
    free(matches);
}

static int systemd_start(struct instance *in)
{
    struct systemd_input *s = in->state;
    if (systemd_journal_position(s) < 0)
        return -1;
    systemd_log_start(s);
    systemd_save(s); /* a first start, or a lost cursor: where reading begins */
    s->checkpoint_timer =
        loop_add_timer(in->loop, s->opts->checkpoint_interval_ms, s->opts->checkpoint_interval_ms,
                       systemd_on_checkpoint_timer, s);
    systemd_read_start(s);
    return 0;
}

static void systemd_pause(struct instance *in)
{
    systemd_read_pause(in->state);
}

static void systemd_resume(struct instance *in)
{
    systemd_schedule_work(in->state);
}

/* Stops reading for good. Acknowledgements still arrive while the outputs
 * flush; the checkpoint is saved last, in destroy. */
static void systemd_stop(struct instance *in)
{
    systemd_read_stop(in->state);
}

static void systemd_ack(struct instance *in, const struct record_origin *origin)
{
    struct systemd_input *s = in->state;
    journal_ring_ack(s->ring, origin->source_id, origin->offset);
    char *done = journal_ring_take_done(s->ring);
    if (done) {
        free(s->done_cursor);
        s->done_cursor = done;
        s->checkpoint_dirty = true;
    }
    if (s->waiting_for_acks && !journal_ring_full(s->ring)) {
        s->waiting_for_acks = false;
        systemd_schedule_work(s);
    }
}

static void systemd_destroy(struct instance *in)
{
    struct systemd_input *s = in->state;
    if (!s)
        return;
    if (s->journal) {
        systemd_read_stop(s);
        if (s->checkpoint_timer)
            loop_cancel_timer(in->loop, s->checkpoint_timer);
        s->checkpoint_timer = NULL;
        systemd_save(s);
        sd_journal_close(s->journal);
    }
    systemd_files_free(s);
    journal_ring_free(s->ring);
    journal_numbering_free(s->numbering);
    buf_free(&s->key);
    free(s->checkpoint_path);
    free(s->start_cursor);
    free(s->done_cursor);
    free(s->last_cursor);
    free(s);
    in->state = NULL;
}

const struct plugin in_systemd_plugin = {
    .name = "systemd",
    .kind = PLUGIN_INPUT,
    .description = "reads journald's journal (sd-journal), one record per entry, from a cursor "
                   "checkpoint",
    .options = systemd_options_table,
    .options_size = sizeof(struct systemd_options),
    .validate = systemd_validate,
    .init = systemd_init,
    .destroy = systemd_destroy,
    .start = systemd_start,
    .pause = systemd_pause,
    .resume = systemd_resume,
    .stop = systemd_stop,
    .ack = systemd_ack,
};
