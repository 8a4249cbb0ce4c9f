/* Parser `docker`: docker's json-file log driver,
 *   {"log":"the message\n","stream":"stdout","time":"2024-05-01T10:15:00.123456789Z"}
 * giving fields log (without its final newline), stream and time, and the
 * record's time. docker splits lines longer than 16 KiB into entries whose log
 * lacks the final newline; they are joined back per source and stream. */
#include "json_parse.h"
#include "plugin_api.h"
#include "timefmt.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

enum { STREAM_STDOUT, STREAM_STDERR, STREAM_OTHER, STREAM_COUNT };

struct docker_pending {
    bool active;
    bool truncated;
    struct buf log;
    struct value time; /* of the first piece */
    uint64_t start;    /* source offset of the first piece */
    uint64_t end;      /* source offset just past the last piece */
};

struct docker_state {
    size_t max_joined;
    uint64_t next_start; /* where the next text starts (state_at) */
    struct docker_pending streams[STREAM_COUNT];
};

static const struct option_spec docker_options_table[] = {
    {0},
};

static int docker_stream_index(const struct value *stream)
{
    if (!stream || stream->type != VALUE_STRING)
        return STREAM_OTHER;
    if (strcmp(stream->as.string.ptr, "stdout") == 0)
        return STREAM_STDOUT;
    if (strcmp(stream->as.string.ptr, "stderr") == 0)
        return STREAM_STDERR;
    return STREAM_OTHER;
}

static void docker_take_time(struct instance *parser, struct record *rec)
{
    const struct value *time = value_map_get(&rec->fields, "time", 4);
    struct record_time t;
    if (!time)
        return;
    if (time->type == VALUE_STRING &&
        timefmt_parse_rfc3339(time->as.string.ptr, time->as.string.len, &t) == 0)
        rec->time = t;
    else
        parser_time_failed(parser, "the docker `time` field");
}

static void docker_hold(struct instance *parser, struct docker_state *state,
                        struct docker_pending *held, const struct value *log,
                        const struct value *time, uint64_t end)
{
    if (!held->active) {
        held->active = true;
        held->truncated = false;
        buf_reset(&held->log);
        value_free(&held->time);
        held->time = time ? value_clone(time) : value_null();
        held->start = state->next_start;
    }
    held->end = end;
    size_t room = state->max_joined > held->log.len ? state->max_joined - held->log.len : 0;
    size_t take = log->as.string.len < room ? log->as.string.len : room;
    buf_append(&held->log, log->as.string.ptr, take);
    if (take < log->as.string.len && !held->truncated) {
        held->truncated = true;
        parser_truncated(parser);
    }
}

/* Replaces the entry's log by everything held for its stream, and its time by
 * the first piece's. */
static void docker_release(struct docker_pending *held, struct record *rec)
{
    struct value joined = value_string(held->log.data ? held->log.data : "", held->log.len);
    value_map_set(&rec->fields, "log", 3, &joined);
    if (held->time.type != VALUE_NULL)
        value_map_set(&rec->fields, "time", 4, &held->time);
    held->active = false;
}

static enum parse_result docker_parse(struct instance *parser, void *state_ptr, const char *text,
                                      size_t len, struct record *rec)
{
    struct docker_state *state = state_ptr;
    struct value_map fields = {0};
    if (json_parse_object_into(text, len, &fields, NULL) < 0)
        return PARSE_FAILED;
    struct value *log = value_map_get(&fields, "log", 3);
    if (!log || log->type != VALUE_STRING) {
        value_map_free(&fields);
        return PARSE_FAILED;
    }
    bool complete = log->as.string.len > 0 && log->as.string.ptr[log->as.string.len - 1] == '\n';
    if (complete)
        log->as.string.ptr[--log->as.string.len] = '\0';
    struct docker_pending *held =
        state ? &state->streams[docker_stream_index(value_map_get(&fields, "stream", 6))] : NULL;

    if (held && (!complete || held->active))
        docker_hold(parser, state, held, log, value_map_get(&fields, "time", 4),
                    rec->origin.offset);
    if (held && !complete) {
        value_map_free(&fields);
        return PARSE_PENDING;
    }
    for (uint32_t i = 0; i < fields.count; i++) {
        struct map_entry *e = &fields.entries[i];
        value_map_set(&rec->fields, e->key.ptr, e->key.len, &e->value);
    }
    value_map_free(&fields);
    if (held && held->active)
        docker_release(held, rec);
    docker_take_time(parser, rec);
    return PARSE_OK;
}

/* A line without its last piece goes on as it is, with `partial: true`. */
static enum parse_result docker_state_flush(struct instance *parser, void *state_ptr,
                                            uint64_t before, struct record *rec)
{
    static const char *const names[STREAM_COUNT] = {"stdout", "stderr", NULL};
    struct docker_state *state = state_ptr;
    for (int i = 0; i < STREAM_COUNT; i++) {
        struct docker_pending *held = &state->streams[i];
        if (!held->active || held->start >= before)
            continue;
        if (names[i]) {
            struct value stream = value_cstring(names[i]);
            value_map_set(&rec->fields, "stream", 6, &stream);
        }
        struct value partial = value_bool(true);
        value_map_set(&rec->fields, "partial", 7, &partial);
        rec->origin.offset = held->end;
        docker_release(held, rec);
        docker_take_time(parser, rec);
        return PARSE_OK;
    }
    return PARSE_FAILED;
}

static void docker_state_at(void *state_ptr, uint64_t start)
{
    ((struct docker_state *)state_ptr)->next_start = start;
}

static bool docker_state_held_from(const void *state_ptr, uint64_t *start)
{
    const struct docker_state *state = state_ptr;
    bool held = false;
    for (int i = 0; i < STREAM_COUNT; i++) {
        const struct docker_pending *p = &state->streams[i];
        if (p->active && (!held || p->start < *start)) {
            *start = p->start;
            held = true;
        }
    }
    return held;
}

static void *docker_state_new(struct instance *parser, size_t max_joined)
{
    struct docker_state *state = xcalloc(1, sizeof *state);
    state->max_joined = max_joined;
    return state;
}

static void docker_state_free(void *state_ptr)
{
    struct docker_state *state = state_ptr;
    for (int i = 0; i < STREAM_COUNT; i++) {
        buf_free(&state->streams[i].log);
        value_free(&state->streams[i].time);
    }
    free(state);
}

const struct plugin parser_docker_plugin = {
    .name = "docker",
    .kind = PLUGIN_PARSER,
    .description = "docker's json-file log driver; joins lines it split at 16KiB",
    .options = docker_options_table,
    .options_size = 0,
    .builtin = true,
    .parse = docker_parse,
    .state_new = docker_state_new,
    .state_free = docker_state_free,
    .state_flush = docker_state_flush,
    .state_at = docker_state_at,
    .state_held_from = docker_state_held_from,
};
