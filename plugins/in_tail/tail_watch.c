/* How the tail input learns that files changed: inotify watches on each open
 * file (data written, renamed, deleted) and on the folders the globs match
 * (files created, renamed, deleted), or, with `watcher: poll` and for files
 * inotify cannot watch (watches exhausted), a timer that checks sizes. */
#include "tail.h"

#include "log.h"
#include "loop.h"
#include "xalloc.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#define FILE_EVENTS (IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF)
/* How long events may queue up in the kernel while they come fast: well
 * within a flush_interval (reads wait for the flush anyway), and short enough
 * for new and renamed files to be found at once (tail_dir_event). */
enum { INOTIFY_BATCH_MS = 50 };

#define DIR_EVENTS (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF)

struct tail_dir {
    struct hmap_node by_wd;
    struct hmap_node by_path;
    int wd;
    char *path;
    bool marked;
};

static bool tail_polling(const struct tail *t)
{
    return t->inotify_fd < 0;
}

/* ---- polling ---- */

/* With `watcher: poll` nothing tells of new files, so the globs are scanned
 * at every poll: a file that stays under a matched name for a poll interval
 * is opened, and read whole from then on, wherever it is renamed. */
static void tail_poll(struct loop *loop, struct loop_timer *timer, void *data)
{
    struct tail *t = data;
    if (tail_polling(t) && !t->stopped)
        tail_rescan(t);
    size_t bucket = 0;
    struct hmap_node *node = hmap_next(&t->by_inode, &bucket, NULL);
    while (node) {
        struct hmap_node *next = hmap_next(&t->by_inode, &bucket, node);
        struct tail_file *f = hmap_entry(node, struct tail_file, by_inode);
        if (f->polled)
            tail_file_check(f);
        node = next;
    }
}

static void tail_start_polling(struct tail *t)
{
    if (!t->poll_timer)
        t->poll_timer = loop_add_timer(t->in->loop, t->opts->poll_interval_ms,
                                       t->opts->poll_interval_ms, tail_poll, t);
}

static void tail_poll_file(struct tail *t, struct tail_file *f)
{
    f->polled = true;
    t->polled_files++;
    metric_set(t->metrics.files_polled, (int64_t)t->polled_files);
    tail_start_polling(t);
}

/* ---- inotify events ---- */

static struct tail_file *tail_file_by_wd(struct tail *t, int wd)
{
    for (struct hmap_node *n = hmap_find(&t->by_wd, hash_u64((uint64_t)wd)); n;
         n = hmap_find_next(n)) {
        struct tail_file *f = hmap_entry(n, struct tail_file, by_wd);
        if (f->wd == wd)
            return f;
    }
    return NULL;
}

static struct tail_dir *tail_dir_by_wd(struct tail *t, int wd)
{
    for (struct hmap_node *n = hmap_find(&t->dirs_by_wd, hash_u64((uint64_t)wd)); n;
         n = hmap_find_next(n)) {
        struct tail_dir *d = hmap_entry(n, struct tail_dir, by_wd);
        if (d->wd == wd)
            return d;
    }
    return NULL;
}

static void tail_file_event(struct tail *t, struct tail_file *f, uint32_t mask)
{
    if (mask & IN_ATTRIB) {
        struct stat st;
        if (fstat(f->fd, &st) == 0 && st.st_nlink == 0)
            tail_file_rotate(f, "deleted");
    }
    if (mask & (IN_MOVE_SELF | IN_DELETE_SELF))
        tail_rescan_soon(t); /* what is at the path now? */
    if ((mask & FILE_EVENTS) == IN_MODIFY)
        tail_mark_written(f); /* data (or a truncation): read before the next seal */
    else
        tail_mark_ready(f);
}

static void tail_on_overflow(struct tail *t)
{
    log_warn(t->in->alias, "inotify queue overflowed; rescanning and checking every file");
    size_t bucket = 0;
    for (struct hmap_node *n = hmap_next(&t->by_inode, &bucket, NULL); n;
         n = hmap_next(&t->by_inode, &bucket, n))
        tail_mark_ready(hmap_entry(n, struct tail_file, by_inode));
    tail_rescan_soon(t);
}

/* ---- folder events ---- */

static char *tail_dir_entry_path(const struct tail_dir *d, const char *name)
{
    size_t len = strlen(d->path);
    return xasprintf("%s%s%s", d->path, len && d->path[len - 1] == '/' ? "" : "/", name);
}

/* Remembers the path a rename took a file from, until its IN_MOVED_TO (with
 * the same cookie) comes; they are queued together, so a few suffice. */
static void tail_remember_move(struct tail *t, uint32_t cookie, char *path)
{
    struct tail_move *slot = &t->moves[t->move_next++ % TAIL_MOVES_KEPT];
    free(slot->from);
    slot->cookie = cookie;
    slot->from = path;
}

static char *tail_take_move(struct tail *t, uint32_t cookie)
{
    for (size_t i = 0; i < TAIL_MOVES_KEPT; i++) {
        struct tail_move *slot = &t->moves[i];
        if (slot->from && slot->cookie == cookie) {
            char *from = slot->from;
            slot->from = NULL;
            return from;
        }
    }
    return NULL;
}

void tail_forget_moves(struct tail *t)
{
    for (size_t i = 0; i < TAIL_MOVES_KEPT; i++) {
        free(t->moves[i].from);
        t->moves[i].from = NULL;
    }
}

/* New and renamed entries are acted on at once: a file may live only a few
 * milliseconds under a matched name. The rescan that follows catches what
 * events cannot tell (symlink targets, deletions). */
static void tail_dir_event(struct tail *t, const struct tail_dir *d,
                           const struct inotify_event *event)
{
    if (event->len && !t->stopped && (event->mask & (IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO))) {
        char *path = tail_dir_entry_path(d, event->name);
        if (event->mask & IN_MOVED_FROM) {
            tail_remember_move(t, event->cookie, path);
            path = NULL;
        } else if (event->mask & IN_MOVED_TO) {
            char *from = tail_take_move(t, event->cookie);
            if (from)
                tail_found_moved(t, from, path);
            else
                tail_found(t, path);
            free(from);
        } else {
            tail_found(t, path);
        }
        free(path);
    }
    tail_rescan_soon(t);
}

static void tail_dispatch_event(struct tail *t, const struct inotify_event *event)
{
    if (event->mask & IN_Q_OVERFLOW) {
        tail_on_overflow(t);
        return;
    }
    if (event->mask & IN_IGNORED)
        return;
    struct tail_file *f = tail_file_by_wd(t, event->wd);
    if (f) {
        tail_file_event(t, f, event->mask);
        return;
    }
    struct tail_dir *d = tail_dir_by_wd(t, event->wd);
    if (d && (event->mask & DIR_EVENTS))
        tail_dir_event(t, d, event);
}

void tail_watch_drain(struct tail *t)
{
    char buffer[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    if (t->inotify_fd < 0)
        return;
    for (;;) {
        ssize_t n = read(t->inotify_fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* EAGAIN: drained */
        for (char *p = buffer; p < buffer + n;) {
            const struct inotify_event *event = (const struct inotify_event *)p;
            tail_dispatch_event(t, event);
            p += sizeof *event + event->len;
        }
        /* Room was left for the largest event: the queue was empty (epoll
         * tells of more), so no read just to hear EAGAIN. */
        if ((size_t)n <= sizeof buffer - (sizeof(struct inotify_event) + NAME_MAX + 1))
            return;
    }
}

static void tail_on_inotify(struct loop *loop, int fd, unsigned events, void *data);

static void tail_inotify_resume(struct loop *loop, struct loop_timer *timer, void *data)
{
    struct tail *t = data;
    t->inotify_timer = NULL; /* one-shot */
    if (t->inotify_fd >= 0)
        loop_watch_fd(loop, t->inotify_fd, LOOP_READABLE, tail_on_inotify, t);
}

/* Files written line by line send an event per write. While they come
 * faster than one per INOTIFY_BATCH_MS and a seal is due (what they tell of
 * is read just before it, tail_mark_written), the events are left to queue
 * up in the kernel for that long, but not past the seal, and read together,
 * instead of waking the loop for each. A quiet input, or one with nothing
 * waiting for a seal, hears of the first one at once. */
static void tail_on_inotify(struct loop *loop, int fd, unsigned events, void *data)
{
    struct tail *t = data;
    int64_t now = monotonic_ms();
    bool busy = now - t->inotify_last_ms < INOTIFY_BATCH_MS;
    t->inotify_last_ms = now;
    tail_watch_drain(t);
    int64_t flush_due = input_flush_due_ms(t->in);
    if (!busy || flush_due <= now || t->stopped || t->inotify_timer || t->inotify_fd < 0)
        return;
    int64_t wait = flush_due - now < INOTIFY_BATCH_MS ? flush_due - now : INOTIFY_BATCH_MS;
    loop_unwatch_fd(loop, fd);
    t->inotify_timer = loop_add_timer(loop, wait, 0, tail_inotify_resume, t);
}

/* ---- watches ---- */

int tail_watch_start(struct tail *t)
{
    if (strcmp(t->opts->watcher, "poll") == 0) {
        tail_start_polling(t);
        return 0;
    }
    t->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (t->inotify_fd < 0) {
        log_warn(t->in->alias, "inotify: %s; polling every file instead", strerror(errno));
        tail_start_polling(t);
        return 0;
    }
    return loop_watch_fd(t->in->loop, t->inotify_fd, LOOP_READABLE, tail_on_inotify, t);
}

static void tail_dir_free(struct tail *t, struct tail_dir *d)
{
    if (t->inotify_fd >= 0)
        inotify_rm_watch(t->inotify_fd, d->wd);
    hmap_remove(&t->dirs_by_wd, &d->by_wd);
    hmap_remove(&t->dirs_by_path, &d->by_path);
    free(d->path);
    free(d);
}

void tail_watch_stop(struct tail *t)
{
    tail_watch_dirs_begin(t);
    tail_watch_dirs_end(t); /* none marked: frees them all */
    if (t->inotify_timer) {
        loop_cancel_timer(t->in->loop, t->inotify_timer);
        t->inotify_timer = NULL;
    }
    if (t->inotify_fd >= 0) {
        loop_unwatch_fd(t->in->loop, t->inotify_fd);
        close(t->inotify_fd);
        t->inotify_fd = -1;
    }
}

void tail_watch_file(struct tail *t, struct tail_file *f)
{
    if (tail_polling(t)) {
        tail_poll_file(t, f);
        return;
    }
    char proc_path[64];
    /* Watch the open file itself, not whatever its path names by now. */
    snprintf(proc_path, sizeof proc_path, "/proc/self/fd/%d", f->fd);
    int wd = inotify_add_watch(t->inotify_fd, proc_path, FILE_EVENTS);
    if (wd < 0) {
        if (errno == ENOSPC && !t->warned_no_watches) {
            log_warn(t->in->alias,
                     "inotify watches are used up (raise "
                     "fs.inotify.max_user_watches); polling the files beyond them every %lldms",
                     (long long)t->opts->poll_interval_ms);
            t->warned_no_watches = true;
        } else if (errno != ENOSPC) {
            tail_report_once(t, f->path, "inotify: %s; polling it", strerror(errno));
        }
        tail_poll_file(t, f);
        return;
    }
    f->wd = wd;
    hmap_insert(&t->by_wd, &f->by_wd, hash_u64((uint64_t)wd));
}

void tail_unwatch_file(struct tail *t, struct tail_file *f)
{
    if (f->polled) {
        f->polled = false;
        t->polled_files--;
        metric_set(t->metrics.files_polled, (int64_t)t->polled_files);
    }
    if (f->wd < 0)
        return;
    if (t->inotify_fd >= 0)
        inotify_rm_watch(t->inotify_fd, f->wd);
    hmap_remove(&t->by_wd, &f->by_wd);
    f->wd = -1;
}

void tail_watch_dir(struct tail *t, const char *dir)
{
    if (tail_polling(t))
        return;
    uint64_t hash = hash_bytes(dir, strlen(dir));
    for (struct hmap_node *n = hmap_find(&t->dirs_by_path, hash); n; n = hmap_find_next(n)) {
        struct tail_dir *d = hmap_entry(n, struct tail_dir, by_path);
        if (strcmp(d->path, dir) == 0) {
            d->marked = true;
            return;
        }
    }
    int wd = inotify_add_watch(t->inotify_fd, dir, DIR_EVENTS | IN_ONLYDIR);
    if (wd < 0) {
        if (errno != ENOENT)
            tail_report_once(t, dir,
                             "cannot watch folder: %s (new files are found by the "
                             "rescan every refresh_interval)",
                             strerror(errno));
        return;
    }
    struct tail_dir *d = xcalloc(1, sizeof *d);
    d->wd = wd;
    d->path = xstrdup(dir);
    d->marked = true;
    hmap_insert(&t->dirs_by_wd, &d->by_wd, hash_u64((uint64_t)wd));
    hmap_insert(&t->dirs_by_path, &d->by_path, hash);
}

void tail_watch_dirs_begin(struct tail *t)
{
    size_t bucket = 0;
    for (struct hmap_node *n = hmap_next(&t->dirs_by_path, &bucket, NULL); n;
         n = hmap_next(&t->dirs_by_path, &bucket, n))
        hmap_entry(n, struct tail_dir, by_path)->marked = false;
}

void tail_watch_dirs_end(struct tail *t)
{
    size_t bucket = 0;
    struct hmap_node *node = hmap_next(&t->dirs_by_path, &bucket, NULL);
    while (node) {
        struct hmap_node *next = hmap_next(&t->dirs_by_path, &bucket, node);
        struct tail_dir *d = hmap_entry(node, struct tail_dir, by_path);
        if (!d->marked)
            tail_dir_free(t, d);
        node = next;
    }
}
