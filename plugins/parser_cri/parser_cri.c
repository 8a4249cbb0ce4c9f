/* Parser `cri`: the container runtime's log format,
 *   2024-05-01T10:15:00.123456789Z stdout F the message
 * giving fields time, stream, logtag and log, and the record's time. A line
 * tagged P (partial) is held and joined with the following lines of the same
 * stream up to the one tagged F, per source. */
#include "plugin_api.h"
#include "timefmt.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

enum { STREAM_STDOUT, STREAM_STDERR, STREAM_COUNT };
enum { TIME_TEXT_MAX = 40 };

/* What is held of a partial line, per stream. */
struct cri_pending {
    bool active;
    bool truncated;
    struct buf log;
    char time[TIME_TEXT_MAX];
    size_t time_len;
    uint64_t start; /* source offset of the first piece */
    uint64_t end;   /* source offset just past the last piece */
};

struct cri_state {
    size_t max_joined;
    uint64_t next_start; /* where the next text starts (state_at) */
    struct cri_pending streams[STREAM_COUNT];
};

struct cri_line {
    const char *time;
    size_t time_len;
    const char *stream;
    size_t stream_len;
    const char *tag;
    size_t tag_len;
    const char *log;
    size_t log_len;
};

static const struct option_spec cri_options_table[] = {
    {0},
};

/* Cuts the line into its four parts. The message may be empty, with or
 * without the space before it. */
static bool cri_split(const char *text, size_t len, struct cri_line *out)
{
    const char *end = text + len;
    const char *parts[3];
    size_t lens[3];
    const char *p = text;
    for (int i = 0; i < 3; i++) {
        const char *space = memchr(p, ' ', (size_t)(end - p));
        const char *stop = space ? space : end;
        if (stop == p || (!space && i < 2))
            return false;
        parts[i] = p;
        lens[i] = (size_t)(stop - p);
        p = space ? space + 1 : end;
    }
    *out = (struct cri_line){parts[0], lens[0], parts[1], lens[1],
                             parts[2], lens[2], p,        (size_t)(end - p)};
    return true;
}

static int cri_stream_index(const struct cri_line *line)
{
    if (line->stream_len == 6 && memcmp(line->stream, "stdout", 6) == 0)
        return STREAM_STDOUT;
    if (line->stream_len == 6 && memcmp(line->stream, "stderr", 6) == 0)
        return STREAM_STDERR;
    return -1;
}

/* In the record's text store when it has one (no malloc per field). */
static void cri_set(struct record *rec, const char *key, const char *text, size_t len)
{
    record_set_text(rec, key, strlen(key), text, len);
}

static void cri_set_time(struct record *rec, const char *text, size_t len)
{
    struct record_time t;
    cri_set(rec, "time", text, len);
    if (timefmt_parse_rfc3339(text, len, &t) == 0)
        rec->time = t;
}

/* Adds a piece to what is held, up to max_joined bytes in all. */
static void cri_hold(struct instance *parser, struct cri_state *state, struct cri_pending *held,
                     const struct cri_line *line, uint64_t end)
{
    if (!held->active) {
        held->active = true;
        held->truncated = false;
        buf_reset(&held->log);
        held->time_len = line->time_len < TIME_TEXT_MAX ? line->time_len : TIME_TEXT_MAX;
        memcpy(held->time, line->time, held->time_len);
        held->start = state->next_start;
    }
    held->end = end;
    size_t room = state->max_joined > held->log.len ? state->max_joined - held->log.len : 0;
    size_t take = line->log_len < room ? line->log_len : room;
    buf_append(&held->log, line->log, take);
    if (take < line->log_len && !held->truncated) {
        held->truncated = true;
        parser_truncated(parser);
    }
}

static enum parse_result cri_parse(struct instance *parser, void *state_ptr, const char *text,
                                   size_t len, struct record *rec)
{
    struct cri_state *state = state_ptr;
    struct cri_line line;
    struct record_time time;
    /* Strict: a line that is not CRI (wrong time, stream or tag) stays whole
     * in `log` rather than being cut into nonsense fields. */
    if (!cri_split(text, len, &line) || (line.tag[0] != 'P' && line.tag[0] != 'F') ||
        timefmt_parse_rfc3339(line.time, line.time_len, &time) < 0)
        return PARSE_FAILED;
    int stream = cri_stream_index(&line);
    bool partial = line.tag[0] == 'P';
    struct cri_pending *held = state && stream >= 0 ? &state->streams[stream] : NULL;

    if (partial && held) {
        cri_hold(parser, state, held, &line, rec->origin.offset);
        return PARSE_PENDING;
    }
    if (held && held->active) {
        /* The final piece: the record is the joined line, with the first
         * piece's time. */
        cri_hold(parser, state, held, &line, rec->origin.offset);
        held->active = false;
        cri_set_time(rec, held->time, held->time_len);
        cri_set(rec, "stream", line.stream, line.stream_len);
        cri_set(rec, "logtag", line.tag, line.tag_len);
        cri_set(rec, "log", held->log.data ? held->log.data : "", held->log.len);
        return PARSE_OK;
    }
    rec->time = time;
    cri_set(rec, "time", line.time, line.time_len);
    cri_set(rec, "stream", line.stream, line.stream_len);
    cri_set(rec, "logtag", line.tag, line.tag_len);
    cri_set(rec, "log", line.log, line.log_len);
    return PARSE_OK;
}

/* A line without its last piece goes on as it is, tagged P. */
static enum parse_result cri_state_flush(struct instance *parser, void *state_ptr, uint64_t before,
                                         struct record *rec)
{
    static const char *const names[STREAM_COUNT] = {"stdout", "stderr"};
    struct cri_state *state = state_ptr;
    for (int i = 0; i < STREAM_COUNT; i++) {
        struct cri_pending *held = &state->streams[i];
        if (!held->active || held->start >= before)
            continue;
        held->active = false;
        rec->origin.offset = held->end;
        cri_set_time(rec, held->time, held->time_len);
        cri_set(rec, "stream", names[i], strlen(names[i]));
        cri_set(rec, "logtag", "P", 1);
        cri_set(rec, "log", held->log.data ? held->log.data : "", held->log.len);
        return PARSE_OK;
    }
    return PARSE_FAILED;
}

static void cri_state_at(void *state_ptr, uint64_t start)
{
    ((struct cri_state *)state_ptr)->next_start = start;
}

static bool cri_state_held_from(const void *state_ptr, uint64_t *start)
{
    const struct cri_state *state = state_ptr;
    bool held = false;
    for (int i = 0; i < STREAM_COUNT; i++) {
        const struct cri_pending *p = &state->streams[i];
        if (p->active && (!held || p->start < *start)) {
            *start = p->start;
            held = true;
        }
    }
    return held;
}

static void *cri_state_new(struct instance *parser, size_t max_joined)
{
    struct cri_state *state = xcalloc(1, sizeof *state);
    state->max_joined = max_joined;
    return state;
}

static void cri_state_free(void *state_ptr)
{
    struct cri_state *state = state_ptr;
    for (int i = 0; i < STREAM_COUNT; i++)
        buf_free(&state->streams[i].log);
    free(state);
}

const struct plugin parser_cri_plugin = {
    .name = "cri",
    .kind = PLUGIN_PARSER,
    .description = "the container runtime (CRI) log format; joins partial lines",
    .options = cri_options_table,
    .options_size = 0,
    .builtin = true,
    .parse = cri_parse,
    .state_new = cri_state_new,
    .state_free = cri_state_free,
    .state_flush = cri_state_flush,
    .state_at = cri_state_at,
    .state_held_from = cri_state_held_from,
};
