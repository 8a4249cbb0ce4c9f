/* The systemd input's reading (systemd.h): turns of at most max_entries
 * entries on the pipeline loop, each entry's origin and its place in the ring
 * of entries in flight, and the wake-ups: sd_journal_get_fd's descriptor
 * (inotify) on the loop, sd_journal_get_timeout's timer when the descriptor
 * cannot tell of every change, and a retry after a failed sd_journal call.
 * Nothing polls. Not for options or checkpoints: those are in_systemd.c. */
#include "systemd.h"

#include "log.h"
#include "loop.h"
#include "systemd_origin.h"
#include "xalloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    RETRY_MS = 1000,     /* after a failed sd_journal call */
    MIN_TIMEOUT_MS = 10, /* sd_journal_get_timeout's wake-ups, at most this often */
    FILES_RECHECK_MS = 2000,
};

/* ---- problems logged once ---- */

void systemd_report(struct systemd_input *s, const char *call, int err, const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    uint64_t key = hash_bytes(call, strlen(call)) ^ hash_u64((uint64_t)(int64_t)err);
    for (size_t i = 0; i < s->reported_count; i++) {
        if (s->reported[i] == key) {
            log_debug(s->in->alias, "%s: %s; %s", call, strerror(-err), message);
            return;
        }
    }
    if (s->reported_count < SYSTEMD_REPORTED_MAX)
        s->reported[s->reported_count++] = key;
    log_warn(s->in->alias, "%s: %s; %s", call, strerror(-err), message);
}

/* ---- origins ---- */

/* An origin of this run's own numbering, for an entry whose cursor does not
 * parse: unique, but not the same at the next read. */
static void systemd_fallback_origin(struct systemd_input *s, const char *tag, uint64_t *source,
                                    uint64_t *offset)
{
    char epoch[32];
    snprintf(epoch, sizeof epoch, "%016llx", (unsigned long long)s->fallback_epoch);
    *source = journal_source_id(epoch, tag, 0);
    *offset = ++s->fallback_offset;
}

/* Gives `rec` its origin and puts the entry in the ring (it is not full:
 * the caller checked). */
static void systemd_set_origin(struct systemd_input *s, struct record *rec, const char *tag,
                               const char *cursor)
{
    uint64_t source, offset;
    bool renumbered = false;
    if (!journal_numbering_origin(s->numbering, cursor, tag, &source, &offset, &renumbered)) {
        if (!s->warned_cursor_shape)
            log_warn(s->in->alias,
                     "cursor '%s' is not in the shape this build knows; entries are numbered "
                     "per run, so ids from origins do not stay the same across restarts",
                     cursor);
        s->warned_cursor_shape = true;
        systemd_fallback_origin(s, tag, &source, &offset);
    } else if (renumbered) {
        metric_add(s->metrics.renumbered, 1);
        if (!s->warned_renumbered)
            log_warn(s->in->alias,
                     "an entry's sequence number (cursor %s) is not above the last one read for "
                     "its seqnum id (journald before 254 reuses numbers after a restart): it and "
                     "the entries after it get new ids, so entries read again after a crash may "
                     "be indexed twice (counted in skiff_systemd_renumbered_total)",
                     cursor);
        s->warned_renumbered = true;
    }
    char *copy = xstrdup(cursor);
    if (!journal_ring_push(s->ring, source, offset, copy)) {
        /* Offsets grow per seqnum_id, so this cannot happen; if it did, the
         * entry must still be tracked for the checkpoint. */
        systemd_fallback_origin(s, tag, &source, &offset);
        if (!journal_ring_push(s->ring, source, offset, copy))
            free(copy);
    }
    rec->origin = (struct record_origin){.source_id = source, .offset = offset};
}

/* ---- reading ---- */

static void systemd_work(struct loop *loop, struct loop_timer *timer, void *data);
static void systemd_retry_later(struct systemd_input *s);

static bool systemd_may_read(const struct systemd_input *s)
{
    return !s->stopped && !s->retry_timer && !input_is_paused(s->in);
}

void systemd_schedule_work(struct systemd_input *s)
{
    if (!s->work_timer && systemd_may_read(s))
        s->work_timer = loop_add_timer(s->in->loop, 0, 0, systemd_work, s);
}

static void systemd_emit_current(struct systemd_input *s)
{
    struct record rec;
    char *tag, *cursor;
    if (systemd_entry_read(s, &rec, &tag, &cursor) < 0) {
        metric_add(s->metrics.unreadable, 1);
        return;
    }
    systemd_set_origin(s, &rec, tag, cursor);
    free(s->last_cursor);
    s->last_cursor = cursor;
    metric_add(s->metrics.entries, 1);
    input_emit(s->in, tag, &rec);
    free(tag);
}

/* Reads up to max_entries entries, then yields to the loop; stops early when
 * paused, when the ring of entries in flight is full, or at the journal's
 * end (the descriptor wakes it again). */
static void systemd_work(struct loop *loop, struct loop_timer *timer, void *data)
{
    struct systemd_input *s = data;
    s->work_timer = NULL; /* one-shot */
    for (int64_t n = 0; n < s->opts->max_entries; n++) {
        if (!systemd_may_read(s))
            return;
        if (journal_ring_full(s->ring)) {
            s->waiting_for_acks = true;
            metric_add(s->metrics.waits_for_acks, 1);
            return;
        }
        if (!s->on_unread) {
            int r = sd_journal_next(s->journal);
            if (r == 0)
                return;
            if (r < 0) {
                systemd_report(s, "sd_journal_next", r,
                               "reading goes on after the last entry "
                               "read in %d ms",
                               RETRY_MS);
                metric_add(s->metrics.read_errors, 1);
                systemd_retry_later(s);
                return;
            }
        }
        s->on_unread = false;
        systemd_emit_current(s);
    }
    systemd_schedule_work(s); /* more may wait: after the loop's other work */
}

/* ---- wake-ups ---- */

static void systemd_process(struct systemd_input *s);

static void systemd_on_fd(struct loop *loop, int fd, unsigned events, void *data)
{
    systemd_process(data);
}

static void systemd_on_timeout(struct loop *loop, struct loop_timer *timer, void *data)
{
    struct systemd_input *s = data;
    s->timeout_timer = NULL; /* one-shot */
    systemd_process(s);
}

static void systemd_cancel(struct systemd_input *s, struct loop_timer **timer)
{
    if (*timer) {
        loop_cancel_timer(s->in->loop, *timer);
        *timer = NULL;
    }
}

static uint64_t monotonic_usec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* sd-journal asks to be woken at a time when its descriptor cannot tell of
 * every change (files on a network file system; sd_journal_get_timeout(3)). */
static void systemd_arm_timeout(struct systemd_input *s)
{
    uint64_t when;
    systemd_cancel(s, &s->timeout_timer);
    if (s->stopped || sd_journal_get_timeout(s->journal, &when) < 0 || when == UINT64_MAX)
        return;
    uint64_t now = monotonic_usec();
    int64_t delay_ms = when > now ? (int64_t)((when - now + 999) / 1000) : 0;
    if (delay_ms < MIN_TIMEOUT_MS)
        delay_ms = MIN_TIMEOUT_MS;
    s->timeout_timer = loop_add_timer(s->in->loop, delay_ms, 0, systemd_on_timeout, s);
}

static void systemd_watch(struct systemd_input *s)
{
    if (s->fd_watched || s->stopped)
        return;
    if (loop_watch_fd(s->in->loop, s->fd, LOOP_READABLE, systemd_on_fd, s) < 0) {
        systemd_report(s, "epoll_ctl", -errno, "the journal's descriptor is watched again in %d ms",
                       RETRY_MS);
        systemd_retry_later(s);
        return;
    }
    s->fd_watched = true;
}

static void systemd_unwatch(struct systemd_input *s)
{
    if (s->fd_watched)
        loop_unwatch_fd(s->in->loop, s->fd);
    s->fd_watched = false;
}

static void systemd_process(struct systemd_input *s)
{
    int r = sd_journal_process(s->journal);
    if (r < 0) {
        /* The descriptor would stay readable: stop watching it for a while. */
        systemd_report(s, "sd_journal_process", r, "the journal is looked at again in %d ms",
                       RETRY_MS);
        metric_add(s->metrics.read_errors, 1);
        systemd_unwatch(s);
        systemd_retry_later(s);
        return;
    }
    /* A file sd-journal could not open changes nothing it reports: look
     * for new files at most every FILES_RECHECK_MS while the journal moves. */
    int64_t now = loop_now_ms(s->in->loop);
    if (r == SD_JOURNAL_INVALIDATE || now - s->files_checked_ms >= FILES_RECHECK_MS) {
        systemd_files_check(s);
        s->files_checked_ms = now;
    }
    systemd_arm_timeout(s);
    systemd_schedule_work(s);
}

static void systemd_on_retry(struct loop *loop, struct loop_timer *timer, void *data)
{
    struct systemd_input *s = data;
    s->retry_timer = NULL; /* one-shot */
    if (systemd_journal_find_again(s) < 0) {
        systemd_retry_later(s);
        return;
    }
    systemd_watch(s);
    if (!s->retry_timer)
        systemd_process(s);
}

static void systemd_retry_later(struct systemd_input *s)
{
    systemd_cancel(s, &s->work_timer);
    if (!s->retry_timer && !s->stopped)
        s->retry_timer = loop_add_timer(s->in->loop, RETRY_MS, 0, systemd_on_retry, s);
}

void systemd_read_start(struct systemd_input *s)
{
    systemd_watch(s);
    systemd_arm_timeout(s);
    systemd_schedule_work(s);
}

void systemd_read_pause(struct systemd_input *s)
{
    systemd_cancel(s, &s->work_timer);
}

void systemd_read_stop(struct systemd_input *s)
{
    s->stopped = true;
    systemd_cancel(s, &s->work_timer);
    systemd_cancel(s, &s->timeout_timer);
    systemd_cancel(s, &s->retry_timer);
    systemd_unwatch(s);
}
