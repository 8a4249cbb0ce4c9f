/* Chunks on disk: files under the state folder's chunks/, so that buffered
 * records survive a restart and are re-sent only to the outputs that still owe
 * them. A file is a pack of the chunks sealed together (one flush of one
 * input), named after the lowest chunk id in it, so that a hundred small
 * chunks cost one file, one write and one fsync. Written crash-safely
 * (temporary file, fsync, rename, fsync folder); read back strictly,
 * recovering what a torn or damaged file still holds. Not for deciding when
 * to write, replay or remove: that is storage.c's.
 *
 * Version 2 (written):                                       (little endian)
 *   file     := header | section * n | trailer
 *   header   := "SKIFFCHK" | u16 version (2) | u16 header_len (16) | u32 flags (0)
 *   section  := u32 meta_len | meta_body | u32 crc32(meta_body) | records
 *   meta_body:= chunk_meta | u64 data_len         (data_len: bytes of records)
 *   trailer  := u32 crc32(everything before the trailer) | u64 file_len
 * Version 1 (written before packs, still read): one chunk per file,
 *   file     := header (version 1) | u32 meta_len | chunk_meta
 *               | u32 crc32(chunk_meta) | u64 data_len | records | trailer
 * Both:
 *   chunk_meta:= u64 chunk_id | str input_alias | str tag
 *               | u32 output_count | (str output_alias | u8 done) * output_count
 *               | u32 origin_count | (u64 source_id | u64 offset) * origin_count
 *               | u32 attachment_count
 *               | (str key | u32 value_len | value) * attachment_count
 *               | u32 record_count | u32 record_crc * record_count
 *   records  := chunk->data (codec.h)
 *   str      := u32 len | bytes (no NUL inside)
 *
 * `value` is codec_encode_value's encoding. header_len lets a later version
 * grow the header; a reader refuses flags it does not know. Each section's
 * metadata has its own CRC, and holds the length of its records, so that it
 * can be trusted when the rest of the file is not and the next section found
 * past damaged records; record_crc (CRC32 of each encoded record, length
 * prefix included) pins down which records a damaged file still holds
 * intact. A section is read on its own (chunk_file_read_section) when one
 * evicted chunk of a pack is needed again. */
#ifndef SKIFF_CHUNK_FILE_H
#define SKIFF_CHUNK_FILE_H

#include "chunk.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHUNK_FILE_MAGIC "SKIFFCHK"
#define CHUNK_FILE_MAGIC_LEN 8
#define CHUNK_FILE_VERSION 2        /* packs: what is written */
#define CHUNK_FILE_VERSION_SINGLE 1 /* one chunk per file: still read */
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

/* One chunk of a pack. Written: `chunk` and `info` are the caller's and the
 * writer sets `offset` and `length`. Read: the reader allocates both. */
struct chunk_file_entry {
    struct chunk *chunk;
    struct chunk_file_info info;
    uint64_t offset; /* where its section starts in the file (0: a version 1 file) */
    uint64_t length; /* bytes of its section (the whole file for version 1) */
    bool damaged;    /* records of it were lost */
};

/* Writes a pack of `count` chunks not yet on disk to DIR/<file_id>.chunk
 * atomically (DIR/<file_id>.chunk.tmp, fsync, rename, fsync DIR; with
 * sync == false without the fsyncs), and sets each entry's offset and length.
 * Returns 0, or -1 with errno set and a message in `error`; after a failure
 * neither the .chunk nor the .tmp file is left. */
int chunk_file_write_pack(const char *dir, uint64_t file_id, struct chunk_file_entry *entries,
                          size_t count, bool sync, char **error);
/* Writes DIR/<file_id>.chunk again with `entries` (done marks or outputs
 * changed, released chunks left out). After a failure the file holds the old
 * content or the new, never a mix. */
int chunk_file_rewrite_pack(const char *dir, uint64_t file_id, struct chunk_file_entry *entries,
                            size_t count, bool sync, char **error);

/* Reads every chunk of the file at `path` (version 1 or 2) into a malloc'ed
 * array of entries, in file order. Returns 0 with *damaged false for an
 * intact file. For a torn or damaged file, returns 0 with *damaged true and
 * every chunk whose metadata is intact, each with the records that come
 * before its first damaged byte and check out (entry.damaged when some were
 * lost), with the origins of those records only; `error` then says what was
 * wrong. Returns -1 with errno set and a message when the file cannot be read
 * (errno from the system) or no chunk's metadata is intact (EBADMSG). */
int chunk_file_read_pack(const char *path, struct chunk_file_entry **entries, size_t *count,
                         bool *damaged, char **error);
/* chunk_file_read_pack on the bytes of a file. */
int chunk_file_parse_pack(const uint8_t *data, size_t len, struct chunk_file_entry **entries,
                          size_t *count, bool *damaged, char **error);
/* Reads the one chunk whose section is at `offset`, `length` bytes, in
 * DIR/<file_id>.chunk (offset 0: the file is version 1), as
 * chunk_file_read_pack would read it; the section must hold chunk `id`.
 * Returns 0 (*damaged as above), or -1 with errno set and a message. */
int chunk_file_read_section(const char *dir, uint64_t file_id, uint64_t offset, uint64_t length,
                            uint64_t id, struct chunk **out, bool *damaged, char **error);
/* chunk_file_read_section on the bytes of a section. */
int chunk_file_parse_section(const uint8_t *data, size_t len, struct chunk_file_entry *entry,
                             char **error);
void chunk_file_entries_free(struct chunk_file_entry *entries, size_t count);

/* Writes a chunk not yet on disk to DIR/<id>.chunk, a pack of one
 * (DIR/<id>.chunk.tmp, fsync, rename, fsync DIR), or with sync == false
 * without the fsyncs. Returns 0, or -1 with errno set and a message in
 * `error`; after a failure neither the .chunk nor the .tmp file is left. */
int chunk_file_write(const char *dir, const struct chunk *chunk, const char *input_alias,
                     const char *const *outputs, const bool *done, size_t output_count, bool sync,
                     char **error);

/* Records that `output` took chunk `id`, by rewriting DIR/<id>.chunk (a
 * file of that one chunk)
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

/* Reads the file of one chunk at `path` into a new chunk (input_index, routes and
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

/* Lists the ids (of their first chunk) of DIR's <id>.chunk files in increasing order (a malloc'ed
 * array in *ids). Other files and folders are ignored; a missing DIR has no
 * chunks. Returns 0, or -1 with a message. */
int chunk_file_list(const char *dir, uint64_t **ids, size_t *count, char **error);

/* Moves the file at `path` into `corrupt_dir` (created if missing), keeping its
 * name. Returns 0, or -1 with errno set and a message. */
int chunk_file_quarantine(const char *path, const char *corrupt_dir, char **error);

#endif
