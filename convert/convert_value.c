/* Fluent Bit's value syntaxes into skiff's (see convert_value.h), each as
 * Fluent Bit reads it: flb_utils_bool, flb_utils_size_to_bytes,
 * flb_utils_time_to_seconds, flb_env_var_translate, the record accessor's
 * grammar (src/record_accessor/ra.l) and flb_utils_split_quoted. */
#include "convert_value.h"

#include "buf.h"
#include "options.h"
#include "options_units.h"
#include "xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int cv_bool(const char *text, bool *out)
{
    static const char *const yes[] = {"true", "on", "yes"};
    static const char *const no[] = {"false", "off", "no"};
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(text, yes[i]) == 0 || strcasecmp(text, no[i]) == 0) {
            *out = strcasecmp(text, yes[i]) == 0;
            return 0;
        }
    }
    return -1;
}

/* A decimal number followed by exactly `suffix`; -1 if it is not one. */
static int parse_number(const char *text, double *out, const char **suffix)
{
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)text[0]) && text[0] != '.')
        return -1;
    double value = strtod(text, &end);
    if (end == text || errno == ERANGE || !isfinite(value) || value < 0)
        return -1;
    *out = value;
    *suffix = end;
    return 0;
}

int cv_size(const char *text, int64_t *bytes)
{
    if (strcasecmp(text, "false") == 0) {
        *bytes = 0;
        return 0;
    }
    double value;
    const char *unit;
    if (parse_number(text, &value, &unit) < 0)
        return -1;
    double factor = 1;
    if (unit[0]) {
        char u = (char)toupper((unsigned char)unit[0]);
        if (unit[1] && (toupper((unsigned char)unit[1]) != 'B' || unit[2]))
            return -1;
        factor = u == 'K' ? 1e3 : u == 'M' ? 1e6 : u == 'G' ? 1e9 : 0;
        if (factor == 0)
            return -1;
    }
    if (value * factor >= 9.2e18)
        return -1;
    *bytes = (int64_t)(value * factor);
    return 0;
}

int cv_seconds(const char *text, int64_t *ms)
{
    double value;
    const char *rest;
    if (parse_number(text, &value, &rest) < 0 || *rest || value > 9.2e15)
        return -1;
    *ms = llround(value * 1000);
    return 0;
}

int cv_time(const char *text, bool whole, int64_t *ms)
{
    double value;
    const char *unit;
    if (parse_number(text, &value, &unit) < 0 || value > 1e12)
        return -1;
    if (whole)
        value = floor(value);
    double factor = 1;
    if (unit[0]) {
        char u = (char)tolower((unsigned char)unit[0]);
        if (unit[1])
            return -1;
        factor = u == 's' ? 1 : u == 'm' ? 60 : u == 'h' ? 3600 : u == 'd' ? 86400 : 0;
        if (factor == 0)
            return -1;
    }
    *ms = llround(value * factor * 1000);
    return 0;
}

int cv_int(const char *text, int64_t *out)
{
    char *end;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (end == text || *end || errno == ERANGE)
        return -1;
    *out = value;
    return 0;
}

int cv_number(const char *text)
{
    char *end;
    errno = 0;
    double value = strtod(text, &end);
    return end != text && !*end && errno != ERANGE && isfinite(value) ? 0 : -1;
}

char *cv_size_text(int64_t bytes)
{
    /* Fluent Bit's units are decimal: 5M is written 5MB; a power of two,
     * as Fluent Bit's own defaults (32768), in KiB. */
    static const struct {
        const char *name;
        int64_t factor;
    } units[] = {
        {"GB", 1000000000}, {"MB", 1000000}, {"KB", 1000}, {"MiB", 1 << 20}, {"KiB", 1 << 10}};
    if (bytes == 0)
        return xstrdup("0");
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (bytes % units[i].factor == 0)
            return xasprintf("%" PRId64 "%s", bytes / units[i].factor, units[i].name);
    }
    return xasprintf("%" PRId64 "B", bytes);
}

char *cv_duration_text(int64_t ms)
{
    char text[OPTIONS_NUMBER_TEXT_MAX];
    if (ms == 0)
        return xstrdup("0s");
    options_format_number(OPT_DURATION, ms, text);
    return xstrdup(text);
}

/* A variable's value as literal text for skiff: every `$` doubled. */
static void append_literal(struct buf *out, const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '$')
            buf_append_byte(out, '$');
        buf_append_byte(out, text[i]);
    }
}

/* One ${...} reference (`ref` without the braces), as flb_env_var_translate
 * reads it: NAME or NAME:-default. */
static void append_reference(const struct fb_config *config, const char *ref, size_t len,
                             struct buf *out)
{
    const char *sep = memmem(ref, len, ":-", 2);
    size_t name_len = sep ? (size_t)(sep - ref) : len;
    const char *value = config ? fb_config_var(config, ref, name_len) : NULL;
    if (!value) {
        buf_append(out, "${", 2);
        buf_append(out, ref, len);
        buf_append_byte(out, '}');
    } else if (value[0] || !sep) {
        append_literal(out, value, strlen(value));
    } else {
        append_literal(out, sep + 2, len - name_len - 2);
    }
}

char *cv_text(const struct fb_config *config, const char *value)
{
    struct buf out = BUF_INIT;
    size_t len = strlen(value);
    for (size_t i = 0; i < len; i++) {
        const char *close = value[i] == '$' && value[i + 1] == '{' ? strchr(value + i, '}') : NULL;
        if (close) {
            append_reference(config, value + i + 2, (size_t)(close - value - i - 2), &out);
            i = (size_t)(close - value);
            continue;
        }
        /* A literal `$` before another `$` would read as `$$` in skiff. */
        if (value[i] == '$' && value[i + 1] == '$')
            buf_append_byte(&out, '$');
        buf_append_byte(&out, value[i]);
    }
    buf_cstr(&out);
    return out.data;
}

size_t cv_split_list(const char *text, char ***items)
{
    size_t count = 0, cap = 0;
    *items = NULL;
    const char *p = text;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *start = p;
        while (len > 0 && isspace((unsigned char)*start)) {
            start++;
            len--;
        }
        while (len > 0 && isspace((unsigned char)start[len - 1]))
            len--;
        if (len > 0) {
            *items = xgrow(*items, &cap, count + 1, sizeof **items);
            (*items)[count++] = xstrndup(start, len);
        }
        if (!comma)
            return count;
        p = comma + 1;
    }
}

void cv_free_list(char **items, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(items[i]);
    free(items);
}

static bool bare_segment(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '_' && c != '-' && c != '/' && c != '@')
            return false;
    }
    return true;
}

static void append_segment(struct buf *out, const char *s, size_t len)
{
    if (bare_segment(s, len)) {
        if (out->len)
            buf_append_byte(out, '.');
        buf_append(out, s, len);
        return;
    }
    buf_append(out, "[\"", 2);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\')
            buf_append_byte(out, '\\');
        buf_append_byte(out, s[i]);
    }
    buf_append(out, "\"]", 2);
}

static char *path_fail(struct buf *out, char **error, char *message)
{
    buf_free(out);
    *error = message;
    return NULL;
}

/* `[ 'key' ]` after the first key; p points at '['. */
static const char *subkey(const char *p, struct buf *out, bool *index)
{
    p++;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '\'') {
        *index = isdigit((unsigned char)*p);
        return NULL;
    }
    struct buf key = BUF_INIT;
    for (p++; *p && !(p[0] == '\'' && p[1] != '\''); p++) {
        if (p[0] == '\'')
            p++; /* '' is a quote */
        buf_append_byte(&key, *p);
    }
    if (!*p) {
        buf_free(&key);
        return NULL;
    }
    for (p++; *p == ' ' || *p == '\t'; p++)
        ;
    if (*p != ']') {
        buf_free(&key);
        return NULL;
    }
    append_segment(out, key.data ? key.data : "", key.len);
    buf_free(&key);
    return p + 1;
}

char *cv_field_path(const char *accessor, bool top_level_key, char **error)
{
    struct buf out = BUF_INIT;
    const char *p = accessor;
    if (*p != '$' && top_level_key) {
        append_segment(&out, p, strlen(p));
        return (char *)buf_cstr(&out);
    }
    if (*p == '$')
        p++;
    size_t len = 0;
    if (isalpha((unsigned char)p[0]) || p[0] == '_')
        len = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-/");
    if (len == 0)
        return path_fail(&out, error,
                         xasprintf("'%s' is not a record key or accessor ($key['sub'])", accessor));
    if (len == 3 && memcmp(p, "TAG", 3) == 0)
        return path_fail(&out, error,
                         xasprintf("'%s': the tag is not a field of the record", accessor));
    append_segment(&out, p, len);
    p += len;
    while (*p == '[') {
        bool index = false;
        p = subkey(p, &out, &index);
        if (!p)
            return path_fail(
                &out, error,
                index ? xasprintf("'%s': skiff's field paths have no array index", accessor)
                      : xasprintf("'%s': expected ['key'] after the key", accessor));
    }
    if (*p)
        return path_fail(&out, error,
                         xasprintf("'%s': unexpected '%c' in a record accessor", accessor, *p));
    return (char *)buf_cstr(&out);
}

/* One argument of flb_utils_split_quoted: quoted ("..." or '...', with \"
 * \' \\ escapes) or up to the next space. Returns the end, or NULL. */
static const char *split_arg(const char *p, struct buf *arg)
{
    if (*p != '"' && *p != '\'') {
        size_t len = strcspn(p, " ");
        buf_append(arg, p, len);
        return p + len;
    }
    char quote = *p++;
    for (; *p && *p != quote; p++) {
        if (*p == '\\' && (p[1] == quote || p[1] == '\\'))
            p++;
        buf_append_byte(arg, *p);
    }
    return *p ? p + 1 : NULL;
}

int cv_split_args(const char *text, char ***args)
{
    size_t count = 0, cap = 0;
    *args = NULL;
    const char *p = text;
    for (;;) {
        while (*p == ' ')
            p++;
        if (!*p)
            return (int)count;
        struct buf arg = BUF_INIT;
        p = split_arg(p, &arg);
        if (!p) {
            buf_free(&arg);
            cv_free_list(*args, count);
            *args = NULL;
            return -1;
        }
        *args = xgrow(*args, &cap, count + 1, sizeof **args);
        (*args)[count++] = xstrdup(buf_cstr(&arg));
        buf_free(&arg);
    }
}
