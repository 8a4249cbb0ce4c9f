/* Checking and describing the systemd input's `matches` (systemd_match.h).
 * The rules for a match are sd-journal's own (match_is_valid() in
 * src/libsystemd/sd-journal/sd-journal.c): sd_journal_add_match() refuses
 * anything else with EINVAL, which here becomes a config error with its line
 * instead of a failure at start. */
#include "systemd_match.h"

#include "buf.h"
#include "xalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static bool field_char_ok(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static bool field_has_lower_case(const char *field, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (field[i] >= 'a' && field[i] <= 'z')
            return true;
    return false;
}

int journal_match_check(const char *match, char **error)
{
    const char *eq = strchr(match, '=');
    if (!eq) {
        *error = xasprintf("'%s' is not FIELD=value", match);
        return -1;
    }
    size_t len = (size_t)(eq - match);
    if (len == 0) {
        *error = xasprintf("'%s' has no field name before '='", match);
        return -1;
    }
    if (len >= 2 && match[0] == '_' && match[1] == '_') {
        *error = xasprintf("'%.*s': fields starting with \"__\" (such as __CURSOR) are the "
                           "journal's own addresses and cannot be matched",
                           (int)len, match);
        return -1;
    }
    if (field_has_lower_case(match, len)) {
        char *upper = xstrndup(match, len);
        for (char *p = upper; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        *error = xasprintf("'%.*s': journal field names are upper case (did you mean '%s'?)",
                           (int)len, match, upper);
        free(upper);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (!field_char_ok(match[i])) {
            *error = xasprintf("'%.*s': a journal field name has only A-Z, 0-9 and '_'", (int)len,
                               match);
            return -1;
        }
    }
    return 0;
}

static size_t field_length(const char *match)
{
    const char *eq = strchr(match, '=');
    return eq ? (size_t)(eq - match) : strlen(match);
}

static bool same_field(const char *a, const char *b)
{
    size_t len = field_length(a);
    return len == field_length(b) && memcmp(a, b, len) == 0;
}

/* True if an earlier match names the same field as matches[i]. */
static bool field_seen_before(char *const *matches, size_t i)
{
    for (size_t k = 0; k < i; k++)
        if (same_field(matches[k], matches[i]))
            return true;
    return false;
}

static size_t count_of_field(char *const *matches, size_t count, size_t i)
{
    size_t n = 0;
    for (size_t k = 0; k < count; k++)
        n += same_field(matches[k], matches[i]);
    return n;
}

/* "A=1 OR A=2" for the field of matches[i], in parentheses when it has
 * several values and other fields are ANDed with it. */
static void describe_field(char *const *matches, size_t count, size_t i, bool several_fields,
                           struct buf *out)
{
    size_t values = count_of_field(matches, count, i);
    bool parens = values > 1 && several_fields;
    if (parens)
        buf_append_byte(out, '(');
    bool first = true;
    for (size_t k = i; k < count; k++) {
        if (!same_field(matches[k], matches[i]))
            continue;
        if (!first)
            buf_append_str(out, " OR ");
        buf_append_str(out, matches[k]);
        first = false;
    }
    if (parens)
        buf_append_byte(out, ')');
}

static size_t distinct_fields(char *const *matches, size_t count)
{
    size_t n = 0;
    for (size_t i = 0; i < count; i++)
        n += !field_seen_before(matches, i);
    return n;
}

char *journal_matches_describe(char *const *matches, size_t count, bool match_any)
{
    if (count == 0)
        return xstrdup("everything");
    struct buf out = BUF_INIT;
    if (match_any) {
        for (size_t i = 0; i < count; i++)
            buf_printf(&out, "%s%s", i ? " OR " : "", matches[i]);
    } else {
        bool several = distinct_fields(matches, count) > 1;
        bool first = true;
        for (size_t i = 0; i < count; i++) {
            if (field_seen_before(matches, i))
                continue;
            if (!first)
                buf_append_str(&out, " AND ");
            describe_field(matches, count, i, several, &out);
            first = false;
        }
    }
    char *text = xstrdup(buf_cstr(&out));
    buf_free(&out);
    return text;
}
