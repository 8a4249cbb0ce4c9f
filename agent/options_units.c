/* The unit syntaxes of option values: sizes (`8MiB`), durations (`250ms`),
 * booleans and integers, parsed and written back. Not for applying options to
 * a config struct: that is options.c. */
#include "options.h"
#include "options_units.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct unit {
    const char *name;
    int64_t factor;
};

/* Formatting takes the first unit that divides the value, so the preferred
 * spelling of each factor comes first. */
static const struct unit size_units[] = {
    {"TiB", 1LL << 40},
    {"GiB", 1LL << 30},
    {"MiB", 1LL << 20},
    {"KiB", 1LL << 10},
    {"TB", 1000000000000LL},
    {"GB", 1000000000},
    {"MB", 1000000},
    {"KB", 1000},
    {"T", 1000000000000LL},
    {"G", 1000000000},
    {"M", 1000000},
    {"K", 1000},
    {"B", 1},
    {"b", 1},
    {NULL, 0},
};

static const struct unit duration_units[] = {
    {"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}, {NULL, 0},
};

/* Digits after the point beyond this are ignored: with units up to 2^40 the
 * fraction times the unit then stays within int64_t. */
enum { FRACTION_DIGITS_MAX = 6 };

static int fail(int error)
{
    errno = error;
    return -1;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static const struct unit *find_unit(const struct unit *units, const char *name)
{
    for (const struct unit *u = units; u->name; u++) {
        if (strcmp(u->name, name) == 0)
            return u;
    }
    return NULL;
}

/* Parses DIGITS[.DIGITS][UNIT] into the unit's base (bytes or ms); a bare
 * number is multiplied by `bare_factor`. Fractions of the base round down.
 * Sets errno to ERANGE when the value does not fit, EINVAL otherwise. */
static int parse_scaled(const char *text, const struct unit *units, int64_t bare_factor,
                        int64_t *out)
{
    const char *p = text;
    int64_t whole = 0, fraction = 0, scale = 1;
    bool overflow = false;

    if (!is_digit(*p))
        return fail(EINVAL);
    for (; is_digit(*p); p++) {
        overflow |= __builtin_mul_overflow(whole, 10, &whole);
        overflow |= __builtin_add_overflow(whole, *p - '0', &whole);
    }
    if (*p == '.') {
        if (!is_digit(*++p))
            return fail(EINVAL);
        for (int digits = 0; is_digit(*p); p++, digits++) {
            if (digits < FRACTION_DIGITS_MAX) {
                fraction = fraction * 10 + (*p - '0');
                scale *= 10;
            }
        }
    }
    int64_t factor = bare_factor;
    if (*p) {
        const struct unit *unit = find_unit(units, p);
        if (!unit)
            return fail(EINVAL);
        factor = unit->factor;
    }
    int64_t value;
    overflow |= __builtin_mul_overflow(whole, factor, &value);
    overflow |= __builtin_add_overflow(value, fraction * factor / scale, &value);
    if (overflow)
        return fail(ERANGE);
    *out = value;
    return 0;
}

int options_parse_size(const char *text, int64_t *bytes)
{
    return parse_scaled(text, size_units, 1, bytes);
}

int options_parse_duration(const char *text, int64_t *ms)
{
    return parse_scaled(text, duration_units, 1000, ms);
}

int options_parse_bool(const char *text, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};

    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(text, yes[i]) == 0 || strcasecmp(text, no[i]) == 0) {
            *out = strcasecmp(text, yes[i]) == 0;
            return 0;
        }
    }
    return fail(EINVAL);
}

int options_parse_int(const char *text, int64_t *out)
{
    const char *digits = text[0] == '-' || text[0] == '+' ? text + 1 : text;
    char *end;

    if (!is_digit(*digits))
        return fail(EINVAL);
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (*end != '\0')
        return fail(EINVAL);
    if (errno == ERANGE)
        return -1;
    *out = value;
    return 0;
}

static void format_scaled(int64_t value, const struct unit *units,
                          char out[OPTIONS_NUMBER_TEXT_MAX])
{
    for (const struct unit *u = units; u->name; u++) {
        if (value % u->factor == 0) {
            snprintf(out, OPTIONS_NUMBER_TEXT_MAX, "%lld%s", (long long)(value / u->factor),
                     u->name);
            return;
        }
    }
}

void options_format_number(enum option_type type, int64_t value, char out[OPTIONS_NUMBER_TEXT_MAX])
{
    if (value != 0 && type == OPT_SIZE)
        format_scaled(value, size_units, out);
    else if (value != 0 && type == OPT_DURATION)
        format_scaled(value, duration_units, out);
    else
        snprintf(out, OPTIONS_NUMBER_TEXT_MAX, "%lld", (long long)value);
}
