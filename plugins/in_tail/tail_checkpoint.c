/* The tail input's checkpoints (see tail_checkpoint.h): the text format and its
 * strict decoder, a chained hash table keyed by (dev, ino) that doubles when
 * crowded, and the atomic save and load. Not for deciding what to checkpoint. */
#include "tail_checkpoint.h"

#include "log.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define CHECKPOINT_MAGIC "skiff-tail-checkpoints"
#define CHECKPOINT_VERSION 1
#define ENTRY_FIELDS 6

/* ---- Encoding ---- */

static bool path_byte_needs_escape(unsigned char c)
{
    return c == '%' || c < 0x21 || c == 0x7f;
}

static void checkpoint_encode_path(const char *path, struct buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (path_byte_needs_escape(*p)) {
            buf_append_byte(out, '%');
            buf_append_byte(out, hex[*p >> 4]);
            buf_append_byte(out, hex[*p & 0xf]);
        } else {
            buf_append_byte(out, (char)*p);
        }
    }
}

void checkpoint_encode(const struct checkpoint_entry *entries, size_t count, struct buf *out)
{
    size_t start = out->len;
    buf_printf(out, "%s %d\n", CHECKPOINT_MAGIC, CHECKPOINT_VERSION);
    for (size_t i = 0; i < count; i++) {
        const struct checkpoint_entry *e = &entries[i];
        buf_printf(out, "%" PRIu64 " %" PRIu64 " %" PRIu32 " %08" PRIx32 " %" PRIu64 " ",
                   e->id.dev, e->id.ino, e->id.fp_len, e->id.fp_crc, e->offset);
        checkpoint_encode_path(e->path, out);
        buf_append_byte(out, '\n');
    }
    uLong crc = crc32_z(0, (const Bytef *)out->data + start, out->len - start);
    buf_printf(out, "end %zu %08" PRIx32 "\n", count, (uint32_t)crc);
}

/* ---- Decoding ---- */

struct fields {
    const char *at[ENTRY_FIELDS];
    size_t len[ENTRY_FIELDS];
    size_t count; /* all fields on the line, even past ENTRY_FIELDS */
};

struct decoder {
    const char *data;
    size_t len;
    size_t pos;        /* start of the next line */
    size_t line_no;    /* of the line last read */
    size_t line_start; /* of the line last read */
    struct checkpoint_entry *entries;
    size_t count;
    size_t cap;
    char *error;
};

static int decoder_fail(struct decoder *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int decoder_fail(struct decoder *d, const char *fmt, ...)
{
    struct buf msg = BUF_INIT;
    buf_printf(&msg, "line %zu: ", d->line_no);
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    d->error = xstrdup(buf_cstr(&msg));
    buf_free(&msg);
    return -1;
}

/* The next line, without its '\n'; false if no complete line is left. */
static bool decoder_next_line(struct decoder *d, const char **line, size_t *len)
{
    const char *nl = memchr(d->data + d->pos, '\n', d->len - d->pos);
    if (!nl)
        return false;
    *line = d->data + d->pos;
    *len = (size_t)(nl - *line);
    d->line_start = d->pos;
    d->pos += *len + 1;
    d->line_no++;
    return true;
}

static void split_fields(const char *line, size_t len, struct fields *f)
{
    f->count = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && line[i] != ' ')
            continue;
        if (f->count < ENTRY_FIELDS) {
            f->at[f->count] = line + start;
            f->len[f->count] = i - start;
        }
        f->count++;
        start = i + 1;
    }
}

static bool field_is(const struct fields *f, size_t i, const char *word)
{
    return f->len[i] == strlen(word) && memcmp(f->at[i], word, f->len[i]) == 0;
}

static int decode_number(struct decoder *d, const struct fields *f, size_t i, const char *name,
                         uint64_t max, uint64_t *out)
{
    if (f->len[i] == 0)
        return decoder_fail(d, "%s is not a number", name);
    uint64_t value = 0;
    for (size_t k = 0; k < f->len[i]; k++) {
        char c = f->at[i][k];
        if (c < '0' || c > '9')
            return decoder_fail(d, "%s is not a number", name);
        unsigned digit = (unsigned)(c - '0');
        if (value > (max - digit) / 10)
            return decoder_fail(d, "%s is out of range", name);
        value = value * 10 + digit;
    }
    *out = value;
    return 0;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int decode_crc(struct decoder *d, const struct fields *f, size_t i, const char *name,
                      uint32_t *out)
{
    if (f->len[i] != 8)
        return decoder_fail(d, "%s is not 8 hex digits", name);
    uint32_t value = 0;
    for (size_t k = 0; k < 8; k++) {
        int digit = hex_digit(f->at[i][k]);
        if (digit < 0)
            return decoder_fail(d, "%s is not 8 hex digits", name);
        value = value << 4 | (uint32_t)digit;
    }
    *out = value;
    return 0;
}

/* %00 is refused too: the path is a C string and would be cut short. */
static int decode_path(struct decoder *d, const char *in, size_t len, char **out)
{
    char *path = xmalloc(len + 1); /* escapes only shrink */
    size_t n = 0;
    for (size_t k = 0; k < len; k++) {
        unsigned char c = (unsigned char)in[k];
        if (c == '%') {
            int hi = k + 2 < len ? hex_digit(in[k + 1]) : -1;
            int lo = hi >= 0 ? hex_digit(in[k + 2]) : -1;
            if (lo < 0 || (hi == 0 && lo == 0)) {
                free(path);
                return decoder_fail(d, "path has a bad escape at byte %zu", k + 1);
            }
            path[n++] = (char)(hi << 4 | lo);
            k += 2;
        } else if (path_byte_needs_escape(c)) {
            free(path);
            return decoder_fail(d, "path has an unescaped byte 0x%02x", c);
        } else {
            path[n++] = (char)c;
        }
    }
    path[n] = '\0';
    *out = path;
    return 0;
}

static int decode_entry(struct decoder *d, const struct fields *f)
{
    if (f->count != ENTRY_FIELDS)
        return decoder_fail(d, "expected %d fields, found %zu", ENTRY_FIELDS, f->count);
    struct checkpoint_entry e = {0};
    uint64_t fp_len;
    if (decode_number(d, f, 0, "dev", UINT64_MAX, &e.id.dev) < 0 ||
        decode_number(d, f, 1, "ino", UINT64_MAX, &e.id.ino) < 0 ||
        decode_number(d, f, 2, "fp_len", UINT32_MAX, &fp_len) < 0 ||
        decode_crc(d, f, 3, "fp_crc", &e.id.fp_crc) < 0 ||
        decode_number(d, f, 4, "offset", UINT64_MAX, &e.offset) < 0)
        return -1;
    if (fp_len > TAIL_FINGERPRINT_BYTES)
        return decoder_fail(d, "fp_len %" PRIu64 " is more than %d", fp_len,
                            TAIL_FINGERPRINT_BYTES);
    e.id.fp_len = (uint32_t)fp_len;
    if (decode_path(d, f->at[5], f->len[5], &e.path) < 0)
        return -1;
    d->entries = xgrow(d->entries, &d->cap, d->count + 1, sizeof *d->entries);
    d->entries[d->count++] = e;
    return 0;
}

static int decode_end(struct decoder *d, const struct fields *f)
{
    if (f->count != 3)
        return decoder_fail(d, "end line: expected 3 fields, found %zu", f->count);
    uint64_t count;
    uint32_t crc;
    if (decode_number(d, f, 1, "entry count", SIZE_MAX, &count) < 0 ||
        decode_crc(d, f, 2, "CRC", &crc) < 0)
        return -1;
    if (count != d->count)
        return decoder_fail(d, "end line counts %" PRIu64 " entries, found %zu", count,
                            d->count);
    uint32_t actual = (uint32_t)crc32_z(0, (const Bytef *)d->data, d->line_start);
    if (crc != actual)
        return decoder_fail(d, "CRC mismatch: file says %08" PRIx32 ", content has %08" PRIx32,
                            crc, actual);
    if (d->pos != d->len) {
        d->line_no++;
        return decoder_fail(d, "data after the end line");
    }
    return 0;
}

static int decode_header(struct decoder *d, const char *line, size_t len)
{
    struct fields f;
    split_fields(line, len, &f);
    if (f.count != 2 || !field_is(&f, 0, CHECKPOINT_MAGIC))
        return decoder_fail(d, "not a skiff tail checkpoint file");
    uint64_t version;
    if (decode_number(d, &f, 1, "version", UINT64_MAX, &version) < 0)
        return -1;
    if (version != CHECKPOINT_VERSION)
        return decoder_fail(d, "unsupported version %" PRIu64, version);
    return 0;
}

static int compare_ids(uint64_t dev_a, uint64_t ino_a, uint64_t dev_b, uint64_t ino_b)
{
    if (dev_a != dev_b)
        return dev_a < dev_b ? -1 : 1;
    if (ino_a != ino_b)
        return ino_a < ino_b ? -1 : 1;
    return 0;
}

struct entry_key {
    uint64_t dev;
    uint64_t ino;
    size_t index;
};

static int entry_key_compare(const void *a, const void *b)
{
    const struct entry_key *x = a, *y = b;
    int by_id = compare_ids(x->dev, x->ino, y->dev, y->ino);
    if (by_id != 0)
        return by_id;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Sorts the keys rather than hashing them: one allocation, O(n log n). */
static int decoder_check_duplicates(struct decoder *d)
{
    struct entry_key *keys = xmalloc(d->count * sizeof *keys);
    for (size_t i = 0; i < d->count; i++)
        keys[i] = (struct entry_key){d->entries[i].id.dev, d->entries[i].id.ino, i};
    qsort(keys, d->count, sizeof *keys, entry_key_compare);
    int rc = 0;
    for (size_t i = 1; i < d->count && rc == 0; i++) {
        if (keys[i].dev == keys[i - 1].dev && keys[i].ino == keys[i - 1].ino) {
            d->line_no = keys[i].index + 2; /* entries start on line 2 */
            rc = decoder_fail(d, "duplicate entry for dev %" PRIu64 " ino %" PRIu64
                                 " (first on line %zu)",
                              keys[i].dev, keys[i].ino, keys[i - 1].index + 2);
        }
    }
    free(keys);
    return rc;
}

static int decoder_truncated(struct decoder *d)
{
    d->error = xstrdup("truncated (no end line)");
    return -1;
}

static int decoder_run(struct decoder *d)
{
    const char *line;
    size_t len;
    if (!decoder_next_line(d, &line, &len))
        return decoder_truncated(d);
    if (decode_header(d, line, len) < 0)
        return -1;
    while (decoder_next_line(d, &line, &len)) {
        struct fields f;
        split_fields(line, len, &f);
        if (field_is(&f, 0, "end"))
            return decode_end(d, &f) < 0 ? -1 : decoder_check_duplicates(d);
        if (decode_entry(d, &f) < 0)
            return -1;
    }
    return decoder_truncated(d);
}

int checkpoint_decode(const char *data, size_t len, struct checkpoint_entry **entries,
                      size_t *count, char **error)
{
    struct decoder d = {.data = data, .len = len};
    if (decoder_run(&d) < 0) {
        for (size_t i = 0; i < d.count; i++)
            free(d.entries[i].path);
        free(d.entries);
        *entries = NULL;
        *count = 0;
        *error = d.error;
        return -1;
    }
    *entries = d.entries;
    *count = d.count;
    return 0;
}

/* ---- The store ---- */

struct checkpoint_node {
    struct checkpoint_entry entry;
    struct checkpoint_node *next;
};

struct checkpoint_store {
    char *path;
    char *tmp_path;
    char *folder; /* fsynced after the rename */
    struct checkpoint_node **buckets;
    size_t bucket_count; /* a power of two */
    size_t count;
    bool dirty;
};

/* splitmix64's finalizer: inode numbers are often consecutive. */
static size_t checkpoint_hash(uint64_t dev, uint64_t ino)
{
    uint64_t h = ino ^ (dev * 0x9e3779b97f4a7c15ull);
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return (size_t)h;
}

/* The link that points at the node for (dev, ino), or at the NULL ending its
 * chain. */
static struct checkpoint_node **checkpoint_store_link(const struct checkpoint_store *store,
                                                      uint64_t dev, uint64_t ino)
{
    size_t slot = checkpoint_hash(dev, ino) & (store->bucket_count - 1);
    struct checkpoint_node **link = &store->buckets[slot];
    while (*link && ((*link)->entry.id.dev != dev || (*link)->entry.id.ino != ino))
        link = &(*link)->next;
    return link;
}

static void checkpoint_store_grow(struct checkpoint_store *store)
{
    size_t bucket_count = store->bucket_count * 2;
    struct checkpoint_node **buckets = xcalloc(bucket_count, sizeof *buckets);
    for (size_t i = 0; i < store->bucket_count; i++) {
        for (struct checkpoint_node *node = store->buckets[i], *next; node; node = next) {
            next = node->next;
            size_t slot =
                checkpoint_hash(node->entry.id.dev, node->entry.id.ino) & (bucket_count - 1);
            node->next = buckets[slot];
            buckets[slot] = node;
        }
    }
    free(store->buckets);
    store->buckets = buckets;
    store->bucket_count = bucket_count;
}

/* Adds an entry known to be absent, taking ownership of its path. */
static void checkpoint_store_insert(struct checkpoint_store *store,
                                    const struct checkpoint_entry *entry)
{
    struct checkpoint_node *node = xmalloc(sizeof *node);
    node->entry = *entry;
    size_t slot = checkpoint_hash(entry->id.dev, entry->id.ino) & (store->bucket_count - 1);
    node->next = store->buckets[slot];
    store->buckets[slot] = node;
    store->count++;
    if (store->count > store->bucket_count)
        checkpoint_store_grow(store);
}

const struct checkpoint_entry *checkpoint_store_find(const struct checkpoint_store *store,
                                                     uint64_t dev, uint64_t ino)
{
    struct checkpoint_node *node = *checkpoint_store_link(store, dev, ino);
    return node ? &node->entry : NULL;
}

static bool checkpoint_entry_same(const struct checkpoint_entry *e, const struct tail_identity *id,
                                  const char *path, uint64_t offset)
{
    return e->id.fp_len == id->fp_len && e->id.fp_crc == id->fp_crc && e->offset == offset &&
           strcmp(e->path, path) == 0;
}

void checkpoint_store_set(struct checkpoint_store *store, const struct tail_identity *id,
                          const char *path, uint64_t offset)
{
    struct checkpoint_node *node = *checkpoint_store_link(store, id->dev, id->ino);
    if (!node) {
        struct checkpoint_entry entry = {*id, offset, xstrdup(path)};
        checkpoint_store_insert(store, &entry);
        store->dirty = true;
        return;
    }
    if (checkpoint_entry_same(&node->entry, id, path, offset))
        return;
    node->entry.id = *id;
    node->entry.offset = offset;
    if (strcmp(node->entry.path, path) != 0) {
        free(node->entry.path);
        node->entry.path = xstrdup(path);
    }
    store->dirty = true;
}

void checkpoint_store_remove(struct checkpoint_store *store, uint64_t dev, uint64_t ino)
{
    struct checkpoint_node **link = checkpoint_store_link(store, dev, ino);
    struct checkpoint_node *node = *link;
    if (!node)
        return;
    *link = node->next;
    free(node->entry.path);
    free(node);
    store->count--;
    store->dirty = true;
}

size_t checkpoint_store_count(const struct checkpoint_store *store)
{
    return store->count;
}

bool checkpoint_store_dirty(const struct checkpoint_store *store)
{
    return store->dirty;
}

/* ---- Saving ---- */

static int checkpoint_entry_compare(const void *a, const void *b)
{
    const struct checkpoint_entry *x = a, *y = b;
    return compare_ids(x->id.dev, x->id.ino, y->id.dev, y->id.ino);
}

/* Shallow copies of the entries, sorted by (dev, ino) so that the saved file
 * changes only where the entries did. */
static struct checkpoint_entry *checkpoint_store_sorted(const struct checkpoint_store *store)
{
    struct checkpoint_entry *sorted = xmalloc(store->count * sizeof *sorted);
    size_t n = 0;
    for (size_t i = 0; i < store->bucket_count; i++) {
        for (const struct checkpoint_node *node = store->buckets[i]; node; node = node->next)
            sorted[n++] = node->entry;
    }
    qsort(sorted, n, sizeof *sorted, checkpoint_entry_compare);
    return sorted;
}

static int checkpoint_save_failed(const struct checkpoint_store *store, const char *step)
{
    log_error("tail", "%s: %s: %s (checkpoints stay in memory; will retry)", store->path, step,
              strerror(errno));
    return -1;
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Writes, syncs and closes fd; returns the step that failed (errno set), or
 * NULL. */
static const char *write_sync_close(int fd, const char *data, size_t len)
{
    const char *step = NULL;
    if (write_all(fd, data, len) < 0)
        step = "write temporary file";
    else if (fsync(fd) < 0)
        step = "fsync temporary file";
    int saved = errno;
    if (close(fd) < 0 && !step)
        return "close temporary file";
    errno = saved;
    return step;
}

static int checkpoint_store_sync_folder(const struct checkpoint_store *store)
{
    int fd = open(store->folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return checkpoint_save_failed(store, "open folder");
    if (fsync(fd) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return checkpoint_save_failed(store, "fsync folder");
    }
    close(fd);
    return 0;
}

static int checkpoint_store_replace(const struct checkpoint_store *store, const char *data,
                                    size_t len)
{
    int fd = open(store->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return checkpoint_save_failed(store, "open temporary file");
    const char *step = write_sync_close(fd, data, len);
    if (!step && rename(store->tmp_path, store->path) < 0)
        step = "rename temporary file";
    if (step) {
        int saved = errno;
        unlink(store->tmp_path);
        errno = saved;
        return checkpoint_save_failed(store, step);
    }
    return checkpoint_store_sync_folder(store);
}

int checkpoint_store_save(struct checkpoint_store *store)
{
    if (!store->dirty)
        return 0;
    struct checkpoint_entry *sorted = checkpoint_store_sorted(store);
    struct buf out = BUF_INIT;
    checkpoint_encode(sorted, store->count, &out);
    free(sorted);
    int rc = checkpoint_store_replace(store, out.data, out.len);
    buf_free(&out);
    if (rc == 0)
        store->dirty = false;
    return rc;
}

/* ---- Opening ---- */

static char *folder_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return xstrdup(".");
    return xstrndup(path, slash == path ? 1 : (size_t)(slash - path));
}

/* mkdir -p of the store's folder. */
static int checkpoint_store_make_folders(const struct checkpoint_store *store, char **error)
{
    char *dir = xstrdup(store->folder);
    int rc = 0;
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char end = *p;
        *p = '\0';
        if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
            *error = xasprintf("%s: cannot create folder %s: %s", store->path, dir,
                               strerror(errno));
            rc = -1;
        }
        *p = end;
        if (end == '\0' || rc < 0)
            break;
    }
    free(dir);
    return rc;
}

/* Reads the whole file into out: 1 if read, 0 if missing, -1 on error. */
static int read_whole_file(const char *path, struct buf *out, char **error)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return 0;
    if (fd < 0) {
        *error = xasprintf("%s: open: %s", path, strerror(errno));
        return -1;
    }
    for (;;) {
        buf_reserve(out, 65536);
        ssize_t n = read(fd, out->data + out->len, out->cap - out->len);
        if (n == 0)
            break;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            *error = xasprintf("%s: read: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        out->len += (size_t)n;
    }
    close(fd);
    return 1;
}

/* Moves an undecodable file aside, so that it can be looked at and is not
 * overwritten by the next save. */
static void checkpoint_store_quarantine(const struct checkpoint_store *store, const char *reason)
{
    char *corrupt = xasprintf("%s.corrupt", store->path);
    if (rename(store->path, corrupt) == 0)
        log_warn("tail", "%s: %s; renamed to %s, starting without checkpoints", store->path,
                 reason, corrupt);
    else
        log_warn("tail", "%s: %s; starting without checkpoints (rename to %s: %s)", store->path,
                 reason, corrupt, strerror(errno));
    free(corrupt);
}

static int checkpoint_store_load(struct checkpoint_store *store, char **error)
{
    struct buf content = BUF_INIT;
    int found = read_whole_file(store->path, &content, error);
    if (found <= 0) {
        buf_free(&content);
        return found;
    }
    struct checkpoint_entry *entries;
    size_t count;
    char *reason;
    if (checkpoint_decode(content.data, content.len, &entries, &count, &reason) < 0) {
        checkpoint_store_quarantine(store, reason);
        free(reason);
    } else {
        for (size_t i = 0; i < count; i++)
            checkpoint_store_insert(store, &entries[i]);
        free(entries);
    }
    buf_free(&content);
    return 0;
}

struct checkpoint_store *checkpoint_store_open(const char *path, char **error)
{
    struct checkpoint_store *store = xcalloc(1, sizeof *store);
    store->path = xstrdup(path);
    store->tmp_path = xasprintf("%s.tmp", path);
    store->folder = folder_of(path);
    store->bucket_count = 64;
    store->buckets = xcalloc(store->bucket_count, sizeof *store->buckets);
    if (checkpoint_store_make_folders(store, error) < 0 ||
        checkpoint_store_load(store, error) < 0) {
        checkpoint_store_close(store);
        return NULL;
    }
    return store;
}

void checkpoint_store_close(struct checkpoint_store *store)
{
    if (!store)
        return;
    for (size_t i = 0; i < store->bucket_count; i++) {
        for (struct checkpoint_node *node = store->buckets[i], *next; node; node = next) {
            next = node->next;
            free(node->entry.path);
            free(node);
        }
    }
    free(store->buckets);
    free(store->path);
    free(store->tmp_path);
    free(store->folder);
    free(store);
}
