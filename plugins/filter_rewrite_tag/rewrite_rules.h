/* The rewrite_tag filter's rules, written as Fluent Bit's `Rule`: `KEY REGEX
 * NEW_TAG KEEP`. KEY is a field path (`kubernetes.labels.app`, or Fluent
 * Bit's `$kubernetes['labels']['app']`); NEW_TAG is text with `$TAG`,
 * `$TAG[n]`, `$0`..`$9` and record fields (`${field.path}`, or Fluent Bit's
 * `$kubernetes['namespace_name']`). Compiled once at load; applied per
 * record without allocating unless a rule matches. */
#ifndef SKIFF_REWRITE_RULES_H
#define SKIFF_REWRITE_RULES_H

#include "buf.h"
#include "record.h"

#include <stdbool.h>
#include <stddef.h>

/* The longest tag a rule may give; a longer one is not used. */
#define REWRITE_TAG_MAX 256

struct rewrite_rule;

struct rewrite_rules {
    struct rewrite_rule *items;
    size_t count;
    void *match_data; /* pcre2_match_data *, shared by the rules' regexes */
    /* The last match: the string matched and how many captures it set. */
    const char *subject;
    unsigned captures_set;
};

/* Compiles one rule line and appends it. Returns 0, or -1 with a malloc'ed
 * message in *error naming what is wrong in the line. */
int rewrite_rules_add(struct rewrite_rules *rules, const char *line, char **error);
void rewrite_rules_free(struct rewrite_rules *rules);

/* The first rule whose KEY holds a string its REGEX matches, or -1. Its
 * captures stay in the rules' match data for rewrite_rules_tag. */
int rewrite_rules_match(struct rewrite_rules *rules, const struct record *rec);
/* Writes rule `index`'s NEW_TAG for the record, after rewrite_rules_match
 * returned `index` for it. */
void rewrite_rules_tag(const struct rewrite_rules *rules, int index, const char *tag,
                       const struct record *rec, struct buf *out);
bool rewrite_rules_keep(const struct rewrite_rules *rules, int index);

/* Why a tag a rule gave cannot be used (empty, too long, a control
 * character), or NULL when it can. */
const char *rewrite_tag_unusable(const char *tag, size_t len);

/* The NEW_TAG of a rule line as a `match` pattern: its text, with `*` where
 * the tag depends on the record. NULL if the line does not compile. */
char *rewrite_rule_tag_pattern(const char *line);

#endif
