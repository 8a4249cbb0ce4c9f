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
 * Elasticsearch rejects names with upper case letters or any of
 * \ / * ? " < > | space , # : so the expanded name is lower-cased (ASCII) and
 * each of those bytes is replaced by '_'. Other rules (no leading - _ +, at
 * most 255 bytes) are left to Elasticsearch: such items come back as 400 and
 * go to the dead-letter file with its reason. */
#ifndef SKIFF_ES_INDEX_H
#define SKIFF_ES_INDEX_H

#include "buf.h"
#include "codec.h"
#include "record.h"

#include <stdbool.h>

#define ES_INDEX_FALLBACK "unknown"

struct es_index_pattern;

/* Returns NULL with a message in *error (malloc'ed) naming the problem and its
 * column: an unknown conversion, an unterminated ${, an invalid field path. */
struct es_index_pattern *es_index_pattern_compile(const char *text, char **error);
void es_index_pattern_free(struct es_index_pattern *pattern);
/* True if the pattern depends on nothing in the record. */
bool es_index_pattern_is_constant(const struct es_index_pattern *pattern);

/* Appends the name for one record. Returns 1 if some field fell back to
 * ES_INDEX_FALLBACK, 0 if not, -1 if the record's encoding is malformed. */
int es_index_expand(const struct es_index_pattern *pattern, const struct record_view *view,
                    struct attachment *const *attachments, struct buf *out);

#endif
