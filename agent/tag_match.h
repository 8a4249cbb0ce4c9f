/* Tag globs: `*` matches any run of characters (also empty, also dots);
 * everything else matches itself. This is how `match` selects tags, as Fluent
 * Bit users know it. */
#ifndef SKIFF_TAG_MATCH_H
#define SKIFF_TAG_MATCH_H

#include <stdbool.h>

bool tag_match(const char *pattern, const char *tag);
/* True if some tag matches both patterns; used to reject a `match` that no
 * input's tag can reach (an input tag with `*` stands for any file's tag). */
bool tag_patterns_overlap(const char *a, const char *b);

#endif
