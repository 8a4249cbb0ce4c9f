/* Record and field-path helpers shared by the record unit tests (see
 * record_helpers.c). */
#ifndef SKIFF_TEST_RECORD_HELPERS_H
#define SKIFF_TEST_RECORD_HELPERS_H

#include "record.h"

#include <stdbool.h>
#include <stdint.h>

struct field_path path(const char *text);
const struct value *get(const struct record *rec, const char *text);
/* Sets `v` at `text`; checks the record took it. */
void set(struct record *rec, const char *text, struct value v);
bool delete (struct record *rec, const char *text);
bool rename_path(struct record *rec, const char *from, const char *to);
int64_t get_int(const struct record *rec, const char *text);
const char *get_str(const struct record *rec, const char *text);
/* The keys of a map joined with ',' into a static buffer. */
const char *keys(const struct value_map *map);

#endif
