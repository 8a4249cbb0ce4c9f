/* JSON input: one RFC 8259 text (a log line, a docker json-file entry) into a
 * struct value, for the json and docker parsers and the parser filter. Not a
 * streaming parser and not a validator: it is lenient where loggers are messy.
 *
 * Choices beyond the RFC:
 * - Raw bytes inside strings are kept as they are: invalid UTF-8 and
 *   unescaped control characters (< 0x20) are accepted, not rejected. The
 *   JSON writer (json.h) escapes the controls and replaces invalid UTF-8 by
 *   U+FFFD on output, so nothing malformed reaches an output.
 * - A \u escape of a lone or mismatched UTF-16 surrogate becomes U+FFFD.
 *   \u0000 is kept as a NUL byte inside the string (value strings carry a
 *   length).
 * - Integers that fit int64_t are VALUE_INT ("-0" is the integer 0); every
 *   other number (fraction, exponent, beyond int64_t) is VALUE_FLOAT read by
 *   strtod, which assumes the C locale: skiff never calls setlocale. A number
 *   beyond the range of a double (1e400) is an error, as in jansson and Go;
 *   one too small for it (1e-400) becomes 0 or a subnormal.
 * - Maps and arrays nest at most CODEC_MAX_DEPTH (64) deep, counting the top
 *   level, so recursion stays bounded. A map or array that would be deeper is
 *   kept whole as a string of its JSON text: an event with one deep part
 *   keeps its other fields (and its time). Inside such a part only the
 *   brackets (8192 levels at most) and the strings are checked.
 * - Of duplicate keys the last value wins, at the position of the first key
 *   (as value_map_set).
 * - Only the four JSON whitespace characters may surround the value; a byte
 *   order mark is an error.
 *
 * Error messages name what was wrong and where, counting bytes from 0:
 * "expected ':' at byte 17". */
#ifndef SKIFF_JSON_PARSE_H
#define SKIFF_JSON_PARSE_H

#include "value.h"

#include <stddef.h>

/* Parses `len` bytes holding exactly one JSON value. Returns 0 and sets *out,
 * or -1 with *out VALUE_NULL and a message in *error (malloc'ed, the caller
 * frees it; `error` may be NULL: the per-record callers only want to know).
 * Reads nothing past `len`; `text` need not be NUL-terminated. */
int json_parse(const char *text, size_t len, struct value *out, char **error);

/* The same for a text whose value must be an object: its members are added
 * to `map`, replacing the values of keys already there. On error `map` is
 * left unchanged. */
int json_parse_object_into(const char *text, size_t len, struct value_map *map, char **error);

#endif
