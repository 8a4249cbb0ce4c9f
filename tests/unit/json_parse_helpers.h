/* Parsing helpers shared by the JSON parser's tests (test_json_parse.c,
 * test_json_parse_large.c; see json_parse_helpers.c). */
#ifndef SKIFF_TEST_JSON_PARSE_HELPERS_H
#define SKIFF_TEST_JSON_PARSE_HELPERS_H

#include "json_parse.h"

#include <stddef.h>

/* Parses a copy of exactly `len` bytes, without a terminator, so that ASan
 * catches any read past the end. */
int parse_exact(const char *text, size_t len, struct value *out, char **error);
/* Parses `text`, which must be valid; fails the test with the error. */
struct value parse_ok(const char *text);

#endif
