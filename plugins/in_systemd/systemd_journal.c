/* Opening the journal and finding where to read (systemd.h). The position a
 * restart resumes after is the checkpoint's cursor; sd_journal_seek_cursor(3)
 * accepts any well-formed cursor, so whether its entry still exists is
 * checked with sd_journal_test_cursor(3) on the entry the seek lands on,
 * before the matches are added (an entry the new matches leave out still
 * counts as found). Not for reading entries: that is in_systemd.c. */
#include "systemd.h"

#include "log.h"
#include "xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Data objects larger than this are read only this far when they are
 * compressed (sd_journal_set_data_threshold(3)): room for the longest field
 * name (64) and a value of max_field_size, which systemd_entry.c cuts to. */
enum { FIELD_NAME_ROOM = 128 };

static bool systemd_path_set(const struct systemd_input *s)
{
    return s->opts->path && *s->opts->path;
}

int systemd_journal_open(struct systemd_input *s)
{
    const char *alias = s->in->alias;
    int r;
    if (systemd_path_set(s))
        r = sd_journal_open_directory(&s->journal, s->opts->path, 0);
    else
        r = sd_journal_open(&s->journal, SD_JOURNAL_LOCAL_ONLY);
    if (r < 0) {
        if (systemd_path_set(s))
            log_error(alias, "path %s: sd_journal_open_directory: %s (mount the journal folder)",
                      s->opts->path, strerror(-r));
        else
            log_error(alias,
                      "sd_journal_open(SD_JOURNAL_LOCAL_ONLY): %s (/var/log/journal and "
                      "/run/log/journal, and /etc/machine-id, must be readable)",
                      strerror(-r));
        s->journal = NULL;
        return -1;
    }
    /* Before the first read, so that no change is missed (sd_journal_get_fd(3)). */
    s->fd = sd_journal_get_fd(s->journal);
    if (s->fd < 0) {
        log_error(alias, "sd_journal_get_fd: %s", strerror(-s->fd));
        return -1;
    }
    r = sd_journal_set_data_threshold(s->journal,
                                      (size_t)s->opts->max_field_size + FIELD_NAME_ROOM);
    if (r < 0) {
        log_error(alias, "sd_journal_set_data_threshold: %s", strerror(-r));
        return -1;
    }
    return 0;
}

static int systemd_add_matches(struct systemd_input *s)
{
    const struct string_list *matches = &s->opts->matches;
    for (size_t i = 0; i < matches->count; i++) {
        int r = sd_journal_add_match(s->journal, matches->items[i], 0);
        if (r >= 0 && s->opts->match_any)
            r = sd_journal_add_disjunction(s->journal);
        if (r < 0) {
            log_error(s->in->alias, "matches: '%s': sd_journal_add_match: %s", matches->items[i],
                      strerror(-r));
            return -1;
        }
    }
    return 0;
}

/* 1 if the journal (without matches) holds the entry of `cursor`, 0 if not. */
static int systemd_cursor_exists(struct systemd_input *s, const char *cursor)
{
    int r = sd_journal_seek_cursor(s->journal, cursor);
    if (r < 0) {
        log_warn(s->in->alias, "checkpoint cursor %s: sd_journal_seek_cursor: %s", cursor,
                 strerror(-r));
        return 0;
    }
    r = sd_journal_next(s->journal);
    if (r <= 0)
        return 0;
    return sd_journal_test_cursor(s->journal, cursor) > 0;
}

/* Stands after the entry of `cursor`, which exists: on it (it was read), or
 * on the first entry after it that the matches let through, not read yet. */
static int systemd_seek_after(struct systemd_input *s, const char *cursor)
{
    int r = sd_journal_seek_cursor(s->journal, cursor);
    if (r >= 0)
        r = sd_journal_next(s->journal);
    if (r < 0) {
        systemd_report(s, "sd_journal_next", r, "finding the entry after cursor %s failed", cursor);
        return -1;
    }
    /* r == 0: nothing after it yet; the journal stays at that place. */
    s->on_unread = r > 0 && sd_journal_test_cursor(s->journal, cursor) <= 0;
    return 0;
}

static int systemd_seek_head(struct systemd_input *s)
{
    int r = sd_journal_seek_head(s->journal);
    if (r < 0)
        log_error(s->in->alias, "sd_journal_seek_head: %s", strerror(-r));
    s->on_unread = false;
    return r < 0 ? -1 : 0;
}

/* A first start without read_from_head: stands on the newest entry the
 * matches let through, which counts as read; its cursor is where a restart
 * resumes after. An empty journal: everything that comes later is new. */
static int systemd_seek_tail(struct systemd_input *s)
{
    int r = sd_journal_seek_tail(s->journal);
    if (r >= 0)
        r = sd_journal_previous(s->journal);
    if (r < 0) {
        log_error(s->in->alias, "sd_journal_seek_tail: %s", strerror(-r));
        return -1;
    }
    s->on_unread = false;
    if (r == 0)
        return systemd_seek_head(s);
    char *cursor = NULL;
    r = sd_journal_get_cursor(s->journal, &cursor);
    if (r < 0) {
        log_error(s->in->alias, "sd_journal_get_cursor: %s", strerror(-r));
        return -1;
    }
    free(s->done_cursor);
    s->done_cursor = cursor;
    free(s->last_cursor);
    s->last_cursor = xstrdup(cursor);
    return 0;
}

/* The checkpoint's entry is gone: the journal was vacuumed or rotated past
 * it while skiff was stopped or behind (or its file is damaged). */
static void systemd_cursor_lost(struct systemd_input *s, const char *cursor)
{
    metric_add(s->metrics.cursor_lost, 1);
    log_warn(s->in->alias,
             "the checkpoint's entry (cursor %s) is no longer in the journal: it was vacuumed "
             "or rotated away, or its file is damaged; reading resumes at the oldest entry, and "
             "entries removed in between are lost (counted in skiff_systemd_cursor_lost_total)",
             cursor);
}

int systemd_journal_position(struct systemd_input *s)
{
    const char *cursor = s->start_cursor;
    int exists = cursor ? systemd_cursor_exists(s, cursor) : 0;
    if (systemd_add_matches(s) < 0)
        return -1;
    if (cursor && exists) {
        s->start_place = "after its checkpoint";
        return systemd_seek_after(s, cursor);
    }
    if (cursor) {
        /* Saved as "head" at once, so that a crash before any acknowledgement
         * does not count the same loss again. */
        systemd_cursor_lost(s, cursor);
        s->checkpoint_dirty = true;
        s->start_place = "at the oldest entry (the checkpoint's entry is gone)";
        return systemd_seek_head(s);
    }
    /* The checkpoint, or a first start with read_from_head, says: the head.
     * A first start saves where it stood at once (done_cursor, or the head),
     * so that a crash before any acknowledgement resumes there too. */
    s->checkpoint_dirty = !s->checkpoint_found;
    if (s->checkpoint_found || s->opts->read_from_head) {
        s->start_place = s->checkpoint_found ? "at the oldest entry (its checkpoint)"
                                             : "at the oldest entry (first start, read_from_head)";
        return systemd_seek_head(s);
    }
    s->start_place = "at the journal's end (first start)";
    return systemd_seek_tail(s);
}

int systemd_journal_find_again(struct systemd_input *s)
{
    const char *cursor = s->last_cursor ? s->last_cursor : s->start_cursor;
    if (!cursor)
        return systemd_seek_head(s);
    return systemd_seek_after(s, cursor);
}
