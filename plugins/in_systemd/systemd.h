/* The systemd input's shared state: options, metrics, the open journal and
 * the entries in flight. in_systemd.c is the plugin (options, life cycle,
 * acknowledgements, checkpoints); systemd_read.c reads in turns on the loop;
 * systemd_journal.c opens the journal and finds where to read; systemd_files.c checks each journal
 * file once and reports those libsystemd cannot open; systemd_entry.c turns one entry into a
 * record. */
#ifndef SKIFF_SYSTEMD_H
#define SKIFF_SYSTEMD_H

#include "hmap.h"
#include "options.h"
#include "plugin_api.h"
#include "systemd_origin.h"
#include "systemd_ring.h"

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-journal.h>

/* sd-journal.h includes <syslog.h>, whose LOG_INFO and LOG_DEBUG macros
 * would stand for log.h's levels of the same names. */
#undef LOG_INFO
#undef LOG_DEBUG

struct systemd_options {
    char *path; /* NULL or "": the system's journal */
    struct string_list matches;
    bool match_any;
    bool read_from_head;
    int64_t max_entries;
    int64_t max_fields;
    int64_t max_field_size;
    bool strip_underscores;
    bool lowercase;
    char *message_key;
    int64_t checkpoint_interval_ms;
};

struct systemd_metrics {
    struct metric *entries;        /* read and emitted */
    struct metric *cut_max_fields; /* fields left out past max_fields */
    struct metric *cut_field_size; /* values cut at max_field_size */
    struct metric *cursor_lost;    /* restarts whose checkpoint entry was gone */
    struct metric *files_skipped;  /* journal files libsystemd could not open */
    struct metric *read_errors;    /* sd_journal calls that failed while reading */
    struct metric *unreadable;     /* entries dropped: no cursor or no time */
    struct metric *waits_for_acks; /* times the ring of entries in flight was full */
    struct metric *renumbered;     /* entries whose seqnum was not above the last read */
};

/* Problems logged once each: (call, errno) pairs already reported. */
enum { SYSTEMD_REPORTED_MAX = 64 };

struct systemd_input {
    struct instance *in;
    const struct systemd_options *opts;
    struct systemd_metrics metrics;
    sd_journal *journal;
    int fd; /* sd_journal_get_fd's inotify descriptor, watched on the loop */
    bool fd_watched;

    /* Where reading stands. */
    struct journal_ring *ring;
    char *checkpoint_path;
    bool checkpoint_found; /* a checkpoint file was there at start */
    char *start_cursor;    /* the checkpoint's cursor at start (NULL: head or none) */
    char *done_cursor;     /* newest acknowledged position, to save (NULL: none yet) */
    bool checkpoint_dirty;
    bool save_failed;        /* the last save failed (logged once per run of failures) */
    char *last_cursor;       /* of the entry last emitted, to find the place again after an error */
    bool on_unread;          /* the journal stands on an entry not emitted yet */
    const char *start_place; /* where reading started, for the log */

    /* Origins (systemd_origin.h). */
    struct journal_numbering *numbering;
    uint64_t fallback_epoch; /* when cursors do not parse: a source per run */
    uint64_t fallback_offset;
    bool warned_cursor_shape; /* logged once each */
    bool warned_renumbered;

    /* The loop. */
    struct loop_timer *work_timer;
    struct loop_timer *timeout_timer; /* sd_journal_get_timeout, for unreliable fds */
    struct loop_timer *retry_timer;   /* after a failed sd_journal call */
    struct loop_timer *checkpoint_timer;
    bool waiting_for_acks;
    bool stopped;

    struct hmap files;        /* systemd_files.c: journal files checked, by path */
    int64_t files_checked_ms; /* when they were last looked for */
    struct buf key;           /* scratch for field names */
    uint64_t reported[SYSTEMD_REPORTED_MAX];
    size_t reported_count;
};

/* systemd_read.c */
/* Logs a warning the first time (`call`, `err`) fails; later ones only at
 * debug. `err` is a negative errno as sd_journal calls return them. */
void systemd_report(struct systemd_input *s, const char *call, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Watches the journal's descriptor and reads what is there. */
void systemd_read_start(struct systemd_input *s);
/* A reading turn soon, unless paused, stopped or waiting for a retry. */
void systemd_schedule_work(struct systemd_input *s);
void systemd_read_pause(struct systemd_input *s);
/* Stops reading for good: no more turns, timers or watching. */
void systemd_read_stop(struct systemd_input *s);

/* systemd_journal.c */
/* Opens the journal (path, or the system's) and its inotify fd. Returns 0,
 * or -1 after logging which call failed and why. */
int systemd_journal_open(struct systemd_input *s);
/* Adds the matches and moves to where reading starts: after the checkpoint's
 * entry, at the oldest entry if that entry is gone (counted, logged), or at
 * the head or tail for a first start. Returns 0, or -1 after logging. */
int systemd_journal_position(struct systemd_input *s);
/* After a failed sd_journal call: stands again after the last entry emitted
 * (or where reading started). Returns 0, or -1 (logged) to retry later. */
int systemd_journal_find_again(struct systemd_input *s);

/* systemd_files.c */
/* Checks the journal files not seen before with sd_journal_open_files(3),
 * logging each that libsystemd cannot open (it skips them too) with the
 * reason, and forgets files that are gone. Costs a readdir of the folders. */
void systemd_files_check(struct systemd_input *s);
void systemd_files_free(struct systemd_input *s);

/* systemd_entry.c */
/* Reads the entry the journal stands on into `rec` (time, fields) with its
 * tag (malloc'ed) and cursor (malloc'ed). Returns 0, or -1 when the entry
 * has no cursor or no time (logged, the caller counts it). */
int systemd_entry_read(struct systemd_input *s, struct record *rec, char **tag, char **cursor);

#endif
