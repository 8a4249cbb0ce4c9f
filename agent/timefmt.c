/* Timestamp parsing (see timefmt.h): the RFC 3339 fast path and running
 * compiled formats (compiled in timefmt_compile.c). Digits are read directly
 * and dates become day counts with Howard Hinnant's closed-form
 * days_from_civil, so nothing depends on TZ, the locale or struct tm. Not a
 * formatter: json_write_time writes times. */
#include "timefmt.h"
#include "timefmt_internal.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NSEC_PER_SEC 1000000000u
#define SEC_PER_DAY 86400
#define YEAR_MAX 9999
#define EPOCH_MAX 253402300799LL    /* 9999-12-31T23:59:59Z */
#define EPOCH_MIN_ABS 62167219200LL /* -(0000-01-01T00:00:00Z) */
#define EPOCH_DIGITS 12
#define OFFSET_HOUR_MAX 23
#define FUTURE_SLACK_YEARLESS SEC_PER_DAY
#define FUTURE_SLACK_DATELESS 3600

/* A broken-down time at some offset, as written in the text. */
struct civil_time {
    int64_t year;
    unsigned month, day, hour, minute, second;
    uint32_t nsec;
};

static bool is_leap(int64_t year)
{
    return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

static unsigned days_in_month(int64_t year, unsigned month)
{
    static const unsigned days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

/* Howard Hinnant's days_from_civil: days from 1970-01-01 to a proleptic
 * Gregorian date, counting in 400-year eras that start on March 1st. */
int64_t timefmt_days_from_civil(int64_t year, unsigned month, unsigned day)
{
    year -= month <= 2;
    int64_t era = (year >= 0 ? year : year - 399) / 400;
    unsigned yoe = (unsigned)(year - era * 400);
    unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void timefmt_civil_from_days(int64_t days, int64_t *year, unsigned *month, unsigned *day)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *day = doy - (153 * mp + 2) / 5 + 1;
    *month = mp < 10 ? mp + 3 : mp - 9;
    *year = (int64_t)yoe + era * 400 + (*month <= 2);
}

static void civil_from_days(int64_t days, struct civil_time *c)
{
    timefmt_civil_from_days(days, &c->year, &c->month, &c->day);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b < 0);
}

static bool civil_valid(const struct civil_time *c)
{
    return c->year >= 0 && c->year <= YEAR_MAX && c->month >= 1 && c->month <= 12 && c->day >= 1 &&
           c->day <= days_in_month(c->year, c->month) && c->hour <= 23 && c->minute <= 59 &&
           c->second <= 60 && c->nsec < NSEC_PER_SEC;
}

/* `offset_sec` is the text's offset east of UTC. */
static int civil_to_time(const struct civil_time *c, int64_t offset_sec, struct record_time *out)
{
    if (!civil_valid(c))
        return -1;
    unsigned second = c->second;
    uint32_t nsec = c->nsec;
    if (second == 60) {
        second = 59;
        nsec = NSEC_PER_SEC - 1;
    }
    int64_t days = timefmt_days_from_civil(c->year, c->month, c->day);
    out->sec = days * SEC_PER_DAY + c->hour * 3600 + c->minute * 60 + second - offset_sec;
    out->nsec = nsec;
    return 0;
}

/* A cursor over the text; no function reads at or past `len`. */
struct scan {
    const char *s;
    size_t len;
    size_t pos;
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool scan_byte(struct scan *sc, char c)
{
    if (sc->pos >= sc->len || sc->s[sc->pos] != c)
        return false;
    sc->pos++;
    return true;
}

static void scan_spaces(struct scan *sc)
{
    while (sc->pos < sc->len && timefmt_is_space(sc->s[sc->pos]))
        sc->pos++;
}

/* Reads as many digits as there are, up to `max_digits`; fails below `min_digits`. */
static int scan_number(struct scan *sc, size_t min_digits, size_t max_digits, uint64_t *value)
{
    uint64_t v = 0;
    size_t n = 0;
    while (n < max_digits && sc->pos < sc->len && is_digit(sc->s[sc->pos])) {
        v = v * 10 + (uint64_t)(sc->s[sc->pos++] - '0');
        n++;
    }
    if (n < min_digits)
        return -1;
    *value = v;
    return 0;
}

static int scan_fixed(struct scan *sc, size_t digits, unsigned *value)
{
    uint64_t v;
    if (scan_number(sc, digits, digits, &v) < 0)
        return -1;
    *value = (unsigned)v;
    return 0;
}

/* One or more digits after the decimal point; digits past the ninth are read
 * and dropped (truncation, not rounding, so a time never moves forward). */
static int scan_fraction(struct scan *sc, size_t max_digits, uint32_t *nsec)
{
    uint32_t v = 0;
    size_t n = 0;
    while (n < max_digits && sc->pos < sc->len && is_digit(sc->s[sc->pos])) {
        if (n < 9)
            v = v * 10 + (uint32_t)(sc->s[sc->pos] - '0');
        sc->pos++;
        n++;
    }
    if (n == 0)
        return -1;
    for (; n < 9; n++)
        v *= 10;
    *nsec = v;
    return 0;
}

/* Z, z, or a sign and hh, hhmm or hh:mm; *offset_sec is east of UTC. */
static int scan_offset(struct scan *sc, int64_t *offset_sec)
{
    if (scan_byte(sc, 'Z') || scan_byte(sc, 'z')) {
        *offset_sec = 0;
        return 0;
    }
    int sign = scan_byte(sc, '+') ? 1 : scan_byte(sc, '-') ? -1 : 0;
    unsigned hours, minutes = 0;
    if (sign == 0 || scan_fixed(sc, 2, &hours) < 0 || hours > OFFSET_HOUR_MAX)
        return -1;
    if (scan_byte(sc, ':')) {
        if (scan_fixed(sc, 2, &minutes) < 0)
            return -1;
    } else if (sc->pos < sc->len && is_digit(sc->s[sc->pos])) {
        if (scan_fixed(sc, 2, &minutes) < 0)
            return -1;
    }
    if (minutes > 59)
        return -1;
    *offset_sec = sign * (int64_t)(hours * 3600 + minutes * 60);
    return 0;
}

/* Consumes `word` if the text continues with it, in any case. */
static bool scan_word(struct scan *sc, const char *word, size_t n)
{
    if (sc->len - sc->pos < n)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (ascii_lower(sc->s[sc->pos + i]) != ascii_lower(word[i]))
            return false;
    }
    sc->pos += n;
    return true;
}

/* Matches one of `count` names in full or by its first three letters; *index
 * is the name's position. */
static int scan_name(struct scan *sc, const char *const *names, unsigned count, unsigned *index)
{
    for (unsigned i = 0; i < count; i++) {
        if (scan_word(sc, names[i], strlen(names[i])) || scan_word(sc, names[i], 3)) {
            *index = i;
            return 0;
        }
    }
    return -1;
}

/* RFC 3339's fixed head, "YYYY-MM-DDThh:mm:ss", fixes the date and the
 * second; only the fraction and the offset follow. Consecutive lines of a
 * log almost always share the date and mostly the second, so the last head
 * parsed on this thread is kept (thread-local: parsers run on pipeline
 * threads and timefmt_parse_rfc3339's callers pass no state). A head is
 * cached only once it has been parsed and found valid, and reused only for
 * the same bytes, so a cache hit gives what parsing would. */
#define RFC3339_DATE_LEN 10 /* YYYY-MM-DD */
#define RFC3339_HEAD_LEN 19 /* YYYY-MM-DDThh:mm:ss */

struct rfc3339_head {
    bool valid;
    char text[RFC3339_HEAD_LEN];
    int64_t days; /* of the date, text[0..10) */
    int64_t sec;  /* of the whole head read as UTC, a leap second as :59 */
    bool leap;    /* :60 */
};

static _Thread_local struct rfc3339_head last_rfc3339_head;

/* YYYY-MM-DD: the days since 1970-01-01, or -1 for no such date. */
static int parse_rfc3339_date(const char *s, int64_t *days)
{
    struct scan sc = {s, RFC3339_DATE_LEN, 0};
    unsigned year, month, day;
    if (scan_fixed(&sc, 4, &year) < 0 || !scan_byte(&sc, '-') || scan_fixed(&sc, 2, &month) < 0 ||
        !scan_byte(&sc, '-') || scan_fixed(&sc, 2, &day) < 0)
        return -1;
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
        return -1;
    *days = timefmt_days_from_civil(year, month, day);
    return 0;
}

/* Thh:mm:ss after the date (T, t or a space). */
static int parse_rfc3339_clock(const char *s, struct rfc3339_head *head)
{
    struct scan sc = {s, RFC3339_HEAD_LEN, RFC3339_DATE_LEN};
    unsigned hour, minute, second;
    if (!scan_byte(&sc, 'T') && !scan_byte(&sc, 't') && !scan_byte(&sc, ' '))
        return -1;
    if (scan_fixed(&sc, 2, &hour) < 0 || !scan_byte(&sc, ':') || scan_fixed(&sc, 2, &minute) < 0 ||
        !scan_byte(&sc, ':') || scan_fixed(&sc, 2, &second) < 0)
        return -1;
    if (hour > 23 || minute > 59 || second > 60)
        return -1;
    head->leap = second == 60;
    head->sec = head->days * SEC_PER_DAY + hour * 3600 + minute * 60 + (head->leap ? 59 : second);
    return 0;
}

/* The head of `s` (at least RFC3339_HEAD_LEN bytes), from the cache when
 * the bytes are those of the last head, else parsed (the date from the
 * cache when only the clock differs) and cached. */
static const struct rfc3339_head *rfc3339_head(const char *s)
{
    struct rfc3339_head *cache = &last_rfc3339_head;
    if (cache->valid && memcmp(s, cache->text, RFC3339_HEAD_LEN) == 0)
        return cache;
    struct rfc3339_head head;
    if (cache->valid && memcmp(s, cache->text, RFC3339_DATE_LEN) == 0)
        head.days = cache->days;
    else if (parse_rfc3339_date(s, &head.days) < 0)
        return NULL;
    if (parse_rfc3339_clock(s, &head) < 0)
        return NULL;
    head.valid = true;
    memcpy(head.text, s, RFC3339_HEAD_LEN);
    *cache = head;
    return cache;
}

int timefmt_parse_rfc3339(const char *s, size_t len, struct record_time *out)
{
    if (len < RFC3339_HEAD_LEN)
        return -1;
    const struct rfc3339_head *head = rfc3339_head(s);
    if (!head)
        return -1;
    struct scan sc = {s, len, RFC3339_HEAD_LEN};
    uint32_t nsec = 0;
    int64_t offset;
    if (scan_byte(&sc, '.') && scan_fraction(&sc, SIZE_MAX, &nsec) < 0)
        return -1;
    if (scan_offset(&sc, &offset) < 0 || sc.pos != len)
        return -1;
    /* As civil_to_time: a leap second is the last instant of :59. */
    out->sec = head->sec - offset;
    out->nsec = head->leap ? NSEC_PER_SEC - 1 : nsec;
    return 0;
}

static const struct {
    uint8_t digits;
    uint16_t min, max;
} field_limits[F_NUMERIC_COUNT] = {
    [F_YEAR] = {4, 0, YEAR_MAX}, [F_YEAR2] = {2, 0, 99},  [F_MONTH] = {2, 1, 12},
    [F_DAY] = {2, 1, 31},        [F_YDAY] = {3, 1, 366},  [F_HOUR] = {2, 0, 23},
    [F_HOUR12] = {2, 1, 12},     [F_MINUTE] = {2, 0, 59}, [F_SECOND] = {2, 0, 60},
};

/* What the ops read from one text. */
struct time_parts {
    unsigned fields[F_NUMERIC_COUNT];
    bool pm;
    uint32_t nsec;
    int64_t epoch;
    bool epoch_negative; /* "-0" too: "-0.5" is before the epoch */
    int64_t offset_sec;
};

static const char *const month_names[12] = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December",
};
static const char *const weekday_names[7] = {
    "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
};

static int scan_field(struct scan *sc, enum field field, struct time_parts *p)
{
    uint64_t v;
    if (scan_number(sc, 1, field_limits[field].digits, &v) < 0 || v < field_limits[field].min ||
        v > field_limits[field].max)
        return -1;
    p->fields[field] = (unsigned)v;
    return 0;
}

/* An optional '-' and up to 12 digits, within years 0000-9999. */
static int scan_epoch(struct scan *sc, struct time_parts *p)
{
    bool negative = scan_byte(sc, '-');
    uint64_t v;
    if (scan_number(sc, 1, EPOCH_DIGITS, &v) < 0)
        return -1;
    if (negative ? v > (uint64_t)EPOCH_MIN_ABS : v > (uint64_t)EPOCH_MAX)
        return -1;
    p->epoch = negative ? -(int64_t)v : (int64_t)v;
    p->epoch_negative = negative;
    return 0;
}

static int scan_ampm(struct scan *sc, struct time_parts *p)
{
    if (scan_word(sc, "AM", 2)) {
        p->pm = false;
        return 0;
    }
    if (scan_word(sc, "PM", 2)) {
        p->pm = true;
        return 0;
    }
    return -1;
}

static int scan_zone_name(struct scan *sc, struct time_parts *p)
{
    if (!scan_word(sc, "UTC", 3) && !scan_word(sc, "GMT", 3) && !scan_word(sc, "Z", 1))
        return -1;
    p->offset_sec = 0;
    return 0;
}

static int run_op(const struct time_op *op, struct scan *sc, struct time_parts *p)
{
    unsigned index;
    switch (op->kind) {
    case OP_LITERAL:
        return scan_byte(sc, (char)op->arg) ? 0 : -1;
    case OP_SPACE:
        scan_spaces(sc);
        return 0;
    case OP_NUMBER:
        return scan_field(sc, op->arg, p);
    case OP_MONTH_NAME:
        if (scan_name(sc, month_names, 12, &index) < 0)
            return -1;
        p->fields[F_MONTH] = index + 1;
        return 0;
    case OP_WEEKDAY_NAME:
        return scan_name(sc, weekday_names, 7, &index);
    case OP_AMPM:
        return scan_ampm(sc, p);
    case OP_FRACTION:
        return scan_fraction(sc, op->arg ? op->arg : SIZE_MAX, &p->nsec);
    case OP_EPOCH:
        return scan_epoch(sc, p);
    case OP_OFFSET:
        return scan_offset(sc, &p->offset_sec);
    case OP_ZONE_NAME:
        return scan_zone_name(sc, p);
    default:
        return -1;
    }
}

static void epoch_to_time(const struct time_parts *p, struct record_time *out)
{
    if (p->epoch_negative && p->nsec > 0) {
        out->sec = p->epoch - 1;
        out->nsec = NSEC_PER_SEC - p->nsec;
    } else {
        out->sec = p->epoch;
        out->nsec = p->nsec;
    }
}

static void set_clock(const struct time_format *fmt, const struct time_parts *p,
                      struct civil_time *c)
{
    if (fmt->sets & BIT(F_HOUR12))
        c->hour = p->fields[F_HOUR12] % 12 + (p->pm ? 12 : 0);
    else
        c->hour = p->fields[F_HOUR];
    c->minute = p->fields[F_MINUTE];
    c->second = p->fields[F_SECOND];
    c->nsec = p->nsec;
}

/* Sets the date of *c in `year` from the month and day, or else the day of
 * the year. Fails for a day of the year that `year` lacks; civil_to_time
 * checks the rest. */
static int set_date(const struct time_format *fmt, const struct time_parts *p, int64_t year,
                    struct civil_time *c)
{
    c->year = year;
    if ((fmt->sets & BIT(F_YDAY)) && !(fmt->sets & (BIT(F_MONTH) | BIT(F_DAY)))) {
        if (p->fields[F_YDAY] > 365u + is_leap(year))
            return -1;
        struct civil_time date;
        civil_from_days(timefmt_days_from_civil(year, 1, 1) + p->fields[F_YDAY] - 1, &date);
        c->month = date.month;
        c->day = date.day;
        return 0;
    }
    c->month = fmt->sets & BIT(F_MONTH) ? p->fields[F_MONTH] : 1;
    c->day = fmt->sets & BIT(F_DAY) ? p->fields[F_DAY] : 1;
    return 0;
}

static int64_t parsed_year(const struct time_format *fmt, const struct time_parts *p)
{
    if (fmt->sets & BIT(F_YEAR))
        return p->fields[F_YEAR];
    unsigned yy = p->fields[F_YEAR2];
    return yy < 69 ? 2000 + yy : 1900 + yy;
}

/* The zone a text without %z or %Z is in: a fixed offset, or an IANA zone. */
struct zone_ref {
    int64_t fixed_sec; /* east of UTC, when `zone` is NULL */
    const struct time_zone *zone;
};

static int civil_to_time_in(const struct civil_time *c, const struct zone_ref *z,
                            struct record_time *out)
{
    if (!z->zone)
        return civil_to_time(c, z->fixed_sec, out);
    if (civil_to_time(c, 0, out) < 0)
        return -1;
    out->sec = timefmt_zone_to_utc(z->zone, out->sec);
    return 0;
}

/* The date of `now` as seen in the zone. */
static void local_today(int64_t now_sec, const struct zone_ref *z, struct civil_time *c)
{
    int64_t offset_sec = z->zone ? timefmt_zone_offset(z->zone, now_sec) : z->fixed_sec;
    civil_from_days(floor_div(now_sec + offset_sec, SEC_PER_DAY), c);
}

static int assemble_yearless(const struct time_format *fmt, const struct time_parts *p,
                             struct civil_time *c, const struct zone_ref *z, int64_t now_sec,
                             struct record_time *out)
{
    struct civil_time today;
    local_today(now_sec, z, &today);
    if (set_date(fmt, p, today.year, c) == 0 && civil_to_time_in(c, z, out) == 0 &&
        out->sec <= now_sec + FUTURE_SLACK_YEARLESS)
        return 0;
    if (set_date(fmt, p, today.year - 1, c) < 0)
        return -1;
    return civil_to_time_in(c, z, out);
}

static int assemble_dateless(struct civil_time *c, const struct zone_ref *z, int64_t now_sec,
                             struct record_time *out)
{
    struct civil_time today;
    local_today(now_sec, z, &today);
    c->year = today.year;
    c->month = today.month;
    c->day = today.day;
    if (civil_to_time_in(c, z, out) < 0)
        return -1;
    if (out->sec > now_sec + FUTURE_SLACK_DATELESS)
        out->sec -= SEC_PER_DAY;
    return 0;
}

static int assemble(const struct time_format *fmt, const struct time_parts *p,
                    const struct zone_ref *zone, int64_t now_sec, struct record_time *out)
{
    if (fmt->sets & BIT(F_EPOCH)) {
        epoch_to_time(p, out);
        return 0;
    }
    struct zone_ref given = {p->offset_sec, NULL};
    const struct zone_ref *z = fmt->sets & BIT(F_ZONE) ? &given : zone;
    struct civil_time c = {0};
    set_clock(fmt, p, &c);
    if (!(fmt->sets & DATE_BITS))
        return assemble_dateless(&c, z, now_sec, out);
    if (!(fmt->sets & YEAR_BITS))
        return assemble_yearless(fmt, p, &c, z, now_sec, out);
    if (set_date(fmt, p, parsed_year(fmt, p), &c) < 0)
        return -1;
    return civil_to_time_in(&c, z, out);
}

static int parse_in(const struct time_format *fmt, const char *s, size_t len,
                    struct record_time *out, const struct zone_ref *zone, int64_t now_sec)
{
    struct scan sc = {s, len, 0};
    struct time_parts parts = {0};
    for (size_t i = 0; i < fmt->count; i++) {
        if (run_op(&fmt->ops[i], &sc, &parts) < 0)
            return -1;
    }
    struct record_time t;
    if (sc.pos != len || assemble(fmt, &parts, zone, now_sec, &t) < 0)
        return -1;
    *out = t;
    return 0;
}

int timefmt_parse_at(const struct time_format *fmt, const char *s, size_t len,
                     struct record_time *out, int64_t default_offset_sec, int64_t now_sec)
{
    struct zone_ref zone = {default_offset_sec, NULL};
    return parse_in(fmt, s, len, out, &zone, now_sec);
}

int timefmt_parse_in_at(const struct time_format *fmt, const char *s, size_t len,
                        struct record_time *out, const struct time_zone *zone, int64_t now_sec)
{
    struct zone_ref ref = {0, zone};
    return parse_in(fmt, s, len, out, &ref, now_sec);
}

static int64_t now_if_needed(const struct time_format *fmt)
{
    return fmt->sets & (YEAR_BITS | BIT(F_EPOCH)) ? 0 : (int64_t)time(NULL);
}

int timefmt_parse_in(const struct time_format *fmt, const char *s, size_t len,
                     struct record_time *out, const struct time_zone *zone)
{
    return timefmt_parse_in_at(fmt, s, len, out, zone, now_if_needed(fmt));
}

int timefmt_parse(const struct time_format *fmt, const char *s, size_t len, struct record_time *out,
                  int64_t default_offset_sec)
{
    return timefmt_parse_at(fmt, s, len, out, default_offset_sec, now_if_needed(fmt));
}
