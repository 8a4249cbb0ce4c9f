/* Index name patterns (see es_index.h): compiled into a list of parts
 * (literal text, a date conversion, a field path), expanded per record. */
#include "es_index.h"

#include "es_field.h"
#include "timefmt.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

#define SEC_PER_DAY 86400

enum part_kind {
    PART_LITERAL,
    PART_YEAR,
    PART_MONTH,
    PART_DAY,
    PART_HOUR,
    PART_MINUTE,
    PART_DAY_OF_YEAR,
    PART_FIELD,
};

struct index_part {
    enum part_kind kind;
    char *literal; /* PART_LITERAL */
    size_t literal_len;
    struct field_path path; /* PART_FIELD */
};

struct es_index_pattern {
    struct index_part *parts;
    size_t count;
    size_t cap;
    bool has_time;
    int64_t period_seconds; /* the finest time unit used: 60, 3600 or SEC_PER_DAY; 0: none */
    size_t field_count;
};

/* The broken-down UTC time a pattern needs, computed once per record. */
struct index_time {
    int64_t year;
    unsigned month, day, hour, minute, day_of_year;
};

static struct index_part *pattern_add(struct es_index_pattern *p, enum part_kind kind)
{
    p->parts = xgrow(p->parts, &p->cap, p->count + 1, sizeof *p->parts);
    struct index_part *part = &p->parts[p->count++];
    *part = (struct index_part){.kind = kind};
    return part;
}

static void pattern_add_literal(struct es_index_pattern *p, const char *s, size_t len)
{
    if (len == 0)
        return;
    struct index_part *part = pattern_add(p, PART_LITERAL);
    part->literal = xstrndup(s, len);
    part->literal_len = len;
}

static int conversion_kind(char c, enum part_kind *kind)
{
    static const char letters[] = "YmdHMj";
    static const enum part_kind kinds[] = {PART_YEAR, PART_MONTH,  PART_DAY,
                                           PART_HOUR, PART_MINUTE, PART_DAY_OF_YEAR};
    const char *at = c ? strchr(letters, c) : NULL;
    if (!at)
        return -1;
    *kind = kinds[at - letters];
    return 0;
}

/* Compiles the conversion at text[i] == '%'; returns the index after it. */
static size_t compile_conversion(struct es_index_pattern *p, const char *text, size_t i,
                                 char **error)
{
    char c = text[i + 1];
    enum part_kind kind;
    if (c == '%') {
        pattern_add_literal(p, "%", 1);
        return i + 2;
    }
    if (conversion_kind(c, &kind) < 0) {
        *error = c ? xasprintf("index '%s': unsupported conversion '%%%c' at column %zu (use "
                               "%%Y %%m %%d %%H %%M %%j %%%%)",
                               text, c, i + 1)
                   : xasprintf("index '%s': '%%' at the end", text);
        return 0;
    }
    pattern_add(p, kind);
    p->has_time = true;
    int64_t unit = kind == PART_MINUTE ? 60 : kind == PART_HOUR ? 3600 : SEC_PER_DAY;
    if (p->period_seconds == 0 || unit < p->period_seconds)
        p->period_seconds = unit;
    return i + 2;
}

/* Compiles the field at text[i] == '$', text[i + 1] == '{'; returns the index
 * after the closing brace. */
static size_t compile_field(struct es_index_pattern *p, const char *text, size_t i, char **error)
{
    const char *close = strchr(text + i + 2, '}');
    if (!close) {
        *error = xasprintf("index '%s': unterminated '${' at column %zu", text, i + 1);
        return 0;
    }
    char *path_text = xstrndup(text + i + 2, (size_t)(close - text) - i - 2);
    struct field_path path;
    char *path_error;
    int rc = field_path_parse(path_text, &path, &path_error);
    free(path_text);
    if (rc < 0) {
        *error = xasprintf("index '%s': %s", text, path_error);
        free(path_error);
        return 0;
    }
    pattern_add(p, PART_FIELD)->path = path;
    p->field_count++;
    return (size_t)(close - text) + 1;
}

struct es_index_pattern *es_index_pattern_compile(const char *text, char **error)
{
    struct es_index_pattern *p = xcalloc(1, sizeof *p);
    *error = NULL;
    if (text[0] == '\0') {
        *error = xstrdup("index: empty name");
        es_index_pattern_free(p);
        return NULL;
    }
    size_t literal = 0;
    size_t i = 0;
    while (text[i]) {
        bool conversion = text[i] == '%';
        bool field = text[i] == '$' && text[i + 1] == '{';
        if (!conversion && !field) {
            i++;
            continue;
        }
        pattern_add_literal(p, text + literal, i - literal);
        i = conversion ? compile_conversion(p, text, i, error) : compile_field(p, text, i, error);
        if (*error) {
            es_index_pattern_free(p);
            return NULL;
        }
        literal = i;
    }
    pattern_add_literal(p, text + literal, i - literal);
    return p;
}

void es_index_pattern_free(struct es_index_pattern *pattern)
{
    if (!pattern)
        return;
    for (size_t i = 0; i < pattern->count; i++) {
        free(pattern->parts[i].literal);
        field_path_free(&pattern->parts[i].path);
    }
    free(pattern->parts);
    free(pattern);
}

/* Only a name without fields is checked whole (. or .., 255 bytes): with
 * fields, the length and the leading character depend on their values. */
int es_index_pattern_check(const struct es_index_pattern *pattern, const char *text, char **error)
{
    const unsigned text_fixes = 1u << ES_INDEX_FIX_UPPERCASE | 1u << ES_INDEX_FIX_FORBIDDEN;
    *error = NULL;
    for (size_t i = 0; i < pattern->count; i++) {
        const struct index_part *part = &pattern->parts[i];
        if (part->kind != PART_LITERAL)
            continue;
        struct buf fixed = BUF_INIT;
        unsigned fixes = es_index_name_fix(part->literal, part->literal_len, &fixed);
        buf_free(&fixed);
        if (fixes & text_fixes)
            *error = xasprintf("'%s' is not a valid Elasticsearch name: use lower case, and none "
                               "of \\ / * ? \" < > | , # : or spaces",
                               text);
        else if (i == 0 && strchr("_-+", part->literal[0]))
            *error = xasprintf("'%s' is not a valid Elasticsearch name: it must not start with "
                               "'_', '-' or '+'",
                               text);
        else if (pattern->count == 1 && fixes)
            *error = xasprintf("'%s' is not a valid Elasticsearch name: not . or .., at most %d "
                               "bytes",
                               text, ES_INDEX_NAME_MAX);
        if (*error)
            return -1;
    }
    return 0;
}

bool es_index_pattern_is_constant(const struct es_index_pattern *pattern)
{
    return pattern->count <= 1 && (pattern->count == 0 || pattern->parts[0].kind == PART_LITERAL);
}

static unsigned day_of_year(int64_t year, unsigned month, unsigned day)
{
    static const unsigned before[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return before[month - 1] + day + (leap && month > 2);
}

/* Years are kept to 0000-9999 as in json_write_time, so %Y is four digits. */
static int64_t clamped_seconds(struct record_time t)
{
    static const int64_t min = -62167219200LL, max = 253402300799LL;
    return t.sec < min ? min : t.sec > max ? max : t.sec;
}

static struct index_time index_time_of(struct record_time t)
{
    int64_t sec = clamped_seconds(t);
    int64_t days = sec / SEC_PER_DAY;
    int64_t secs = sec % SEC_PER_DAY;
    if (secs < 0) {
        days--;
        secs += SEC_PER_DAY;
    }
    struct index_time it;
    timefmt_civil_from_days(days, &it.year, &it.month, &it.day);
    it.hour = (unsigned)(secs / 3600);
    it.minute = (unsigned)(secs / 60 % 60);
    it.day_of_year = day_of_year(it.year, it.month, it.day);
    return it;
}

static void append_digits(struct buf *out, uint64_t v, int width)
{
    char text[8];
    for (int i = width - 1; i >= 0; i--) {
        text[i] = (char)('0' + v % 10);
        v /= 10;
    }
    buf_append(out, text, (size_t)width);
}

static void append_time_part(struct buf *out, enum part_kind kind, const struct index_time *it)
{
    switch (kind) {
    case PART_YEAR:
        append_digits(out, (uint64_t)it->year, 4);
        break;
    case PART_MONTH:
        append_digits(out, it->month, 2);
        break;
    case PART_DAY:
        append_digits(out, it->day, 2);
        break;
    case PART_HOUR:
        append_digits(out, it->hour, 2);
        break;
    case PART_MINUTE:
        append_digits(out, it->minute, 2);
        break;
    case PART_DAY_OF_YEAR:
        append_digits(out, it->day_of_year, 3);
        break;
    default:
        break;
    }
}

/* Returns 1 if the field fell back, 0 if not, -1 if malformed. */
static int append_field(struct buf *out, const struct field_path *path,
                        const struct record_view *view, struct attachment *const *attachments)
{
    struct es_field field;
    if (es_field_get(view, attachments, path, &field) < 0)
        return -1;
    size_t mark = out->len;
    if (es_field_append_text(out, &field) && out->len > mark)
        return 0;
    buf_append(out, ES_INDEX_FALLBACK, sizeof ES_INDEX_FALLBACK - 1);
    return 1;
}

int es_index_expand(const struct es_index_pattern *pattern, const struct record_view *view,
                    struct attachment *const *attachments, struct buf *out)
{
    size_t start = out->len;
    struct index_time it = {0};
    if (pattern->has_time)
        it = index_time_of(view->time);
    int fallback = 0;
    for (size_t i = 0; i < pattern->count; i++) {
        const struct index_part *part = &pattern->parts[i];
        int rc = 0;
        if (part->kind == PART_LITERAL)
            buf_append(out, part->literal, part->literal_len);
        else if (part->kind == PART_FIELD)
            rc = append_field(out, &part->path, view, attachments);
        else
            append_time_part(out, part->kind, &it);
        if (rc < 0) {
            out->len = start;
            return -1;
        }
        fallback |= rc;
    }
    return fallback;
}

/* Within one period (a minute, an hour or a day, the finest unit the
 * pattern uses) of the clamped time every conversion gives the same digits:
 * periods start at multiples of the unit from the epoch, as UTC days do. */
bool es_index_key_of(const struct es_index_pattern *pattern, const struct record_view *view,
                     struct attachment *const *attachments, struct es_index_key *key)
{
    *key = (struct es_index_key){0};
    if (pattern->field_count > ES_INDEX_KEY_FIELDS)
        return false;
    if (pattern->period_seconds) {
        int64_t sec = clamped_seconds(view->time);
        int64_t period = sec / pattern->period_seconds;
        key->period = sec % pattern->period_seconds < 0 ? period - 1 : period;
    }
    size_t n = 0;
    for (size_t i = 0; i < pattern->count; i++) {
        if (pattern->parts[i].kind != PART_FIELD)
            continue;
        key->through[n] = es_field_attachment(view, attachments, &pattern->parts[i].path);
        if (!key->through[n++])
            return false;
    }
    return true;
}

bool es_index_key_equal(const struct es_index_key *a, const struct es_index_key *b)
{
    if (a->period != b->period)
        return false;
    for (size_t i = 0; i < ES_INDEX_KEY_FIELDS; i++)
        if (a->through[i] != b->through[i])
            return false;
    return true;
}
