/* `_bulk` bodies from the records of one or more chunks (see es_bulk.h). Each record is written in
 * full and taken back if it overflows the batch: one wasted record per batch, cheaper than
 * measuring every record twice. */
#include "es_bulk.h"

#include "es_field.h"
#include "es_id.h"
#include "value.h"
#include "xalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* How far ahead of the record being listed its chunk's data is fetched, a
 * cache line at a time. */
#define LIST_PREFETCH_BYTES 4096
#define CACHE_LINE_BYTES 64

int es_record_list_add_chunk(struct es_record_list *list, const struct chunk *chunk)
{
    list->records =
        xgrow(list->records, &list->cap, list->count + chunk->record_count, sizeof *list->records);
    size_t pos = 0;
    size_t at = 0;
    size_t fetched = 0;
    int rc;
    /* Only where records start: each is read when its item is written. The
     * lengths are a chain of loads, each waiting for the one before and each
     * on a cache line of its own (a record is some 400 bytes), which cost
     * 4-5 % of the backlog benchmark's CPU: the lines ahead are asked for
     * early, as a sequential read would have them (under 1.5 %). */
    while ((rc = chunk_skip(chunk, &pos)) == 1) {
        es_record_list_push(list, chunk, at);
        at = pos;
        for (; fetched < chunk->data.len && fetched < pos + LIST_PREFETCH_BYTES;
             fetched += CACHE_LINE_BYTES)
            __builtin_prefetch(chunk->data.data + fetched);
    }
    return rc;
}

int es_record_list_from_chunk(struct es_record_list *list, const struct chunk *chunk)
{
    list->count = 0;
    return es_record_list_add_chunk(list, chunk);
}

void es_record_list_push(struct es_record_list *list, const struct chunk *chunk, size_t offset)
{
    list->records = xgrow(list->records, &list->cap, list->count + 1, sizeof *list->records);
    list->records[list->count++] = (struct es_record_ref){chunk, offset};
}

void es_record_list_free(struct es_record_list *list)
{
    free(list->records);
    *list = (struct es_record_list){0};
}

/* Replaces '.' by '_' in every object key of JSON text written by json.h,
 * which puts no whitespace between tokens: a string is a key exactly when a
 * ':' follows it, and '.' never appears inside an escape. */
static void dedot_keys(char *json, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if (json[i] != '"') {
            i++;
            continue;
        }
        size_t start = ++i;
        while (i < len && json[i] != '"')
            i += json[i] == '\\' ? 2 : 1;
        size_t end = i++;
        if (i < len && json[i] == ':') {
            for (size_t k = start; k < end; k++)
                if (json[k] == '.')
                    json[k] = '_';
        }
    }
}

/* Writes the id field's value as a JSON string: a string of 1 to
 * ES_ID_MAX_BYTES bytes or a number. Returns false, writing nothing, for
 * anything else. */
static bool write_field_id(struct buf *out, const struct es_field *field, struct json_stats *stats)
{
    if (field->kind == ES_FIELD_STRING) {
        if (field->len == 0 || field->len > ES_ID_MAX_BYTES)
            return false;
        json_write_string(out, field->str, field->len, stats);
        return true;
    }
    size_t mark = out->len;
    buf_append_byte(out, '"');
    if (!es_field_append_text(out, field)) {
        out->len = mark;
        return false;
    }
    buf_append_byte(out, '"');
    return true;
}

/* Collects the values of the spec's fields into `message` (es_id.h); false
 * when one is missing, empty or neither a string nor a number. Returns -1 if
 * the encoding is malformed. */
static int collect_id_values(const struct record_view *view, struct attachment *const *attachments,
                             const struct es_id_spec *spec, struct buf *message)
{
    struct buf number = BUF_INIT;
    int collected = 1;
    for (size_t i = 0; i < spec->path_count && collected == 1; i++) {
        struct es_field field;
        if (es_field_get(view, attachments, &spec->paths[i], &field) < 0) {
            collected = -1;
        } else if (field.kind == ES_FIELD_STRING) {
            collected = field.len > 0;
            es_id_values_add(message, true, field.str, field.len);
        } else {
            number.len = 0;
            collected = es_field_append_text(&number, &field);
            es_id_values_add(message, false, number.data, number.len);
        }
    }
    buf_free(&number);
    return collected;
}

/* Appends an id of base64url characters, which need no escaping, quoted. */
static void write_plain_id(struct buf *out, const char id[ES_ID_ORIGIN_LEN])
{
    char quoted[ES_ID_ORIGIN_LEN + 2];
    quoted[0] = '"';
    memcpy(quoted + 1, id, ES_ID_ORIGIN_LEN);
    quoted[ES_ID_ORIGIN_LEN + 1] = '"';
    buf_append(out, quoted, sizeof quoted);
}

/* Writes the id hashed from several fields; false (nothing written) when a
 * field has no usable value. */
static int write_fields_id(struct buf *out, const struct record_view *view,
                           struct attachment *const *attachments, const struct es_id_spec *spec)
{
    struct buf message = BUF_INIT;
    int collected = collect_id_values(view, attachments, spec, &message);
    if (collected == 1) {
        char id[ES_ID_ORIGIN_LEN + 1];
        es_id_of_values(&message, id);
        write_plain_id(out, id);
    }
    buf_free(&message);
    return collected;
}

/* Appends ,"_id":"..." for the record; `origin_key` is the node name's part
 * of origin ids (es_id_origin_init). */
static int write_id(struct buf *out, const struct record_view *view,
                    struct attachment *const *attachments, const struct es_bulk_options *opts,
                    struct es_id_origin_key *origin_key, struct es_bulk_result *result)
{
    static const char member[] = ",\"_id\":";
    const struct es_id_spec *spec = opts->id;
    if (!spec || spec->mode == ES_ID_NONE)
        return 0;
    buf_append(out, member, sizeof member - 1);
    if (spec->mode == ES_ID_FIELD) {
        struct es_field field;
        if (es_field_get(view, attachments, &spec->paths[0], &field) < 0)
            return -1;
        if (write_field_id(out, &field, &result->stats))
            return 0;
        result->id_fallbacks++;
    } else if (spec->mode == ES_ID_FIELDS) {
        int written = write_fields_id(out, view, attachments, spec);
        if (written != 0)
            return written == 1 ? 0 : -1;
        result->id_fallbacks++;
    }
    char id[ES_ID_ORIGIN_LEN + 1];
    es_id_origin_of(origin_key, &view->origin, id);
    write_plain_id(out, id);
    return 0;
}

/* Scratch space for one batch's index names and action lines, and the id's
 * node name part. */
struct name_buffers {
    struct buf raw;
    struct buf fixed;
    struct buf fixed_from; /* the raw name `fixed` was made from */
    unsigned fixes;        /* es_index_name_fix's answer for it */
    int fallback;          /* es_index_expand's answer for it */
    bool keyed;            /* it was made for a record of this key: */
    struct es_index_key key;
    /* The action line up to the _id for `fixed`, {"create":{"_index":"..."
     * (and "_type"), and the invalid UTF-8 that writing it replaced. */
    struct buf action;
    uint64_t action_invalid_utf8;
    struct es_id_origin_key origin_key;
};

/* Writes names->action for the index name `name`. */
static void make_action(struct name_buffers *names, const struct es_bulk_options *opts,
                        const struct buf *name)
{
    struct json_stats stats = {0};
    buf_reset(&names->action);
    buf_append_str(&names->action,
                   opts->create ? "{\"create\":{\"_index\":" : "{\"index\":{\"_index\":");
    json_write_string(&names->action, name->data, name->len, &stats);
    if (opts->include_type)
        buf_append_str(&names->action, ",\"_type\":\"_doc\"");
    names->action_invalid_utf8 = stats.invalid_utf8;
}

static void keep_fix_example(struct es_index_fix_example *example, const struct buf *raw,
                             const struct buf *fixed)
{
    if (!example || example->set)
        return;
    example->set = true;
    buf_reset(&example->original);
    buf_append(&example->original, raw->data, raw->len);
    buf_reset(&example->fixed);
    buf_append(&example->fixed, fixed->data, fixed->len);
}

/* The name made last, counted for one more record. */
static void count_index_name(const struct es_bulk_options *opts, struct name_buffers *names,
                             struct es_bulk_result *result)
{
    result->index_fallbacks += (size_t)names->fallback;
    unsigned fixes = names->fixes;
    if (!fixes)
        return;
    for (unsigned i = 0; i < ES_INDEX_FIX_COUNT; i++)
        if (fixes & 1u << i)
            result->index_fixes[i]++;
    keep_fix_example(opts->fix_example, &names->fixed_from, &names->fixed);
}

/* Makes the record's index name and its action line's start (names->fixed
 * and names->action), made valid and its fixes counted. Returns 0, or -1 if
 * the record is malformed. */
static int record_index_name(const struct record_view *view, struct attachment *const *attachments,
                             const struct es_bulk_options *opts, struct name_buffers *names,
                             struct es_bulk_result *result)
{
    /* Records in a batch mostly share their index name: it is expanded once
     * per run of records of the same key (es_index_key_of: the same day of
     * logs-%Y.%m.%d), made valid once per run of the same name, and counted
     * for each record. */
    struct es_index_key key;
    bool keyed = es_index_key_of(opts->index, view, attachments, &key);
    if (keyed && names->keyed && es_index_key_equal(&key, &names->key)) {
        count_index_name(opts, names, result);
        return 0;
    }
    buf_reset(&names->raw);
    int rc = es_index_expand(opts->index, view, attachments, &names->raw);
    if (rc < 0)
        return -1;
    names->keyed = keyed;
    names->key = key;
    names->fallback = rc;
    bool same = names->fixed_from.data && names->raw.len == names->fixed_from.len &&
                (names->raw.len == 0 ||
                 memcmp(names->raw.data, names->fixed_from.data, names->raw.len) == 0);
    if (!same) {
        buf_reset(&names->fixed);
        names->fixes = es_index_name_fix(names->raw.data, names->raw.len, &names->fixed);
        struct buf made_from = names->fixed_from;
        names->fixed_from = names->raw;
        names->raw = made_from;
        make_action(names, opts, &names->fixed);
    }
    count_index_name(opts, names, result);
    return 0;
}

/* {"create":{"_index":"...","_id":"..."}} and a newline. With a constant
 * index name (`constant_name`), names->action was made for it once;
 * otherwise the name is expanded from the record. */
static int write_action(struct buf *out, const struct record_view *view,
                        struct attachment *const *attachments, const struct es_bulk_options *opts,
                        bool constant_name, struct name_buffers *names,
                        struct es_bulk_result *result)
{
    static const char end[] = "}}\n";
    if (!constant_name && record_index_name(view, attachments, opts, names, result) < 0)
        return -1;
    buf_append(out, names->action.data, names->action.len);
    result->stats.invalid_utf8 += names->action_invalid_utf8;
    if (write_id(out, view, attachments, opts, &names->origin_key, result) < 0)
        return -1;
    buf_append(out, end, sizeof end - 1);
    return 0;
}

/* The record has its own member named time_key, left out by
 * json_write_record: it goes under time_key_original (the object's closing
 * brace is taken back and written again), unless the record has that member
 * too, so that no document has a key twice. */
static int keep_own_time(struct buf *out, const struct record_view *view, size_t value_pos,
                         const struct es_bulk_options *opts, struct es_bulk_result *result)
{
    size_t other;
    int has_other = es_field_member(view, opts->time_key_original, &other);
    result->time_key_conflicts++;
    if (has_other != 0)
        return has_other;
    struct value v;
    size_t pos = value_pos;
    if (codec_decode_value(view->fields, view->fields_len, &pos, &v) < 0)
        return -1;
    out->len--; /* the closing brace */
    buf_append_byte(out, ',');
    json_write_string(out, opts->time_key_original, strlen(opts->time_key_original),
                      &result->stats);
    buf_append_byte(out, ':');
    json_write_value(out, &v, &result->stats);
    buf_append_byte(out, '}');
    value_free(&v);
    return 0;
}

static int write_document(struct buf *out, const struct record_view *view,
                          struct attachment *const *attachments, const struct es_bulk_options *opts,
                          struct es_bulk_result *result)
{
    size_t start = out->len;
    size_t own_time; /* found by the same walk that writes the fields */
    if (json_write_record_own_time(out, view, attachments, opts->time_key, &result->stats,
                                   &own_time) < 0)
        return -1;
    if (own_time != SIZE_MAX && opts->time_key_original &&
        keep_own_time(out, view, own_time, opts, result) < 0)
        return -1;
    if (opts->dedot_keys)
        dedot_keys(out->data + start, out->len - start);
    buf_append_byte(out, '\n');
    return 0;
}

static int write_item(struct buf *out, const struct chunk *chunk, size_t offset,
                      const struct es_bulk_options *opts, bool constant_name,
                      struct name_buffers *names, struct es_bulk_result *result)
{
    size_t pos = offset;
    struct record_view view;
    if (chunk_next(chunk, &pos, &view) != 1)
        return -1;
    if (write_action(out, &view, chunk->attachments, opts, constant_name, names, result) < 0)
        return -1;
    return write_document(out, &view, chunk->attachments, opts, result);
}

/* Whether a candidate record that brought the body to `bytes` must wait for
 * the next batch; `records` are those already in it. */
static bool batch_full(const struct es_bulk_options *opts, size_t records, size_t bytes)
{
    if (records == 0)
        return false;
    return (opts->batch_max_records && records + 1 > opts->batch_max_records) ||
           (opts->batch_max_bytes && bytes > opts->batch_max_bytes);
}

/* What writing one batch needs besides the records: the options, the index
 * name (constant, or scratch space to expand it per record) and the counts. */
struct bulk_writer {
    const struct es_bulk_options *opts;
    struct name_buffers names;
    struct buf constant;
    bool constant_name; /* names.action is for w->constant */
    struct es_bulk_result *result;
};

static void writer_init(struct bulk_writer *w, const struct es_bulk_options *opts,
                        struct es_bulk_result *result)
{
    *w = (struct bulk_writer){.opts = opts, .result = result};
    w->names = (struct name_buffers){
        .raw = BUF_INIT, .fixed = BUF_INIT, .fixed_from = BUF_INIT, .action = BUF_INIT};
    w->constant = (struct buf)BUF_INIT;
    /* Every mode but none may give origin ids (the fallback of field ids). */
    if (opts->id && opts->id->mode != ES_ID_NONE)
        es_id_origin_init(&w->names.origin_key, opts->node_name);
    /* A constant name was checked at load (es_index_pattern_check). */
    if (es_index_pattern_is_constant(opts->index)) {
        es_index_expand(opts->index, &(struct record_view){0}, NULL, &w->constant);
        make_action(&w->names, opts, &w->constant);
        w->constant_name = true;
    }
}

static void writer_free(struct bulk_writer *w)
{
    buf_free(&w->constant);
    buf_free(&w->names.raw);
    buf_free(&w->names.fixed);
    buf_free(&w->names.fixed_from);
    buf_free(&w->names.action);
    es_id_origin_key_free(&w->names.origin_key);
}

/* Appends the record at list position `i` to `out` as the next item of a
 * batch of result->records records and `bytes` bytes before it. Returns 1 if
 * it was added; 0 if the batch is full or the record is malformed (and it
 * ends the batch), -1 if the record is malformed and the batch has none yet;
 * then nothing was appended or counted. */
static int writer_add(struct bulk_writer *w, const struct es_record_list *list, size_t i,
                      struct buf *out, size_t bytes)
{
    size_t mark = out->len;
    struct es_bulk_result before = *w->result;
    const struct es_record_ref *ref = &list->records[i];
    if (write_item(out, ref->chunk, ref->offset, w->opts, w->constant_name, &w->names, w->result) <
        0) {
        out->len = mark;
        *w->result = before;
        return w->result->records ? 0 : -1;
    }
    if (batch_full(w->opts, w->result->records, bytes + out->len - mark)) {
        out->len = mark;
        *w->result = before;
        return 0;
    }
    w->result->records++;
    return 1;
}

int es_bulk_build(const struct es_record_list *list, size_t first,
                  const struct es_bulk_options *opts, struct buf *body,
                  struct es_bulk_result *result)
{
    *result = (struct es_bulk_result){0};
    struct bulk_writer w;
    writer_init(&w, opts, result);
    size_t start = body->len;
    int rc = 0;
    /* Once per batch, not per append: the body does not move while written.
     * Room for the whole body, however much of it is there already, so that
     * its capacity is what es_buffers.c keeps. */
    size_t room = opts->batch_max_bytes + ES_BULK_SLACK;
    if (opts->batch_max_bytes && body->len < room)
        buf_reserve(body, room - body->len);
    for (size_t i = first; i < list->count; i++) {
        rc = writer_add(&w, list, i, body, body->len - start);
        if (rc <= 0)
            break;
    }
    writer_free(&w);
    return rc < 0 ? -1 : 0;
}

struct es_bulk_stream {
    const struct es_record_list *list;
    struct es_bulk_options opts;
    struct es_bulk_result result;
    struct bulk_writer writer;
    bool writing;      /* writer is set up for the batch */
    size_t first;      /* the batch's first list position */
    size_t limit;      /* its records once known (es_bulk_stream_finish), else 0 */
    size_t next;       /* the next list position to write */
    size_t bytes;      /* written so far, all pieces */
    size_t given;      /* read so far in this pass */
    bool ended;        /* no more pieces in this pass */
    struct buf piece;  /* the last item written */
    size_t piece_read; /* of which given out */
};

struct es_bulk_stream *es_bulk_stream_create(void)
{
    struct es_bulk_stream *s = xcalloc(1, sizeof *s);
    s->piece = (struct buf)BUF_INIT;
    return s;
}

static void stream_stop_writing(struct es_bulk_stream *s)
{
    if (s->writing)
        writer_free(&s->writer);
    s->writing = false;
}

void es_bulk_stream_free(struct es_bulk_stream *s)
{
    if (!s)
        return;
    stream_stop_writing(s);
    buf_free(&s->piece);
    free(s);
}

void es_bulk_stream_rewind(struct es_bulk_stream *s)
{
    stream_stop_writing(s);
    s->result = (struct es_bulk_result){0};
    writer_init(&s->writer, &s->opts, &s->result);
    s->writing = true;
    s->next = s->first;
    s->bytes = 0;
    s->given = 0;
    s->ended = false;
    s->piece.len = 0;
    s->piece_read = 0;
}

/* Writes the next item into s->piece. Returns 1, 0 at the end of the batch,
 * -1 if its first record is malformed. */
static int stream_next_piece(struct es_bulk_stream *s)
{
    s->piece.len = 0;
    s->piece_read = 0;
    bool at_limit = s->limit && s->next >= s->first + s->limit;
    int rc = s->ended || at_limit || s->next >= s->list->count
                 ? 0
                 : writer_add(&s->writer, s->list, s->next, &s->piece, s->bytes);
    if (rc == 1) {
        s->next++;
        s->bytes += s->piece.len;
    } else {
        s->ended = true;
    }
    return rc;
}

int es_bulk_stream_start(struct es_bulk_stream *s, const struct es_record_list *list, size_t first,
                         const struct es_bulk_options *opts)
{
    s->list = list;
    s->opts = *opts;
    s->first = first;
    s->limit = 0;
    es_bulk_stream_rewind(s);
    return stream_next_piece(s) < 0 ? -1 : 0;
}

size_t es_bulk_stream_read(struct es_bulk_stream *s, char *dst, size_t room)
{
    size_t given = 0;
    while (given < room) {
        if (s->piece_read == s->piece.len && stream_next_piece(s) != 1)
            break;
        size_t n = s->piece.len - s->piece_read;
        if (n > room - given)
            n = room - given;
        memcpy(dst + given, s->piece.data + s->piece_read, n);
        s->piece_read += n;
        given += n;
    }
    s->given += given;
    return given;
}

size_t es_bulk_stream_position(const struct es_bulk_stream *s)
{
    return s->given;
}

const struct es_bulk_result *es_bulk_stream_finish(struct es_bulk_stream *s, size_t *bytes)
{
    if (!s->limit) {
        while (stream_next_piece(s) == 1)
            ;
        s->limit = s->result.records;
    }
    /* Room for a record larger than usual is not kept between batches. */
    if (s->piece.cap > ES_BULK_SLACK)
        buf_free(&s->piece);
    s->piece.len = 0;
    s->piece_read = 0;
    *bytes = s->bytes;
    return &s->result;
}
