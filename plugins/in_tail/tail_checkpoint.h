/* The tail input's checkpoints: for each file, its identity and the offset up
 * to which every record was acknowledged. Kept in memory, saved as a small
 * text file under state_dir/tail/ that is replaced atomically (temporary file,
 * fsync, rename, fsync of the folder), so that a crash at any moment leaves
 * either the old or the new file, never a torn one. Not for reading files. */
#ifndef SKIFF_TAIL_CHECKPOINT_H
#define SKIFF_TAIL_CHECKPOINT_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A file is (device, inode) plus a fingerprint of its first bytes, so that an
 * inode reused by a new file is not mistaken for the old one. */
struct tail_identity {
    uint64_t dev;
    uint64_t ino;
    uint32_t fp_len; /* bytes fingerprinted (fewer than TAIL_FINGERPRINT_BYTES for a short file) */
    uint32_t fp_crc; /* CRC32 (zlib) of those bytes */
};

#define TAIL_FINGERPRINT_BYTES 64

struct checkpoint_entry {
    struct tail_identity id;
    uint64_t offset;
    char *path; /* the path it was read under, for people reading the file */
};

struct checkpoint_store;

/* Opens the store saved at `path` (e.g. /var/lib/skiff/tail/tail.0.checkpoints),
 * creating missing folders. A missing file is an empty store. A file that does
 * not decode is renamed to `path`.corrupt, logged, and the store starts empty.
 * Returns NULL with a malloc'ed message in *error if the folder cannot be
 * created or the file cannot be read. */
struct checkpoint_store *checkpoint_store_open(const char *path, char **error);
/* Frees the store (without saving). */
void checkpoint_store_close(struct checkpoint_store *store);

/* The entry for (dev, ino), or NULL. */
const struct checkpoint_entry *checkpoint_store_find(const struct checkpoint_store *store,
                                                     uint64_t dev, uint64_t ino);
/* Inserts or replaces the entry for id's (dev, ino). */
void checkpoint_store_set(struct checkpoint_store *store, const struct tail_identity *id,
                          const char *path, uint64_t offset);
/* Removes the entry for (dev, ino), if any. */
void checkpoint_store_remove(struct checkpoint_store *store, uint64_t dev, uint64_t ino);
size_t checkpoint_store_count(const struct checkpoint_store *store);
/* Removes every entry for which `keep` returns false (entries of files that
 * no longer exist, after the first scan). */
void checkpoint_store_retain(struct checkpoint_store *store,
                             bool (*keep)(const struct checkpoint_entry *entry, void *data),
                             void *data);
/* True if a checkpoint file (valid or not) was there at open: skiff ran with
 * this state before. A store without one starts dirty, so that it is saved. */
bool checkpoint_store_existed(const struct checkpoint_store *store);
/* True if anything changed since the last save. */
bool checkpoint_store_dirty(const struct checkpoint_store *store);
/* Calls `on_dirty(data)` whenever a change makes a clean store dirty (so
 * that a save can be scheduled only when there is something to save). */
void checkpoint_store_on_dirty(struct checkpoint_store *store, void (*on_dirty)(void *data),
                               void *data);

/* Writes the store if it changed: temporary file in the same folder, fsync,
 * rename over the old one, fsync the folder. Returns 0, or -1 after logging
 * what failed (the store stays dirty and the old file intact). */
int checkpoint_store_save(struct checkpoint_store *store);

/* The file format, exposed for the unit tests:
 *   skiff-tail-checkpoints 1
 *   <dev> <ino> <fp_len> <fp_crc> <offset> <path, percent-encoded>
 *   ...
 *   end <number of entries> <CRC32 of everything before this line, hex>
 * Numbers are decimal except the two CRCs (8 hex digits). In the path, '%',
 * bytes below 0x21 and 0x7f are written as %XX. */
void checkpoint_encode(const struct checkpoint_entry *entries, size_t count, struct buf *out);
/* Orders identities by (dev, ino): -1, 0 or 1. */
int checkpoint_compare_ids(uint64_t dev_a, uint64_t ino_a, uint64_t dev_b, uint64_t ino_b);
/* Returns 0 with a malloc'ed array in *entries (each path malloc'ed), or -1
 * with a malloc'ed message naming the line and what is wrong. */
int checkpoint_decode(const char *data, size_t len, struct checkpoint_entry **entries,
                      size_t *count, char **error);

#endif
