/* The tail input's shared state, split over in_tail.c (the plugin: options,
 * lifecycle, acknowledgements, checkpoints), tail_file.c (one file: open,
 * read, split, emit, rotate, close), tail_scan.c (glob rescans that find new,
 * rotated and vanished files) and tail_watch.c (inotify, and polling where
 * inotify cannot be used). Not for other plugins. */
#ifndef SKIFF_TAIL_H
#define SKIFF_TAIL_H

#include "hmap.h"
#include "line_splitter.h"
#include "plugin_api.h"
#include "tail_checkpoint.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

struct loop_timer;

struct tail_options {
    struct string_list path;
    struct string_list exclude;
    bool read_from_head;
    int64_t refresh_interval_ms;
    int64_t rotate_wait_ms;
    int64_t partial_wait_ms;
    int64_t ignore_older_ms; /* 0: read files of any age */
    int64_t max_line_size;
    bool skip_long_lines;
    int64_t buffer_chunk_size;
    char *watcher; /* "inotify" or "poll" */
    int64_t poll_interval_ms;
    char *key;
    char *path_key;
    int64_t checkpoint_interval_ms;
    char *parser;
};

/* Why held partial lines were handed on without their last piece. */
enum tail_partial_reason {
    TAIL_PARTIAL_TIMEOUT,  /* partial_wait passed */
    TAIL_PARTIAL_FILE_END, /* the file was rotated and drained, or truncated */
    TAIL_PARTIAL_SHUTDOWN, /* skiff stops */
    TAIL_PARTIAL_REASONS
};

struct tail_metrics {
    struct metric *files_watched;
    struct metric *files_polled;
    struct metric *bytes_read;
    struct metric *lines_read;
    struct metric *rotations;
    struct metric *truncations;
    struct metric *long_skipped;
    struct metric *long_split;
    struct metric *files_lost;
    struct metric *nul_skipped;
    struct metric *files_ignored;    /* older than ignore_older */
    struct metric *files_compressed; /* .gz, .bz2, .xz, .zst */
    struct metric *partial_flushed[TAIL_PARTIAL_REASONS];
};

struct tail_file {
    struct tail *tail;
    char *path; /* as the glob matched it */
    char *tag;
    int fd; /* -1 once closed */
    struct tail_identity id;
    uint64_t source_id;
    uint64_t read_offset;    /* next byte to read */
    uint64_t emitted_offset; /* end of the last record handed on */
    uint64_t acked_offset;   /* end of the last record acknowledged */
    uint64_t line_start;     /* where the next line from the splitter starts */
    uint64_t floor;          /* with has_floor: the checkpoint stays at or below it */
    uint64_t partial_cut;    /* the partial timer hands on lines held from before it */
    bool has_floor;          /* lines held at shutdown are read again after restart */
    bool skip_nul;           /* truncated: leading NUL bytes are a hole, not lines */
    int wd;                  /* inotify watch, or -1 when polled or closed */
    bool rotated;            /* renamed, deleted or no longer matched: drain, then close */
    bool ready;              /* in the ready queue */
    bool polled;             /* checked by the poll timer instead of inotify */
    bool seen;               /* matched by the current rescan */
    struct loop_timer *rotate_timer;
    struct loop_timer *partial_timer;
    struct line_splitter splitter;
    struct attachment *path_attachment; /* NULL when path_key is "" */
    void *parser_state;                 /* partial lines held by the parser */
    struct tail_file *next_ready;
    struct hmap_node by_path;   /* only while not rotated */
    struct hmap_node by_inode;  /* while open */
    struct hmap_node by_source; /* until every record is acknowledged */
    struct hmap_node by_wd;     /* while watched */
};

/* A rename's source path, kept until its IN_MOVED_TO arrives. */
struct tail_move {
    uint32_t cookie;
    char *from; /* NULL: free slot */
};

enum { TAIL_MOVES_KEPT = 16 };

struct tail {
    struct instance *in;
    const struct tail_options *opts;
    struct instance *parser; /* NULL: the line goes into `key` as it is */
    struct hmap by_path;
    struct hmap by_inode;
    struct hmap by_source;
    struct hmap by_wd;
    struct hmap dirs_by_wd;     /* struct tail_dir, for inotify events */
    struct hmap dirs_by_path;   /* struct tail_dir, for rescans */
    struct hmap reported_paths; /* struct tail_reported: problems logged once */
    struct hmap ignored;        /* struct tail_ignored: older than ignore_older */
    size_t reported_count;
    struct tail_move moves[TAIL_MOVES_KEPT];
    unsigned move_next;
    struct tail_file *ready_head;
    struct tail_file *ready_tail;
    char *read_buf;
    /* The record each line is made in, reused line after line, and the store
     * that lends it the line's texts (record.h, record_reuse). */
    struct record line_record;
    struct record_text line_text;
    /* When the lines being split were read: the time of each record the
     * parser gives none, from one clock read per block, not per line. */
    struct record_time read_time;
    struct checkpoint_store *checkpoints;
    int inotify_fd;                   /* -1 with watcher: poll */
    int64_t inotify_last_ms;          /* when its events were last read */
    struct loop_timer *inotify_timer; /* while its events are left to queue up */
    bool warned_no_watches;
    bool first_start; /* no checkpoint file yet: skiff never ran with this state */
    bool first_scan_done;
    bool stopped;
    bool checkpoints_started; /* the checkpoint timer may be armed */
    bool working;             /* tail_work drains events: no scheduling */
    struct loop_timer *work_timer;
    int64_t work_due_ms; /* when work_timer fires; 0: in this turn */
    struct loop_timer *rescan_timer;
    struct loop_timer *rescan_soon_timer;
    struct loop_timer *poll_timer;
    struct loop_timer *checkpoint_timer;
    size_t open_files;
    size_t polled_files;
    struct tail_metrics metrics;
};

/* tail_file.c */
/* Follows `f` under a new path (it was renamed to a name the globs match). */
void tail_file_adopt(struct tail_file *f, const char *path);
/* Opens and starts following `path`: from its checkpoint if one matches, else
 * from the start if `from_head`, else from the end of its last line. Returns
 * NULL if it cannot be opened (reported once). */
struct tail_file *tail_file_open(struct tail *t, const char *path, bool from_head);
/* Opens `path` to follow it from `offset` (unless a checkpoint says where). */
struct tail_file *tail_file_open_from(struct tail *t, const char *path, uint64_t offset);
/* Opens the file renamed from the matched name `from` to `to` (not matched)
 * before it was opened: it is read from its start under its old name, as a
 * rotated file, within rotate_wait. */
struct tail_file *tail_file_open_moved(struct tail *t, const char *from, const char *to);
/* Reads what the file has, within a budget. Returns true if more is left
 * (also when the input was paused meanwhile).
 * A rotated file whose wait is over is closed at its end, and may be freed:
 * the caller must not use `f` after a false return. */
bool tail_file_read(struct tail_file *f);
void tail_file_rotate(struct tail_file *f, const char *why);
void tail_file_acknowledge(struct tail_file *f, uint64_t offset);
void tail_file_free(struct tail_file *f);
struct tail_file *tail_file_by_path(struct tail *t, const char *path);
struct tail_file *tail_file_by_inode(struct tail *t, uint64_t dev, uint64_t ino);
struct tail_file *tail_file_by_source(struct tail *t, uint64_t source_id);
/* Checks size and first bytes against what was read: a file that shrank or
 * whose start changed was truncated and is read again from 0. */
void tail_file_check(struct tail_file *f);

/* in_tail.c */
/* Queues `f` to be read in this turn of the loop. */
void tail_mark_ready(struct tail_file *f);
/* Queues `f`, written to, to be read before the next seal (at once if none
 * is due). */
void tail_mark_written(struct tail_file *f);
void tail_unmark_ready(struct tail_file *f);
/* The checkpoint store became dirty: saved within checkpoint_interval. */
void tail_checkpoint_changed(struct tail *t);
/* Logs a problem with `path` once per path (and reason), then stays quiet.
 * Returns true when it logged. */
bool tail_report_once(struct tail *t, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* tail_partial.c */
void tail_partial_flush(struct tail_file *f, uint64_t before, enum tail_partial_reason reason);
/* Starts the partial_wait timer if the parser holds pieces and none runs. */
void tail_partial_arm(struct tail_file *f);
void tail_partial_cancel(struct tail_file *f);
/* `offset`, lowered to the start of the oldest piece still held. */
uint64_t tail_partial_floor(const struct tail_file *f, uint64_t offset);
/* Hands held lines on at shutdown, keeping the checkpoint before them. */
void tail_partial_stop(struct tail_file *f);

/* tail_ignore.c */
/* Whether a matched file is left alone: compressed (warned once), or not
 * modified for longer than ignore_older (its size remembered). */
bool tail_ignore_skip(struct tail *t, const char *path, const struct stat *st);
/* A file ignored before and modified since: true, with where its new data
 * starts. */
bool tail_ignore_resume_at(struct tail *t, const struct stat *st, uint64_t *offset);
void tail_ignore_begin(struct tail *t);
void tail_ignore_end(struct tail *t, bool all);

/* tail_scan.c */
/* fnmatch(3) as glob(3) matches with GLOB_BRACE: `*` stops at '/', a leading
 * '.' must be matched by a '.', `a{b,c}` is `ab` or `ac`. */
bool tail_glob_match(const char *pattern, const char *path);
/* Whether the globs (with GLOB_BRACE's {a,b}) match `path`, and no exclude. */
bool tail_path_matched(const struct tail *t, const char *path);
/* inotify named `path` as created or moved into a watched folder. */
void tail_found(struct tail *t, const char *path);
/* inotify paired a rename from `from` to `to` (both in watched folders). */
void tail_found_moved(struct tail *t, const char *from, const char *to);
void tail_rescan(struct tail *t);
/* Rescans shortly (events come in bursts: rename, create, ...). */
void tail_rescan_soon(struct tail *t);

/* tail_watch.c */
int tail_watch_start(struct tail *t);
void tail_watch_stop(struct tail *t);
void tail_forget_moves(struct tail *t);
/* Reads and acts on the inotify events queued up (before reading files: an
 * event for data about to be read would make a read of nothing later). */
void tail_watch_drain(struct tail *t);
/* Watches a file (inotify, or polling once watches run out). */
void tail_watch_file(struct tail *t, struct tail_file *f);
void tail_unwatch_file(struct tail *t, struct tail_file *f);
/* Watches a folder for new, renamed and deleted entries. */
void tail_watch_dir(struct tail *t, const char *dir);
void tail_watch_dirs_begin(struct tail *t); /* mark */
void tail_watch_dirs_end(struct tail *t);   /* sweep the folders not watched again */

#endif
