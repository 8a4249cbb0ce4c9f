/* Chunk files on disk for the pipeline (see storage.h). */
#include "storage.h"

#include "durable_file.h"
#include "log.h"
#include "metrics.h"
#include "xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct storage {
    char *chunks_dir;
    char *corrupt_dir;
    uint64_t max_bytes;
    bool sync;
    uint64_t disk_bytes;
    uint64_t disk_chunks;
    int write_errno;  /* errno of the last failed write, 0 after a success */
    bool warned_full; /* logged until space frees */

    struct metric *disk_bytes_gauge;
    struct metric *disk_chunks_gauge;
    struct metric *write_errors;
    struct metric *corrupt_chunks;
    struct metric *replayed_chunks;
    struct metric *loads;
};

static void storage_update_gauges(struct storage *storage)
{
    metric_set(storage->disk_bytes_gauge, (int64_t)storage->disk_bytes);
    metric_set(storage->disk_chunks_gauge, (int64_t)storage->disk_chunks);
}

/* A crash between writing PATH.tmp and renaming it leaves the .tmp behind; its
 * chunk was never acknowledged, so the input reads those records again. */
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

struct storage *storage_open(const char *state_dir, const struct storage_config *config)
{
    struct storage *storage = xcalloc(1, sizeof *storage);
    storage->chunks_dir = xasprintf("%s/chunks", state_dir);
    storage->corrupt_dir = xasprintf("%s/corrupt", state_dir);
    storage->max_bytes = (uint64_t)config->max_size;
    storage->sync = strcmp(config->sync, "full") == 0;

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

    storage->disk_bytes_gauge = metrics_gauge("skiff_storage_disk_bytes",
                                              "Bytes of chunk files under state_dir/chunks", "");
    storage->disk_chunks_gauge =
        metrics_gauge("skiff_storage_disk_chunks", "Chunk files under state_dir/chunks", "");
    storage->write_errors =
        metrics_counter("skiff_storage_write_errors_total",
                        "Chunks that could not be written to disk and stayed in memory only", "");
    storage->corrupt_chunks =
        metrics_counter("skiff_storage_corrupt_chunks_total",
                        "Chunk files found damaged and moved to corrupt/", "");
    storage->replayed_chunks =
        metrics_counter("skiff_storage_replayed_chunks_total",
                        "Chunk files read back at start to be delivered", "");
    storage->loads = metrics_counter("skiff_storage_loads_total",
                                     "Chunks read back from disk to be delivered", "");
    return storage;
}

void storage_close(struct storage *storage)
{
    if (!storage)
        return;
    free(storage->chunks_dir);
    free(storage->corrupt_dir);
    free(storage);
}

uint64_t storage_disk_bytes(const struct storage *storage)
{
    return storage->disk_bytes;
}

bool storage_full(const struct storage *storage)
{
    return storage->disk_bytes >= storage->max_bytes;
}

static uint64_t storage_file_size(const struct storage *storage, uint64_t id)
{
    char *path = xasprintf("%s/%" PRIu64 ".chunk", storage->chunks_dir, id);
    struct stat st;
    uint64_t size = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
    free(path);
    return size;
}

static void storage_account(struct storage *storage, struct chunk *chunk)
{
    chunk->file_bytes = storage_file_size(storage, chunk->id);
    chunk->persisted = true;
    storage->disk_bytes += chunk->file_bytes;
    storage->disk_chunks++;
    storage_update_gauges(storage);
}

static bool storage_has_room(struct storage *storage, const struct chunk *chunk)
{
    if (storage->disk_bytes + chunk->bytes <= storage->max_bytes) {
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

int storage_persist(struct storage *storage, struct chunk *chunk, const char *input_alias,
                    const char *const *outputs, size_t output_count)
{
    if (!storage_has_room(storage, chunk))
        return -1;
    bool done[CHUNK_FILE_MAX_OUTPUTS] = {false};
    char *error = NULL;
    if (chunk_file_write(storage->chunks_dir, chunk, input_alias, outputs, done, output_count,
                         storage->sync, &error) < 0) {
        int err = errno;
        metric_add(storage->write_errors, 1);
        if (err != storage->write_errno)
            log_error("storage",
                      "%s; chunks stay in memory only (inputs pause at buffer_limit) until "
                      "writes to %s succeed again",
                      error, storage->chunks_dir);
        free(error);
        storage->write_errno = err;
        return -1;
    }
    if (storage->write_errno)
        log_info("storage", "chunk files are written to %s again", storage->chunks_dir);
    storage->write_errno = 0;
    storage_account(storage, chunk);
    return 0;
}

void storage_configure(struct storage *storage, const struct storage_config *config)
{
    storage->max_bytes = (uint64_t)config->max_size;
    storage->sync = strcmp(config->sync, "full") == 0;
}

void storage_set_outputs(struct storage *storage, struct chunk *chunk, const char *const *outputs,
                         size_t output_count)
{
    char *error = NULL;
    if (chunk_file_set_outputs(storage->chunks_dir, chunk->id, outputs, output_count, storage->sync,
                               &error) < 0)
        log_warn("storage",
                 "%s; the chunk goes to the reloaded configuration's outputs, but after a "
                 "restart it would go to those it was routed to before",
                 error);
    free(error);
}

void storage_mark_done(struct storage *storage, struct chunk *chunk, const char *output)
{
    char *error = NULL;
    if (chunk_file_mark_done(storage->chunks_dir, chunk->id, output, storage->sync, &error) < 0)
        log_warn("storage", "%s; after a restart the chunk may be sent to %s again", error, output);
    free(error);
}

/* The chunk's file is gone (removed, or moved to corrupt/). */
static void storage_forget(struct storage *storage, struct chunk *chunk)
{
    if (!chunk->persisted)
        return;
    chunk->persisted = false;
    storage->disk_bytes -=
        chunk->file_bytes < storage->disk_bytes ? chunk->file_bytes : storage->disk_bytes;
    storage->disk_chunks--;
    storage_update_gauges(storage);
}

void storage_remove(struct storage *storage, struct chunk *chunk)
{
    if (!chunk->persisted)
        return;
    if (chunk_file_remove(storage->chunks_dir, chunk->id) < 0)
        log_warn("storage", "cannot remove chunk file %s/%" PRIu64 ".chunk: %s",
                 storage->chunks_dir, chunk->id, strerror(errno));
    storage_forget(storage, chunk);
}

void storage_evict(struct storage *storage, struct chunk *chunk)
{
    if (chunk->persisted && !chunk->evicted)
        chunk_evict(chunk);
}

/* Reads the chunk file at `path`. Returns the chunk (with what was intact) or
 * NULL; damaged or unreadable files are moved to corrupt/ and counted. */
static struct chunk *storage_read(struct storage *storage, const char *path,
                                  struct chunk_file_info *info, bool *damaged)
{
    char *error = NULL, *qerror = NULL;
    struct chunk *chunk = NULL;
    if (chunk_file_read(path, &chunk, info, damaged, &error) == 0 && !*damaged)
        return chunk;

    metric_add(storage->corrupt_chunks, 1);
    if (chunk_file_quarantine(path, storage->corrupt_dir, &qerror) < 0)
        log_error("storage", "%s; and it cannot be moved aside: %s", error, qerror);
    else if (chunk)
        log_error("storage",
                  "%s; moved to %s, and the %u records before the damage are delivered "
                  "(skiff_storage_corrupt_chunks_total)",
                  error, storage->corrupt_dir, chunk->record_count);
    else
        log_error("storage",
                  "%s; moved to %s, none of its records can be trusted "
                  "(skiff_storage_corrupt_chunks_total)",
                  error, storage->corrupt_dir);
    free(error);
    free(qerror);
    return chunk;
}

int storage_load(struct storage *storage, struct chunk *chunk)
{
    if (!chunk->evicted)
        return 0;
    char *path = xasprintf("%s/%" PRIu64 ".chunk", storage->chunks_dir, chunk->id);
    struct chunk_file_info info = {0};
    bool damaged = false;
    struct chunk *copy = storage_read(storage, path, &info, &damaged);
    free(path);
    chunk_file_info_free(&info);
    metric_add(storage->loads, 1);
    if (!copy || damaged)
        storage_forget(storage, chunk); /* quarantined: what was read is in memory only */
    if (!copy) {
        chunk->evicted = false; /* nothing left to read: deliver nothing */
        chunk->record_count = 0;
        return -1;
    }
    chunk_restore(chunk, copy);
    return damaged ? -1 : 0;
}

/* A damaged file that still held records is written again under its id, so a
 * crash before delivery does not lose what was recovered. */
static void storage_rewrite_recovered(struct storage *storage, struct chunk *chunk,
                                      const struct chunk_file_info *info)
{
    char *error = NULL;
    if (chunk->record_count == 0)
        return;
    if (chunk_file_write(storage->chunks_dir, chunk, info->input_alias,
                         (const char *const *)info->outputs, info->done, info->output_count,
                         storage->sync, &error) == 0)
        storage_account(storage, chunk);
    free(error);
}

uint64_t storage_replay(struct storage *storage, storage_replay_fn *fn, void *data)
{
    uint64_t *ids = NULL;
    size_t count = 0;
    char *error = NULL;
    if (chunk_file_list(storage->chunks_dir, &ids, &count, &error) < 0) {
        log_error("storage", "%s", error);
        free(error);
        return 0;
    }
    uint64_t max_id = 0;
    for (size_t i = 0; i < count; i++) {
        char *path = xasprintf("%s/%" PRIu64 ".chunk", storage->chunks_dir, ids[i]);
        struct chunk_file_info info = {0};
        bool damaged = false;
        struct chunk *chunk = storage_read(storage, path, &info, &damaged);
        free(path);
        max_id = ids[i] > max_id ? ids[i] : max_id;
        if (chunk) {
            chunk->id = ids[i];
            chunk->bytes = chunk->data.len;
            if (damaged)
                storage_rewrite_recovered(storage, chunk, &info);
            else
                storage_account(storage, chunk);
            metric_add(storage->replayed_chunks, 1);
            fn(chunk, &info, data);
        }
        chunk_file_info_free(&info);
    }
    free(ids);
    return max_id;
}
