/* Fixtures shared by the Elasticsearch output's unit tests (es_helpers.h). */
#include "es_helpers.h"

#include "suites.h"
#include "xalloc.h"

#include <stdio.h>
#include <string.h>

void set_str(struct value_map *map, const char *key, const char *s)
{
    struct value v = value_cstring(s);
    value_map_set(map, key, strlen(key), &v);
}

void set_int(struct value_map *map, const char *key, int64_t i)
{
    struct value v = value_int(i);
    value_map_set(map, key, strlen(key), &v);
}

void make_record(struct record *rec, int64_t sec, uint64_t source, uint64_t offset)
{
    record_init(rec);
    rec->time = (struct record_time){sec, 123};
    rec->origin = (struct record_origin){source, offset};
}

struct chunk *make_log_chunk(int n)
{
    struct chunk *chunk = chunk_new(1, 0, "kube.x", 1, 0);
    for (int i = 0; i < n; i++) {
        struct record rec;
        char line[32];
        snprintf(line, sizeof line, "line %d", i);
        make_record(&rec, T_2024_05_01, 7, (uint64_t)(i + 1) * 100);
        set_str(&rec.fields, "log", line);
        set_str(&rec.fields, "stream", "stdout");
        ck_assert_uint_gt(chunk_append(chunk, &rec), 0);
        record_free(&rec);
    }
    return chunk;
}

struct chunk *chunk_of(struct record *rec)
{
    struct chunk *chunk = chunk_new(1, 0, "kube.x", 1, 0);
    ck_assert_uint_gt(chunk_append(chunk, rec), 0);
    record_free(rec);
    return chunk;
}

struct es_index_pattern *compile_ok(const char *text)
{
    char *error = NULL;
    struct es_index_pattern *p = es_index_pattern_compile(text, &error);
    ck_assert_msg(p != NULL, "%s", error ? error : "");
    return p;
}

const struct es_id_spec origin_ids = {.mode = ES_ID_ORIGIN};

struct es_bulk_options default_options(const struct es_index_pattern *index)
{
    return (struct es_bulk_options){
        .index = index,
        .node_name = "node-1",
        .time_key = "@timestamp",
    };
}

char *build_all(const struct chunk *chunk, const struct es_bulk_options *opts,
                struct es_bulk_result *result)
{
    struct es_record_list list = {0};
    ck_assert_int_eq(es_record_list_from_chunk(&list, chunk), 0);
    struct buf body = BUF_INIT;
    ck_assert_int_eq(es_bulk_build(&list, 0, opts, &body, result), 0);
    ck_assert_uint_eq(result->records, list.count);
    es_record_list_free(&list);
    char *text = xstrndup(body.data ? body.data : "", body.len);
    buf_free(&body);
    return text;
}
