/* Fluent Bit's value syntaxes into skiff's, for `skiff --convert`: booleans,
 * sizes, times, comma lists, record accessors, and ${VAR} references. Each
 * parser returns 0, or -1 when the text is not a value Fluent Bit takes. */
#ifndef SKIFF_CONVERT_VALUE_H
#define SKIFF_CONVERT_VALUE_H

#include "convert_model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* On/Off, true/false, yes/no in any case (Fluent Bit's flb_utils_bool). */
int cv_bool(const char *text, bool *out);
/* A size: 5MB, 32k, 1.5M, 4096; K, M, G with or without B are powers of 1000
 * as in Fluent Bit (flb_utils_size_to_bytes), the same as skiff's KB, MB. */
int cv_size(const char *text, int64_t *bytes);
/* Seconds as Fluent Bit's service and tail take them: `1`, `0.5`. */
int cv_seconds(const char *text, int64_t *ms);
/* Fluent Bit's time options: a number with an optional s, m, h or d. With
 * `whole`, only the integer part counts, as in Fluent Bit's config maps
 * (flb_utils_time_to_seconds); otherwise fractions too (throttle). */
int cv_time(const char *text, bool whole, int64_t *ms);
/* An integer, optionally signed. */
int cv_int(const char *text, int64_t *out);
/* A number, integer or decimal (`1`, `0.5`). */
int cv_number(const char *text);

/* skiff's text for a size in bytes (`5MB`, `32KiB`) or a duration in ms
 * (`1s`, `500ms`); malloc'ed. */
char *cv_size_text(int64_t bytes);
char *cv_duration_text(int64_t ms);

/* The value as skiff reads it: variables of the Fluent Bit file (@SET, the
 * YAML env section) replaced by their values; other ${NAME} references kept
 * for skiff to take from the environment, as Fluent Bit would; a literal
 * `$$` doubled, since skiff reads `$$` as `$`. Malloc'ed. */
char *cv_text(const struct fb_config *config, const char *value);

/* Splits a comma-separated list (Fluent Bit's CLIST): items trimmed, empty
 * ones dropped. Returns the count; *items malloc'ed, each malloc'ed. */
size_t cv_split_list(const char *text, char ***items);
void cv_free_list(char **items, size_t count);

/* A Fluent Bit record accessor (`$kubernetes['labels']['app']`, or a plain
 * key `log`, `$log`) as a skiff field path (`kubernetes.labels.app`); a key
 * with a dot or bracket is quoted (`["a.b"]`). With `top_level_key`, a text
 * without `$` is one top-level key even with dots in it (modify's keys).
 * Returns NULL with a message in *error (malloc'ed) for what has no field
 * path (an array index, `$TAG`). */
char *cv_field_path(const char *accessor, bool top_level_key, char **error);

/* Splits Fluent Bit's argument lists (modify rules, multiline rule lines):
 * blanks separate, "..." or '...' keep blanks in one argument (quotes
 * removed). Returns the count, or -1 for an unterminated quote. */
int cv_split_args(const char *text, char ***args);

#endif
