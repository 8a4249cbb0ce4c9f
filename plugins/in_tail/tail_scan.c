/* Rescans: expands the globs, opens files that are new, notices files that
 * were replaced at their path (rotation by rename + create, a repointed
 * symlink) or that vanished from it (renamed away, deleted), and keeps the
 * folder watches in line with what the globs match. Runs every
 * refresh_interval, and shortly after inotify reports a change in a folder. */
#include "tail.h"

#include "log.h"
#include "loop.h"
#include "xalloc.h"

#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Rescans triggered by folder events wait this long, so that a burst of
 * events (rename, create, chmod) costs one rescan. */
enum { RESCAN_SOON_MS = 50 };

static bool tail_excluded(const struct tail *t, const char *path)
{
    for (size_t i = 0; i < t->opts->exclude.count; i++) {
        if (fnmatch(t->opts->exclude.items[i], path, 0) == 0)
            return true;
    }
    return false;
}

static void tail_watch_parent(struct tail *t, const char *path)
{
    char *copy = xstrdup(path);
    tail_watch_dir(t, dirname(copy));
    free(copy);
}

/* The folder part of a glob before its first wildcard, watched so that the
 * first file in an empty folder is noticed at once. */
static void tail_watch_glob_base(struct tail *t, const char *pattern)
{
    size_t wild = strcspn(pattern, "*?[{");
    char *prefix = xstrndup(pattern, wild);
    char *slash = strrchr(prefix, '/');
    if (slash) {
        *(slash == prefix ? slash + 1 : slash) = '\0';
        tail_watch_dir(t, prefix);
    }
    free(prefix);
}

/* Symlinks (the kubelet's links in /var/log/containers) are followed: their
 * target's folder is where the runtime rotates, so it is watched too. */
static void tail_watch_path_dirs(struct tail *t, const char *path)
{
    struct stat link;
    tail_watch_parent(t, path);
    if (lstat(path, &link) == 0 && S_ISLNK(link.st_mode)) {
        char real[PATH_MAX];
        if (realpath(path, real))
            tail_watch_parent(t, real);
    }
}

static bool tail_usable(struct tail *t, const char *path, struct stat *st)
{
    if (stat(path, st) < 0) {
        struct stat link;
        /* A followed symlink dangles for a moment while its target rotates:
         * only a link that never led to a file is worth a warning. */
        if (errno == ENOENT && lstat(path, &link) == 0 && !tail_file_by_path(t, path))
            tail_report_once(t, path, "symlink to a missing file; skipped until it exists");
        else if (errno != ENOENT)
            tail_report_once(t, path, "stat: %s; skipped", strerror(errno));
        return false;
    }
    if (S_ISDIR(st->st_mode)) {
        tail_report_once(t, path,
                         "is a folder, not a file; skipped (match the files in it, "
                         "e.g. %s/*.log)",
                         path);
        return false;
    }
    if (!S_ISREG(st->st_mode)) {
        tail_report_once(t, path, "is not a regular file; skipped");
        return false;
    }
    return true;
}

static void tail_scan_path(struct tail *t, const char *path)
{
    struct stat st;
    if (tail_excluded(t, path) || !tail_usable(t, path, &st))
        return;
    tail_watch_path_dirs(t, path);

    struct tail_file *f = tail_file_by_path(t, path);
    if (f && f->id.dev == (uint64_t)st.st_dev && f->id.ino == (uint64_t)st.st_ino) {
        f->seen = true;
        tail_file_check(f);
        return;
    }
    if (f)
        tail_file_rotate(f, "replaced by a new file at its path");

    struct tail_file *known = tail_file_by_inode(t, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
    if (known && known->rotated) {
        tail_file_adopt(known, path); /* renamed to a name the globs match too */
        known->seen = true;
        return;
    }
    if (known)
        return; /* the same file under two matched names: followed once */
    if (tail_ignore_skip(t, path, &st))
        return;
    uint64_t new_data;
    /* Only the files there at the very first start may be read from the end;
     * any other new file appeared while skiff was running or stopped. */
    bool from_head = t->first_scan_done || !t->first_start || t->opts->read_from_head;
    if (tail_ignore_resume_at(t, &st, &new_data))
        f = tail_file_open_from(t, path, new_data);
    else
        f = tail_file_open(t, path, from_head);
    if (f)
        f->seen = true;
}

/* The '}' that closes the '{' at `open`, or NULL. */
static const char *tail_brace_end(const char *open)
{
    int depth = 0;
    for (const char *p = open; *p; p++) {
        if (*p == '\\' && p[1])
            p++;
        else if (*p == '{')
            depth++;
        else if (*p == '}' && --depth == 0)
            return p;
    }
    return NULL;
}

/* fnmatch(3) with glob(3)'s GLOB_BRACE: `a{b,c}d` matches what `abd` or
 * `acd` does. Alternatives may nest; a '{' without its '}' is a literal. */
bool tail_glob_match(const char *pattern, const char *path)
{
    const char *open = strchr(pattern, '{');
    const char *close = open ? tail_brace_end(open) : NULL;
    if (!close)
        return fnmatch(pattern, path, FNM_PATHNAME | FNM_PERIOD) == 0;
    size_t head = (size_t)(open - pattern);
    const char *alt = open + 1;
    int depth = 0;
    for (const char *p = alt;; p++) {
        if (*p == '{')
            depth++;
        else if (*p == '}' && p != close)
            depth--;
        if ((p == close || (*p == ',' && depth == 0))) {
            char *one = xasprintf("%.*s%.*s%s", (int)head, pattern, (int)(p - alt), alt, close + 1);
            bool matched = tail_glob_match(one, path);
            free(one);
            if (matched)
                return true;
            if (p == close)
                return false;
            alt = p + 1;
        }
    }
}

/* Whether `path` is one the globs match (and no exclude does). */
bool tail_path_matched(const struct tail *t, const char *path)
{
    for (size_t i = 0; i < t->opts->path.count; i++) {
        if (tail_glob_match(t->opts->path.items[i], path))
            return !tail_excluded(t, path);
    }
    return false;
}

/* A folder event named `path` as created or moved in: a matched file is
 * opened at once, before it can be rotated away. */
void tail_found(struct tail *t, const char *path)
{
    if (tail_path_matched(t, path))
        tail_scan_path(t, path);
}

/* A file renamed from `from` to `to` within the watched folders. If `from`
 * was matched, the file is followed wherever it went: under `to` when that is
 * matched too, else drained as rotated; one renamed away before it was ever
 * opened is opened now and read whole. */
void tail_found_moved(struct tail *t, const char *from, const char *to)
{
    struct stat st;
    if (!tail_path_matched(t, from) || stat(to, &st) < 0 || !S_ISREG(st.st_mode)) {
        tail_found(t, to);
        return;
    }
    struct tail_file *known = tail_file_by_inode(t, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
    if (known && !known->rotated && strcmp(known->path, from) == 0)
        tail_file_rotate(known, "renamed away");
    if (tail_path_matched(t, to)) {
        tail_found(t, to); /* adopts it under its new name */
        return;
    }
    if (!known)
        tail_file_open_moved(t, from, to);
}

static struct tail *glob_error_tail; /* glob(3) gives its callback no context */

static int tail_glob_error(const char *path, int error)
{
    tail_report_once(glob_error_tail, path, "cannot list folder: %s", strerror(error));
    return 0; /* go on with the rest */
}

static void tail_scan_glob(struct tail *t, const char *pattern)
{
    glob_t matches;
    glob_error_tail = t;
    int rc = glob(pattern, GLOB_BRACE, tail_glob_error, &matches);
    tail_watch_glob_base(t, pattern);
    if (rc == 0) {
        for (size_t i = 0; i < matches.gl_pathc; i++)
            tail_scan_path(t, matches.gl_pathv[i]);
    } else if (rc == GLOB_NOSPACE) {
        log_error(t->in->alias, "%s: out of memory expanding the glob", pattern);
    }
    globfree(&matches);
}

/* Files whose path the globs no longer match were renamed away or deleted:
 * drain them. */
static void tail_sweep_unseen(struct tail *t)
{
    size_t bucket = 0;
    struct hmap_node *node = hmap_next(&t->by_path, &bucket, NULL);
    while (node) {
        struct hmap_node *next = hmap_next(&t->by_path, &bucket, node);
        struct tail_file *f = hmap_entry(node, struct tail_file, by_path);
        if (!f->seen)
            tail_file_rotate(f, "no longer at its path (renamed away or deleted)");
        node = next;
    }
}

void tail_rescan(struct tail *t)
{
    size_t bucket = 0;
    for (struct hmap_node *n = hmap_next(&t->by_path, &bucket, NULL); n;
         n = hmap_next(&t->by_path, &bucket, n))
        hmap_entry(n, struct tail_file, by_path)->seen = false;

    tail_watch_dirs_begin(t);
    tail_ignore_begin(t);
    for (size_t i = 0; i < t->opts->path.count; i++)
        tail_scan_glob(t, t->opts->path.items[i]);
    tail_sweep_unseen(t);
    tail_ignore_end(t, false);
    tail_watch_dirs_end(t);
}

static void tail_on_rescan_soon(struct loop *loop, struct loop_timer *timer, void *data)
{
    struct tail *t = data;
    t->rescan_soon_timer = NULL; /* one-shot */
    tail_rescan(t);
}

void tail_rescan_soon(struct tail *t)
{
    if (!t->rescan_soon_timer && !t->stopped)
        t->rescan_soon_timer =
            loop_add_timer(t->in->loop, RESCAN_SOON_MS, 0, tail_on_rescan_soon, t);
}
