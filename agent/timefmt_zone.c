/* IANA time zones for times written without an offset (a parser's
 * `time_zone`), read from the system's compiled zoneinfo (TZif, RFC 8536):
 * the 64-bit transition table, and after its last transition the POSIX TZ
 * rule in its footer. Read once at config time; lookups are a binary search.
 * Not TZ or localtime(3): nothing here depends on the process's zone, and
 * lookups are safe from any thread. Leap second tables are ignored (as
 * "right/" zones are not what logs are written in). */
#include "timefmt.h"
#include "timefmt_internal.h"

#include "xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC_PER_DAY 86400
#define TZIF_MAX_BYTES (1 << 20)

/* A day of the year in a POSIX TZ rule: Mm.w.d, Jn (1-365, no Feb 29), n
 * (0-365). */
struct tz_day {
    char kind; /* 'M', 'J' or 'N' */
    int month, week, weekday, day;
    int32_t time; /* seconds after local midnight, may be negative or > 24h */
};

struct tz_rule {
    int32_t std_offset; /* east of UTC */
    int32_t dst_offset;
    bool has_dst;
    struct tz_day start, end;
};

struct time_zone {
    char *name;
    int64_t *times;   /* transitions, UTC, ascending */
    int32_t *offsets; /* in effect from times[i] on */
    size_t count;
    int32_t initial_offset; /* before the first transition */
    bool has_rule;
    struct tz_rule rule; /* after the last transition */
};

/* ---- the POSIX TZ rule of the footer ---- */

static const char *tz_skip_name(const char *p)
{
    if (*p == '<') {
        const char *end = strchr(p, '>');
        return end ? end + 1 : NULL;
    }
    const char *start = p;
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
        p++;
    return p - start >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] into seconds. */
static const char *tz_hms(const char *p, int32_t *out)
{
    int sign = 1, parts[3] = {0, 0, 0};
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    for (int i = 0; i < 3; i++) {
        if (i > 0 && *p != ':')
            break;
        p += i > 0;
        if (*p < '0' || *p > '9')
            return NULL;
        while (*p >= '0' && *p <= '9' && parts[i] < 1000)
            parts[i] = parts[i] * 10 + (*p++ - '0');
    }
    if (parts[0] > 167 || parts[1] > 59 || parts[2] > 59)
        return NULL;
    *out = sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
    return p;
}

static const char *tz_number(const char *p, int *out, int max)
{
    if (*p < '0' || *p > '9')
        return NULL;
    *out = 0;
    while (*p >= '0' && *p <= '9' && *out <= max)
        *out = *out * 10 + (*p++ - '0');
    return *out <= max ? p : NULL;
}

static const char *tz_rule_day(const char *p, struct tz_day *day)
{
    day->time = 7200; /* 02:00 unless told */
    if (*p == 'M') {
        day->kind = 'M';
        if (!(p = tz_number(p + 1, &day->month, 12)) || *p++ != '.' ||
            !(p = tz_number(p, &day->week, 5)) || *p++ != '.' ||
            !(p = tz_number(p, &day->weekday, 6)) || day->month < 1 || day->week < 1)
            return NULL;
    } else if (*p == 'J') {
        day->kind = 'J';
        if (!(p = tz_number(p + 1, &day->day, 365)) || day->day < 1)
            return NULL;
    } else {
        day->kind = 'N';
        if (!(p = tz_number(p, &day->day, 365)))
            return NULL;
    }
    if (*p == '/')
        p = tz_hms(p + 1, &day->time);
    return p;
}

static bool tz_parse_rule(const char *p, struct tz_rule *rule)
{
    int32_t west;
    if (!(p = tz_skip_name(p)) || !(p = tz_hms(p, &west)))
        return false;
    rule->std_offset = -west;
    rule->has_dst = *p != '\0';
    if (!rule->has_dst)
        return true;
    if (!(p = tz_skip_name(p)))
        return false;
    rule->dst_offset = rule->std_offset + 3600;
    if (*p && *p != ',') {
        if (!(p = tz_hms(p, &west)))
            return false;
        rule->dst_offset = -west;
    }
    /* Without dates (legacy rules) there is nothing exact to go by. */
    return *p++ == ',' && (p = tz_rule_day(p, &rule->start)) && *p++ == ',' &&
           (p = tz_rule_day(p, &rule->end)) && *p == '\0';
}

static bool tz_leap(int64_t year)
{
    return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

/* The day (since the epoch) a rule names in `year`. */
static int64_t tz_day_in_year(const struct tz_day *d, int64_t year)
{
    int64_t jan1 = timefmt_days_from_civil(year, 1, 1);
    if (d->kind == 'J')
        return jan1 + d->day - 1 + (tz_leap(year) && d->day >= 60);
    if (d->kind == 'N')
        return jan1 + d->day;
    static const int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t first = timefmt_days_from_civil(year, (unsigned)d->month, 1);
    int weekday = (int)(((first + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
    int64_t day = first + (d->weekday - weekday + 7) % 7 + (int64_t)(d->week - 1) * 7;
    int length = month_days[d->month - 1] + (d->month == 2 && tz_leap(year));
    while (day >= first + length)
        day -= 7;
    return day;
}

static int32_t tz_rule_offset(const struct tz_rule *rule, int64_t utc)
{
    if (!rule->has_dst)
        return rule->std_offset;
    int64_t year;
    unsigned month, day;
    timefmt_civil_from_days((utc + rule->std_offset) / SEC_PER_DAY -
                                ((utc + rule->std_offset) % SEC_PER_DAY < 0),
                            &year, &month, &day);
    /* The change to summer time is given in standard time, and back in
     * summer time. */
    int64_t start =
        tz_day_in_year(&rule->start, year) * SEC_PER_DAY + rule->start.time - rule->std_offset;
    int64_t end =
        tz_day_in_year(&rule->end, year) * SEC_PER_DAY + rule->end.time - rule->dst_offset;
    bool dst = start < end ? utc >= start && utc < end : !(utc >= end && utc < start);
    return dst ? rule->dst_offset : rule->std_offset;
}

/* ---- TZif ---- */

struct tzif_reader {
    const unsigned char *data;
    size_t len, pos;
};

static bool tzif_take(struct tzif_reader *r, size_t n, const unsigned char **out)
{
    if (r->len - r->pos < n)
        return false;
    *out = r->data + r->pos;
    r->pos += n;
    return true;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* counts: isut, isstd, leap, time, type, char. */
static bool tzif_header(struct tzif_reader *r, uint32_t counts[6], char *version)
{
    const unsigned char *h;
    if (!tzif_take(r, 44, &h) || memcmp(h, "TZif", 4) != 0)
        return false;
    *version = (char)h[4];
    for (int i = 0; i < 6; i++)
        counts[i] = be32(h + 20 + 4 * i);
    return counts[4] > 0 && counts[3] < 100000 && counts[4] < 256;
}

static size_t tzif_body_size(const uint32_t c[6], size_t time_size)
{
    return c[3] * time_size + c[3] + c[4] * 6 + c[5] + c[2] * (time_size + 4) + c[1] + c[0];
}

static bool tzif_read_body(struct tzif_reader *r, const uint32_t c[6], struct time_zone *z)
{
    const unsigned char *times, *indexes, *types;
    if (!tzif_take(r, c[3] * 8, &times) || !tzif_take(r, c[3], &indexes) ||
        !tzif_take(r, c[4] * 6, &types))
        return false;
    r->pos += c[5] + c[2] * 12 + c[1] + c[0];
    if (r->pos > r->len)
        return false;
    z->count = c[3];
    z->times = xcalloc(z->count ? z->count : 1, sizeof *z->times);
    z->offsets = xcalloc(z->count ? z->count : 1, sizeof *z->offsets);
    for (size_t i = 0; i < z->count; i++) {
        if (indexes[i] >= c[4] || (i > 0 && be64(times + 8 * i) <= z->times[i - 1]))
            return false;
        z->times[i] = be64(times + 8 * i);
        z->offsets[i] = (int32_t)be32(types + 6 * indexes[i]);
    }
    /* Before the first transition: the first standard-time type (RFC 8536
     * 3.2), else type 0. */
    z->initial_offset = (int32_t)be32(types);
    for (uint32_t i = 0; i < c[4]; i++) {
        if (!types[6 * i + 4]) {
            z->initial_offset = (int32_t)be32(types + 6 * i);
            break;
        }
    }
    return true;
}

static bool tzif_read_footer(struct tzif_reader *r, struct time_zone *z)
{
    if (r->pos >= r->len || r->data[r->pos] != '\n')
        return true; /* no footer: the table is all there is */
    const char *start = (const char *)r->data + r->pos + 1;
    const char *end = memchr(start, '\n', r->len - r->pos - 1);
    if (!end || end == start)
        return true;
    char *text = xstrndup(start, (size_t)(end - start));
    z->has_rule = tz_parse_rule(text, &z->rule);
    free(text);
    return true;
}

static bool tzif_parse(const unsigned char *data, size_t len, struct time_zone *z)
{
    struct tzif_reader r = {data, len, 0};
    uint32_t counts[6];
    char version;
    if (!tzif_header(&r, counts, &version) || version < '2')
        return false; /* version 1 files have 32-bit times only; none are shipped now */
    r.pos += tzif_body_size(counts, 4);
    if (r.pos > len || !tzif_header(&r, counts, &version))
        return false;
    return tzif_read_body(&r, counts, z) && tzif_read_footer(&r, z);
}

/* ---- loading ---- */

static bool tz_name_ok(const char *name)
{
    if (!name[0] || name[0] == '/' || strstr(name, "..") || strlen(name) > 255)
        return false;
    for (const char *p = name; *p; p++) {
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              strchr("/_+-", *p)))
            return false;
    }
    return true;
}

static unsigned char *tz_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *data = xmalloc(TZIF_MAX_BYTES);
    *len = fread(data, 1, TZIF_MAX_BYTES, f);
    fclose(f);
    return data;
}

struct time_zone *timefmt_zone_load(const char *name, char **error)
{
    const char *dir = getenv("TZDIR");
    if (!tz_name_ok(name)) {
        *error = xasprintf("'%s' is not a time zone name (like Europe/Paris or UTC)", name);
        return NULL;
    }
    char *path = xasprintf("%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    size_t len = 0;
    unsigned char *data = tz_read_file(path, &len);
    struct time_zone *z = xcalloc(1, sizeof *z);
    if (!data || !tzif_parse(data, len, z)) {
        *error = data ? xasprintf("%s: not a compiled time zone (TZif) file", path)
                      : xasprintf("unknown time zone '%s' (%s: %s)", name, path, strerror(errno));
        free(data);
        free(path);
        timefmt_zone_free(z);
        return NULL;
    }
    free(data);
    free(path);
    z->name = xstrdup(name);
    return z;
}

void timefmt_zone_free(struct time_zone *z)
{
    if (!z)
        return;
    free(z->name);
    free(z->times);
    free(z->offsets);
    free(z);
}

int32_t timefmt_zone_offset(const struct time_zone *z, int64_t utc)
{
    if (z->count == 0 || utc < z->times[0])
        return z->count == 0 && z->has_rule ? tz_rule_offset(&z->rule, utc) : z->initial_offset;
    if (utc >= z->times[z->count - 1] && z->has_rule)
        return tz_rule_offset(&z->rule, utc);
    size_t lo = 0, hi = z->count; /* times[lo] <= utc < times[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->times[mid] <= utc)
            lo = mid;
        else
            hi = mid;
    }
    return z->offsets[lo];
}

int64_t timefmt_zone_to_utc(const struct time_zone *z, int64_t local)
{
    /* The offsets in effect a day before and after are the candidates. In
     * the hour repeated when clocks go back both fit: the first (earlier)
     * one is taken. In the hour skipped when they go forward neither does:
     * the offset from before the change is used, as if the clock had not
     * been changed yet. */
    int32_t before = timefmt_zone_offset(z, local - SEC_PER_DAY);
    int32_t after = timefmt_zone_offset(z, local + SEC_PER_DAY);
    int64_t t_before = local - before, t_after = local - after;
    bool before_fits = timefmt_zone_offset(z, t_before) == before;
    bool after_fits = timefmt_zone_offset(z, t_after) == after;
    if (before_fits && after_fits)
        return t_before < t_after ? t_before : t_after;
    if (after_fits)
        return t_after;
    return t_before;
}
