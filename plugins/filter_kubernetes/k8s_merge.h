/* merge_log: a container that logs JSON objects gets their members as fields
 * of the record, at the root or under one key. Not a parser plugin: the
 * text is parsed with json_parse and nothing else is applied (no time key). */
#ifndef SKIFF_K8S_MERGE_H
#define SKIFF_K8S_MERGE_H

#include "record.h"

#include <stdbool.h>

enum k8s_merge_result {
    K8S_MERGE_NONE,   /* no text field, or not an object's text */
    K8S_MERGE_OK,     /* merged */
    K8S_MERGE_FAILED, /* looked like an object but did not parse */
};

/* Parses the text of the top-level field `log_key` if it holds a JSON object
 * (surrounding whitespace allowed) and moves its members under `merge_key`,
 * or to the root when `merge_key` is "" (replacing fields of the same name).
 * The text itself stays under `log_key` if `keep_log`, else is removed. */
enum k8s_merge_result k8s_merge_log(struct record *rec, const char *log_key, const char *merge_key,
                                    bool keep_log);

#endif
