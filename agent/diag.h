/* A list of user-facing config problems, collected so that one run reports all
 * of them at once, each as "FILE:LINE:COL: message". */
#ifndef SKIFF_DIAG_H
#define SKIFF_DIAG_H

#include <stddef.h>
#include <stdio.h>

struct cfg_node;

struct diag_list {
    char **messages;
    size_t count;
    size_t cap;
};

/* `at` may be NULL (no position is known); otherwise its file, line and column
 * prefix the message. */
void diag_add(struct diag_list *list, const struct cfg_node *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void diag_print(const struct diag_list *list, FILE *out);
void diag_free(struct diag_list *list);

/* For "did you mean" hints: the candidate closest to `word` within a small
 * edit distance, or NULL. */
const char *diag_closest(const char *word, const char *const *candidates, size_t count);

#endif
