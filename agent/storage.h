/* The disk side of the chunk store: chunk files under state_dir/chunks/
 * (format in chunk_file.h). Sealed chunks of filesystem-storage inputs are
 * written here; once written, their input may acknowledge them and their
 * records may leave memory (evicted) until an output needs them again. At
 * start the files left by the last run are read back in order; damaged ones
 * are moved to state_dir/corrupt/ and what they still hold intact is kept.
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

/* Writes a sealed chunk (routed to `outputs`, none of them done yet) and sets
 * chunk->persisted. Returns 0, or -1 when it stays in memory only: max_size
 * reached, or the write failed (ENOSPC, EIO: logged, counted). */
int storage_persist(struct storage *storage, struct chunk *chunk, const char *input_alias,
                    const char *const *outputs, size_t output_count);
/* Notes in the chunk file that `output` took the chunk, so that a restart
 * sends it only to the others. A failure is logged: the chunk may then be
 * sent to that output again after a restart. */
void storage_mark_done(struct storage *storage, struct chunk *chunk, const char *output);
/* Notes in the chunk file that the chunk now goes to `outputs` (a reload
 * routed it again), so that a restart sends it to them. A failure is
 * logged. */
void storage_set_outputs(struct storage *storage, struct chunk *chunk, const char *const *outputs,
                         size_t output_count);
/* Removes the chunk's file (every output took it). */
void storage_remove(struct storage *storage, struct chunk *chunk);

/* Frees a persisted chunk's records from memory. */
void storage_evict(struct storage *storage, struct chunk *chunk);
/* Reads an evicted chunk's records back. Returns 0, or -1 when the file is
 * gone or damaged (logged, counted, quarantined): the chunk then holds the
 * records that were still intact, possibly none. */
int storage_load(struct storage *storage, struct chunk *chunk);

/* Reads every chunk file left on disk, in id order, and hands each to `fn`
 * (which takes the chunk; its records are evicted again by the caller when it
 * wants) with what the file says about it. Files that cannot be used are
 * quarantined and counted. Returns the highest chunk id seen (0 if none). */
typedef void storage_replay_fn(struct chunk *chunk, const struct chunk_file_info *info, void *data);
uint64_t storage_replay(struct storage *storage, storage_replay_fn *fn, void *data);

#endif
