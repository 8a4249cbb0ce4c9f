/* What timefmt.c (parsing) and timefmt_compile.c (compiling formats) share:
 * the compiled program of a time format. Not for the rest of skiff, which
 * sees only timefmt.h. */
#ifndef SKIFF_TIMEFMT_INTERNAL_H
#define SKIFF_TIMEFMT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a directive sets. The numeric ones come first and index `fields`. */
enum field {
    F_YEAR,
    F_YEAR2,
    F_MONTH,
    F_DAY,
    F_YDAY,
    F_HOUR,
    F_HOUR12,
    F_MINUTE,
    F_SECOND,
    F_NUMERIC_COUNT,
    F_AMPM = F_NUMERIC_COUNT,
    F_EPOCH,
    F_ZONE,
};

#define BIT(f) (1u << (f))
#define YEAR_BITS (BIT(F_YEAR) | BIT(F_YEAR2))
#define DATE_BITS (YEAR_BITS | BIT(F_MONTH) | BIT(F_DAY) | BIT(F_YDAY))
#define CALENDAR_BITS                                                                              \
    (DATE_BITS | BIT(F_HOUR) | BIT(F_HOUR12) | BIT(F_MINUTE) | BIT(F_SECOND) | BIT(F_AMPM))

enum op_kind {
    OP_NONE,
    OP_LITERAL,      /* arg: the byte */
    OP_SPACE,        /* any run of whitespace, possibly empty */
    OP_NUMBER,       /* arg: the field */
    OP_MONTH_NAME,   /* sets F_MONTH */
    OP_WEEKDAY_NAME, /* read and ignored */
    OP_AMPM,
    OP_FRACTION, /* arg: most digits, 0 for any number */
    OP_EPOCH,
    OP_OFFSET,
    OP_ZONE_NAME,
};

struct time_op {
    uint8_t kind;
    uint8_t arg;
};

struct time_format {
    struct time_op *ops;
    size_t count;
    unsigned sets; /* BIT(F_*) of every directive */
};

/* Days from 1970-01-01 to a proleptic Gregorian date (timefmt.c). */
int64_t timefmt_days_from_civil(int64_t year, unsigned month, unsigned day);

/* The C locale's isspace, whatever the process locale is. */
static inline bool timefmt_is_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

#endif
