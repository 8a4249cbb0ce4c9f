/* merge_log: a container that logs JSON objects gets their members as fields
 * of the record, at the root or under one key. Not a parser plugin: the
 * text is parsed with json_parse and nothing else is applied (no time key). */
#ifndef SKIFF_K8S_MERGE_H
#define SKIFF_K8S_MERGE_H

#include "record.h"

#include <stdbool.h>
#include <stdint.h>

enum k8s_merge_result {
    K8S_MERGE_NONE,   /* no text field, or not an object's text */
    K8S_MERGE_OK,     /* merged */
    K8S_MERGE_FAILED, /* looked like an object but did not parse */
};

/* Members that could not go to the root because the record already has a
 * field or attachment of that name (its `kubernetes` metadata, `path`,
 * `stream`...): the record's value wins, so every document has unique keys
 * and the metadata is kept, as Fluent Bit keeps it. */
struct k8s_merge_collisions {
    uint32_t count;
    char first_key[64]; /* the first one's name, cut to fit, for the log */
};

/* Moves the members of `members` to the record's root, except those whose
 * name the record already has (counted in *collisions). Empties `members`. */
void k8s_merge_members(struct record *rec, struct value_map *members,
                       struct k8s_merge_collisions *collisions);

struct k8s_merge_options {
    const char *log_key;   /* the field with the line's text */
    const char *merge_key; /* "" for the record's root */
    bool keep_log;         /* keep the text under log_key */
    bool trim;             /* merge_log_trim */
};

/* Puts parsed members where merge_log puts them, as Fluent Bit does for
 * merge_log and for a parser an annotation names: with `trim`, line breaks
 * and their written forms (the two characters \n or \r) that end its
 * top-level string values are removed first (merge_log_trim); then they go
 * under `merge_key` (no key at all for an empty object), or to the root when
 * `merge_key` is "" (k8s_merge_members). Empties `members`. */
void k8s_merge_place(struct record *rec, struct value_map *members,
                     const struct k8s_merge_options *opts, struct k8s_merge_collisions *collisions);

/* Parses the text of the top-level field `log_key` if it holds a JSON object
 * (surrounding whitespace allowed) and places its members with
 * k8s_merge_place. The text itself stays under `log_key` if `keep_log`, else
 * is removed first. */
enum k8s_merge_result k8s_merge_log(struct record *rec, const struct k8s_merge_options *opts,
                                    struct k8s_merge_collisions *collisions);

#endif
