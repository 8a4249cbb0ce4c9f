/* What storage.c and storage_replay.c share: the packs on disk, which chunk
 * is in which, and the storage itself. Not for other modules: they use
 * storage.h. */
#ifndef SKIFF_STORAGE_INTERNAL_H
#define SKIFF_STORAGE_INTERNAL_H

#include "hmap.h"
#include "storage.h"

/* A change waiting to be written into a pack: `output` took the chunk, or
 * (outputs != NULL) the chunk now goes to `outputs`. */
struct pack_update {
    uint64_t chunk_id;
    char *output;
    char **outputs;
    size_t output_count;
};

struct pack;

/* Where one chunk is: its pack and its section in it. */
struct pack_member {
    struct hmap_node node; /* in storage->members, by chunk id, while live */
    uint64_t chunk_id;
    struct pack *pack;
    uint64_t offset;
    uint64_t length;
    bool live; /* not released yet */
};

/* One file: DIR/<file_id>.chunk. */
struct pack {
    uint64_t file_id;
    uint64_t bytes; /* of the file */
    struct pack_member *members;
    size_t count;
    size_t live;
    bool damaged; /* a load found damage: moved to corrupt/ once nothing needs it */
    struct pack_update *updates;
    size_t update_count;
    size_t update_cap;
    struct pack *next_dirty; /* with updates, while storage->batching */
    bool dirty;
};

struct storage {
    char *chunks_dir;
    char *corrupt_dir;
    uint64_t max_bytes;
    bool sync;
    uint64_t disk_bytes;
    uint64_t disk_chunks;
    int write_errno;  /* errno of the last failed write, 0 after a success */
    bool warned_full; /* logged until space frees */
    struct hmap members;
    unsigned batching; /* storage_begin_updates depth */
    struct pack *dirty;

    struct metric *disk_bytes_gauge;
    struct metric *disk_chunks_gauge;
    struct metric *files_written;
    struct metric *write_errors;
    struct metric *corrupt_chunks;
    struct metric *replayed_chunks;
    struct metric *loads;
};

/* Takes on a pack just written or read: its chunks are persisted. */
void storage_add_pack(struct storage *storage, uint64_t file_id,
                      const struct chunk_file_entry *entries, size_t count);
void storage_update_gauges(struct storage *storage);

#endif
