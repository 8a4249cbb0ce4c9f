/* The systemd input's checkpoint: where a restart resumes. Either "after
 * this cursor" (the newest entry that, with all before it, was acknowledged)
 * or "at the head" (the journal was empty when the input first started, so
 * everything in it later is new). A small text file under state_dir/systemd/,
 * replaced atomically (durable_file.c):
 *   skiff-systemd-checkpoint 1
 *   cursor <cursor>          (or: head)
 *   end <CRC32 of the lines before, 8 hex digits>
 * Not for the journal itself: that is systemd_journal.c. */
#ifndef SKIFF_SYSTEMD_CHECKPOINT_H
#define SKIFF_SYSTEMD_CHECKPOINT_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>

/* Longest cursor kept; sd-journal's are about 130 bytes. */
#define JOURNAL_CURSOR_MAX 1024

/* The file's text for `cursor` (NULL: head). */
void journal_checkpoint_encode(const char *cursor, struct buf *out);
/* Returns 0 with *cursor malloc'ed (NULL for head), or -1 with a malloc'ed
 * message naming the line and what is wrong with it. Any bytes are safe. */
int journal_checkpoint_decode(const char *data, size_t len, char **cursor, char **error);

/* Reads the checkpoint at `path`: 1 with *cursor set (NULL for head), 0 when
 * there is none (no file, or one that does not decode: it is renamed to
 * PATH.corrupt and logged under `component`), -1 with a message in *error
 * when the folder cannot be created or the file cannot be read. */
int journal_checkpoint_load(const char *path, const char *component, char **cursor, char **error);
/* Replaces the checkpoint (temporary file, fsync, rename, fsync of the
 * folder). Returns 0, or -1 with a message in *error; the old file stays. */
int journal_checkpoint_save(const char *path, const char *cursor, char **error);

#endif
