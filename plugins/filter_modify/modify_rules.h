/* The modify filter's program: conditions and rules written as Fluent Bit's
 * `Condition` and rule lines (`set level error`, `key_exists log`), compiled
 * once at load and applied to a record through the record API. */
#ifndef SKIFF_MODIFY_RULES_H
#define SKIFF_MODIFY_RULES_H

#include "metrics.h"
#include "record.h"

#include <stdbool.h>
#include <stddef.h>

struct modify_step; /* one condition or rule */

struct modify_program {
    struct modify_step *conditions;
    size_t condition_count;
    struct modify_step *rules;
    size_t rule_count;
    void *match_data; /* pcre2_match_data *, shared by the regexes */
    /* encode_json: longer JSON is cut to this many bytes and marked (0: the
     * default, MODIFY_ENCODE_MAX_DEFAULT); each cut is counted in
     * `encode_cut` (may be NULL). */
    size_t encode_max_bytes;
    struct metric *encode_cut;
};

#define MODIFY_ENCODE_MAX_DEFAULT (32 * 1024)

/* Compiles one line into `prog` (a condition when `condition`, else a rule).
 * Returns 0, or -1 with a malloc'ed message in *error naming the action. */
int modify_add_line(struct modify_program *prog, bool condition, const char *line, char **error);
void modify_program_free(struct modify_program *prog);
/* Whether every condition holds for `rec`. */
bool modify_conditions_hold(const struct modify_program *prog, const struct record *rec);
/* Runs the rules in order when the conditions hold; returns whether the
 * record changed. */
bool modify_apply(const struct modify_program *prog, struct record *rec);

#endif
