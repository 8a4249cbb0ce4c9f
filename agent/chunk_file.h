/* A chunk on disk: one file per chunk under the state folder's chunks/, so that
 * buffered records survive a restart and are re-sent only to the outputs that
 * still owe them. Written crash-safely (temporary file, fsync, rename, fsync
 * folder); read back strictly, recovering what a torn or damaged file still
 * holds. Not for deciding when to write or replay: that is the chunk store's.
 *
 *   file     := header | meta | data | trailer                  (little endian)
 *   header   := "SKIFFCHK" | u16 version (1) | u16 header_len (16) | u32 flags (0)
 *   meta     := u32 meta_len | meta_body | u32 crc32(meta_body)
 *   meta_body:= u64 chunk_id | str input_alias | str tag
 *               | u32 output_count | (str output_alias | u8 done) * output_count
 *               | u32 origin_count | (u64 source_id | u64 offset) * origin_count
 *               | u32 attachment_count
 *               | (str key | u32 value_len | value) * attachment_count
 *               | u32 record_count | u32 record_crc * record_count
 *   data     := u64 data_len | records                       (chunk->data, codec.h)
 *   trailer  := u32 crc32(everything before the trailer) | u64 file_len
 *   str      := u32 len | bytes (no NUL inside)
 *
 * `value` is codec_encode_value's encoding. header_len lets a later version
 * grow the header; a reader refuses flags it does not know. The metadata has
 * its own CRC so that it can be trusted when the rest of the file is not, and
 * record_crc (CRC32 of each encoded record, length prefix included) pins down
 * which records a damaged file still holds intact. */
#ifndef SKIFF_CHUNK_FILE_H
#define SKIFF_CHUNK_FILE_H

#include "chunk.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHUNK_FILE_MAGIC "SKIFFCHK"
#define CHUNK_FILE_MAGIC_LEN 8
#define CHUNK_FILE_VERSION 1
#define CHUNK_FILE_HEADER_LEN 16
#define CHUNK_FILE_TRAILER_LEN 12

/* Routes are a 64-bit mask, so a chunk goes to at most this many outputs. */
#define CHUNK_FILE_MAX_OUTPUTS 64

/* What a chunk file says beyond the chunk itself. */
struct chunk_file_info {
    char *input_alias;
    char **outputs; /* aliases of the outputs the chunk is routed to */
    bool *done;     /* done[i]: outputs[i] already took the chunk */
    size_t output_count;
};

/* Writes a chunk not yet on disk to DIR/<id>.chunk atomically
 * (DIR/<id>.chunk.tmp, fsync, rename, fsync DIR), or with sync == false
 * without the fsyncs. Returns 0, or -1 with errno set and a message in
 * `error`; after a failure neither the .chunk nor the .tmp file is left. */
int chunk_file_write(const char *dir, const struct chunk *chunk, const char *input_alias,
                     const char *const *outputs, const bool *done, size_t output_count, bool sync,
                     char **error);

/* Records that `output` took chunk `id`, by rewriting DIR/<id>.chunk
 * atomically. Returns 0 (also if it was already marked), or -1 with errno set
 * and a message: EBADMSG if the file is damaged, EINVAL if the chunk is not
 * routed to `output`. After a failure the file holds the old or the new flags,
 * never a mix. */
int chunk_file_mark_done(const char *dir, uint64_t id, const char *output, bool sync, char **error);

/* Routes chunk `id` to `outputs` instead (none of them done yet), by
 * rewriting DIR/<id>.chunk atomically, as a reload re-routes it. Returns 0,
 * or -1 with errno set and a message (EBADMSG if the file is damaged); the
 * file then holds the old list or the new one. */
int chunk_file_set_outputs(const char *dir, uint64_t id, const char *const *outputs,
                           size_t output_count, bool sync, char **error);

/* Removes DIR/<id>.chunk. Returns 0, also if it was already gone, or -1 with
 * errno set. The folder is not fsynced: a removal lost in a crash only means
 * the chunk is sent again. */
int chunk_file_remove(const char *dir, uint64_t id);

/* Reads the chunk file at `path` into a new chunk (input_index, routes and
 * opened_ms left 0: the caller maps the aliases in *info) and its metadata.
 * Returns 0 with *damaged false for an intact file. For a torn or damaged file
 * whose metadata is intact, returns 0 with *damaged true and the records that
 * come before the first damaged byte and check out, with the origins of those
 * records only; `error` then says what was wrong. Returns -1 with errno set
 * and a message when the file cannot be read (errno from the system) or its
 * header or metadata is damaged (EBADMSG). */
int chunk_file_read(const char *path, struct chunk **out, struct chunk_file_info *info,
                    bool *damaged, char **error);
/* chunk_file_read on the bytes of a file. */
int chunk_file_parse(const uint8_t *data, size_t len, struct chunk **out,
                     struct chunk_file_info *info, bool *damaged, char **error);
void chunk_file_info_free(struct chunk_file_info *info);

/* Lists the ids of DIR's <id>.chunk files in increasing order (a malloc'ed
 * array in *ids). Other files and folders are ignored; a missing DIR has no
 * chunks. Returns 0, or -1 with a message. */
int chunk_file_list(const char *dir, uint64_t **ids, size_t *count, char **error);

/* Moves the file at `path` into `corrupt_dir` (created if missing), keeping its
 * name. Returns 0, or -1 with errno set and a message. */
int chunk_file_quarantine(const char *path, const char *corrupt_dir, char **error);

#endif
