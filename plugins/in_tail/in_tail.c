/* Input `tail`: follows files matched by globs, one record per line, from a
 * checkpoint that advances only as records are acknowledged. This file is the
 * plugin: options, lifecycle, the queue of files with data to read, and the
 * checkpoint timer. Files, rescans and watches live in the tail_*.c files. */
#include "tail.h"

#include "log.h"
#include "loop.h"
#include "xalloc.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Bytes read in one turn of the loop over all ready files, so that a burst of
 * data does not hold up the HTTP server, timers and acknowledgements. */
enum { TURN_BUDGET_BYTES = 8 * 1024 * 1024 };
/* Problem paths remembered so each is logged once. */
enum { REPORTED_PATHS_MAX = 10000 };

static const char *const watcher_choices[] = {"inotify", "poll", NULL};

static const struct option_spec tail_options_table[] = {
    {.name = "path",
     .type = OPT_LIST,
     .required = true,
     .offset = offsetof(struct tail_options, path),
     .description = "files to follow: a glob or a list of globs"},
    {.name = "exclude",
     .type = OPT_LIST,
     .offset = offsetof(struct tail_options, exclude),
     .description = "globs of paths to leave out"},
    {.name = "ignore_older",
     .type = OPT_DURATION,
     .default_value = "0s",
     .min = 0,
     .max = 100LL * 365 * 24 * 3600 * 1000,
     .offset = offsetof(struct tail_options, ignore_older_ms),
     .description = "files not modified for longer are not read (checked when found and at "
                    "each rescan; one written again later is read from its new data); "
                    "0s: read files of any age"},
    {.name = "read_from_head",
     .type = OPT_BOOL,
     .default_value = "false",
     .offset = offsetof(struct tail_options, read_from_head),
     .description = "at the very first start (no checkpoint file yet), read the files "
                    "found from their start instead of their end; files that appear later, "
                    "also while skiff is stopped, are always read from the start"},
    {.name = "refresh_interval",
     .type = OPT_DURATION,
     .default_value = "5s",
     .min = 100,
     .max = 3600000,
     .offset = offsetof(struct tail_options, refresh_interval_ms),
     .description = "how often the globs are scanned again for new, rotated and removed files"},
    {.name = "rotate_wait",
     .type = OPT_DURATION,
     .default_value = "5s",
     .min = 0,
     .max = 3600000,
     .offset = offsetof(struct tail_options, rotate_wait_ms),
     .description = "how long a rotated-away file is kept open for lines still written to it"},
    {.name = "partial_wait",
     .type = OPT_DURATION,
     .default_value = "4s",
     .min = 10,
     .max = 3600000,
     .offset = offsetof(struct tail_options, partial_wait_ms),
     .description = "how long the pieces of a partial line (CRI `P`, docker entries split "
                    "at 16KiB) wait for their last piece before they are handed on joined, "
                    "marked partial (Fluent Bit's docker_mode_flush)"},
    {.name = "max_line_size",
     .type = OPT_SIZE,
     .default_value = "1MiB",
     .min = 1024,
     .max = 1024LL << 20,
     .offset = offsetof(struct tail_options, max_line_size),
     .description = "longest line kept whole"},
    {.name = "skip_long_lines",
     .type = OPT_BOOL,
     .default_value = "false",
     .offset = offsetof(struct tail_options, skip_long_lines),
     .description = "skip longer lines (counted) instead of splitting them"},
    {.name = "buffer_chunk_size",
     .type = OPT_SIZE,
     .default_value = "256KiB",
     .min = 4096,
     .max = 64LL << 20,
     .offset = offsetof(struct tail_options, buffer_chunk_size),
     .description = "bytes read from a file at once"},
    {.name = "watcher",
     .type = OPT_STRING,
     .default_value = "inotify",
     .choices = watcher_choices,
     .offset = offsetof(struct tail_options, watcher),
     .description = "how changes are noticed: inotify, or poll for filesystems without it"},
    {.name = "poll_interval",
     .type = OPT_DURATION,
     .default_value = "250ms",
     .min = 10,
     .max = 60000,
     .offset = offsetof(struct tail_options, poll_interval_ms),
     .description = "how often polled files are checked for new data"},
    {.name = "key",
     .type = OPT_STRING,
     .default_value = "log",
     .offset = offsetof(struct tail_options, key),
     .description = "field that holds the line"},
    {.name = "path_key",
     .type = OPT_STRING,
     .default_value = "path",
     .offset = offsetof(struct tail_options, path_key),
     .description = "field that holds the file's path; \"\" for none"},
    {.name = "parser",
     .type = OPT_PARSER,
     .offset = offsetof(struct tail_options, parser),
     .description = "parser for each line: cri, docker, json, logfmt or one from `parsers:`; "
                    "a line it cannot parse goes into `key` as it is"},
    {.name = "checkpoint_interval",
     .type = OPT_DURATION,
     .default_value = "1s",
     .min = 10,
     .max = 600000,
     .offset = offsetof(struct tail_options, checkpoint_interval_ms),
     .description = "how often acknowledged offsets are saved (and at shutdown)"},
    {0},
};

/* ---- the ready queue ---- */

static void tail_work(struct loop *loop, struct loop_timer *timer, void *data);

/* Reads the ready files at `due` (monotonic ms; 0: in this turn of the loop),
 * or earlier if a read is due earlier already. */
static void tail_schedule_work_at(struct tail *t, int64_t due)
{
    if (!t->ready_head || input_is_paused(t->in) || t->stopped || t->working)
        return;
    if (t->work_timer) {
        if (t->work_due_ms <= due)
            return;
        loop_cancel_timer(t->in->loop, t->work_timer);
    }
    int64_t now = monotonic_ms();
    t->work_due_ms = due > now ? due : 0;
    t->work_timer = loop_add_timer(t->in->loop, due > now ? due - now : 0, 0, tail_work, t);
}

static void tail_schedule_work(struct tail *t)
{
    tail_schedule_work_at(t, 0);
}

static void tail_enqueue(struct tail_file *f)
{
    struct tail *t = f->tail;
    f->ready = true;
    f->next_ready = NULL;
    if (t->ready_tail)
        t->ready_tail->next_ready = f;
    else
        t->ready_head = f;
    t->ready_tail = f;
}

void tail_mark_ready(struct tail_file *f)
{
    if (f->fd < 0)
        return;
    if (!f->ready)
        tail_enqueue(f);
    tail_schedule_work(f->tail);
}

/* A write to a followed file is read just before the pipeline seals what is
 * open (input_flush_due_ms), when a seal is due: the lines would wait for it
 * anyway, and a file written line by line is read in one go per flush instead
 * of once per line. With no chunk open (the first lines after a quiet time)
 * it is read at once, and its first record opens the chunk and the flush. */
void tail_mark_written(struct tail_file *f)
{
    if (f->fd < 0)
        return;
    if (!f->ready)
        tail_enqueue(f);
    int64_t flush_due = input_flush_due_ms(f->tail->in);
    /* 1ms before: the read goes first, and its records into that seal. */
    tail_schedule_work_at(f->tail, flush_due > 0 ? flush_due - 1 : 0);
}

/* Takes `f` out of the ready queue (it is read now by someone else). */
void tail_unmark_ready(struct tail_file *f)
{
    struct tail *t = f->tail;
    if (!f->ready)
        return;
    struct tail_file *prev = NULL;
    for (struct tail_file *g = t->ready_head; g; prev = g, g = g->next_ready) {
        if (g != f)
            continue;
        if (prev)
            prev->next_ready = f->next_ready;
        else
            t->ready_head = f->next_ready;
        if (t->ready_tail == f)
            t->ready_tail = prev;
        break;
    }
    f->ready = false;
    f->next_ready = NULL;
}

static struct tail_file *tail_pop_ready(struct tail *t)
{
    struct tail_file *f = t->ready_head;
    if (!f)
        return NULL;
    t->ready_head = f->next_ready;
    if (!t->ready_head)
        t->ready_tail = NULL;
    f->ready = false;
    return f;
}

/* Acts on the events queued up, then reads ready files in turn, each within
 * its own budget, until the turn's budget is spent; a file with more to read
 * goes to the back of the queue. */
static void tail_read_pass(struct tail *t)
{
    t->working = true; /* what the events mark is read in this pass */
    tail_watch_drain(t);
    t->working = false;
    int64_t before = metric_get(t->metrics.bytes_read);

    while (!input_is_paused(t->in) && !t->stopped &&
           metric_get(t->metrics.bytes_read) - before < TURN_BUDGET_BYTES) {
        struct tail_file *f = tail_pop_ready(t);
        if (!f)
            break;
        if (tail_file_read(f))
            tail_mark_ready(f);
    }
}

static void tail_work(struct loop *loop, struct loop_timer *timer, void *data)
{
    struct tail *t = data;
    t->work_timer = NULL; /* one-shot */
    tail_read_pass(t);
    tail_schedule_work(t);
}

/* ---- problems logged once ---- */

struct tail_reported {
    struct hmap_node node;
    char *key;
};

bool tail_report_once(struct tail *t, const char *path, const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);

    /* Keyed by path and message, so a new kind of problem is logged too. */
    char *key = xasprintf("%s\n%s", path, message);
    uint64_t hash = hash_bytes(key, strlen(key));
    for (struct hmap_node *n = hmap_find(&t->reported_paths, hash); n; n = hmap_find_next(n)) {
        if (strcmp(hmap_entry(n, struct tail_reported, node)->key, key) == 0) {
            free(key);
            return false;
        }
    }
    log_warn(t->in->alias, "%s: %s", path, message);
    if (t->reported_count >= REPORTED_PATHS_MAX) {
        free(key);
        return true;
    }
    struct tail_reported *r = xcalloc(1, sizeof *r);
    r->key = key;
    hmap_insert(&t->reported_paths, &r->node, hash);
    t->reported_count++;
    return true;
}

/* ---- checkpoints ---- */

/* The checkpoint timer runs only while the store has changes to save: it is
 * armed by the change that makes it dirty, and saves checkpoint_interval
 * later (again later if the save failed), so an idle input does not wake. */
static void tail_save_checkpoints(struct loop *loop, struct loop_timer *timer, void *data)
{
    struct tail *t = data;
    t->checkpoint_timer = NULL; /* one-shot */
    checkpoint_store_save(t->checkpoints);
    if (checkpoint_store_dirty(t->checkpoints))
        tail_checkpoint_changed(t);
}

static void tail_on_checkpoint_dirty(void *data)
{
    tail_checkpoint_changed(data);
}

void tail_checkpoint_changed(struct tail *t)
{
    if (t->checkpoint_timer || !t->checkpoints_started)
        return;
    t->checkpoint_timer =
        loop_add_timer(t->in->loop, t->opts->checkpoint_interval_ms, 0, tail_save_checkpoints, t);
}

static char *tail_checkpoint_path(const struct instance *in)
{
    return xasprintf("%s/tail/%s.checkpoints", in->service->state_dir, in->alias);
}

/* ---- lifecycle ---- */

/* A series of the input; `label` (NULL: none) = `value` besides its instance. */
static struct metric *tail_metric(const struct instance *in, bool gauge, const char *name,
                                  const char *help, const char *label, const char *value)
{
    struct buf labels = BUF_INIT;
    metrics_labels(&labels, "instance", in->alias, label, value, NULL);
    struct metric *m = gauge ? metrics_gauge(name, help, buf_cstr(&labels))
                             : metrics_counter(name, help, buf_cstr(&labels));
    buf_free(&labels);
    return m;
}

static void tail_register_metrics(struct tail *t)
{
    const struct instance *in = t->in;
    struct tail_metrics *m = &t->metrics;
    m->files_watched = tail_metric(in, true, "skiff_tail_files_watched", "Files open", NULL, NULL);
    m->files_polled = tail_metric(in, true, "skiff_tail_files_polled",
                                  "Files polled because inotify could not watch them", NULL, NULL);
    m->bytes_read = tail_metric(in, false, "skiff_tail_bytes_read_total", "Bytes read", NULL, NULL);
    m->lines_read = tail_metric(in, false, "skiff_tail_lines_read_total",
                                "Lines read (pieces of split lines count one each)", NULL, NULL);
    m->rotations = tail_metric(in, false, "skiff_tail_rotations_total",
                               "Files rotated, deleted or no longer matched", NULL, NULL);
    m->truncations =
        tail_metric(in, false, "skiff_tail_truncations_total",
                    "Files truncated or overwritten, read again from the start", NULL, NULL);
    m->long_skipped = tail_metric(in, false, "skiff_tail_long_lines_total",
                                  "Lines longer than max_line_size", "action", "skipped");
    m->long_split = tail_metric(in, false, "skiff_tail_long_lines_total",
                                "Lines longer than max_line_size", "action", "split");
    m->files_lost = tail_metric(in, false, "skiff_tail_files_lost_total",
                                "Files that vanished before they could be opened", NULL, NULL);
    m->nul_skipped = tail_metric(in, false, "skiff_tail_bytes_skipped_total",
                                 "Bytes not read as lines, by reason (nul: the hole a writer "
                                 "without O_APPEND leaves after a truncation)",
                                 "reason", "nul");
    m->files_ignored =
        tail_metric(in, false, "skiff_tail_files_skipped_total",
                    "Files matched but not read, by reason", "reason", "ignore_older");
    m->files_compressed =
        tail_metric(in, false, "skiff_tail_files_skipped_total",
                    "Files matched but not read, by reason", "reason", "compressed");
    static const char *const partial_reasons[TAIL_PARTIAL_REASONS] = {
        [TAIL_PARTIAL_TIMEOUT] = "timeout",
        [TAIL_PARTIAL_FILE_END] = "file_end",
        [TAIL_PARTIAL_SHUTDOWN] = "shutdown"};
    for (int i = 0; i < TAIL_PARTIAL_REASONS; i++)
        m->partial_flushed[i] =
            tail_metric(in, false, "skiff_tail_partial_lines_total",
                        "Partial lines handed on without their last piece, by reason", "reason",
                        partial_reasons[i]);
}

static int tail_init(struct instance *in)
{
    struct tail *t = xcalloc(1, sizeof *t);
    char *error = NULL;
    char *path = tail_checkpoint_path(in);

    t->in = in;
    t->opts = in->options;
    t->inotify_fd = -1;
    t->checkpoints = checkpoint_store_open(path, &error);
    free(path);
    if (!t->checkpoints) {
        log_error(in->alias, "%s (check service.state_dir)", error);
        free(error);
        free(t);
        return -1;
    }
    t->first_start = !checkpoint_store_existed(t->checkpoints);
    if (t->opts->parser)
        t->parser = pipeline_parser(in->pipeline, t->opts->parser);
    t->read_buf = xmalloc((size_t)t->opts->buffer_chunk_size);
    record_text_init(&t->line_text);
    tail_register_metrics(t);
    in->state = t;
    return 0;
}

static void tail_on_rescan_timer(struct loop *loop, struct loop_timer *timer, void *data)
{
    tail_rescan(data);
}

static bool tail_file_still_followed(const struct checkpoint_entry *entry, void *data)
{
    return tail_file_by_inode(data, entry->id.dev, entry->id.ino) != NULL;
}

static int tail_start(struct instance *in)
{
    struct tail *t = in->state;
    if (tail_watch_start(t) < 0)
        return -1;
    tail_rescan(t);
    t->first_scan_done = true;
    /* Checkpoints of files that are gone would otherwise stay forever. */
    checkpoint_store_retain(t->checkpoints, tail_file_still_followed, t);
    t->rescan_timer = loop_add_timer(in->loop, t->opts->refresh_interval_ms,
                                     t->opts->refresh_interval_ms, tail_on_rescan_timer, t);
    t->checkpoints_started = true;
    checkpoint_store_on_dirty(t->checkpoints, tail_on_checkpoint_dirty, t);
    if (checkpoint_store_dirty(t->checkpoints))
        tail_checkpoint_changed(t);
    return 0;
}

static void tail_pause(struct instance *in)
{
    struct tail *t = in->state;
    if (t->work_timer) {
        loop_cancel_timer(in->loop, t->work_timer);
        t->work_timer = NULL;
    }
}

static void tail_resume(struct instance *in)
{
    tail_schedule_work(in->state);
}

static void tail_cancel(struct tail *t, struct loop_timer **timer)
{
    if (*timer) {
        loop_cancel_timer(t->in->loop, *timer);
        *timer = NULL;
    }
}

/* Stops reading for good. Acknowledgements still arrive while the outputs
 * flush, and the checkpoints are saved last, in destroy. */
/* Held partial lines are handed on (tail_partial_stop) before reading ends. */
static void tail_stop_partials(struct tail *t)
{
    size_t bucket = 0;
    for (struct hmap_node *n = hmap_next(&t->by_source, &bucket, NULL); n;
         n = hmap_next(&t->by_source, &bucket, n))
        tail_partial_stop(hmap_entry(n, struct tail_file, by_source));
}

static void tail_halt(struct tail *t)
{
    if (!t->stopped)
        tail_stop_partials(t);
    t->stopped = true;
    tail_cancel(t, &t->work_timer);
    tail_cancel(t, &t->rescan_timer);
    tail_cancel(t, &t->rescan_soon_timer);
    tail_watch_stop(t);
    tail_forget_moves(t);
}

static void tail_stop(struct instance *in)
{
    struct tail *t = in->state;
    /* What was written before the stop is read as it would have been
     * without waiting for the flush (tail_mark_written): one last pass. */
    if (!t->stopped)
        tail_read_pass(t);
    tail_halt(t);
}

static void tail_ack(struct instance *in, const struct record_origin *origin)
{
    struct tail *t = in->state;
    struct tail_file *f = tail_file_by_source(t, origin->source_id);
    /* No file: it was truncated since, and its old records do not count. */
    if (f)
        tail_file_acknowledge(f, origin->offset);
}

static void tail_free_files(struct tail *t)
{
    size_t bucket = 0;
    struct hmap_node *node = hmap_next(&t->by_source, &bucket, NULL);
    while (node) {
        struct hmap_node *next = hmap_next(&t->by_source, &bucket, node);
        tail_file_free(hmap_entry(node, struct tail_file, by_source));
        node = next;
    }
    bucket = 0;
    node = hmap_next(&t->reported_paths, &bucket, NULL);
    while (node) {
        struct hmap_node *next = hmap_next(&t->reported_paths, &bucket, node);
        struct tail_reported *r = hmap_entry(node, struct tail_reported, node);
        free(r->key);
        free(r);
        node = next;
    }
}

static void tail_destroy(struct instance *in)
{
    struct tail *t = in->state;
    if (!t)
        return;
    tail_halt(t);
    t->checkpoints_started = false;
    tail_cancel(t, &t->checkpoint_timer);
    tail_cancel(t, &t->poll_timer);
    checkpoint_store_save(t->checkpoints);
    tail_free_files(t);
    hmap_free(&t->by_path);
    hmap_free(&t->by_inode);
    hmap_free(&t->by_source);
    hmap_free(&t->by_wd);
    hmap_free(&t->dirs_by_wd);
    hmap_free(&t->dirs_by_path);
    hmap_free(&t->reported_paths);
    tail_ignore_end(t, true);
    hmap_free(&t->ignored);
    checkpoint_store_close(t->checkpoints);
    free(t->read_buf);
    record_free(&t->line_record);
    record_text_free(&t->line_text);
    free(t);
    in->state = NULL;
}

const struct plugin in_tail_plugin = {
    .name = "tail",
    .kind = PLUGIN_INPUT,
    .description = "follows files matched by globs, one record per line, through rotation",
    .options = tail_options_table,
    .options_size = sizeof(struct tail_options),
    .init = tail_init,
    .destroy = tail_destroy,
    .start = tail_start,
    .pause = tail_pause,
    .resume = tail_resume,
    .stop = tail_stop,
    .ack = tail_ack,
};
