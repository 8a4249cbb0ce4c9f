/* Tag globs (see tag_match.h). */
#include "tag_match.h"

#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

/* Iterative glob match with single backtrack point: linear in practice, never
 * exponential. */
bool tag_match(const char *pattern, const char *tag)
{
    const char *star = NULL;
    const char *resume = NULL;

    while (*tag) {
        if (*pattern == '*') {
            star = pattern++;
            resume = tag;
        } else if (*pattern == *tag) {
            pattern++;
            tag++;
        } else if (star) {
            pattern = star + 1;
            tag = ++resume;
        } else {
            return false;
        }
    }
    while (*pattern == '*')
        pattern++;
    return *pattern == '\0';
}

/* Two star patterns share a word iff we can walk both to their ends, where a
 * star either matches nothing or swallows one character of the other side.
 * Memoised over (i, j) so it is O(len(a) * len(b)). */
enum { UNKNOWN = 0, NO = 1, YES = 2 };

static bool overlap_at(const char *a, size_t na, size_t i, const char *b, size_t nb, size_t j,
                       unsigned char *memo)
{
    unsigned char *m = &memo[i * (nb + 1) + j];
    if (*m != UNKNOWN)
        return *m == YES;

    bool result;
    if (i == na && j == nb)
        result = true;
    else if (i < na && a[i] == '*')
        result = overlap_at(a, na, i + 1, b, nb, j, memo) ||
                 (j < nb && overlap_at(a, na, i, b, nb, j + 1, memo));
    else if (j < nb && b[j] == '*')
        result = overlap_at(a, na, i, b, nb, j + 1, memo) ||
                 (i < na && overlap_at(a, na, i + 1, b, nb, j, memo));
    else
        result = i < na && j < nb && a[i] == b[j] && overlap_at(a, na, i + 1, b, nb, j + 1, memo);

    *m = result ? YES : NO;
    return result;
}

bool tag_patterns_overlap(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    unsigned char *memo = xcalloc((na + 1) * (nb + 1), 1);
    bool result = overlap_at(a, na, 0, b, nb, 0, memo);
    free(memo);
    return result;
}
