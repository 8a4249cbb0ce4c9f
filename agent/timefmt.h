/* Timestamps of log lines turned into record times: a fast path for RFC 3339
 * as CRI and docker write it, and strptime-style formats (Fluent Bit's
 * time_format) compiled once at config time into a small program. A text's
 * zone is the offset it gives (%z, %Z), else a fixed offset or an IANA zone
 * from the system's zoneinfo (timefmt_zone.c) given by the caller.
 *
 * All parsers are strict: the whole input must match, nothing is read past
 * `len`, and a failed parse leaves *out unchanged. Times are seconds since the
 * epoch rounded down plus nanoseconds in [0, 1e9), so 1969-12-31T23:59:59.5Z
 * is {-1, 500000000}. A leap second (:60) becomes :59.999999999 of the same
 * minute, so it stays in order with its neighbours. Years are 0000-9999. */
#ifndef SKIFF_TIMEFMT_H
#define SKIFF_TIMEFMT_H

#include "record.h"

#include <stddef.h>
#include <stdint.h>

/* `YYYY-MM-DD` then `T`, `t` or a space, `hh:mm:ss`, an optional fraction of
 * any number of digits (the first 9 count), and `Z`, `z`, `+hh:mm`, `+hhmm` or
 * `+hh` (or `-`). An offset is required. Returns 0, or -1 if `s` is not such a
 * timestamp. */
int timefmt_parse_rfc3339(const char *s, size_t len, struct record_time *out);

struct time_format;

/* Compiles a strptime-style format. Directives:
 *   %Y year (4 digits)      %y year 00-99 (69-99: 19xx)  %m month 01-12
 *   %d day 01-31            %e day, may be space-padded  %j day of year
 *   %b %B %h month name     %a %A weekday name (checked only as a name)
 *   %H hour 00-23           %I hour 01-12 with %p AM/PM  %M minute
 *   %S second 00-60         %L fraction, 1+ digits (the first 9 count)
 *   %N fraction, 1-9 digits %s seconds since the epoch, may be negative
 *   %z Z, +hh, +hhmm, +hh:mm                             %Z UTC, GMT or Z
 *   %T = %H:%M:%S  %F = %Y-%m-%d  %D = %m/%d/%y  %R = %H:%M  %% = %
 * %j counts only in formats without a month or day. Numbers take 1 to their
 * full width of digits. Names and AM/PM match in any case; other bytes match
 * exactly, except that whitespace in the format matches any run of whitespace
 * in the text, including none. %s cannot be combined with date or time
 * directives (a zone is allowed and ignored).
 * Returns NULL with a message in *error (malloc'ed) naming the directive and
 * its column. */
struct time_format *timefmt_compile(const char *format, char **error);
void timefmt_free(struct time_format *fmt);

/* Parses `s` with `fmt`. Without %z or %Z the text is taken to be at
 * `default_offset_sec` seconds east of UTC (0 for UTC; less than a day either
 * way). Fields the format lacks come from the current time at that offset:
 *   - no year (syslog's `%b %d %H:%M:%S`): the current year, or the year
 *     before if that would put the time more than a day ahead of now (lines
 *     from December read in January) or name a day the current year lacks;
 *   - no date at all (`%H:%M:%S`): today, or yesterday if that would put the
 *     time more than an hour ahead of now (lines from just before midnight);
 *   - no month or day where a year is given: January, the 1st;
 *   - no hour, minute or second: 0.
 * Returns 0, or -1 if `s` does not match or names an invalid date. */
int timefmt_parse(const struct time_format *fmt, const char *s, size_t len, struct record_time *out,
                  int64_t default_offset_sec);
/* The same, with `now_sec` standing for the current time (for tests). */
int timefmt_parse_at(const struct time_format *fmt, const char *s, size_t len,
                     struct record_time *out, int64_t default_offset_sec, int64_t now_sec);

/* An IANA time zone read from the system's zoneinfo ($TZDIR, else
 * /usr/share/zoneinfo), with its summer time rules. */
struct time_zone;
/* Loads zone `name` (Europe/Paris, UTC). Returns NULL with a message in
 * *error (malloc'ed) if there is no such zone. */
struct time_zone *timefmt_zone_load(const char *name, char **error);
void timefmt_zone_free(struct time_zone *zone);
/* The offset east of UTC, in seconds, in effect at `utc`. */
int32_t timefmt_zone_offset(const struct time_zone *zone, int64_t utc);
/* The UTC time of wall-clock time `local` (seconds since the epoch as if it
 * were UTC) in `zone`. In the hour repeated when clocks go back, the first
 * of the two; in the hour skipped when they go forward, the offset from
 * before the change applies. */
int64_t timefmt_zone_to_utc(const struct time_zone *zone, int64_t local);

/* As timefmt_parse, but a text without %z or %Z is wall-clock time in `zone`
 * (NULL: UTC), summer time included. */
int timefmt_parse_in(const struct time_format *fmt, const char *s, size_t len,
                     struct record_time *out, const struct time_zone *zone);
int timefmt_parse_in_at(const struct time_format *fmt, const char *s, size_t len,
                        struct record_time *out, const struct time_zone *zone, int64_t now_sec);

/* The proleptic Gregorian date of a day count since 1970-01-01 (Howard
 * Hinnant's civil_from_days), for writers of RFC 3339 times. */
void timefmt_civil_from_days(int64_t days, int64_t *year, unsigned *month, unsigned *day);

#endif
