/* The tail input's checkpoint store (see tail_checkpoint.h): entries in a
 * hash table keyed by (dev, ino), and the atomic save and load. The file format is in
 * tail_checkpoint_format.c. Not for deciding what to checkpoint. */
#include "tail_checkpoint.h"

#include "durable_file.h"
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
    struct hmap entries;
    bool dirty;
    bool existed; /* a checkpoint file was there when the store was opened */
    void (*on_dirty)(void *data);
    void *on_dirty_data;
};

/* Marks the store changed, telling on_dirty when it was clean. */
static void checkpoint_store_touch(struct checkpoint_store *store)
{
    bool was_dirty = store->dirty;
    store->dirty = true;
    if (!was_dirty && store->on_dirty)
        store->on_dirty(store->on_dirty_data);
}

void checkpoint_store_on_dirty(struct checkpoint_store *store, void (*on_dirty)(void *data),
                               void *data)
{
    store->on_dirty = on_dirty;
    store->on_dirty_data = data;
}

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
        checkpoint_store_touch(store);
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
    checkpoint_store_touch(store);
}

void checkpoint_store_remove(struct checkpoint_store *store, uint64_t dev, uint64_t ino)
{
    struct checkpoint_node *node = checkpoint_store_node(store, dev, ino);
    if (!node)
        return;
    checkpoint_node_free(store, node);
    checkpoint_store_touch(store);
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
            checkpoint_store_touch(store);
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

static int checkpoint_store_replace(const struct checkpoint_store *store, const char *data,
                                    size_t len)
{
    char *error = NULL;
    struct iovec piece = {(void *)data, len};
    if (durable_file_replace(store->path, &piece, 1, true, &error) == 0)
        return 0;
    log_error("tail", "%s (checkpoints stay in memory; will retry)", error);
    free(error);
    return -1;
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

static int checkpoint_store_make_folders(const struct checkpoint_store *store, char **error)
{
    char *failed = NULL;
    char *folder = xstrdup(store->path);
    char *slash = strrchr(folder, '/');
    int rc = 0;
    if (slash && slash != folder) {
        *slash = '\0';
        rc = durable_file_make_folders(folder, &failed);
    }
    if (rc < 0) {
        *error = xasprintf("%s: cannot create folder %s: %s", store->path, failed, strerror(errno));
        free(failed);
    }
    free(folder);
    return rc;
}

/* Reads the whole file into out: 1 if read, 0 if missing, -1 on error. */
static int read_whole_file(const char *path, struct buf *out, char **error)
{
    int found = durable_file_read(path, out);
    if (found < 0)
        *error = xasprintf("%s: read: %s", path, strerror(errno));
    return found;
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
    free(store);
}
