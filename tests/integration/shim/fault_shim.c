/* An LD_PRELOAD shim for the storage fault tests: makes write(2) or fsync(2)
 * on skiff's temporary chunk files (".../chunks/<id>.chunk.tmp") fail with
 * ENOSPC or EIO while the file named by SKIFF_FAULT_FILE says so. That file
 * holds one line, "<call> <errno name>" (call: write or fsync; errno name:
 * ENOSPC or EIO), or nothing for no faults; the test rewrites it to change
 * the fault while skiff runs. Other files are never touched. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fault_for(const char *call, int fd)
{
    const char *control = getenv("SKIFF_FAULT_FILE");
    if (!control)
        return 0;
    char link[64], target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0)
        return 0;
    target[n] = '\0';
    if (!strstr(target, "/chunks/") || !strstr(target, ".chunk.tmp"))
        return 0;

    int cfd = open(control, O_RDONLY | O_CLOEXEC);
    if (cfd < 0)
        return 0;
    char text[64] = {0};
    ssize_t got = read(cfd, text, sizeof text - 1);
    close(cfd);
    if (got <= 0)
        return 0;
    char which[16], name[16];
    if (sscanf(text, "%15s %15s", which, name) != 2 || strcmp(which, call) != 0)
        return 0;
    if (strcmp(name, "ENOSPC") == 0)
        return ENOSPC;
    if (strcmp(name, "EIO") == 0)
        return EIO;
    return 0;
}

ssize_t write(int fd, const void *data, size_t len)
{
    static ssize_t (*real_write)(int, const void *, size_t);
    if (!real_write)
        real_write = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    int err = fault_for("write", fd);
    if (err) {
        errno = err;
        return -1;
    }
    return real_write(fd, data, len);
}

int fsync(int fd)
{
    static int (*real_fsync)(int);
    if (!real_fsync)
        real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    int err = fault_for("fsync", fd);
    if (err) {
        errno = err;
        return -1;
    }
    return real_fsync(fd);
}
