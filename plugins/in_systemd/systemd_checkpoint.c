/* The systemd input's checkpoint file (systemd_checkpoint.h): its format, a
 * strict decoder, and loading and saving through durable_file.c. */
#include "systemd_checkpoint.h"

#include "durable_file.h"
#include "log.h"
#include "xalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <zlib.h>

#define CHECKPOINT_MAGIC "skiff-systemd-checkpoint 1"

void journal_checkpoint_encode(const char *cursor, struct buf *out)
{
    size_t start = out->len;
    buf_printf(out, "%s\n", CHECKPOINT_MAGIC);
    if (cursor)
        buf_printf(out, "cursor %s\n", cursor);
    else
        buf_append_str(out, "head\n");
    uint32_t crc = (uint32_t)crc32_z(0, (const Bytef *)out->data + start, out->len - start);
    buf_printf(out, "end %08" PRIx32 "\n", crc);
}

/* The line starting at *pos without its '\n', or false if no whole line is
 * left. */
static bool next_line(const char *data, size_t len, size_t *pos, const char **line,
                      size_t *line_len)
{
    if (*pos >= len)
        return false;
    const char *nl = memchr(data + *pos, '\n', len - *pos);
    if (!nl)
        return false;
    *line = data + *pos;
    *line_len = (size_t)(nl - *line);
    *pos += *line_len + 1;
    return true;
}

/* A cursor as sd-journal writes them: printable ASCII without spaces. */
static bool cursor_text_ok(const char *text, size_t len)
{
    if (len == 0 || len > JOURNAL_CURSOR_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)text[i] <= 0x20 || (unsigned char)text[i] >= 0x7f)
            return false;
    return true;
}

static int decode_position(const char *line, size_t len, char **cursor, char **error)
{
    if (len == 4 && memcmp(line, "head", 4) == 0) {
        *cursor = NULL;
        return 0;
    }
    if (len > 7 && memcmp(line, "cursor ", 7) == 0 && cursor_text_ok(line + 7, len - 7)) {
        *cursor = xstrndup(line + 7, len - 7);
        return 0;
    }
    *error = xstrdup("line 2: neither `head` nor `cursor <cursor>`");
    return -1;
}

static int decode_end(const char *data, size_t body_len, const char *line, size_t len, char **error)
{
    char expected[16];
    uint32_t crc = (uint32_t)crc32_z(0, (const Bytef *)data, body_len);
    snprintf(expected, sizeof expected, "end %08" PRIx32, crc);
    if (len == strlen(expected) && memcmp(line, expected, len) == 0)
        return 0;
    if (len == 12 && memcmp(line, "end ", 4) == 0)
        *error = xstrdup("line 3: CRC mismatch (the file was changed or torn)");
    else
        *error = xstrdup("line 3: expected `end <CRC32>`");
    return -1;
}

int journal_checkpoint_decode(const char *data, size_t len, char **cursor, char **error)
{
    size_t pos = 0, line_len;
    const char *line;
    *cursor = NULL;
    if (!next_line(data, len, &pos, &line, &line_len) || line_len != strlen(CHECKPOINT_MAGIC) ||
        memcmp(line, CHECKPOINT_MAGIC, line_len) != 0) {
        *error = xstrdup("line 1: not a skiff systemd checkpoint (version 1)");
        return -1;
    }
    if (!next_line(data, len, &pos, &line, &line_len)) {
        *error = xstrdup("line 2: missing (the file is torn)");
        return -1;
    }
    char *found;
    if (decode_position(line, line_len, &found, error) < 0)
        return -1;
    size_t body_len = pos;
    if (!next_line(data, len, &pos, &line, &line_len)) {
        *error = xstrdup("line 3: missing (the file is torn)");
        free(found);
        return -1;
    }
    if (decode_end(data, body_len, line, line_len, error) < 0) {
        free(found);
        return -1;
    }
    if (pos != len) {
        *error = xstrdup("line 4: unexpected data after the end line");
        free(found);
        return -1;
    }
    *cursor = found;
    return 0;
}

static int make_parent_folder(const char *path, char **error)
{
    char *folder = xstrdup(path);
    char *slash = strrchr(folder, '/');
    char *failed = NULL;
    int rc = 0;
    if (slash && slash != folder) {
        *slash = '\0';
        rc = durable_file_make_folders(folder, &failed);
    }
    if (rc < 0) {
        *error = xasprintf("%s: cannot create folder %s: %s", path, failed, strerror(errno));
        free(failed);
    }
    free(folder);
    return rc;
}

/* Moves an undecodable file aside, so that it can be looked at and is not
 * overwritten by the next save. */
static void quarantine(const char *path, const char *component, const char *reason)
{
    char *corrupt = xasprintf("%s.corrupt", path);
    if (rename(path, corrupt) == 0)
        log_warn(component, "%s: %s; renamed to %s, starting without a checkpoint", path, reason,
                 corrupt);
    else
        log_warn(component, "%s: %s; starting without a checkpoint (rename to %s: %s)", path,
                 reason, corrupt, strerror(errno));
    free(corrupt);
}

int journal_checkpoint_load(const char *path, const char *component, char **cursor, char **error)
{
    *cursor = NULL;
    if (make_parent_folder(path, error) < 0)
        return -1;
    struct buf content = BUF_INIT;
    int found = durable_file_read(path, &content);
    if (found < 0) {
        *error = xasprintf("%s: read: %s", path, strerror(errno));
        buf_free(&content);
        return -1;
    }
    if (found == 0) {
        buf_free(&content);
        return 0;
    }
    char *reason = NULL;
    int rc = 1;
    if (journal_checkpoint_decode(content.data, content.len, cursor, &reason) < 0) {
        quarantine(path, component, reason);
        free(reason);
        rc = 0;
    }
    buf_free(&content);
    return rc;
}

int journal_checkpoint_save(const char *path, const char *cursor, char **error)
{
    struct buf text = BUF_INIT;
    journal_checkpoint_encode(cursor, &text);
    struct iovec piece = {text.data, text.len};
    int rc = durable_file_replace(path, &piece, 1, true, error);
    buf_free(&text);
    return rc == 0 ? 0 : -1;
}
