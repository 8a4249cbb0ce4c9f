/* The dead-letter folder (see dead_letter.h). One append-only fd per output,
 * opened on first use; before each write the path is checked to still be that
 * file, so a file an operator moved away is created again. */
#include "dead_letter.h"

#include "buf.h"
#include "chunk.h"
#include "durable_file.h"
#include "json.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "plugin_api.h"
#include "secret.h"
#include "xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct dead_letter_file {
    int fd;
    dev_t dev;
    ino_t ino;
    struct metric *records;
    int last_errno; /* logged once until it changes or a write succeeds */
};

struct dead_letter {
    char *folder;
    int64_t max_bytes;
    int64_t used_bytes;  /* -1 until measured */
    int64_t measured_ms; /* when, on the monotonic clock */
    bool warned_full;
    struct metric *bytes_gauge;
    struct dead_letter_file *files; /* by output index */
    size_t file_count;
    struct buf line;
};

struct dead_letter *dead_letter_create(const char *state_dir, int64_t max_bytes)
{
    struct dead_letter *dl = xcalloc(1, sizeof *dl);
    dl->folder = xasprintf("%s/dead-letter", state_dir);
    dl->max_bytes = max_bytes;
    dl->used_bytes = -1;
    dl->bytes_gauge =
        metrics_gauge("skiff_dead_letter_bytes", "Bytes in the dead-letter folder's files", "");
    return dl;
}

void dead_letter_destroy(struct dead_letter *dl)
{
    if (!dl)
        return;
    for (size_t i = 0; i < dl->file_count; i++) {
        if (dl->files[i].fd >= 0)
            close(dl->files[i].fd);
    }
    free(dl->files);
    buf_free(&dl->line);
    free(dl->folder);
    free(dl);
}

/* Sums the sizes of the folder's regular files. */
static int64_t dead_letter_measure(const char *folder)
{
    DIR *dir = opendir(folder);
    if (!dir)
        return 0;
    int64_t total = 0;
    struct dirent *entry;
    while ((entry = readdir(dir))) {
        struct stat st;
        if (fstatat(dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISREG(st.st_mode))
            total += st.st_size;
    }
    closedir(dir);
    return total;
}

static struct dead_letter_file *dead_letter_file_for(struct dead_letter *dl,
                                                     const struct instance *output)
{
    if (output->index >= dl->file_count) {
        size_t count = output->index + 1;
        dl->files = xrealloc(dl->files, count * sizeof *dl->files);
        for (size_t i = dl->file_count; i < count; i++)
            dl->files[i] = (struct dead_letter_file){.fd = -1};
        dl->file_count = count;
    }
    struct dead_letter_file *file = &dl->files[output->index];
    if (!file->records) {
        struct buf labels = BUF_INIT;
        metrics_labels(&labels, "instance", output->alias, "plugin", output->plugin->name, NULL);
        file->records =
            metrics_counter("skiff_dead_letter_records_total",
                            "Records written to the dead-letter folder", buf_cstr(&labels));
        buf_free(&labels);
    }
    return file;
}

/* True while `path` is still the file open in `file`. */
static bool dead_letter_file_current(const struct dead_letter_file *file, const char *path)
{
    struct stat st;
    return file->fd >= 0 && stat(path, &st) == 0 && st.st_dev == file->dev &&
           st.st_ino == file->ino;
}

/* Opens (or opens again) `path` for appending. */
static int dead_letter_open(struct dead_letter *dl, struct dead_letter_file *file, const char *path)
{
    struct stat st;
    if (dead_letter_file_current(file, path))
        return 0;
    if (file->fd >= 0) {
        close(file->fd);
        file->fd = -1;
    }
    char *failed = NULL;
    if (durable_file_make_folders(dl->folder, &failed) < 0) {
        free(failed);
        return -1;
    }
    file->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (file->fd < 0 || fstat(file->fd, &st) < 0)
        return -1;
    file->dev = st.st_dev;
    file->ino = st.st_ino;
    return 0;
}

static void dead_letter_format(struct buf *line, const struct instance *output,
                               const struct chunk *chunk, const struct record_view *rec,
                               const char *reason)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    buf_reset(line);
    buf_append_str(line, "{\"dead_lettered_at\":");
    json_write_time(line, (struct record_time){.sec = now.tv_sec, .nsec = (uint32_t)now.tv_nsec});
    buf_append_str(line, ",\"output\":");
    json_write_string(line, output->alias, strlen(output->alias), NULL);
    buf_append_str(line, ",\"tag\":");
    json_write_string(line, chunk->tag, strlen(chunk->tag), NULL);
    buf_append_str(line, ",\"reason\":");
    const char *why = reason ? reason : "no reason given";
    char *masked = secret_mask(why); /* a server's answer may quote a secret */
    if (masked)
        why = masked;
    json_write_string(line, why, strlen(why), NULL);
    free(masked);
    buf_append_str(line, ",\"record\":");
    if (json_write_record(line, rec, chunk->attachments, "time", NULL) < 0)
        buf_append_str(line, "null");
    buf_append_str(line, "}\n");
}

static int dead_letter_drop(struct instance *output, const char *why)
{
    instance_count_dropped(output, why, 1);
    return -1;
}

/* When full, the folder is measured again (an operator may have moved files
 * away), at most once a second. */
static bool dead_letter_has_room(struct dead_letter *dl, size_t len)
{
    int64_t now = monotonic_ms();
    if (dl->used_bytes < 0 ||
        (dl->used_bytes + (int64_t)len > dl->max_bytes && now - dl->measured_ms >= 1000)) {
        dl->used_bytes = dead_letter_measure(dl->folder);
        dl->measured_ms = now;
    }
    metric_set(dl->bytes_gauge, dl->used_bytes);
    return dl->used_bytes + (int64_t)len <= dl->max_bytes;
}

int dead_letter_write(struct dead_letter *dl, struct instance *output, const struct chunk *chunk,
                      const struct record_view *rec, const char *reason)
{
    struct dead_letter_file *file = dead_letter_file_for(dl, output);
    if (dl->max_bytes == 0)
        return dead_letter_drop(output, "dead_letter_off");

    char path[4096];
    snprintf(path, sizeof path, "%s/%s.ndjson", dl->folder, output->alias);
    if (file->fd >= 0 && !dead_letter_file_current(file, path))
        dl->used_bytes = -1; /* moved away: measure the folder again */

    dead_letter_format(&dl->line, output, chunk, rec, reason);
    if (!dead_letter_has_room(dl, dl->line.len)) {
        if (!dl->warned_full)
            log_error(output->alias,
                      "dead-letter folder %s is full (%lld of %lld bytes): records given up on "
                      "are dropped and counted in skiff_records_dropped_total"
                      "{reason=\"dead_letter_full\"}; move its files away or raise "
                      "service.dead_letter.max_size",
                      dl->folder, (long long)dl->used_bytes, (long long)dl->max_bytes);
        dl->warned_full = true;
        return dead_letter_drop(output, "dead_letter_full");
    }
    dl->warned_full = false;

    ssize_t n = -1;
    struct stat before = {0};
    if (dead_letter_open(dl, file, path) == 0 && fstat(file->fd, &before) == 0) {
        do
            n = write(file->fd, dl->line.data, dl->line.len);
        while (n < 0 && errno == EINTR);
    }
    if (n != (ssize_t)dl->line.len) {
        int err = n < 0 ? errno : ENOSPC; /* a short write to a regular file means no space */
        if (n > 0 && ftruncate(file->fd, before.st_size) < 0)
            err = errno; /* the torn line stays; readers skip a line that is not JSON */
        if (err != file->last_errno)
            log_error(output->alias,
                      "cannot write to the dead-letter file %s: %s; records given up on are "
                      "dropped and counted in skiff_records_dropped_total"
                      "{reason=\"dead_letter_error\"}",
                      path, strerror(err));
        file->last_errno = err;
        return dead_letter_drop(output, "dead_letter_error");
    }
    file->last_errno = 0;
    dl->used_bytes += n;
    metric_set(dl->bytes_gauge, dl->used_bytes);
    metric_add(file->records, 1);
    return 0;
}
