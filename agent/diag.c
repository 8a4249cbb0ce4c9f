/* Config problems collected for one report (see diag.h), and the edit
 * distance behind "did you mean". Not for runtime logging: that is log.c. */
#include "diag.h"

#include "buf.h"
#include "cfg_node.h"
#include "xalloc.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void diag_add(struct diag_list *list, const struct cfg_node *at, const char *fmt, ...)
{
    struct buf text = BUF_INIT;
    va_list ap;

    if (at)
        buf_printf(&text, "%s:%u:%u: ", at->file, at->line, at->column);
    va_start(ap, fmt);
    buf_vprintf(&text, fmt, ap);
    va_end(ap);

    list->messages = xgrow(list->messages, &list->cap, list->count + 1, sizeof *list->messages);
    list->messages[list->count++] = xstrdup(buf_cstr(&text));
    buf_free(&text);
}

void diag_print(const struct diag_list *list, FILE *out)
{
    for (size_t i = 0; i < list->count; i++)
        fprintf(out, "%s\n", list->messages[i]);
}

void diag_free(struct diag_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->messages[i]);
    free(list->messages);
    list->messages = NULL;
    list->count = 0;
    list->cap = 0;
}

/* Edit distance where swapping two neighbouring letters counts as one edit
 * ("optimal string alignment"): `pth` and `grpe` are one typo away from
 * `path` and `grep`. Three rows; gives up (returning `limit` + 1) when the
 * lengths alone differ by more than `limit`. */
static size_t edit_distance(const char *a, const char *b, size_t limit)
{
    size_t na = strlen(a), nb = strlen(b);
    if ((na > nb ? na - nb : nb - na) > limit)
        return limit + 1;

    size_t *before = xmalloc((nb + 1) * sizeof *before);
    size_t *prev = xmalloc((nb + 1) * sizeof *prev);
    size_t *row = xmalloc((nb + 1) * sizeof *row);
    for (size_t j = 0; j <= nb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= na; i++) {
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t best = prev[j - 1] + (a[i - 1] != b[j - 1]);
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                before[j - 2] + 1 < best)
                best = before[j - 2] + 1;
            row[j] = best;
        }
        size_t *oldest = before;
        before = prev;
        prev = row;
        row = oldest;
    }
    size_t distance = prev[nb];
    free(before);
    free(prev);
    free(row);
    return distance;
}

const char *diag_closest(const char *word, const char *const *candidates, size_t count)
{
    size_t limit = strlen(word) / 3 > 1 ? strlen(word) / 3 : 1;
    const char *best = NULL;
    size_t best_distance = limit + 1;

    for (size_t i = 0; i < count; i++) {
        size_t distance = edit_distance(word, candidates[i], limit);
        if (distance < best_distance) {
            best = candidates[i];
            best_distance = distance;
        }
    }
    return best;
}
