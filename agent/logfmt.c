/* The logfmt parser (rules in logfmt.h). A first pass checks the whole line
 * so that a malformed one adds nothing; the second builds the values. Both
 * passes share one scanner, so they cannot disagree. */
#include "logfmt.h"

#include "xalloc.h"

#include <stdbool.h>

enum pair_kind {
    PAIR_FLAG,   /* `key` */
    PAIR_BARE,   /* `key=value` or `key=` */
    PAIR_QUOTED, /* `key="value"`; the value is between the quotes, still escaped */
};

struct pair {
    enum pair_kind kind;
    const char *key;
    size_t key_len;
    const char *value;
    size_t value_len;
};

static bool is_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static bool is_key_byte(char c)
{
    return !is_space(c) && c != '=' && c != '"';
}

/* *pos is at the opening quote; leaves it after the closing one. */
static int scan_quoted(const char *s, size_t len, size_t *pos, struct pair *pair)
{
    size_t start = *pos + 1, i = start;
    while (i < len && s[i] != '"')
        i += s[i] == '\\' ? 2 : 1;
    if (i >= len)
        return -1;
    if (i + 1 < len && !is_space(s[i + 1]))
        return -1;
    pair->kind = PAIR_QUOTED;
    pair->value = s + start;
    pair->value_len = i - start;
    *pos = i + 1;
    return 1;
}

/* Reads the pair at or after *pos. Returns 1 with *pair set, 0 at the end of
 * the line, or -1 if the line is malformed. */
static int next_pair(const char *s, size_t len, size_t *pos, struct pair *pair)
{
    size_t i = *pos;
    while (i < len && is_space(s[i]))
        i++;
    if (i == len) {
        *pos = i;
        return 0;
    }
    pair->key = s + i;
    while (i < len && is_key_byte(s[i]))
        i++;
    pair->key_len = (size_t)(s + i - pair->key);
    if (pair->key_len == 0)
        return -1;
    if (i == len || is_space(s[i])) {
        pair->kind = PAIR_FLAG;
        *pos = i;
        return 1;
    }
    if (s[i++] != '=')
        return -1;
    if (i < len && s[i] == '"') {
        *pos = i;
        return scan_quoted(s, len, pos, pair);
    }
    pair->kind = PAIR_BARE;
    pair->value = s + i;
    while (i < len && !is_space(s[i]))
        i++;
    pair->value_len = (size_t)(s + i - pair->value);
    *pos = i;
    return 1;
}

/* The byte an escape stands for, or 0 if it is not one we decode. */
static char escaped_byte(char c)
{
    switch (c) {
    case '"':
    case '\\':
        return c;
    case 'n':
        return '\n';
    case 't':
        return '\t';
    case 'r':
        return '\r';
    default:
        return 0;
    }
}

static struct value unquote(const char *s, size_t len)
{
    char *text = xmalloc(len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char byte = i + 1 < len && s[i] == '\\' ? escaped_byte(s[i + 1]) : 0;
        if (byte) {
            text[n++] = byte;
            i++;
        } else {
            text[n++] = s[i];
        }
    }
    text[n] = '\0';
    return value_string_take(text, n);
}

static struct value pair_value(const struct pair *pair)
{
    switch (pair->kind) {
    case PAIR_FLAG:
        return value_bool(true);
    case PAIR_BARE:
        return value_string(pair->value, pair->value_len);
    default:
        return unquote(pair->value, pair->value_len);
    }
}

int logfmt_parse(const char *s, size_t len, struct value_map *out)
{
    struct pair pair;
    size_t pos = 0;
    int rc;
    while ((rc = next_pair(s, len, &pos, &pair)) > 0)
        continue;
    if (rc < 0)
        return -1;
    pos = 0;
    while (next_pair(s, len, &pos, &pair) > 0) {
        struct value v = pair_value(&pair);
        value_map_set(out, pair.key, pair.key_len, &v);
    }
    return 0;
}
