/* The dead-letter folder: records an output gave up on (retries used up, or
 * refused for good by the destination) are appended to
 * state_dir/dead-letter/<output alias>.ndjson, one JSON object per line:
 *
 *   {"dead_lettered_at":"<RFC 3339>","output":"<alias>","tag":"<tag>",
 *    "reason":"<why>","record":{"time":"<RFC 3339>", fields...}}
 *
 * The folder has its own size bound (service.dead_letter.max_size). When it is
 * full, or a write fails, records are counted as dropped with a logged reason
 * instead. Operators may move or delete the files at any time: the size is
 * measured again when the bound is reached, and a file that was moved away is
 * created again. Output thread only. */
#ifndef SKIFF_DEAD_LETTER_H
#define SKIFF_DEAD_LETTER_H

#include "codec.h"

#include <stdint.h>

struct chunk;
struct instance;
struct dead_letter;

/* `max_bytes` 0 turns dead-lettering off (records are counted as dropped). */
struct dead_letter *dead_letter_create(const char *state_dir, int64_t max_bytes);
void dead_letter_destroy(struct dead_letter *dl);

/* Writes one record of `chunk` for `output`. Returns 0 when written, -1 when
 * it was counted as dropped instead (already logged). */
int dead_letter_write(struct dead_letter *dl, struct instance *output, const struct chunk *chunk,
                      const struct record_view *rec, const char *reason);

#endif
