/* Chunk files (see chunk_file.h): the encoder of packs and the crash-safe
 * disk operations (write, rewrite, read, list, remove, quarantine). The
 * parser is in chunk_file_parse.c. Not for choosing which chunks go to disk
 * or when. */
#include "chunk_file.h"

#include "durable_file.h"

#include "xalloc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <libdeflate.h>

__attribute__((format(printf, 2, 3))) static int chunk_file_fail(char **error, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    *error = xvasprintf(fmt, ap);
    va_end(ap);
    errno = saved;
    return -1;
}

static char *chunk_file_path(const char *dir, uint64_t id)
{
    return xasprintf("%s/%" PRIu64 ".chunk", dir, id);
}

/* ---- encoding ---- */

static void put_le(struct buf *out, uint64_t v, size_t bytes)
{
    for (size_t i = 0; i < bytes; i++)
        buf_append_byte(out, (char)(v >> (8 * i)));
}

static void patch_le32(struct buf *out, size_t at, uint32_t v)
{
    for (size_t i = 0; i < 4; i++)
        out->data[at + i] = (char)(v >> (8 * i));
}

static void put_str(struct buf *out, const char *s, size_t len)
{
    put_le(out, len, 4);
    buf_append(out, s, len);
}

static void put_outputs(struct buf *out, const char *const *outputs, const bool *done, size_t count)
{
    put_le(out, count, 4);
    for (size_t i = 0; i < count; i++) {
        put_str(out, outputs[i], strlen(outputs[i]));
        buf_append_byte(out, done[i] ? 1 : 0);
    }
}

static void put_origins(struct buf *out, const struct chunk *chunk)
{
    put_le(out, chunk->origin_count, 4);
    for (size_t i = 0; i < chunk->origin_count; i++) {
        put_le(out, chunk->origins[i].source_id, 8);
        put_le(out, chunk->origins[i].offset, 8);
    }
}

static void put_attachments(struct buf *out, const struct chunk *chunk)
{
    put_le(out, chunk->attachment_count, 4);
    for (size_t i = 0; i < chunk->attachment_count; i++) {
        const struct attachment *a = chunk->attachments[i];
        put_str(out, a->key.ptr, a->key.len);
        size_t len_at = out->len;
        put_le(out, 0, 4);
        codec_encode_value(out, &a->value);
        patch_le32(out, len_at, (uint32_t)(out->len - len_at - 4));
    }
}

/* Walks the records by their length prefixes: the data of an in-memory chunk
 * is well formed, so the full decoder is not needed here. */
static void put_record_crcs(struct buf *out, const struct chunk *chunk)
{
    const uint8_t *data = (const uint8_t *)chunk->data.data;
    size_t count_at = out->len, pos = 0;
    uint32_t count = 0;
    put_le(out, 0, 4);
    while (chunk->data.len - pos >= 4) {
        size_t end = pos + 4 +
                     (size_t)(data[pos] | data[pos + 1] << 8 | data[pos + 2] << 16 |
                              (uint32_t)data[pos + 3] << 24);
        if (end > chunk->data.len)
            break;
        put_le(out, libdeflate_crc32(0, data + pos, end - pos), 4);
        count++;
        pos = end;
    }
    patch_le32(out, count_at, count);
}

/* A section's metadata: chunk_meta and data_len, with its length and CRC. */
static void chunk_file_encode_meta(struct buf *out, const struct chunk_file_entry *entry)
{
    const struct chunk *chunk = entry->chunk;
    const struct chunk_file_info *info = &entry->info;
    size_t len_at = out->len;
    put_le(out, 0, 4);
    put_le(out, chunk->id, 8);
    put_str(out, info->input_alias, strlen(info->input_alias));
    put_str(out, chunk->tag, strlen(chunk->tag));
    put_outputs(out, (const char *const *)info->outputs, info->done, info->output_count);
    put_origins(out, chunk);
    put_attachments(out, chunk);
    put_record_crcs(out, chunk);
    put_le(out, chunk->data.len, 8);
    size_t meta_len = out->len - len_at - 4;
    patch_le32(out, len_at, (uint32_t)meta_len);
    put_le(out, libdeflate_crc32(0, out->data + len_at + 4, meta_len), 4);
}

/* Keys are written with their length but read back as C strings. */
static bool chunk_file_encodable(const struct chunk_file_entry *entry)
{
    const struct chunk *chunk = entry->chunk;
    if (entry->info.output_count > CHUNK_FILE_MAX_OUTPUTS)
        return false;
    for (size_t i = 0; i < chunk->attachment_count; i++) {
        const struct value_string *key = &chunk->attachments[i]->key;
        if (memchr(key->ptr, '\0', key->len))
            return false;
    }
    return true;
}

/* Records of at least this size are written from the chunk; smaller ones are
 * copied next to their metadata, so that a pack is a few large writes. */
#define CHUNK_FILE_COPY_BELOW 65536

/* The pieces of a file, as offsets into `staged` (which moves as it grows)
 * or as records written from their chunk. */
struct pack_pieces {
    struct buf staged;
    struct iovec *pieces; /* iov_base NULL: iov_len bytes of `staged` from staged_at */
    size_t *staged_at;
    size_t count;
    size_t cap;
    uint64_t file_len;
};

static void pieces_add(struct pack_pieces *p, const void *direct, size_t at, size_t len)
{
    if (len == 0)
        return;
    size_t cap = p->cap;
    p->pieces = xgrow(p->pieces, &p->cap, p->count + 1, sizeof *p->pieces);
    p->staged_at = xgrow(p->staged_at, &cap, p->count + 1, sizeof *p->staged_at);
    p->pieces[p->count] = (struct iovec){(void *)direct, len};
    p->staged_at[p->count++] = at;
    p->file_len += len;
}

/* Stages bytes appended to `staged` since `from` as one piece. */
static void pieces_stage(struct pack_pieces *p, size_t from)
{
    pieces_add(p, NULL, from, p->staged.len - from);
}

/* Encodes a version 2 file of `entries` into pieces (and sets each entry's
 * offset and length); the CRC of the trailer runs over the pieces. */
static void chunk_file_encode_pack(struct pack_pieces *p, struct chunk_file_entry *entries,
                                   size_t count)
{
    size_t from = p->staged.len;
    buf_append(&p->staged, CHUNK_FILE_MAGIC, CHUNK_FILE_MAGIC_LEN);
    put_le(&p->staged, CHUNK_FILE_VERSION, 2);
    put_le(&p->staged, CHUNK_FILE_HEADER_LEN, 2);
    put_le(&p->staged, 0, 4);
    for (size_t i = 0; i < count; i++) {
        const struct buf *data = &entries[i].chunk->data;
        entries[i].offset = p->file_len + p->staged.len - from;
        chunk_file_encode_meta(&p->staged, &entries[i]);
        if (data->len < CHUNK_FILE_COPY_BELOW) {
            buf_append(&p->staged, data->data, data->len);
        } else {
            pieces_stage(p, from);
            pieces_add(p, data->data, 0, data->len);
            from = p->staged.len;
        }
        entries[i].length = p->file_len + p->staged.len - from - entries[i].offset;
    }
    pieces_stage(p, from);
    uint32_t crc = 0;
    for (size_t i = 0; i < p->count; i++) {
        const void *bytes = p->pieces[i].iov_base;
        crc = libdeflate_crc32(crc, bytes ? bytes : p->staged.data + p->staged_at[i],
                               p->pieces[i].iov_len);
    }
    from = p->staged.len;
    put_le(&p->staged, crc, 4);
    put_le(&p->staged, p->file_len + CHUNK_FILE_TRAILER_LEN, 8);
    pieces_stage(p, from);
    for (size_t i = 0; i < p->count; i++) { /* `staged` has its final place now */
        if (!p->pieces[i].iov_base)
            p->pieces[i].iov_base = p->staged.data + p->staged_at[i];
    }
}

/* ---- writing ---- */

static int chunk_file_save(const char *dir, uint64_t file_id, struct chunk_file_entry *entries,
                           size_t count, bool sync, bool fresh, char **error)
{
    for (size_t i = 0; i < count; i++) {
        if (!chunk_file_encodable(&entries[i])) {
            errno = EINVAL;
            return chunk_file_fail(
                error, "chunk %" PRIu64 ": more than %d outputs or a key with a NUL byte",
                entries[i].chunk->id, CHUNK_FILE_MAX_OUTPUTS);
        }
    }
    struct pack_pieces p = {.staged = BUF_INIT};
    chunk_file_encode_pack(&p, entries, count);
    char *path = chunk_file_path(dir, file_id);
    int rc = durable_file_replace(path, p.pieces, p.count, sync, error);
    /* A new file whose folder could not be synced is removed again (the
     * caller keeps the chunks in memory); a rewritten file stays, old or
     * new. */
    if (rc == DURABLE_FILE_UNSYNCED && fresh) {
        int saved = errno;
        unlink(path);
        errno = saved;
    }
    free(path);
    buf_free(&p.staged);
    free(p.pieces);
    free(p.staged_at);
    return rc < 0 ? -1 : 0;
}

int chunk_file_write_pack(const char *dir, uint64_t file_id, struct chunk_file_entry *entries,
                          size_t count, bool sync, char **error)
{
    return chunk_file_save(dir, file_id, entries, count, sync, true, error);
}

int chunk_file_rewrite_pack(const char *dir, uint64_t file_id, struct chunk_file_entry *entries,
                            size_t count, bool sync, char **error)
{
    return chunk_file_save(dir, file_id, entries, count, sync, false, error);
}

/* A pack of one chunk under its own id. */
static int chunk_file_save_one(const char *dir, const struct chunk *chunk, const char *input_alias,
                               const char *const *outputs, const bool *done, size_t output_count,
                               bool sync, bool fresh, char **error)
{
    struct chunk_file_entry entry = {
        .chunk = (struct chunk *)chunk,
        .info = {(char *)input_alias, (char **)outputs, (bool *)done, output_count},
    };
    return chunk_file_save(dir, chunk->id, &entry, 1, sync, fresh, error);
}

int chunk_file_write(const char *dir, const struct chunk *chunk, const char *input_alias,
                     const char *const *outputs, const bool *done, size_t output_count, bool sync,
                     char **error)
{
    return chunk_file_save_one(dir, chunk, input_alias, outputs, done, output_count, sync, true,
                               error);
}

/* ---- reading and other disk operations ---- */

/* Reads `len` bytes at `offset` of `path` (all of it with len 0) into
 * `content`. Returns 0, or -1 with errno set (ENOENT: no such file, EBADMSG:
 * shorter than `len`) and a message. */
static int chunk_file_load(const char *path, uint64_t offset, uint64_t len, struct buf *content,
                           char **error)
{
    if (len == 0) {
        int found = durable_file_read(path, content);
        if (found == 0)
            errno = ENOENT;
        return found > 0 ? 0 : chunk_file_fail(error, "%s: read: %s", path, strerror(errno));
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return chunk_file_fail(error, "%s: read: %s", path, strerror(errno));
    buf_reserve(content, (size_t)len);
    ssize_t n;
    do
        n = pread(fd, content->data, (size_t)len, (off_t)offset);
    while (n < 0 && errno == EINTR);
    int saved = errno;
    close(fd);
    if (n < 0) {
        errno = saved;
        return chunk_file_fail(error, "%s: read: %s", path, strerror(errno));
    }
    content->len = (size_t)n;
    return 0;
}

int chunk_file_read_pack(const char *path, struct chunk_file_entry **entries, size_t *count,
                         bool *damaged, char **error)
{
    struct buf content = BUF_INIT;
    char *reason = NULL;
    *entries = NULL;
    *count = 0;
    *damaged = false;
    if (chunk_file_load(path, 0, 0, &content, error) < 0) {
        buf_free(&content);
        return -1;
    }
    int rc = chunk_file_parse_pack((const uint8_t *)content.data, content.len, entries, count,
                                   damaged, &reason);
    buf_free(&content);
    if (rc < 0 || *damaged)
        chunk_file_fail(error, "%s: %s", path, reason);
    free(reason);
    return rc;
}

int chunk_file_read_section(const char *dir, uint64_t file_id, uint64_t offset, uint64_t length,
                            uint64_t id, struct chunk **out, bool *damaged, char **error)
{
    char *path = chunk_file_path(dir, file_id), *reason = NULL;
    struct buf content = BUF_INIT;
    struct chunk_file_entry entry = {0};
    *out = NULL;
    *damaged = false;
    int rc = chunk_file_load(path, offset, offset ? length : 0, &content, error);
    if (rc == 0 && offset == 0) { /* a version 1 file */
        rc = chunk_file_parse((const uint8_t *)content.data, content.len, &entry.chunk, &entry.info,
                              damaged, &reason);
    } else if (rc == 0) {
        rc = chunk_file_parse_section((const uint8_t *)content.data, content.len, &entry, &reason);
        *damaged = rc == 0 && (entry.damaged || content.len < length);
    }
    if (rc == 0 && entry.chunk->id != id) {
        errno = EBADMSG;
        rc = -1;
        free(reason);
        reason = xasprintf("holds chunk %" PRIu64 ", not %" PRIu64, entry.chunk->id, id);
        chunk_free(entry.chunk);
        entry.chunk = NULL;
    }
    if (reason && (rc < 0 || *damaged))
        chunk_file_fail(error, "%s: chunk %" PRIu64 ": %s", path, id, reason);
    chunk_file_info_free(&entry.info);
    *out = entry.chunk;
    buf_free(&content);
    free(reason);
    free(path);
    return rc;
}

int chunk_file_read(const char *path, struct chunk **out, struct chunk_file_info *info,
                    bool *damaged, char **error)
{
    struct buf content = BUF_INIT;
    char *reason = NULL;
    *out = NULL;
    memset(info, 0, sizeof *info);
    *damaged = false;
    if (chunk_file_load(path, 0, 0, &content, error) < 0) {
        buf_free(&content);
        return -1;
    }
    int rc =
        chunk_file_parse((const uint8_t *)content.data, content.len, out, info, damaged, &reason);
    buf_free(&content);
    if (rc < 0 || *damaged)
        chunk_file_fail(error, "%s: %s", path, reason);
    free(reason);
    return rc;
}

static int chunk_file_output_index(const struct chunk_file_info *info, const char *output)
{
    for (size_t i = 0; i < info->output_count; i++) {
        if (strcmp(info->outputs[i], output) == 0)
            return (int)i;
    }
    return -1;
}

int chunk_file_mark_done(const char *dir, uint64_t id, const char *output, bool sync, char **error)
{
    char *path = chunk_file_path(dir, id);
    struct chunk *chunk;
    struct chunk_file_info info;
    bool damaged;
    int rc = chunk_file_read(path, &chunk, &info, &damaged, error);
    free(path);
    if (rc < 0)
        return -1;
    int index = chunk_file_output_index(&info, output);
    if (damaged) {
        errno = EBADMSG;
        rc = -1; /* the message says what is damaged */
    } else if (index < 0) {
        errno = EINVAL;
        rc = chunk_file_fail(error, "chunk %" PRIu64 " is not routed to %s", id, output);
    } else if (!info.done[index]) {
        info.done[index] = true;
        rc = chunk_file_save_one(dir, chunk, info.input_alias, (const char *const *)info.outputs,
                                 info.done, info.output_count, sync, false, error);
    }
    int saved = errno;
    chunk_free(chunk);
    chunk_file_info_free(&info);
    errno = saved;
    return rc;
}

int chunk_file_set_outputs(const char *dir, uint64_t id, const char *const *outputs,
                           size_t output_count, bool sync, char **error)
{
    char *path = chunk_file_path(dir, id);
    struct chunk *chunk;
    struct chunk_file_info info;
    bool damaged;
    int rc = chunk_file_read(path, &chunk, &info, &damaged, error);
    free(path);
    if (rc < 0)
        return -1;
    if (damaged) {
        errno = EBADMSG;
        rc = -1; /* the message says what is damaged */
    } else {
        bool *done = xcalloc(output_count ? output_count : 1, sizeof *done);
        rc = chunk_file_save_one(dir, chunk, info.input_alias, outputs, done, output_count, sync,
                                 false, error);
        free(done);
    }
    int saved = errno;
    chunk_free(chunk);
    chunk_file_info_free(&info);
    errno = saved;
    return rc;
}

int chunk_file_remove(const char *dir, uint64_t id)
{
    char *path = chunk_file_path(dir, id);
    int rc = unlink(path) < 0 && errno != ENOENT ? -1 : 0;
    int saved = errno;
    free(path);
    errno = saved;
    return rc;
}

/* The id of a file named <digits>.chunk. */
static bool chunk_file_name_id(const char *name, uint64_t *id)
{
    if (!isdigit((unsigned char)name[0]))
        return false;
    char *end;
    errno = 0;
    unsigned long long value = strtoull(name, &end, 10);
    if (errno != 0 || strcmp(end, ".chunk") != 0)
        return false;
    *id = value;
    return true;
}

static int compare_ids(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

int chunk_file_list(const char *dir, uint64_t **ids, size_t *count, char **error)
{
    size_t cap = 0;
    *ids = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d && errno == ENOENT)
        return 0;
    if (!d)
        return chunk_file_fail(error, "%s: open folder: %s", dir, strerror(errno));
    for (struct dirent *entry; (entry = readdir(d)) != NULL;) {
        uint64_t id;
        if (!chunk_file_name_id(entry->d_name, &id))
            continue;
        *ids = xgrow(*ids, &cap, *count + 1, sizeof **ids);
        (*ids)[(*count)++] = id;
    }
    closedir(d);
    if (*count > 0)
        qsort(*ids, *count, sizeof **ids, compare_ids);
    return 0;
}

int chunk_file_quarantine(const char *path, const char *corrupt_dir, char **error)
{
    if (mkdir(corrupt_dir, 0750) < 0 && errno != EEXIST)
        return chunk_file_fail(error, "%s: create folder: %s", corrupt_dir, strerror(errno));
    const char *slash = strrchr(path, '/');
    char *target = xasprintf("%s/%s", corrupt_dir, slash ? slash + 1 : path);
    int rc = 0;
    if (rename(path, target) < 0)
        rc = chunk_file_fail(error, "%s: move to %s: %s", path, corrupt_dir, strerror(errno));
    free(target);
    return rc;
}
