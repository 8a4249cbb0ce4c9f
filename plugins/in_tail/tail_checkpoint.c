/* The tail input's checkpoint store (see tail_checkpoint.h): entries in a
 * hash table keyed by (dev, ino), and the atomic save and load. The file format is in
 * tail_checkpoint_format.c. Not for deciding what to checkpoint. */
#include "tail_checkpoint.h"

#include "hmap.h"
#include "log.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

struct checkpoint_node {
    struct hmap_node by_id;
    struct checkpoint_entry entry;
};

struct checkpoint_store {
    char *path;
    char *tmp_path;
    char *folder; /* fsynced after the rename */
    struct hmap entries;
    bool dirty;
    bool existed; /* a checkpoint file was there when the store was opened */
};

static uint64_t checkpoint_hash(uint64_t dev, uint64_t ino)
{
    return hash_u64(ino ^ (dev * 0x9e3779b97f4a7c15ull));
}

static struct checkpoint_node *checkpoint_store_node(const struct checkpoint_store *store,
                                                     uint64_t dev, uint64_t ino)
{
    for (struct hmap_node *n = hmap_find(&store->entries, checkpoint_hash(dev, ino)); n;
         n = hmap_find_next(n)) {
        struct checkpoint_node *node = hmap_entry(n, struct checkpoint_node, by_id);
        if (node->entry.id.dev == dev && node->entry.id.ino == ino)
            return node;
    }
    return NULL;
}

/* Adds an entry known to be absent, taking ownership of its path. */
static void checkpoint_store_insert(struct checkpoint_store *store,
                                    const struct checkpoint_entry *entry)
{
    struct checkpoint_node *node = xmalloc(sizeof *node);
    node->entry = *entry;
    hmap_insert(&store->entries, &node->by_id, checkpoint_hash(entry->id.dev, entry->id.ino));
}

static void checkpoint_node_free(struct checkpoint_store *store, struct checkpoint_node *node)
{
    hmap_remove(&store->entries, &node->by_id);
    free(node->entry.path);
    free(node);
}

const struct checkpoint_entry *checkpoint_store_find(const struct checkpoint_store *store,
                                                     uint64_t dev, uint64_t ino)
{
    struct checkpoint_node *node = checkpoint_store_node(store, dev, ino);
    return node ? &node->entry : NULL;
}

static bool checkpoint_entry_same(const struct checkpoint_entry *e, const struct tail_identity *id,
                                  const char *path, uint64_t offset)
{
    return e->id.fp_len == id->fp_len && e->id.fp_crc == id->fp_crc && e->offset == offset &&
           strcmp(e->path, path) == 0;
}

void checkpoint_store_set(struct checkpoint_store *store, const struct tail_identity *id,
                          const char *path, uint64_t offset)
{
    struct checkpoint_node *node = checkpoint_store_node(store, id->dev, id->ino);
    if (!node) {
        struct checkpoint_entry entry = {*id, offset, xstrdup(path)};
        checkpoint_store_insert(store, &entry);
        store->dirty = true;
        return;
    }
    if (checkpoint_entry_same(&node->entry, id, path, offset))
        return;
    node->entry.id = *id;
    node->entry.offset = offset;
    if (strcmp(node->entry.path, path) != 0) {
        free(node->entry.path);
        node->entry.path = xstrdup(path);
    }
    store->dirty = true;
}

void checkpoint_store_remove(struct checkpoint_store *store, uint64_t dev, uint64_t ino)
{
    struct checkpoint_node *node = checkpoint_store_node(store, dev, ino);
    if (!node)
        return;
    checkpoint_node_free(store, node);
    store->dirty = true;
}

void checkpoint_store_retain(struct checkpoint_store *store,
                             bool (*keep)(const struct checkpoint_entry *entry, void *data),
                             void *data)
{
    size_t bucket = 0;
    struct hmap_node *n = hmap_next(&store->entries, &bucket, NULL);
    while (n) {
        struct hmap_node *next = hmap_next(&store->entries, &bucket, n);
        struct checkpoint_node *node = hmap_entry(n, struct checkpoint_node, by_id);
        if (!keep(&node->entry, data)) {
            checkpoint_node_free(store, node);
            store->dirty = true;
        }
        n = next;
    }
}

size_t checkpoint_store_count(const struct checkpoint_store *store)
{
    return store->entries.count;
}

bool checkpoint_store_existed(const struct checkpoint_store *store)
{
    return store->existed;
}

bool checkpoint_store_dirty(const struct checkpoint_store *store)
{
    return store->dirty;
}

/* ---- saving ---- */

static int checkpoint_entry_compare(const void *a, const void *b)
{
    const struct checkpoint_entry *x = a, *y = b;
    return checkpoint_compare_ids(x->id.dev, x->id.ino, y->id.dev, y->id.ino);
}

/* Shallow copies of the entries, sorted by (dev, ino) so that the saved file
 * changes only where the entries did. */
static struct checkpoint_entry *checkpoint_store_sorted(const struct checkpoint_store *store)
{
    struct checkpoint_entry *sorted = xmalloc(store->entries.count * sizeof *sorted);
    size_t n = 0, bucket = 0;
    for (struct hmap_node *node = hmap_next(&store->entries, &bucket, NULL); node;
         node = hmap_next(&store->entries, &bucket, node))
        sorted[n++] = hmap_entry(node, struct checkpoint_node, by_id)->entry;
    qsort(sorted, n, sizeof *sorted, checkpoint_entry_compare);
    return sorted;
}

static int checkpoint_save_failed(const struct checkpoint_store *store, const char *step)
{
    log_error("tail", "%s: %s: %s (checkpoints stay in memory; will retry)", store->path, step,
              strerror(errno));
    return -1;
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Writes, syncs and closes fd; returns the step that failed (errno set), or
 * NULL. */
static const char *write_sync_close(int fd, const char *data, size_t len)
{
    const char *step = NULL;
    if (write_all(fd, data, len) < 0)
        step = "write temporary file";
    else if (fsync(fd) < 0)
        step = "fsync temporary file";
    int saved = errno;
    if (close(fd) < 0 && !step)
        return "close temporary file";
    errno = saved;
    return step;
}

static int checkpoint_store_sync_folder(const struct checkpoint_store *store)
{
    int fd = open(store->folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return checkpoint_save_failed(store, "open folder");
    if (fsync(fd) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return checkpoint_save_failed(store, "fsync folder");
    }
    close(fd);
    return 0;
}

static int checkpoint_store_replace(const struct checkpoint_store *store, const char *data,
                                    size_t len)
{
    int fd = open(store->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return checkpoint_save_failed(store, "open temporary file");
    const char *step = write_sync_close(fd, data, len);
    if (!step && rename(store->tmp_path, store->path) < 0)
        step = "rename temporary file";
    if (step) {
        int saved = errno;
        unlink(store->tmp_path);
        errno = saved;
        return checkpoint_save_failed(store, step);
    }
    return checkpoint_store_sync_folder(store);
}

int checkpoint_store_save(struct checkpoint_store *store)
{
    if (!store->dirty)
        return 0;
    struct checkpoint_entry *sorted = checkpoint_store_sorted(store);
    struct buf out = BUF_INIT;
    checkpoint_encode(sorted, store->entries.count, &out);
    free(sorted);
    int rc = checkpoint_store_replace(store, out.data, out.len);
    buf_free(&out);
    if (rc == 0)
        store->dirty = false;
    return rc;
}

/* ---- opening ---- */

static char *folder_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return xstrdup(".");
    return xstrndup(path, slash == path ? 1 : (size_t)(slash - path));
}

/* mkdir -p of the store's folder. */
static int checkpoint_store_make_folders(const struct checkpoint_store *store, char **error)
{
    char *dir = xstrdup(store->folder);
    int rc = 0;
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char end = *p;
        *p = '\0';
        if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
            *error =
                xasprintf("%s: cannot create folder %s: %s", store->path, dir, strerror(errno));
            rc = -1;
        }
        *p = end;
        if (end == '\0' || rc < 0)
            break;
    }
    free(dir);
    return rc;
}

/* Reads the whole file into out: 1 if read, 0 if missing, -1 on error. */
static int read_whole_file(const char *path, struct buf *out, char **error)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return 0;
    if (fd < 0) {
        *error = xasprintf("%s: open: %s", path, strerror(errno));
        return -1;
    }
    for (;;) {
        buf_reserve(out, 65536);
        ssize_t n = read(fd, out->data + out->len, out->cap - out->len);
        if (n == 0)
            break;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            *error = xasprintf("%s: read: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        out->len += (size_t)n;
    }
    close(fd);
    return 1;
}

/* Moves an undecodable file aside, so that it can be looked at and is not
 * overwritten by the next save. */
static void checkpoint_store_quarantine(const struct checkpoint_store *store, const char *reason)
{
    char *corrupt = xasprintf("%s.corrupt", store->path);
    if (rename(store->path, corrupt) == 0)
        log_warn("tail", "%s: %s; renamed to %s, starting without checkpoints", store->path, reason,
                 corrupt);
    else
        log_warn("tail", "%s: %s; starting without checkpoints (rename to %s: %s)", store->path,
                 reason, corrupt, strerror(errno));
    free(corrupt);
}

static int checkpoint_store_load(struct checkpoint_store *store, char **error)
{
    struct buf content = BUF_INIT;
    int found = read_whole_file(store->path, &content, error);
    /* A store with no file yet is saved at the first chance, so that the next
     * start knows it is not the first. */
    store->existed = found > 0;
    store->dirty = found == 0;
    if (found <= 0) {
        buf_free(&content);
        return found;
    }
    struct checkpoint_entry *entries;
    size_t count;
    char *reason;
    if (checkpoint_decode(content.data, content.len, &entries, &count, &reason) < 0) {
        checkpoint_store_quarantine(store, reason);
        free(reason);
    } else {
        for (size_t i = 0; i < count; i++)
            checkpoint_store_insert(store, &entries[i]);
        free(entries);
    }
    buf_free(&content);
    return 0;
}

struct checkpoint_store *checkpoint_store_open(const char *path, char **error)
{
    struct checkpoint_store *store = xcalloc(1, sizeof *store);
    store->path = xstrdup(path);
    store->tmp_path = xasprintf("%s.tmp", path);
    store->folder = folder_of(path);
    if (checkpoint_store_make_folders(store, error) < 0 ||
        checkpoint_store_load(store, error) < 0) {
        checkpoint_store_close(store);
        return NULL;
    }
    return store;
}

void checkpoint_store_close(struct checkpoint_store *store)
{
    if (!store)
        return;
    size_t bucket = 0;
    struct hmap_node *n = hmap_next(&store->entries, &bucket, NULL);
    while (n) {
        struct hmap_node *next = hmap_next(&store->entries, &bucket, n);
        checkpoint_node_free(store, hmap_entry(n, struct checkpoint_node, by_id));
        n = next;
    }
    hmap_free(&store->entries);
    free(store->path);
    free(store->tmp_path);
    free(store->folder);
    free(store);
}
