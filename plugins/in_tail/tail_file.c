/* One followed file: opening it at the right offset (checkpoint, head or
 * end), reading it in blocks, splitting lines and emitting one record per
 * line, noticing truncation, draining it after rotation, and closing it. A
 * closed file is forgotten once every record read from it is acknowledged. */
#include "tail.h"

#include "log.h"
#include "loop.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

enum { READS_PER_TURN = 4 };

/* ---- lookups ---- */

static uint64_t hash_inode(uint64_t dev, uint64_t ino)
{
    return hash_u64(dev * 0x9e3779b97f4a7c15ull ^ ino);
}

struct tail_file *tail_file_by_path(struct tail *t, const char *path)
{
    for (struct hmap_node *n = hmap_find(&t->by_path, hash_bytes(path, strlen(path))); n;
         n = hmap_find_next(n)) {
        struct tail_file *f = hmap_entry(n, struct tail_file, by_path);
        if (strcmp(f->path, path) == 0)
            return f;
    }
    return NULL;
}

struct tail_file *tail_file_by_inode(struct tail *t, uint64_t dev, uint64_t ino)
{
    for (struct hmap_node *n = hmap_find(&t->by_inode, hash_inode(dev, ino)); n;
         n = hmap_find_next(n)) {
        struct tail_file *f = hmap_entry(n, struct tail_file, by_inode);
        if (f->id.dev == dev && f->id.ino == ino)
            return f;
    }
    return NULL;
}

struct tail_file *tail_file_by_source(struct tail *t, uint64_t source_id)
{
    for (struct hmap_node *n = hmap_find(&t->by_source, hash_u64(source_id)); n;
         n = hmap_find_next(n)) {
        struct tail_file *f = hmap_entry(n, struct tail_file, by_source);
        if (f->source_id == source_id)
            return f;
    }
    return NULL;
}

/* ---- identity ---- */

/* CRC32 of the first `len` bytes, or -1 if the file has fewer. */
static int64_t tail_crc_prefix(int fd, uint32_t len)
{
    unsigned char prefix[TAIL_FINGERPRINT_BYTES];
    ssize_t n;
    do
        n = pread(fd, prefix, len, 0);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)len)
        return -1;
    return (int64_t)crc32(0, prefix, len);
}

/* The source id is stable across restarts for a file with a checkpoint (it is
 * built from what the checkpoint stores), so document ids derived from it
 * stay the same; `generation` counts truncations within this run. */
static void tail_file_set_source(struct tail_file *f, uint32_t generation)
{
    struct tail *t = f->tail;
    uint64_t parts[5] = {f->id.dev, f->id.ino, f->id.fp_len, f->id.fp_crc, generation};
    if (f->source_id)
        hmap_remove(&t->by_source, &f->by_source);
    f->source_id = hash_bytes(parts, sizeof parts) | 1; /* never 0: 0 means no source */
    hmap_insert(&t->by_source, &f->by_source, hash_u64(f->source_id));
}

/* Fingerprints the first bytes once there are any; until then fp_len is 0. */
static void tail_file_fingerprint(struct tail_file *f, uint64_t size)
{
    uint32_t len = size < TAIL_FINGERPRINT_BYTES ? (uint32_t)size : TAIL_FINGERPRINT_BYTES;
    int64_t crc = len ? tail_crc_prefix(f->fd, len) : -1;
    f->id.fp_len = crc < 0 ? 0 : len;
    f->id.fp_crc = crc < 0 ? 0 : (uint32_t)crc;
}

static bool tail_checkpoint_matches(int fd, const struct checkpoint_entry *entry, uint64_t size)
{
    if (entry->id.fp_len > size)
        return false;
    if (entry->id.fp_len == 0)
        return true;
    return tail_crc_prefix(fd, entry->id.fp_len) == (int64_t)entry->id.fp_crc;
}

/* Where a file first seen at start (no checkpoint, not read_from_head) is
 * followed from: just after its last complete line, so that a line being
 * written is read whole, not from its middle. */
static uint64_t tail_end_of_last_line(int fd, uint64_t size)
{
    char tailbuf[4096];
    uint64_t start = size > sizeof tailbuf ? size - sizeof tailbuf : 0;
    ssize_t n = pread(fd, tailbuf, (size_t)(size - start), (off_t)start);
    if (n <= 0)
        return size;
    for (ssize_t i = n; i-- > 0;) {
        if (tailbuf[i] == '\n')
            return start + (uint64_t)i + 1;
    }
    return size;
}

/* ---- records ---- */

static char *tail_expand_tag(const char *pattern, const char *path)
{
    if (!strchr(pattern, '*'))
        return xstrdup(pattern);
    while (*path == '/')
        path++;
    struct buf tag = BUF_INIT;
    for (const char *p = pattern; *p; p++) {
        if (*p != '*') {
            buf_append_byte(&tag, *p);
            continue;
        }
        for (const char *q = path; *q; q++)
            buf_append_byte(&tag, *q == '/' ? '.' : *q);
    }
    char *result = xstrdup(buf_cstr(&tag));
    buf_free(&tag);
    return result;
}

static void tail_emit_line(void *ctx, const char *line, size_t len, uint64_t end_offset)
{
    struct tail_file *f = ctx;
    struct tail *t = f->tail;
    /* Reused: the pipeline clears it (record_done) and keeps its storage. */
    struct record *rec = &t->line_record;
    uint64_t start = f->line_start;

    f->line_start = end_offset;
    record_reuse(rec, &t->line_text, t->read_time);
    rec->origin.source_id = f->source_id;
    rec->origin.offset = end_offset;
    metric_add(t->metrics.lines_read, 1);
    enum parse_result parsed =
        t->parser ? parser_parse_at(t->parser, f->parser_state, line, len, start, rec)
                  : PARSE_FAILED;
    rec->origin.offset = end_offset;
    if (parsed == PARSE_PENDING) {
        record_clear(rec); /* a partial line: its record comes with the last piece */
        tail_partial_arm(f);
        return;
    }
    if (parsed == PARSE_FAILED)
        record_set_text(rec, t->opts->key, strlen(t->opts->key), line, len);
    if (f->path_attachment)
        record_attach(rec, f->path_attachment);
    f->emitted_offset = end_offset;
    input_emit(t->in, f->tag, rec);
}

/* ---- opening ---- */

/* Sets read_offset and the fingerprint; returns how the offset was chosen.
 * `from`: UINT64_MAX, or where to start without a checkpoint. */
static const char *tail_file_start_offset(struct tail_file *f, uint64_t size, bool from_head,
                                          uint64_t from)
{
    struct tail *t = f->tail;
    const struct checkpoint_entry *entry =
        checkpoint_store_find(t->checkpoints, f->id.dev, f->id.ino);

    if (entry && tail_checkpoint_matches(f->fd, entry, size)) {
        f->id.fp_len = entry->id.fp_len;
        f->id.fp_crc = entry->id.fp_crc;
        if (entry->offset > size) {
            f->read_offset = 0;
            f->skip_nul = true;
            return "start (it was truncated while skiff was stopped)";
        }
        f->read_offset = entry->offset;
        return "checkpoint";
    }
    tail_file_fingerprint(f, size);
    if (from != UINT64_MAX) {
        f->read_offset = from <= size ? from : 0;
        return "start of the data written since it was ignored (ignore_older)";
    }
    f->read_offset = from_head ? 0 : tail_end_of_last_line(f->fd, size);
    return from_head ? "start" : "end";
}

/* Opens `open_path`, followed under the name `path` (they differ for a file
 * renamed away before it was opened). */
static struct tail_file *tail_file_open_as(struct tail *t, const char *open_path, const char *path,
                                           bool from_head, uint64_t from)
{
    /* O_NOATIME: a read would otherwise update the access time of a file just
     * written (relatime), dirtying its inode on every read. Only the file's
     * owner (or CAP_FOWNER) may ask for it; others get EPERM, and plain. */
    int fd = open(open_path, O_RDONLY | O_CLOEXEC | O_NOATIME);
    if (fd < 0 && errno == EPERM)
        fd = open(open_path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0) {
        if (errno == ENOENT)
            metric_add(t->metrics.files_lost, 1); /* gone between glob and open */
        else
            tail_report_once(t, open_path, "open: %s (will retry at the next rescan)",
                             strerror(errno));
        return NULL;
    }
    /* The identity comes from the open file: the path may have been replaced
     * since the rescan looked at it. */
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return NULL;
    }

    struct tail_file *f = xcalloc(1, sizeof *f);
    f->tail = t;
    f->fd = fd;
    f->wd = -1;
    f->path = xstrdup(path);
    f->tag = tail_expand_tag(t->in->config->common.tag, path);
    f->id.dev = (uint64_t)st.st_dev;
    f->id.ino = (uint64_t)st.st_ino;
    const char *how = tail_file_start_offset(f, (uint64_t)st.st_size, from_head, from);
    f->emitted_offset = f->acked_offset = f->line_start = f->read_offset;
    line_splitter_init(&f->splitter, (size_t)t->opts->max_line_size, t->opts->skip_long_lines);
    if (t->parser)
        f->parser_state = parser_state_new(t->parser, (size_t)t->opts->max_line_size);
    if (t->opts->path_key[0]) {
        struct value v = value_cstring(path);
        f->path_attachment = attachment_new(t->opts->path_key, &v);
    }
    tail_file_set_source(f, 0);
    hmap_insert(&t->by_path, &f->by_path, hash_bytes(path, strlen(path)));
    hmap_insert(&t->by_inode, &f->by_inode, hash_inode(f->id.dev, f->id.ino));
    checkpoint_store_set(t->checkpoints, &f->id, f->path, f->acked_offset);
    t->open_files++;
    metric_set(t->metrics.files_watched, (int64_t)t->open_files);
    tail_watch_file(t, f);
    log_debug(t->in->alias, "%s: following from the %s, offset %llu", path, how,
              (unsigned long long)f->read_offset);
    if ((uint64_t)st.st_size > f->read_offset)
        tail_mark_ready(f);
    return f;
}

struct tail_file *tail_file_open(struct tail *t, const char *path, bool from_head)
{
    return tail_file_open_as(t, path, path, from_head, UINT64_MAX);
}

struct tail_file *tail_file_open_from(struct tail *t, const char *path, uint64_t offset)
{
    return tail_file_open_as(t, path, path, true, offset);
}

struct tail_file *tail_file_open_moved(struct tail *t, const char *from, const char *to)
{
    struct tail_file *f = tail_file_open_as(t, to, from, true, UINT64_MAX);
    if (!f)
        return NULL;
    char *why = xasprintf("renamed to %s before it was opened", to);
    tail_file_rotate(f, why);
    free(why);
    return f;
}

/* ---- closing ---- */

static void tail_file_forget(struct tail_file *f)
{
    struct tail *t = f->tail;
    hmap_remove(&t->by_source, &f->by_source);
    checkpoint_store_remove(t->checkpoints, f->id.dev, f->id.ino);
    tail_file_free(f);
}

static void tail_file_close(struct tail_file *f)
{
    struct tail *t = f->tail;

    t->read_time = record_time_now();
    line_splitter_flush(&f->splitter, f->read_offset, tail_emit_line, f);
    tail_partial_flush(f, UINT64_MAX, TAIL_PARTIAL_FILE_END);
    tail_partial_cancel(f);
    tail_unwatch_file(t, f);
    if (f->rotate_timer) {
        loop_cancel_timer(t->in->loop, f->rotate_timer);
        f->rotate_timer = NULL;
    }
    close(f->fd);
    f->fd = -1;
    hmap_remove(&t->by_inode, &f->by_inode);
    t->open_files--;
    metric_set(t->metrics.files_watched, (int64_t)t->open_files);
    log_debug(t->in->alias, "%s: drained and closed at offset %llu", f->path,
              (unsigned long long)f->read_offset);
    if (f->acked_offset >= f->emitted_offset)
        tail_file_forget(f);
}

void tail_file_acknowledge(struct tail_file *f, uint64_t offset)
{
    if (offset <= f->acked_offset)
        return;
    f->acked_offset = offset;
    checkpoint_store_set(f->tail->checkpoints, &f->id, f->path, tail_partial_floor(f, offset));
    if (f->fd < 0 && f->acked_offset >= f->emitted_offset)
        tail_file_forget(f);
}

void tail_file_free(struct tail_file *f)
{
    struct tail *t = f->tail;
    if (f->fd >= 0) {
        tail_unwatch_file(t, f);
        close(f->fd);
        t->open_files--;
    }
    if (f->rotate_timer)
        loop_cancel_timer(t->in->loop, f->rotate_timer);
    tail_partial_cancel(f);
    line_splitter_free(&f->splitter);
    if (f->parser_state)
        parser_state_free(t->parser, f->parser_state);
    if (f->path_attachment)
        attachment_unref(f->path_attachment);
    free(f->path);
    free(f->tag);
    free(f);
}

static void tail_rotate_expired(struct loop *loop, struct loop_timer *timer, void *data)
{
    struct tail_file *f = data;
    f->rotate_timer = NULL; /* one-shot */
    tail_mark_ready(f);     /* a last read; at its end of file the file closes */
}

void tail_file_rotate(struct tail_file *f, const char *why)
{
    struct tail *t = f->tail;
    if (f->rotated)
        return;
    f->rotated = true;
    hmap_remove(&t->by_path, &f->by_path);
    metric_add(t->metrics.rotations, 1);
    log_info(t->in->alias, "%s: %s; reading what is left for up to %.1fs", f->path, why,
             (double)t->opts->rotate_wait_ms / 1000.0);
    f->rotate_timer =
        loop_add_timer(t->in->loop, t->opts->rotate_wait_ms, 0, tail_rotate_expired, f);
    tail_mark_ready(f);
}

/* ---- reading ---- */

static void tail_file_truncated(struct tail_file *f, const char *why)
{
    struct tail *t = f->tail;
    static uint32_t generation; /* only needs to differ between truncations */

    log_info(t->in->alias, "%s: %s; reading it again from the start", f->path, why);
    metric_add(t->metrics.truncations, 1);
    line_splitter_reset(&f->splitter);
    tail_partial_flush(f, UINT64_MAX, TAIL_PARTIAL_FILE_END); /* of the old contents */
    tail_partial_cancel(f);
    f->has_floor = false;
    f->skip_nul = true;
    f->read_offset = f->emitted_offset = f->acked_offset = f->line_start = 0;
    f->id.fp_len = 0;
    f->id.fp_crc = 0;
    tail_file_set_source(f, ++generation);
    checkpoint_store_set(t->checkpoints, &f->id, f->path, 0);
}

void tail_file_check(struct tail_file *f)
{
    struct stat st;
    if (f->fd < 0 || fstat(f->fd, &st) < 0)
        return;
    if ((uint64_t)st.st_size < f->read_offset)
        tail_file_truncated(f, "truncated");
    else if (f->id.fp_len && tail_crc_prefix(f->fd, f->id.fp_len) != (int64_t)f->id.fp_crc)
        tail_file_truncated(f, "overwritten from the start");
    if ((uint64_t)st.st_size > f->read_offset)
        tail_mark_written(f); /* grown: read before the next seal, as for an event */
}

/* At the end of the data: a file that shrank was truncated; a rotated file
 * whose wait is over is closed. Returns true if reading should go on. */
static bool tail_file_at_end(struct tail_file *f)
{
    struct stat st;
    if (fstat(f->fd, &st) == 0 && (uint64_t)st.st_size < f->read_offset) {
        tail_file_truncated(f, "truncated");
        return true;
    }
    if (f->rotated && !f->rotate_timer)
        tail_file_close(f);
    return false;
}

/* After a truncation, a writer that does not use O_APPEND goes on at its old
 * offset and leaves a hole of NUL bytes before it: skipped, and counted.
 * Returns how many leading bytes of `data` to skip. */
static size_t tail_file_skip_nul(struct tail_file *f, const char *data, size_t len)
{
    size_t n = 0;
    if (!f->skip_nul)
        return 0;
    while (n < len && data[n] == '\0')
        n++;
    if (n < len)
        f->skip_nul = false; /* the hole ends here */
    if (n) {
        metric_add(f->tail->metrics.nul_skipped, (int64_t)n);
        f->read_offset += n;
        f->line_start = f->read_offset;
    }
    return n;
}

/* `waiting`: the bytes known to wait from this block's start on (the block
 * itself at least), a hint for the pipeline (input_run_expect). */
static void tail_file_consume(struct tail_file *f, const char *data, size_t len, uint64_t waiting)
{
    struct tail *t = f->tail;
    if (f->read_offset == 0 && f->id.fp_len == 0) {
        /* First bytes of a file that was empty when opened. */
        tail_file_fingerprint(f, len);
        tail_file_set_source(f, 0);
        checkpoint_store_set(t->checkpoints, &f->id, f->path, f->acked_offset);
    }
    metric_add(t->metrics.bytes_read, (int64_t)len);
    size_t hole = tail_file_skip_nul(f, data, len);
    data += hole;
    len -= hole;
    uint64_t skipped = f->splitter.long_skipped, split = f->splitter.long_split;
    input_run_begin(t->in, f->tag); /* every line of the block has the file's tag */
    input_run_expect(t->in, waiting);
    t->read_time = record_time_now();
    line_splitter_feed(&f->splitter, data, len, f->read_offset, tail_emit_line, f);
    input_run_end(t->in);
    f->read_offset += len;
    metric_add(t->metrics.long_skipped, (int64_t)(f->splitter.long_skipped - skipped));
    metric_add(t->metrics.long_split, (int64_t)(f->splitter.long_split - split));
}

/* What waits to be read from read_offset on, after a read of `n` bytes there:
 * a read that filled the buffer asks the file's size (once a turn), so that
 * a file read from behind has its chunk sized for it at once. */
static uint64_t tail_file_waiting(struct tail_file *f, size_t n, size_t size, uint64_t *known_end)
{
    struct stat st;
    if (n == size && *known_end == 0 && fstat(f->fd, &st) == 0)
        *known_end = (uint64_t)st.st_size;
    return *known_end > f->read_offset + n ? *known_end - f->read_offset : n;
}

bool tail_file_read(struct tail_file *f)
{
    struct tail *t = f->tail;
    size_t size = (size_t)t->opts->buffer_chunk_size;
    uint64_t known_end = 0; /* the file's size, once asked */

    /* A file truncated and at once written past the old offset looks like
     * growth; its changed first bytes tell it apart. One small pread a turn. */
    if (f->id.fp_len && f->read_offset > 0 &&
        tail_crc_prefix(f->fd, f->id.fp_len) != (int64_t)f->id.fp_crc)
        tail_file_truncated(f, "overwritten from the start");

    for (int reads = 0; reads < READS_PER_TURN;) {
        if (input_is_paused(t->in))
            return true; /* resume here when the buffer has room */
        if (t->stopped)
            return false;
        ssize_t n = pread(f->fd, t->read_buf, size, (off_t)f->read_offset);
        if (n > 0) {
            tail_file_consume(f, t->read_buf, (size_t)n,
                              tail_file_waiting(f, (size_t)n, size, &known_end));
            reads++;
            /* A short read of a regular file ended at its end: the file is at
             * least that long (not truncated), so no read of 0 bytes and no
             * fstat are needed to tell. A rotated file reads on to its end. */
            if ((size_t)n < size && !f->rotated)
                return false;
        } else if (n == 0) {
            if (!tail_file_at_end(f))
                return false;
        } else if (errno != EINTR) {
            tail_report_once(t, f->path, "read: %s", strerror(errno));
            return false;
        }
    }
    return true;
}

void tail_file_adopt(struct tail_file *f, const char *path)
{
    struct tail *t = f->tail;

    log_info(t->in->alias, "%s: renamed to %s, which is matched too; following it there", f->path,
             path);
    /* The tag stays (as Fluent Bit's does): records of one file share one
     * chunk stream, so they reach the outputs in the order they were read. */
    free(f->path);
    f->path = xstrdup(path);
    if (f->path_attachment) {
        struct value v = value_cstring(path);
        attachment_unref(f->path_attachment);
        f->path_attachment = attachment_new(t->opts->path_key, &v);
    }
    if (f->rotate_timer) {
        loop_cancel_timer(t->in->loop, f->rotate_timer);
        f->rotate_timer = NULL;
    }
    f->rotated = false;
    hmap_insert(&t->by_path, &f->by_path, hash_bytes(path, strlen(path)));
}
