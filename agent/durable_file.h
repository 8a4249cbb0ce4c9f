/* Files that must survive a crash: replaced through a temporary file that is
 * fsynced and renamed over the old one, then the folder is fsynced, so a crash
 * at any moment leaves the old content or the new, never a torn mix. Used by
 * the tail checkpoints and the chunk files. Not a general file API. */
#ifndef SKIFF_DURABLE_FILE_H
#define SKIFF_DURABLE_FILE_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

/* How durable_file_replace fails: PATH keeps its old content, or PATH holds
 * the new content but the folder could not be fsynced (a crash of the machine
 * may still undo the rename). */
enum { DURABLE_FILE_FAILED = -1, DURABLE_FILE_UNSYNCED = -2 };

/* Writes `pieces` to PATH.tmp, fsyncs it (with `sync`), renames it over PATH
 * and fsyncs the folder (with `sync`). Returns 0, or DURABLE_FILE_FAILED or
 * DURABLE_FILE_UNSYNCED with errno set and a message in *error (malloc'ed,
 * the caller frees it) naming the path, the step and the system's reason:
 * "PATH: write temporary file: No space left on device". PATH.tmp never
 * outlives a failure. */
int durable_file_replace(const char *path, const struct iovec *pieces, size_t count, bool sync,
                         char **error);
/* fsyncs a folder, so that a rename or an unlink in it lasts. */
int durable_file_sync_folder(const char *folder);
/* Reads a whole file into `out`: 1, 0 if it does not exist, -1 with errno. */
int durable_file_read(const char *path, struct buf *out);
/* mkdir -p with mode 0750. Returns 0, or -1 with errno and the folder that
 * could not be made in *failed (malloc'ed). */
int durable_file_make_folders(const char *folder, char **failed);

/* For tests only: makes the Nth write, fsync or rename from now on fail with
 * errno_value (0 = never). NULL clears. */
struct durable_file_faults {
    int fail_write_at;
    int fail_fsync_at;
    int fail_rename_at;
    int errno_value;
};
void durable_file_set_faults(const struct durable_file_faults *faults);

#endif
