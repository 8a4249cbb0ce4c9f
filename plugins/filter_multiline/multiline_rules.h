/* The rule engine of the multiline filter: a rule set is a small state machine
 * of {state, regex, next_state} rules, like Fluent Bit's multiline parsers,
 * and three are built in (java, python, go). This file compiles and matches;
 * it knows nothing of records, sources or ordering (filter_multiline.c). */
#ifndef SKIFF_MULTILINE_RULES_H
#define SKIFF_MULTILINE_RULES_H

#include <stdbool.h>
#include <stddef.h>

/* The state in which a line may open an event. */
#define MULTILINE_START_STATE "start_state"

/* One rule as written: a line matching `regex` while in `state` belongs to
 * the event, which moves to `next_state`. */
struct multiline_rule_def {
    const char *state;
    const char *regex;
    const char *next_state;
};

struct multiline_rules;

/* The names of the built-in rule sets, NULL-terminated. */
extern const char *const multiline_builtin_names[];
bool multiline_is_builtin(const char *name);

/* Compiles a built-in rule set; NULL if there is none by that name. */
struct multiline_rules *multiline_rules_builtin(const char *name);
/* Compiles rules (PCRE2 with JIT). Returns NULL with a message in *error
 * (malloc'ed) if a regex does not compile or there is no start_state rule. A
 * next_state without rules of its own ends the event once reached. */
struct multiline_rules *multiline_rules_compile(const struct multiline_rule_def *defs, size_t count,
                                                char **error);
void multiline_rules_free(struct multiline_rules *rules);

/* The same one rule at a time, for rule sets checked as they are read: an
 * empty set, then each rule, its regex compiled here and only here. -1 with
 * "<PCRE2's message> at offset N" in *error (malloc'ed) if it does not
 * compile. The caller checks that start_state has a rule. */
struct multiline_rules *multiline_rules_new(void);
int multiline_rules_add(struct multiline_rules *rules, const struct multiline_rule_def *def,
                        char **error);

/* The start state's index. */
enum { MULTILINE_START = 0 };

/* The state a line moves an event in `state` to, or -1 if no rule of that
 * state matches it. */
int multiline_rules_match(struct multiline_rules *rules, int state, const char *text, size_t len);
/* True if `state` has no rules: an event that reaches it is complete. */
bool multiline_rules_final(const struct multiline_rules *rules, int state);

#endif
