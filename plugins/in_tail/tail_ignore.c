/* Files the globs match but the tail input leaves alone: compressed files
 * (rotated logs that logrotate or the kubelet compressed; read as text they
 * would be binary garbage), and with `ignore_older`, files not modified for
 * that long. An ignored file's size is remembered, so that when it is written
 * again it is followed from the start of the new data. Not for excludes:
 * those are the user's globs (tail_scan.c). */
#include "tail.h"

#include "log.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct tail_ignored {
    struct hmap_node node;
    uint64_t dev;
    uint64_t ino;
    uint64_t size; /* when it was last found too old */
    bool seen;     /* by the current rescan */
};

static const char *const compressed_suffixes[] = {".gz", ".bz2", ".xz", ".zst"};

static bool tail_compressed_name(const char *path)
{
    size_t len = strlen(path);
    for (size_t i = 0; i < sizeof compressed_suffixes / sizeof compressed_suffixes[0]; i++) {
        size_t n = strlen(compressed_suffixes[i]);
        if (len > n && strcasecmp(path + len - n, compressed_suffixes[i]) == 0)
            return true;
    }
    return false;
}

static uint64_t tail_ignored_hash(uint64_t dev, uint64_t ino)
{
    return hash_u64(dev * 0x9e3779b97f4a7c15ull ^ ino);
}

static struct tail_ignored *tail_ignored_find(struct tail *t, const struct stat *st)
{
    uint64_t dev = (uint64_t)st->st_dev, ino = (uint64_t)st->st_ino;
    for (struct hmap_node *n = hmap_find(&t->ignored, tail_ignored_hash(dev, ino)); n;
         n = hmap_find_next(n)) {
        struct tail_ignored *ig = hmap_entry(n, struct tail_ignored, node);
        if (ig->dev == dev && ig->ino == ino)
            return ig;
    }
    return NULL;
}

static void tail_ignored_remember(struct tail *t, const char *path, const struct stat *st)
{
    struct tail_ignored *ig = tail_ignored_find(t, st);
    if (!ig) {
        ig = xcalloc(1, sizeof *ig);
        ig->dev = (uint64_t)st->st_dev;
        ig->ino = (uint64_t)st->st_ino;
        hmap_insert(&t->ignored, &ig->node, tail_ignored_hash(ig->dev, ig->ino));
        metric_add(t->metrics.files_ignored, 1);
        log_debug(t->in->alias, "%s: not modified for longer than ignore_older; not read", path);
    }
    ig->size = (uint64_t)st->st_size;
    ig->seen = true;
}

static bool tail_too_old(const struct tail *t, const struct stat *st)
{
    if (t->opts->ignore_older_ms <= 0)
        return false;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t age_ms = ((int64_t)now.tv_sec - (int64_t)st->st_mtim.tv_sec) * 1000 +
                     ((int64_t)now.tv_nsec - (int64_t)st->st_mtim.tv_nsec) / 1000000;
    return age_ms > t->opts->ignore_older_ms;
}

bool tail_ignore_skip(struct tail *t, const char *path, const struct stat *st)
{
    if (tail_compressed_name(path)) {
        if (tail_report_once(t, path,
                             "compressed; skipped (add it to `exclude` to silence this; "
                             "counted in skiff_tail_files_skipped_total{reason=\"compressed\"})"))
            metric_add(t->metrics.files_compressed, 1);
        return true;
    }
    if (!tail_too_old(t, st))
        return false;
    tail_ignored_remember(t, path, st);
    return true;
}

bool tail_ignore_resume_at(struct tail *t, const struct stat *st, uint64_t *offset)
{
    struct tail_ignored *ig = tail_ignored_find(t, st);
    if (!ig)
        return false;
    *offset = ig->size <= (uint64_t)st->st_size ? ig->size : 0; /* shrank: all of it is new */
    hmap_remove(&t->ignored, &ig->node);
    free(ig);
    return true;
}

void tail_ignore_begin(struct tail *t)
{
    size_t bucket = 0;
    for (struct hmap_node *n = hmap_next(&t->ignored, &bucket, NULL); n;
         n = hmap_next(&t->ignored, &bucket, n))
        hmap_entry(n, struct tail_ignored, node)->seen = false;
}

/* Forgets the ignored files the rescan did not find again (`all`: every one). */
void tail_ignore_end(struct tail *t, bool all)
{
    size_t bucket = 0;
    struct hmap_node *node = hmap_next(&t->ignored, &bucket, NULL);
    while (node) {
        struct hmap_node *next = hmap_next(&t->ignored, &bucket, node);
        struct tail_ignored *ig = hmap_entry(node, struct tail_ignored, node);
        if (all || !ig->seen) {
            hmap_remove(&t->ignored, &ig->node);
            free(ig);
        }
        node = next;
    }
}
