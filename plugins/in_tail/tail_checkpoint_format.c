/* The checkpoint file's text format (see tail_checkpoint.h): the encoder and
 * its strict decoder, which must survive any bytes (a torn or damaged file is
 * rejected with the line it failed on). Not for the store or the disk I/O:
 * those are in tail_checkpoint.c. */
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

/* ---- encoding ---- */

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
        buf_printf(out, "%" PRIu64 " %" PRIu64 " %" PRIu32 " %08" PRIx32 " %" PRIu64 " ", e->id.dev,
                   e->id.ino, e->id.fp_len, e->id.fp_crc, e->offset);
        checkpoint_encode_path(e->path, out);
        buf_append_byte(out, '\n');
    }
    uLong crc = crc32_z(0, (const Bytef *)out->data + start, out->len - start);
    buf_printf(out, "end %zu %08" PRIx32 "\n", count, (uint32_t)crc);
}

/* ---- decoding ---- */

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
    if (d->pos == d->len)
        return false;
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
    uint64_t fp_len = 0;
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
    uint64_t count = 0;
    uint32_t crc = 0;
    if (decode_number(d, f, 1, "entry count", SIZE_MAX, &count) < 0 ||
        decode_crc(d, f, 2, "CRC", &crc) < 0)
        return -1;
    if (count != d->count)
        return decoder_fail(d, "end line counts %" PRIu64 " entries, found %zu", count, d->count);
    uint32_t actual = (uint32_t)crc32_z(0, (const Bytef *)d->data, d->line_start);
    if (crc != actual)
        return decoder_fail(d, "CRC mismatch: file says %08" PRIx32 ", content has %08" PRIx32, crc,
                            actual);
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
    uint64_t version = 0;
    if (decode_number(d, &f, 1, "version", UINT64_MAX, &version) < 0)
        return -1;
    if (version != CHECKPOINT_VERSION)
        return decoder_fail(d, "unsupported version %" PRIu64, version);
    return 0;
}

int checkpoint_compare_ids(uint64_t dev_a, uint64_t ino_a, uint64_t dev_b, uint64_t ino_b)
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
    int by_id = checkpoint_compare_ids(x->dev, x->ino, y->dev, y->ino);
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
            rc = decoder_fail(
                d, "duplicate entry for dev %" PRIu64 " ino %" PRIu64 " (first on line %zu)",
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
