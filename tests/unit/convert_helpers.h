/* Helpers shared by the unit tests of `skiff --convert`'s mapping (see
 * convert_helpers.c): convert a Fluent Bit text, look for what the YAML and
 * the notes hold, load the result as --dry-run does. */
#ifndef SKIFF_TEST_CONVERT_HELPERS_H
#define SKIFF_TEST_CONVERT_HELPERS_H

#include "convert.h"

/* Converts a classic (or, with `yaml`, a YAML) Fluent Bit text; the input
 * must be readable. The caller frees with convert_result_free. */
void convert_ok(struct convert_result *r, const char *text, bool yaml);
/* The YAML holds `snippet` (lines joined with '\n'). */
void assert_yaml_has(const struct convert_result *r, const char *snippet);
void assert_yaml_lacks(const struct convert_result *r, const char *snippet);
/* Some note (stderr line) holds `snippet`; the count of notes. */
void assert_note(const struct convert_result *r, const char *snippet);
/* Some error holds `snippet`. */
void assert_error_has(const struct convert_result *r, const char *snippet);
/* skiff's loader takes the YAML (no environment needed by it). */
void assert_loads(const struct convert_result *r);

#endif
