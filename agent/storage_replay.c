/* Replay at start (see storage.h): every chunk file left by the last run,
 * packs and version 1 files alike, read back and handed on in chunk id
 * order; damaged files moved to corrupt/ with what they still hold written
 * again as a new pack. */
#include "log.h"
#include "metrics.h"
#include "storage_internal.h"
#include "xalloc.h"

#include <inttypes.h>
#include <stdlib.h>

/* Moves a damaged or unreadable file to corrupt/, counted and logged with
 * what is still delivered of it. */
static void storage_quarantine(struct storage *storage, const char *path, const char *error,
                               const struct chunk_file_entry *entries, size_t count)
{
    char *qerror = NULL;
    uint32_t records = 0;
    for (size_t i = 0; i < count; i++)
        records += entries[i].chunk->record_count;
    metric_add(storage->corrupt_chunks, 1);
    if (chunk_file_quarantine(path, storage->corrupt_dir, &qerror) < 0)
        log_error("storage", "%s; and it cannot be moved aside: %s", error, qerror);
    else if (count)
        log_error("storage",
                  "%s; moved to %s, and the %u records before the damage are delivered "
                  "(skiff_storage_corrupt_chunks_total)",
                  error, storage->corrupt_dir, records);
    else
        log_error("storage",
                  "%s; moved to %s, none of its records can be trusted "
                  "(skiff_storage_corrupt_chunks_total)",
                  error, storage->corrupt_dir);
    free(qerror);
}

/* What a damaged file still held is written again as a new pack, so a crash
 * before delivery does not lose it; if that fails it stays in memory. */
static void storage_rewrite_recovered(struct storage *storage, struct chunk_file_entry *entries,
                                      size_t *count)
{
    size_t kept = 0;
    for (size_t i = 0; i < *count; i++) {
        if (entries[i].chunk->record_count > 0) {
            entries[kept++] = entries[i];
        } else {
            chunk_free(entries[i].chunk);
            chunk_file_info_free(&entries[i].info);
        }
    }
    *count = kept;
    if (kept == 0)
        return;
    uint64_t file_id = entries[0].chunk->id;
    for (size_t i = 1; i < kept; i++)
        file_id = entries[i].chunk->id < file_id ? entries[i].chunk->id : file_id;
    char *error = NULL;
    if (chunk_file_write_pack(storage->chunks_dir, file_id, entries, kept, storage->sync, &error) ==
        0)
        storage_add_pack(storage, file_id, entries, kept);
    free(error);
}

/* The chunks read at start, to be handed on in id order. */
struct replay_set {
    struct chunk_file_entry **sorted;
    size_t count;
    size_t cap;
    struct chunk_file_entry **files; /* entry arrays, freed at the end */
    size_t *file_entries;            /* how many entries each has */
    size_t file_count;
    size_t file_cap;
    uint64_t max_id;
};

/* Reads one file into `set`; its chunks leave memory until their turn. */
static void storage_replay_file(struct storage *storage, uint64_t file_id, struct replay_set *set)
{
    char *path = xasprintf("%s/%" PRIu64 ".chunk", storage->chunks_dir, file_id), *error = NULL;
    struct chunk_file_entry *entries = NULL;
    size_t count = 0;
    bool damaged = false;
    int rc = chunk_file_read_pack(path, &entries, &count, &damaged, &error);
    set->max_id = file_id > set->max_id ? file_id : set->max_id;
    if (rc < 0 || damaged) {
        storage_quarantine(storage, path, error, entries, count);
        storage_rewrite_recovered(storage, entries, &count);
    } else {
        storage_add_pack(storage, file_id, entries, count);
    }
    free(error);
    free(path);
    size_t cap = set->file_cap;
    set->files = xgrow(set->files, &set->file_cap, set->file_count + 1, sizeof *set->files);
    set->file_entries =
        xgrow(set->file_entries, &cap, set->file_count + 1, sizeof *set->file_entries);
    set->file_entries[set->file_count] = count;
    set->files[set->file_count++] = entries;
    for (size_t i = 0; i < count; i++) {
        struct chunk *chunk = entries[i].chunk;
        chunk->bytes = chunk->data.len;
        set->max_id = chunk->id > set->max_id ? chunk->id : set->max_id;
        storage_evict(storage, chunk);
        set->sorted = xgrow(set->sorted, &set->cap, set->count + 1, sizeof *set->sorted);
        set->sorted[set->count++] = &entries[i];
    }
}

static int compare_entry_ids(const void *a, const void *b)
{
    uint64_t x = (*(struct chunk_file_entry *const *)a)->chunk->id;
    uint64_t y = (*(struct chunk_file_entry *const *)b)->chunk->id;
    return (x > y) - (x < y);
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
    struct replay_set set = {0};
    for (size_t i = 0; i < count; i++)
        storage_replay_file(storage, ids[i], &set);
    free(ids);
    if (set.count > 1)
        qsort(set.sorted, set.count, sizeof *set.sorted, compare_entry_ids);
    for (size_t i = 0; i < set.count; i++) {
        struct chunk *chunk = set.sorted[i]->chunk;
        set.sorted[i]->chunk = NULL; /* fn takes it */
        metric_add(storage->replayed_chunks, 1);
        fn(chunk, &set.sorted[i]->info, data);
    }
    free(set.sorted);
    for (size_t i = 0; i < set.file_count; i++)
        chunk_file_entries_free(set.files[i], set.file_entries[i]); /* chunks are fn's */
    free(set.files);
    free(set.file_entries);
    return set.max_id;
}
