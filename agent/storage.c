/* Chunk files on disk for the pipeline (see storage.h): packs of the chunks
 * sealed together, which chunk is in which pack and where, the done marks
 * and reroutes written into them (batched per pack), and each pack's removal
 * once its last chunk is released. */
#include "storage.h"

#include "durable_file.h"
#include "storage_internal.h"
#include "log.h"
#include "metrics.h"
#include "xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void storage_update_gauges(struct storage *storage)
{
    metric_set(storage->disk_bytes_gauge, (int64_t)storage->disk_bytes);
    metric_set(storage->disk_chunks_gauge, (int64_t)storage->disk_chunks);
}

/* A crash between writing PATH.tmp and renaming it leaves the .tmp behind; its
 * chunks were never acknowledged, so the input reads those records again. */
static void storage_remove_temporaries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    unsigned removed = 0;
    struct dirent *entry;
    while ((entry = readdir(d))) {
        size_t len = strlen(entry->d_name);
        if (len > 4 && strcmp(entry->d_name + len - 4, ".tmp") == 0 &&
            unlinkat(dirfd(d), entry->d_name, 0) == 0)
            removed++;
    }
    closedir(d);
    if (removed)
        log_info("storage", "removed %u unfinished chunk files (.tmp) left in %s by a crash",
                 removed, dir);
}

static void storage_make_metrics(struct storage *storage)
{
    storage->disk_bytes_gauge = metrics_gauge("skiff_storage_disk_bytes",
                                              "Bytes of chunk files under state_dir/chunks", "");
    storage->disk_chunks_gauge = metrics_gauge(
        "skiff_storage_disk_chunks", "Chunks held in chunk files under state_dir/chunks", "");
    storage->files_written =
        metrics_counter("skiff_storage_files_written_total",
                        "Chunk files written (a pack of the chunks sealed together)", "");
    storage->write_errors =
        metrics_counter("skiff_storage_write_errors_total",
                        "Chunks that could not be written to disk and stayed in memory only", "");
    storage->corrupt_chunks =
        metrics_counter("skiff_storage_corrupt_chunks_total",
                        "Chunk files found damaged and moved to corrupt/", "");
    storage->replayed_chunks = metrics_counter("skiff_storage_replayed_chunks_total",
                                               "Chunks read back at start to be delivered", "");
    storage->loads = metrics_counter("skiff_storage_loads_total",
                                     "Chunks read back from disk to be delivered", "");
}

struct storage *storage_open(const char *state_dir, const struct storage_config *config)
{
    struct storage *storage = xcalloc(1, sizeof *storage);
    storage->chunks_dir = xasprintf("%s/chunks", state_dir);
    storage->corrupt_dir = xasprintf("%s/corrupt", state_dir);
    storage_configure(storage, config);

    char *failed = NULL;
    if (durable_file_make_folders(storage->chunks_dir, &failed) < 0) {
        log_error("storage",
                  "cannot create the chunk folder %s: %s: %s; check service.state_dir and "
                  "its permissions",
                  storage->chunks_dir, failed, strerror(errno));
        free(failed);
        storage_close(storage);
        return NULL;
    }
    storage_remove_temporaries(storage->chunks_dir);
    storage_make_metrics(storage);
    return storage;
}

static void pack_drop_updates(struct pack *pack)
{
    for (size_t i = 0; i < pack->update_count; i++) {
        struct pack_update *u = &pack->updates[i];
        free(u->output);
        for (size_t j = 0; j < u->output_count; j++)
            free(u->outputs[j]);
        free(u->outputs);
    }
    pack->update_count = 0;
}

static void pack_free(struct pack *pack)
{
    pack_drop_updates(pack);
    free(pack->updates);
    free(pack->members);
    free(pack);
}

void storage_close(struct storage *storage)
{
    if (!storage)
        return;
    /* Packs still on disk stay there for the next start. */
    size_t bucket = 0;
    struct hmap_node *node = hmap_next(&storage->members, &bucket, NULL);
    while (node) {
        struct hmap_node *next = hmap_next(&storage->members, &bucket, node);
        struct pack_member *m = hmap_entry(node, struct pack_member, node);
        hmap_remove(&storage->members, node);
        if (--m->pack->live == 0)
            pack_free(m->pack);
        node = next;
    }
    hmap_free(&storage->members);
    free(storage->chunks_dir);
    free(storage->corrupt_dir);
    free(storage);
}

void storage_configure(struct storage *storage, const struct storage_config *config)
{
    storage->max_bytes = (uint64_t)config->max_size;
    storage->sync = strcmp(config->sync, "full") == 0;
}

uint64_t storage_disk_bytes(const struct storage *storage)
{
    return storage->disk_bytes;
}

bool storage_full(const struct storage *storage)
{
    return storage->disk_bytes >= storage->max_bytes;
}

/* ---- which pack holds a chunk ---- */

static struct pack_member *storage_member(const struct storage *storage, uint64_t chunk_id)
{
    for (struct hmap_node *n = hmap_find(&storage->members, hash_u64(chunk_id)); n;
         n = hmap_find_next(n)) {
        struct pack_member *m = hmap_entry(n, struct pack_member, node);
        if (m->chunk_id == chunk_id)
            return m;
    }
    return NULL;
}

/* See storage_internal.h. */
void storage_add_pack(struct storage *storage, uint64_t file_id,
                      const struct chunk_file_entry *entries, size_t count)
{
    struct pack *pack = xcalloc(1, sizeof *pack);
    pack->file_id = file_id;
    pack->members = xcalloc(count, sizeof *pack->members);
    pack->count = pack->live = count;
    for (size_t i = 0; i < count; i++) {
        struct pack_member *m = &pack->members[i];
        struct chunk *chunk = entries[i].chunk;
        *m = (struct pack_member){.chunk_id = chunk->id, .pack = pack, .live = true};
        m->offset = entries[i].offset;
        m->length = entries[i].length;
        pack->bytes += m->length;
        hmap_insert(&storage->members, &m->node, hash_u64(chunk->id));
        chunk->file_bytes = m->length;
        chunk->persisted = true;
    }
    /* The header and trailer (a version 1 file's section is all of it). */
    if (count > 0 && entries[0].offset > 0)
        pack->bytes += CHUNK_FILE_HEADER_LEN + CHUNK_FILE_TRAILER_LEN;
    storage->disk_bytes += pack->bytes;
    storage->disk_chunks += count;
    storage_update_gauges(storage);
}

static char *storage_pack_path(const struct storage *storage, const struct pack *pack)
{
    return xasprintf("%s/%" PRIu64 ".chunk", storage->chunks_dir, pack->file_id);
}

static void storage_undirty(struct storage *storage, struct pack *pack)
{
    for (struct pack **at = &storage->dirty; *at; at = &(*at)->next_dirty) {
        if (*at == pack) {
            *at = pack->next_dirty;
            break;
        }
    }
    pack->dirty = false;
}

/* Its last chunk is released: the file goes (to corrupt/ if it was found
 * damaged). The folder is not fsynced: a removal lost in a crash only means
 * the chunks are sent again. */
static void storage_drop_pack(struct storage *storage, struct pack *pack)
{
    char *path = storage_pack_path(storage, pack);
    char *error = NULL;
    if (pack->damaged) {
        if (chunk_file_quarantine(path, storage->corrupt_dir, &error) < 0)
            log_error("storage", "%s", error);
    } else if (unlink(path) < 0 && errno != ENOENT) {
        log_warn("storage", "cannot remove chunk file %s: %s", path, strerror(errno));
    }
    free(error);
    free(path);
    if (pack->dirty)
        storage_undirty(storage, pack);
    storage->disk_bytes -= pack->bytes < storage->disk_bytes ? pack->bytes : storage->disk_bytes;
    storage_update_gauges(storage);
    pack_free(pack);
}

/* The chunk's records are no longer needed from its file. */
static void storage_forget(struct storage *storage, struct chunk *chunk)
{
    struct pack_member *m = chunk->persisted ? storage_member(storage, chunk->id) : NULL;
    chunk->persisted = false;
    if (!m)
        return;
    hmap_remove(&storage->members, &m->node);
    m->live = false;
    storage->disk_chunks--;
    storage_update_gauges(storage);
    if (--m->pack->live == 0)
        storage_drop_pack(storage, m->pack);
}

void storage_remove(struct storage *storage, struct chunk *chunk)
{
    storage_forget(storage, chunk);
}

/* ---- writing packs ---- */

static bool storage_has_room(struct storage *storage, uint64_t bytes)
{
    if (storage->disk_bytes + bytes <= storage->max_bytes) {
        storage->warned_full = false;
        return true;
    }
    if (!storage->warned_full)
        log_warn("storage",
                 "the disk buffer is full (%" PRIu64 " of %" PRIu64 " bytes in %s); inputs "
                 "pause until outputs deliver (service.storage.max_size)",
                 storage->disk_bytes, storage->max_bytes, storage->chunks_dir);
    storage->warned_full = true;
    return false;
}

static void storage_note_write_error(struct storage *storage, char *error, size_t chunks)
{
    int err = errno;
    metric_add(storage->write_errors, (int64_t)chunks);
    if (err != storage->write_errno)
        log_error("storage",
                  "%s; chunks stay in memory only (inputs pause at buffer_limit) until "
                  "writes to %s succeed again",
                  error, storage->chunks_dir);
    free(error);
    storage->write_errno = err;
}

/* A pack is named after its lowest chunk id whose name is free. Taken only
 * when a chunk is written again after its pack was found damaged (that pack
 * waits for its other chunks under the chunk's id). */
static bool storage_pick_name(const struct storage *storage, const struct chunk_file_entry *entries,
                              size_t count, uint64_t *file_id)
{
    uint64_t taken = 0; /* the last id tried */
    for (size_t tries = 0; tries < count; tries++) {
        uint64_t best = UINT64_MAX;
        for (size_t i = 0; i < count; i++) {
            uint64_t id = entries[i].chunk->id;
            if ((tries == 0 || id > taken) && id < best)
                best = id;
        }
        *file_id = taken = best;
        char *path = xasprintf("%s/%" PRIu64 ".chunk", storage->chunks_dir, best);
        bool free_name = access(path, F_OK) != 0;
        free(path);
        if (free_name)
            return true;
    }
    return false;
}

size_t storage_persist_pack(struct storage *storage, struct chunk_file_entry *entries, size_t count)
{
    size_t fit = 0;
    uint64_t bytes = 0;
    while (fit < count && storage_has_room(storage, bytes + entries[fit].chunk->bytes))
        bytes += entries[fit++].chunk->bytes;
    if (fit == 0)
        return 0;
    char *error = NULL;
    uint64_t file_id;
    if (!storage_pick_name(storage, entries, fit, &file_id)) {
        errno = EEXIST;
        error = xasprintf("%s/%" PRIu64 ".chunk: the files named after each of %zu chunks exist",
                          storage->chunks_dir, file_id, fit);
        storage_note_write_error(storage, error, fit);
        return 0;
    }
    if (chunk_file_write_pack(storage->chunks_dir, file_id, entries, fit, storage->sync, &error) <
        0) {
        storage_note_write_error(storage, error, fit);
        return 0;
    }
    if (storage->write_errno)
        log_info("storage", "chunk files are written to %s again", storage->chunks_dir);
    storage->write_errno = 0;
    metric_add(storage->files_written, 1);
    storage_add_pack(storage, file_id, entries, fit);
    return fit;
}

int storage_persist(struct storage *storage, struct chunk *chunk, const char *input_alias,
                    const char *const *outputs, size_t output_count)
{
    bool done[CHUNK_FILE_MAX_OUTPUTS] = {false};
    struct chunk_file_entry entry = {
        .chunk = chunk,
        .info = {(char *)input_alias, (char **)outputs, done, output_count},
    };
    return storage_persist_pack(storage, &entry, 1) == 1 ? 0 : -1;
}

/* ---- done marks and reroutes ---- */

static void storage_queue(struct storage *storage, struct chunk *chunk, struct pack_update update);

void storage_mark_done(struct storage *storage, struct chunk *chunk, const char *output)
{
    storage_queue(storage, chunk, (struct pack_update){.output = xstrdup(output)});
}

void storage_set_outputs(struct storage *storage, struct chunk *chunk, const char *const *outputs,
                         size_t output_count)
{
    struct pack_update u = {.outputs = xcalloc(output_count + 1, sizeof *u.outputs),
                            .output_count = output_count};
    for (size_t i = 0; i < output_count; i++)
        u.outputs[i] = xstrdup(outputs[i]);
    storage_queue(storage, chunk, u);
}

/* Applies `u` to the entry it is for. Returns false if the chunk is not
 * routed to the output it marks. */
static bool pack_apply(struct chunk_file_entry *entries, size_t count, const struct pack_update *u)
{
    for (size_t i = 0; i < count; i++) {
        struct chunk_file_info *info = &entries[i].info;
        if (entries[i].chunk->id != u->chunk_id)
            continue;
        if (!u->outputs) {
            for (size_t j = 0; j < info->output_count; j++) {
                if (strcmp(info->outputs[j], u->output) == 0)
                    return info->done[j] = true;
            }
            return false;
        }
        for (size_t j = 0; j < info->output_count; j++)
            free(info->outputs[j]);
        free(info->outputs);
        free(info->done);
        info->outputs = xcalloc(u->output_count + 1, sizeof *info->outputs);
        info->done = xcalloc(u->output_count + 1, sizeof *info->done);
        for (size_t j = 0; j < u->output_count; j++)
            info->outputs[j] = xstrdup(u->outputs[j]);
        info->output_count = u->output_count;
        return true;
    }
    return true; /* released meanwhile */
}

/* Keeps the entries of chunks not released yet; takes their new places. */
static size_t pack_keep_live(struct storage *storage, struct chunk_file_entry *entries,
                             size_t count)
{
    size_t kept = 0;
    for (size_t i = 0; i < count; i++) {
        struct pack_member *m = storage_member(storage, entries[i].chunk->id);
        if (!m) {
            chunk_free(entries[i].chunk);
            chunk_file_info_free(&entries[i].info);
            continue;
        }
        entries[kept++] = entries[i];
    }
    return kept;
}

static void pack_take_places(struct storage *storage, struct pack *pack,
                             const struct chunk_file_entry *entries, size_t count)
{
    uint64_t bytes = CHUNK_FILE_HEADER_LEN + CHUNK_FILE_TRAILER_LEN;
    for (size_t i = 0; i < count; i++) {
        struct pack_member *m = storage_member(storage, entries[i].chunk->id);
        m->offset = entries[i].offset;
        m->length = entries[i].length;
        bytes += m->length;
    }
    storage->disk_bytes = storage->disk_bytes - pack->bytes + bytes;
    pack->bytes = bytes;
    storage_update_gauges(storage);
}

/* Rewrites the pack with its waiting updates, leaving released chunks out. */
static void storage_write_updates(struct storage *storage, struct pack *pack)
{
    char *path = storage_pack_path(storage, pack), *error = NULL;
    struct chunk_file_entry *entries = NULL;
    size_t count = 0;
    bool damaged = false, routed = true;
    int rc = chunk_file_read_pack(path, &entries, &count, &damaged, &error);
    if (rc == 0 && damaged) {
        errno = EBADMSG;
        rc = -1; /* the message says what is damaged */
    }
    for (size_t i = 0; rc == 0 && i < pack->update_count; i++)
        routed &= pack_apply(entries, count, &pack->updates[i]);
    if (rc == 0) {
        count = pack_keep_live(storage, entries, count);
        rc = chunk_file_rewrite_pack(storage->chunks_dir, pack->file_id, entries, count,
                                     storage->sync, &error);
    }
    if (rc == 0)
        pack_take_places(storage, pack, entries, count);
    else
        log_warn("storage",
                 "%s; after a restart %zu chunks of it may be sent again to outputs that took "
                 "them, or to the outputs they went to before a reload",
                 error, pack->update_count);
    if (!routed)
        log_warn("storage", "%s: a done mark for an output a chunk is not routed to", path);
    chunk_file_entries_free(entries, count);
    pack_drop_updates(pack);
    free(error);
    free(path);
}

static void storage_queue(struct storage *storage, struct chunk *chunk, struct pack_update update)
{
    struct pack_member *m = chunk->persisted ? storage_member(storage, chunk->id) : NULL;
    update.chunk_id = chunk->id;
    if (!m) {
        struct pack tmp = {.updates = &update, .update_count = 1};
        pack_drop_updates(&tmp);
        return;
    }
    struct pack *pack = m->pack;
    pack->updates =
        xgrow(pack->updates, &pack->update_cap, pack->update_count + 1, sizeof *pack->updates);
    pack->updates[pack->update_count++] = update;
    if (!storage->batching) {
        storage_write_updates(storage, pack);
    } else if (!pack->dirty) {
        pack->dirty = true;
        pack->next_dirty = storage->dirty;
        storage->dirty = pack;
    }
}

void storage_begin_updates(struct storage *storage)
{
    storage->batching++;
}

void storage_end_updates(struct storage *storage)
{
    if (--storage->batching > 0)
        return;
    while (storage->dirty) {
        struct pack *pack = storage->dirty;
        storage->dirty = pack->next_dirty;
        pack->dirty = false;
        storage_write_updates(storage, pack);
    }
}

/* ---- eviction and loads ---- */

void storage_evict(struct storage *storage, struct chunk *chunk)
{
    (void)storage;
    if (chunk->persisted && !chunk->evicted)
        chunk_evict(chunk);
}

int storage_load(struct storage *storage, struct chunk *chunk)
{
    if (!chunk->evicted)
        return 0;
    struct pack_member *m = storage_member(storage, chunk->id);
    struct chunk *copy = NULL;
    bool damaged = false;
    char *error = NULL;
    int rc = -1;
    if (m)
        rc = chunk_file_read_section(storage->chunks_dir, m->pack->file_id, m->offset, m->length,
                                     chunk->id, &copy, &damaged, &error);
    else
        error = xasprintf("chunk %" PRIu64 " is in no chunk file", chunk->id);
    metric_add(storage->loads, 1);
    if (rc < 0 || damaged) {
        metric_add(storage->corrupt_chunks, 1);
        if (m && (damaged || errno == EBADMSG))
            m->pack->damaged = true;
        log_error("storage",
                  "%s; %u of its records are delivered (skiff_storage_corrupt_chunks_total), "
                  "and a damaged file goes to %s once its other chunks are delivered",
                  error, copy ? copy->record_count : 0, storage->corrupt_dir);
        storage_forget(storage, chunk); /* what was read is in memory only */
    }
    free(error);
    if (!copy) {
        chunk->evicted = false; /* nothing left to read: deliver nothing */
        chunk->record_count = 0;
        return -1;
    }
    chunk_restore(chunk, copy);
    return damaged ? -1 : 0;
}
