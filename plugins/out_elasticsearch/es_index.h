/* Index (or data stream) names from a pattern such as
 * `logs-${kubernetes.namespace_name}-%Y.%m.%d`, compiled once at config time
 * and expanded per record. Not a strftime: only the conversions below, always
 * in UTC, from the record's own time (not the time of sending), so a retried
 * record lands in the same index as its first attempt.
 *
 *   %Y year (4 digits)  %m month 01-12  %d day 01-31  %H hour 00-23
 *   %M minute 00-59     %j day of year 001-366        %% a '%'
 *   ${path}             a record field (field_path syntax), string or number
 *
 * A field that is missing, empty, or neither a string nor a number expands to
 * "unknown" (ES_INDEX_FALLBACK), and the expansion says so, so that the
 * output can count it: records still reach Elasticsearch, in an index whose
 * name shows what was missing, instead of being dropped or blocking a chunk.
 *
 * es_index_expand appends the name as the record makes it; es_index_name_fix
 * then makes it valid for Elasticsearch, which refuses upper case letters,
 * any of \ / * ? " < > | space , # :, a leading - _ or +, the names . and
 * .., and more than 255 bytes. The fixes are counted by the caller. */
#ifndef SKIFF_ES_INDEX_H
#define SKIFF_ES_INDEX_H

#include "buf.h"
#include "codec.h"
#include "record.h"

#include <stdbool.h>

#define ES_INDEX_FALLBACK "unknown"
#define ES_INDEX_NAME_MAX 255

/* What es_index_name_fix changed, as bits (1 << fix). */
enum es_index_fix {
    ES_INDEX_FIX_UPPERCASE, /* lower-cased (ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic) */
    ES_INDEX_FIX_FORBIDDEN, /* \ / * ? " < > | space , # : became '_' */
    ES_INDEX_FIX_LEADING,   /* leading '_', '-', '+' removed */
    ES_INDEX_FIX_DOTS,      /* "." or "..": ES_INDEX_FALLBACK */
    ES_INDEX_FIX_TOO_LONG,  /* cut to 255 bytes at a UTF-8 boundary */
    ES_INDEX_FIX_EMPTY,     /* nothing left: ES_INDEX_FALLBACK */
    ES_INDEX_FIX_COUNT,
};

struct es_index_pattern;

/* Returns NULL with a message in *error (malloc'ed) naming the problem and its
 * column: an unknown conversion, an unterminated ${, an invalid field path. */
struct es_index_pattern *es_index_pattern_compile(const char *text, char **error);
void es_index_pattern_free(struct es_index_pattern *pattern);
/* At load: the pattern's own text must already be a valid name (lower case,
 * no forbidden character, no leading - _ +), since only field values are
 * fixed at run time. Returns 0, or -1 with a message in *error (malloc'ed). */
int es_index_pattern_check(const struct es_index_pattern *pattern, const char *text, char **error);
/* True if the pattern depends on nothing in the record. */
bool es_index_pattern_is_constant(const struct es_index_pattern *pattern);

/* What a record's name depends on, when that can be told without reading
 * the record's own fields: its time in the pattern's finest unit (day,
 * hour or minute) and the attachment each ${field} reads through (an
 * attachment never changes once made). Records with equal keys get the same
 * name and the same answer from es_index_expand, so a caller can expand
 * once per run of equal keys, e.g. once per day for logs-%Y.%m.%d. */
#define ES_INDEX_KEY_FIELDS 4
struct es_index_key {
    int64_t period; /* the record's (clamped) time divided by the unit, rounded down */
    const struct attachment *through[ES_INDEX_KEY_FIELDS];
};
/* Fills *key and returns true, or returns false when some field reads the
 * record's own fields (or the pattern has over ES_INDEX_KEY_FIELDS fields):
 * then only es_index_expand tells the name. */
bool es_index_key_of(const struct es_index_pattern *pattern, const struct record_view *view,
                     struct attachment *const *attachments, struct es_index_key *key);
bool es_index_key_equal(const struct es_index_key *a, const struct es_index_key *b);

/* Appends the name for one record, not yet fixed. Returns 1 if some field
 * fell back to ES_INDEX_FALLBACK, 0 if not, -1 if the record's encoding is
 * malformed. */
int es_index_expand(const struct es_index_pattern *pattern, const struct record_view *view,
                    struct attachment *const *attachments, struct buf *out);

/* Appends `name` made valid (es_index_name.c); returns the fixes made, as
 * bits (1 << enum es_index_fix), 0 when the name was valid. */
unsigned es_index_name_fix(const char *name, size_t len, struct buf *out);
/* The metric label of a fix: "uppercase", "forbidden_character", ... */
const char *es_index_fix_name(enum es_index_fix fix);

#endif
