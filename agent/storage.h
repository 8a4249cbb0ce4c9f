/* The disk side of the chunk store: chunk files under state_dir/chunks/
 * (format in chunk_file.h). The chunks of filesystem-storage inputs sealed
 * together are written here as one file, a pack; once written, their input
 * may acknowledge them and their records may leave memory (evicted) until an
 * output needs them again, when only their section of the pack is read. A
 * pack is removed when its last chunk is released. At start the files left
 * by the last run are read back, chunks in id order; damaged ones are moved
 * to state_dir/corrupt/ and what they still hold intact is kept.
 *
 * Errors never stop the agent: a chunk that cannot be written stays in memory
 * (counted, logged once per run of failures) and its input is acknowledged
 * only after delivery, as in memory mode. Pipeline thread only. */
#ifndef SKIFF_STORAGE_H
#define SKIFF_STORAGE_H

#include "chunk.h"
#include "chunk_file.h"
#include "config.h"

#include <stdbool.h>
#include <stddef.h>

struct storage;

/* Creates state_dir/chunks/ and removes the temporary files a crash left
 * there. Returns NULL after logging if the folder cannot be made. */
struct storage *storage_open(const char *state_dir, const struct storage_config *config);
void storage_close(struct storage *storage);

/* A reload: takes on max_size and sync (the folder stays). */
void storage_configure(struct storage *storage, const struct storage_config *config);

/* Bytes of chunk files now, and whether max_size is reached. */
uint64_t storage_disk_bytes(const struct storage *storage);
bool storage_full(const struct storage *storage);

/* Writes sealed chunks (entries[i].info: input alias and outputs, none of
 * them done yet) as one pack, as many of them, from the first, as max_size
 * leaves room for, and sets their chunk->persisted. Returns how many were
 * written; the rest stay in memory only: max_size reached, or the write
 * failed (ENOSPC, EIO: logged, counted). */
size_t storage_persist_pack(struct storage *storage, struct chunk_file_entry *entries,
                            size_t count);
/* storage_persist_pack of one chunk. Returns 0, or -1 when it stays in memory
 * only. */
int storage_persist(struct storage *storage, struct chunk *chunk, const char *input_alias,
                    const char *const *outputs, size_t output_count);
/* Notes in the chunk's pack that `output` took the chunk, so that a restart
 * sends it only to the others. A failure is logged: the chunk may then be
 * sent to that output again after a restart. Written at once, or between
 * storage_begin_updates and storage_end_updates once per pack. */
void storage_mark_done(struct storage *storage, struct chunk *chunk, const char *output);
/* Notes in the chunk file that the chunk now goes to `outputs` (a reload
 * routed it again), so that a restart sends it to them. A failure is
 * logged. */
void storage_set_outputs(struct storage *storage, struct chunk *chunk, const char *const *outputs,
                         size_t output_count);
/* Between these, done marks and reroutes are collected and written at the
 * end, one rewrite per pack (a delivery of a hundred chunks finishes a
 * hundred routes at once). Nested calls write at the outermost end. */
void storage_begin_updates(struct storage *storage);
void storage_end_updates(struct storage *storage);
/* The chunk is released (every output took it): its pack's file is removed
 * with its last chunk (moved to corrupt/ if a load found it damaged). */
void storage_remove(struct storage *storage, struct chunk *chunk);

/* Frees a persisted chunk's records from memory. */
void storage_evict(struct storage *storage, struct chunk *chunk);
/* Reads an evicted chunk's records back from its section of its pack.
 * Returns 0, or -1 when the file is gone or the section damaged (logged,
 * counted; the chunk is no longer on disk, and the pack goes to corrupt/
 * with its last chunk): the chunk then holds the records that were still
 * intact, possibly none. */
int storage_load(struct storage *storage, struct chunk *chunk);

/* Reads every chunk file left on disk (packs and the single-chunk files of
 * version 1) and hands each chunk to `fn` in id order (fn takes the chunk,
 * evicted if it is on disk) with what its file says about it. Files that
 * cannot be used are quarantined and counted, their intact records written
 * again as a new pack. Returns the highest chunk id seen (0 if none). */
typedef void storage_replay_fn(struct chunk *chunk, const struct chunk_file_info *info, void *data);
uint64_t storage_replay(struct storage *storage, storage_replay_fn *fn, void *data);

#endif
