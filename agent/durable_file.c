/* Crash-safe file replacement and its companions (see durable_file.h), with
 * a fault seam so that tests can make each write, fsync and rename fail. */
#include "durable_file.h"

#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- fault injection (tests only) ---- */

static struct durable_file_faults faults;
static int write_calls, fsync_calls, rename_calls;

void durable_file_set_faults(const struct durable_file_faults *set)
{
    memset(&faults, 0, sizeof faults);
    if (set)
        faults = *set;
    write_calls = fsync_calls = rename_calls = 0;
}

static bool fault_hit(int *calls, int fail_at)
{
    ++*calls;
    if (fail_at <= 0 || *calls != fail_at)
        return false;
    errno = faults.errno_value;
    return true;
}

static ssize_t faulty_write(int fd, const void *data, size_t len)
{
    return fault_hit(&write_calls, faults.fail_write_at) ? -1 : write(fd, data, len);
}

static int faulty_fsync(int fd)
{
    return fault_hit(&fsync_calls, faults.fail_fsync_at) ? -1 : fsync(fd);
}

static int faulty_rename(const char *from, const char *to)
{
    return fault_hit(&rename_calls, faults.fail_rename_at) ? -1 : rename(from, to);
}

/* ---- writing ---- */

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = faulty_write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Writes, optionally syncs, and closes fd; returns the step that failed (errno
 * set), or NULL. */
static const char *write_pieces_close(int fd, const struct iovec *pieces, size_t count, bool sync)
{
    const char *step = NULL;
    for (size_t i = 0; i < count && !step; i++) {
        if (write_all(fd, pieces[i].iov_base, pieces[i].iov_len) < 0)
            step = "write temporary file";
    }
    if (!step && sync && faulty_fsync(fd) < 0)
        step = "fsync temporary file";
    int saved = errno;
    if (close(fd) < 0 && !step)
        return "close temporary file";
    errno = saved;
    return step;
}

int durable_file_sync_folder(const char *folder)
{
    int fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = faulty_fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

static char *folder_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return xstrdup(".");
    return xstrndup(path, slash == path ? 1 : (size_t)(slash - path));
}

int durable_file_replace(const char *path, const struct iovec *pieces, size_t count, bool sync,
                         char **error)
{
    char *tmp = xasprintf("%s.tmp", path);
    const char *step = NULL;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        step = "open temporary file";
    else
        step = write_pieces_close(fd, pieces, count, sync);
    if (!step && faulty_rename(tmp, path) < 0)
        step = "rename temporary file";
    if (step) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
    } else if (sync) {
        char *folder = folder_of(path);
        if (durable_file_sync_folder(folder) < 0)
            step = "fsync folder";
        free(folder);
    }
    free(tmp);
    if (!step)
        return 0;
    int saved = errno;
    *error = xasprintf("%s: %s: %s", path, step, strerror(saved));
    errno = saved;
    return strcmp(step, "fsync folder") == 0 ? DURABLE_FILE_UNSYNCED : DURABLE_FILE_FAILED;
}

/* ---- reading and folders ---- */

int durable_file_read(const char *path, struct buf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    for (;;) {
        buf_reserve(out, 65536);
        ssize_t n = read(fd, out->data + out->len, out->cap - out->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int saved = errno;
            close(fd);
            errno = saved;
            return n == 0 ? 1 : -1;
        }
        out->len += (size_t)n;
    }
}

int durable_file_make_folders(const char *folder, char **failed)
{
    char *dir = xstrdup(folder);
    int rc = 0;
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char end = *p;
        *p = '\0';
        if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
            int saved = errno;
            *failed = xstrdup(dir);
            errno = saved;
            rc = -1;
        }
        *p = end;
        if (end == '\0' || rc < 0)
            break;
    }
    free(dir);
    return rc;
}
