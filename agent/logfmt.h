/* The logfmt parser: `level=info msg="a b" took=3ms flag` becomes the fields
 * level="info", msg="a b", took="3ms", flag=true. For the parser filter's
 * `logfmt` format; not a writer, and values are not typed here (the parser's
 * `types` option converts them later).
 *
 * The rules:
 *   - Pairs are separated by runs of ASCII whitespace (space, \t, \n, \v, \f,
 *     \r); leading and trailing whitespace is ignored.
 *   - A key is a run of bytes other than whitespace, '=' and '"'.
 *   - `key=value`: the value is the bytes up to the next whitespace, '=' and
 *     '"' included. `key=` is the empty string.
 *   - `key="..."`: a quoted value with the escapes \" \\ \n \t \r; any other
 *     backslash is kept as it is (`\x` stays `\x`). The closing quote must be
 *     followed by whitespace or the end.
 *   - `key` alone is the boolean true.
 *   - A key that appears twice keeps its first position and its last value.
 * Malformed input is rejected whole: an unterminated quote, a pair that starts
 * with '=' or '"', or bytes glued to a closing quote. */
#ifndef SKIFF_LOGFMT_H
#define SKIFF_LOGFMT_H

#include "value.h"

#include <stddef.h>

/* Adds the pairs of `s` to `out`. Returns 0, or -1 if `s` is malformed; *out
 * is then unchanged. Never reads past `len`; `s` need not be NUL-terminated. */
int logfmt_parse(const char *s, size_t len, struct value_map *out);

#endif
