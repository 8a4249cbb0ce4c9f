/* What every parser shares, around the plugin's own parse: the time taken from
 * `time_key` with `time_format`, the field `types`, and the counters. A field
 * whose time or type does not convert stays as it was and is counted; the
 * record keeps its ingestion time. Runs on the pipeline thread. */
#include "log.h"
#include "pipeline_internal.h"
#include "timefmt.h"
#include "xalloc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Without time_format but with time_zone: RFC 3339 times that lack their
 * offset are read with these. */
static const char *const local_rfc3339_formats[] = {"%FT%T.%L", "%FT%T", "%F %T.%L", "%F %T"};
enum { LOCAL_FORMATS = sizeof local_rfc3339_formats / sizeof local_rfc3339_formats[0] };

struct parser_support {
    struct time_format *time_format;                  /* NULL: RFC 3339 */
    struct time_zone *time_zone;                      /* NULL: UTC */
    struct time_format *local_formats[LOCAL_FORMATS]; /* with time_zone and no time_format */
    struct metric *records;
    struct metric *failed_format;
    struct metric *failed_time;
    struct metric *failed_type;
    struct metric *truncated;
    bool warned_time;
};

static struct metric *parser_metric(const struct instance *parser, const char *name,
                                    const char *help, const char *reason)
{
    struct buf labels = BUF_INIT;
    metrics_labels(&labels, "instance", parser->alias, NULL);
    if (reason)
        metrics_labels(&labels, "reason", reason, NULL);
    struct metric *m = metrics_counter(name, help, buf_cstr(&labels));
    buf_free(&labels);
    return m;
}

static int parser_support_zone(struct instance *parser, struct parser_support *s)
{
    const char *name = parser->config->common.time_zone;
    if (!name)
        return 0;
    char *error = NULL;
    s->time_zone = timefmt_zone_load(name, &error);
    if (!s->time_zone) {
        log_error(parser->alias, "time_zone: %s", error);
        free(error);
        return -1;
    }
    for (size_t i = 0; i < LOCAL_FORMATS && !s->time_format; i++) {
        s->local_formats[i] = timefmt_compile(local_rfc3339_formats[i], &error);
        free(error); /* they compile: fixed formats */
        error = NULL;
    }
    return 0;
}

static void parser_support_free_zone(struct parser_support *s)
{
    timefmt_zone_free(s->time_zone);
    for (size_t i = 0; i < LOCAL_FORMATS; i++)
        timefmt_free(s->local_formats[i]);
}

int parser_support_init(struct instance *parser)
{
    struct parser_support *s = xcalloc(1, sizeof *s);
    const char *format = parser->config->common.time_format;
    if (format) {
        char *error = NULL;
        s->time_format = timefmt_compile(format, &error);
        if (!s->time_format) {
            log_error(parser->alias, "time_format: %s", error);
            free(error);
            free(s);
            return -1;
        }
    }
    if (parser_support_zone(parser, s) < 0) {
        timefmt_free(s->time_format);
        free(s);
        return -1;
    }
    s->records =
        parser_metric(parser, "skiff_parser_records_total", "Texts given to the parser", NULL);
    const char *help = "Texts or fields the parser could not convert, by reason";
    s->failed_format = parser_metric(parser, "skiff_parser_failures_total", help, "format");
    s->failed_time = parser_metric(parser, "skiff_parser_failures_total", help, "time");
    s->failed_type = parser_metric(parser, "skiff_parser_failures_total", help, "type");
    s->truncated = parser_metric(parser, "skiff_parser_failures_total", help, "truncated");
    parser->parsing = s;
    return 0;
}

void parser_support_free(struct instance *parser)
{
    if (!parser->parsing)
        return;
    timefmt_free(parser->parsing->time_format);
    parser_support_free_zone(parser->parsing);
    free(parser->parsing);
    parser->parsing = NULL;
}

/* ---- time ---- */

static int parser_time_from_number(double seconds, struct record_time *out)
{
    if (!isfinite(seconds) || fabs(seconds) > 253402300799.0)
        return -1;
    double whole = floor(seconds);
    out->sec = (int64_t)whole;
    out->nsec = (uint32_t)((seconds - whole) * 1e9);
    if (out->nsec >= 1000000000u)
        out->nsec = 999999999u;
    return 0;
}

/* RFC 3339; with time_zone, also without its offset (wall-clock time there). */
static int parser_time_rfc3339(const struct parser_support *s, const char *text, size_t len,
                               struct record_time *out)
{
    if (timefmt_parse_rfc3339(text, len, out) == 0)
        return 0;
    for (size_t i = 0; i < LOCAL_FORMATS && s->local_formats[i]; i++) {
        if (timefmt_parse_in(s->local_formats[i], text, len, out, s->time_zone) == 0)
            return 0;
    }
    return -1;
}

static int parser_time_from_value(const struct parser_support *s, const struct value *v,
                                  struct record_time *out)
{
    if (v->type == VALUE_STRING && s->time_format)
        return timefmt_parse_in(s->time_format, v->as.string.ptr, v->as.string.len, out,
                                s->time_zone);
    if (v->type == VALUE_STRING)
        return parser_time_rfc3339(s, v->as.string.ptr, v->as.string.len, out);
    /* A number without a format is seconds since the epoch. */
    if (v->type == VALUE_INT && !s->time_format)
        return parser_time_from_number((double)v->as.integer, out);
    if (v->type == VALUE_FLOAT && !s->time_format)
        return parser_time_from_number(v->as.real, out);
    return -1;
}

void parser_time_failed(struct instance *parser, const char *what)
{
    struct parser_support *s = parser->parsing;
    metric_add(s->failed_time, 1);
    if (!s->warned_time)
        log_warn(parser->alias,
                 "%s does not hold a time in the expected format; such records "
                 "keep their ingestion time (counted in skiff_parser_failures_total"
                 "{reason=\"time\"})",
                 what);
    s->warned_time = true;
}

void parser_truncated(struct instance *parser)
{
    metric_add(parser->parsing->truncated, 1);
}

static void parser_apply_time(struct instance *parser, struct record *rec)
{
    const struct instance_common *common = &parser->config->common;
    const char *key = common->time_key;
    if (!key)
        return;
    size_t key_len = strlen(key);
    const struct value *v = value_map_get(&rec->fields, key, key_len);
    if (!v)
        return;
    struct record_time t;
    if (parser_time_from_value(parser->parsing, v, &t) < 0) {
        char what[128];
        snprintf(what, sizeof what, "field '%s'", key);
        parser_time_failed(parser, what);
        return;
    }
    rec->time = t;
    if (!common->time_keep)
        value_map_remove(&rec->fields, key, key_len);
}

/* ---- types ---- */

static bool parser_convert(const char *text, const char *type, struct value *out)
{
    char *end;
    errno = 0;
    if (strcmp(type, "int") == 0) {
        long long n = strtoll(text, &end, 10);
        if (errno || end == text || *end)
            return false;
        *out = value_int(n);
    } else if (strcmp(type, "float") == 0) {
        double d = strtod(text, &end);
        if (errno || end == text || *end)
            return false;
        *out = value_float(d);
    } else if (strcmp(type, "bool") == 0) {
        bool yes =
            strcasecmp(text, "true") == 0 || strcmp(text, "1") == 0 || strcasecmp(text, "yes") == 0;
        bool no =
            strcasecmp(text, "false") == 0 || strcmp(text, "0") == 0 || strcasecmp(text, "no") == 0;
        if (!yes && !no)
            return false;
        *out = value_bool(yes);
    } else {
        return false; /* "string": nothing to do */
    }
    return true;
}

static void parser_apply_types(struct instance *parser, struct record *rec)
{
    const struct value *types = &parser->config->common.types;
    if (types->type != VALUE_MAP)
        return;
    for (uint32_t i = 0; i < types->as.map.count; i++) {
        const struct map_entry *e = &types->as.map.entries[i];
        struct value *field = value_map_get(&rec->fields, e->key.ptr, e->key.len);
        if (!field || field->type != VALUE_STRING || e->value.type != VALUE_STRING ||
            strcmp(e->value.as.string.ptr, "string") == 0)
            continue;
        struct value converted;
        if (parser_convert(field->as.string.ptr, e->value.as.string.ptr, &converted)) {
            value_free(field);
            *field = converted;
        } else {
            metric_add(parser->parsing->failed_type, 1);
        }
    }
}

/* ---- parsing ---- */

enum parse_result parser_parse(struct instance *parser, void *state, const char *text, size_t len,
                               struct record *rec)
{
    struct parser_support *s = parser->parsing;
    metric_add(s->records, 1);
    enum parse_result result = parser->plugin->parse(parser, state, text, len, rec);
    if (result == PARSE_FAILED) {
        metric_add(s->failed_format, 1);
    } else if (result == PARSE_OK) {
        parser_apply_time(parser, rec);
        parser_apply_types(parser, rec);
    }
    return result;
}

void *parser_state_new(struct instance *parser, size_t max_joined)
{
    return parser->plugin->state_new ? parser->plugin->state_new(parser, max_joined) : NULL;
}

enum parse_result parser_parse_at(struct instance *parser, void *state, const char *text,
                                  size_t len, uint64_t start, struct record *rec)
{
    if (state && parser->plugin->state_at)
        parser->plugin->state_at(state, start);
    return parser_parse(parser, state, text, len, rec);
}

bool parser_state_held_from(struct instance *parser, const void *state, uint64_t *start)
{
    if (!state || !parser->plugin->state_held_from)
        return false;
    return parser->plugin->state_held_from(state, start);
}

enum parse_result parser_state_flush(struct instance *parser, void *state, uint64_t before,
                                     struct record *rec)
{
    if (!state || !parser->plugin->state_flush)
        return PARSE_FAILED;
    return parser->plugin->state_flush(parser, state, before, rec);
}

void parser_state_free(struct instance *parser, void *state)
{
    if (state && parser->plugin->state_free)
        parser->plugin->state_free(state);
}
