/* The Elasticsearch output's building blocks: index name patterns, document
 * ids, `_bulk` bodies built from chunks (batching, dedot) and the parser of
 * `_bulk` responses. */
#include "suites.h"

#include "chunk.h"
#include "plugins/out_elasticsearch/es_bulk.h"
#include "plugins/out_elasticsearch/es_id.h"
#include "plugins/out_elasticsearch/es_index.h"
#include "plugins/out_elasticsearch/es_response.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T_2024_05_01 1714558500 /* 2024-05-01T10:15:00Z */

static void set_str(struct value_map *map, const char *key, const char *s)
{
    struct value v = value_cstring(s);
    value_map_set(map, key, strlen(key), &v);
}

static void set_int(struct value_map *map, const char *key, int64_t i)
{
    struct value v = value_int(i);
    value_map_set(map, key, strlen(key), &v);
}

/* Attaches `value` under `key`; the record holds the only reference. */
static void attach(struct record *rec, const char *key, struct value *value)
{
    struct attachment *a = attachment_new(key, value);
    ck_assert_int_eq(record_attach(rec, a), 0);
    attachment_unref(a);
}

static void make_record(struct record *rec, int64_t sec, uint64_t source, uint64_t offset)
{
    record_init(rec);
    rec->time = (struct record_time){sec, 123};
    rec->origin = (struct record_origin){source, offset};
}

/* A chunk of `n` records {"log":"line <i>","stream":"stdout"}, source 7,
 * offsets 100, 200, ... */
static struct chunk *make_log_chunk(int n)
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

static struct chunk *chunk_of(struct record *rec)
{
    struct chunk *chunk = chunk_new(1, 0, "kube.x", 1, 0);
    ck_assert_uint_gt(chunk_append(chunk, rec), 0);
    record_free(rec);
    return chunk;
}

static struct es_index_pattern *compile_ok(const char *text)
{
    char *error;
    struct es_index_pattern *p = es_index_pattern_compile(text, &error);
    ck_assert_msg(p != NULL, "%s", error ? error : "");
    return p;
}

static struct es_bulk_options default_options(const struct es_index_pattern *index)
{
    return (struct es_bulk_options){
        .index = index,
        .id_mode = ES_ID_NONE,
        .node_name = "node-1",
        .time_key = "@timestamp",
    };
}

/* Builds one body from the whole chunk; returns it NUL-terminated (caller
 * frees) and the result. */
static char *build_all(const struct chunk *chunk, const struct es_bulk_options *opts,
                       struct es_bulk_result *result)
{
    struct es_record_list list = {0};
    ck_assert_int_eq(es_record_list_from_chunk(&list, chunk), 0);
    struct buf body = BUF_INIT;
    ck_assert_int_eq(es_bulk_build(chunk, &list, 0, opts, &body, result), 0);
    ck_assert_uint_eq(result->records, list.count);
    es_record_list_free(&list);
    char *text = xstrndup(body.data ? body.data : "", body.len);
    buf_free(&body);
    return text;
}

/* The index name one record gets with `pattern`. */
static char *expand_one(const char *pattern, struct record *rec, int *fallback)
{
    struct es_index_pattern *p = compile_ok(pattern);
    struct chunk *chunk = chunk_of(rec);
    size_t pos = 0;
    struct record_view view;
    ck_assert_int_eq(chunk_next(chunk, &pos, &view), 1);
    struct buf raw = BUF_INIT;
    struct buf name = BUF_INIT;
    *fallback = es_index_expand(p, &view, chunk->attachments, &raw);
    es_index_name_fix(raw.data, raw.len, &name);
    char *text = xstrndup(name.data ? name.data : "", name.len);
    buf_free(&raw);
    buf_free(&name);
    chunk_free(chunk);
    es_index_pattern_free(p);
    return text;
}

START_TEST(test_bulk_index_mode)
{
    struct chunk *chunk = make_log_chunk(2);
    struct es_index_pattern *index = compile_ok("logs");
    struct es_bulk_options opts = default_options(index);
    struct es_bulk_result result;
    char *body = build_all(chunk, &opts, &result);
    ck_assert_str_eq(body, "{\"index\":{\"_index\":\"logs\"}}\n"
                           "{\"@timestamp\":\"2024-05-01T10:15:00.000000123Z\","
                           "\"log\":\"line 0\",\"stream\":\"stdout\"}\n"
                           "{\"index\":{\"_index\":\"logs\"}}\n"
                           "{\"@timestamp\":\"2024-05-01T10:15:00.000000123Z\","
                           "\"log\":\"line 1\",\"stream\":\"stdout\"}\n");
    ck_assert_uint_eq(result.index_fallbacks, 0);
    free(body);
    es_index_pattern_free(index);
    chunk_free(chunk);
}
END_TEST

START_TEST(test_bulk_type_for_elasticsearch_6)
{
    struct chunk *chunk = make_log_chunk(1);
    struct es_index_pattern *index = compile_ok("logs");
    struct es_bulk_options opts = default_options(index);
    opts.include_type = true;
    struct es_bulk_result result;
    char *body = build_all(chunk, &opts, &result);
    ck_assert_str_eq(body, "{\"index\":{\"_index\":\"logs\",\"_type\":\"_doc\"}}\n"
                           "{\"@timestamp\":\"2024-05-01T10:15:00.000000123Z\","
                           "\"log\":\"line 0\",\"stream\":\"stdout\"}\n");
    free(body);
    es_index_pattern_free(index);
    chunk_free(chunk);
}
END_TEST

START_TEST(test_bulk_data_stream_mode)
{
    struct chunk *chunk = make_log_chunk(1);
    struct es_index_pattern *index = compile_ok("logs-app-default");
    struct es_bulk_options opts = default_options(index);
    opts.create = true;
    opts.id_mode = ES_ID_ORIGIN;
    opts.time_key = "ts";
    struct es_bulk_result result;
    char *body = build_all(chunk, &opts, &result);

    char id[ES_ID_ORIGIN_LEN + 1];
    es_id_origin("node-1", &(struct record_origin){7, 100}, id);
    char *want = xasprintf("{\"create\":{\"_index\":\"logs-app-default\",\"_id\":\"%s\"}}\n"
                           "{\"ts\":\"2024-05-01T10:15:00.000000123Z\","
                           "\"log\":\"line 0\",\"stream\":\"stdout\"}\n",
                           id);
    ck_assert_str_eq(body, want);
    free(want);
    free(body);
    es_index_pattern_free(index);
    chunk_free(chunk);
}
END_TEST

START_TEST(test_index_pattern_dates_and_fields)
{
    struct record rec;
    int fallback;
    make_record(&rec, T_2024_05_01, 1, 1);
    struct value meta = value_map_new();
    set_str(&meta.as.map, "namespace_name", "Kube-System");
    attach(&rec, "kubernetes", &meta);
    char *name = expand_one("Logs-${kubernetes.namespace_name}-%Y.%m.%d", &rec, &fallback);
    ck_assert_str_eq(name, "logs-kube-system-2024.05.01");
    ck_assert_int_eq(fallback, 0);
    free(name);

    make_record(&rec, T_2024_05_01, 1, 1);
    struct value inner = value_map_new();
    set_int(&inner.as.map, "code", 42);
    value_map_set(&rec.fields, "http", 4, &inner);
    name = expand_one("x-${http.code}-%H%M-%j-%%", &rec, &fallback);
    ck_assert_str_eq(name, "x-42-1015-122-%");
    free(name);

    make_record(&rec, 1735689599, 1, 1); /* 2024-12-31T23:59:59Z, a leap year */
    name = expand_one("%Y.%j", &rec, &fallback);
    ck_assert_str_eq(name, "2024.366");
    free(name);

    make_record(&rec, -1, 1, 1); /* 1969-12-31T23:59:59Z */
    name = expand_one("%Y-%m-%d-%H-%M-%j", &rec, &fallback);
    ck_assert_str_eq(name, "1969-12-31-23-59-365");
    free(name);
}
END_TEST

START_TEST(test_index_pattern_fallback_and_forbidden)
{
    struct record rec;
    int fallback;
    make_record(&rec, T_2024_05_01, 1, 1);
    set_str(&rec.fields, "ns", "");
    struct value map = value_map_new();
    value_map_set(&rec.fields, "obj", 3, &map);
    char *name = expand_one("logs-${missing}-${ns}-${obj}-${obj.deeper}-%Y", &rec, &fallback);
    ck_assert_str_eq(name, "logs-unknown-unknown-unknown-unknown-2024");
    ck_assert_int_eq(fallback, 1);
    free(name);

    make_record(&rec, T_2024_05_01, 1, 1);
    set_str(&rec.fields, "team", "A/b*c?d\"e<f>g|h i,j#k:l\\M");
    name = expand_one("${team}", &rec, &fallback);
    ck_assert_str_eq(name, "a_b_c_d_e_f_g_h_i_j_k_l_m");
    ck_assert_int_eq(fallback, 0);
    free(name);
}
END_TEST

START_TEST(test_index_pattern_compile_errors)
{
    static const char *const bad[] = {"",           "logs-%Q",      "logs-%",
                                      "logs-${a.b", "logs-${a..b}", "logs-${}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *error = NULL;
        ck_assert_ptr_null(es_index_pattern_compile(bad[i], &error));
        ck_assert_ptr_nonnull(error);
        free(error);
    }
    char *error = NULL;
    es_index_pattern_compile("logs-%y", &error);
    ck_assert_str_eq(error, "index 'logs-%y': unsupported conversion '%y' at column 6 (use %Y %m "
                            "%d %H %M %j %%)");
    free(error);
}
END_TEST

START_TEST(test_index_name_in_bulk_counts_fallbacks)
{
    struct chunk *chunk = chunk_new(1, 0, "t", 1, 0);
    struct record rec;
    make_record(&rec, T_2024_05_01, 1, 1);
    set_str(&rec.fields, "app", "Web");
    chunk_append(chunk, &rec);
    record_free(&rec);
    make_record(&rec, T_2024_05_01, 1, 2);
    chunk_append(chunk, &rec);
    record_free(&rec);

    struct es_index_pattern *index = compile_ok("${app}-%Y.%m");
    struct es_bulk_options opts = default_options(index);
    struct es_bulk_result result;
    char *body = build_all(chunk, &opts, &result);
    ck_assert_str_eq(body, "{\"index\":{\"_index\":\"web-2024.05\"}}\n"
                           "{\"@timestamp\":\"2024-05-01T10:15:00.000000123Z\",\"app\":\"Web\"}\n"
                           "{\"index\":{\"_index\":\"unknown-2024.05\"}}\n"
                           "{\"@timestamp\":\"2024-05-01T10:15:00.000000123Z\"}\n");
    ck_assert_uint_eq(result.index_fallbacks, 1);
    free(body);
    es_index_pattern_free(index);
    chunk_free(chunk);
}
END_TEST

/* vectors_sip128 of the reference implementation: key 00..0f, message
 * 00..len-1 for len 0, 8 (one whole block) and 15 (a block and a tail). */
START_TEST(test_siphash128_reference_vectors)
{
    static const uint8_t want[3][16] = {
        {0xa3, 0x81, 0x7f, 0x04, 0xba, 0x25, 0xa8, 0xe6, 0x6d, 0xf6, 0x72, 0x14, 0xc7, 0x55, 0x02,
         0x93},
        {0x3b, 0x62, 0xa9, 0xba, 0x62, 0x58, 0xf5, 0x61, 0x0f, 0x83, 0xe2, 0x64, 0xf3, 0x14, 0x97,
         0xb4},
        {0x54, 0x93, 0xe9, 0x99, 0x33, 0xb0, 0xa8, 0x11, 0x7e, 0x08, 0xec, 0x0f, 0x97, 0xcf, 0xc3,
         0xd9},
    };
    static const size_t lengths[3] = {0, 8, 15};
    uint8_t key[16], msg[15], out[16];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 15; i++)
        msg[i] = (uint8_t)i;
    for (int i = 0; i < 3; i++) {
        es_siphash128(key, msg, lengths[i], out);
        ck_assert_mem_eq(out, want[i], 16);
    }
}
END_TEST

START_TEST(test_origin_ids)
{
    char a[ES_ID_ORIGIN_LEN + 1], b[ES_ID_ORIGIN_LEN + 1];
    struct record_origin o = {42, 1000};
    es_id_origin("node-1", &o, a);
    es_id_origin("node-1", &o, b);
    ck_assert_str_eq(a, b);
    ck_assert_uint_eq(strlen(a), ES_ID_ORIGIN_LEN);
    ck_assert_uint_eq(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                      ES_ID_ORIGIN_LEN);

    es_id_origin("node-1", &(struct record_origin){42, 1001}, b);
    ck_assert_str_ne(a, b);
    es_id_origin("node-1", &(struct record_origin){43, 1000}, b);
    ck_assert_str_ne(a, b);
    es_id_origin("node-2", &o, b);
    ck_assert_str_ne(a, b);
    /* A long node name takes the allocated path and still gives stable ids. */
    char node[400];
    memset(node, 'n', sizeof node - 1);
    node[sizeof node - 1] = '\0';
    es_id_origin(node, &o, a);
    es_id_origin(node, &o, b);
    ck_assert_str_eq(a, b);
}
END_TEST

static const char *id_of_body(const char *body, char *out, size_t size)
{
    const char *at = strstr(body, "\"_id\":\"");
    if (!at)
        return NULL;
    at += 7;
    size_t n = strcspn(at, "}");
    ck_assert_uint_lt(n, size);
    memcpy(out, at, n - 1); /* without the closing quote */
    out[n - 1] = '\0';
    return out;
}

START_TEST(test_field_ids)
{
    struct es_index_pattern *index = compile_ok("audit");
    struct field_path path;
    char *error;
    ck_assert_int_eq(field_path_parse("auditID", &path, &error), 0);
    struct es_bulk_options opts = default_options(index);
    opts.id_mode = ES_ID_FIELD;
    opts.id_field = &path;

    struct chunk *chunk = chunk_new(1, 0, "t", 1, 0);
    struct record rec;
    make_record(&rec, T_2024_05_01, 3, 30);
    set_str(&rec.fields, "auditID", "6f1c\"x");
    chunk_append(chunk, &rec);
    record_free(&rec);
    make_record(&rec, T_2024_05_01, 3, 60);
    set_int(&rec.fields, "auditID", 17);
    chunk_append(chunk, &rec);
    record_free(&rec);
    make_record(&rec, T_2024_05_01, 3, 90);
    chunk_append(chunk, &rec);
    record_free(&rec);

    struct es_bulk_result result;
    char *body = build_all(chunk, &opts, &result);
    char origin[ES_ID_ORIGIN_LEN + 1];
    es_id_origin("node-1", &(struct record_origin){3, 90}, origin);
    char *want =
        xasprintf("{\"index\":{\"_index\":\"audit\",\"_id\":\"6f1c\\\"x\"}}\n"
                  "{\"@timestamp\":\"2024-05-01T10:15:00.000000123Z\",\"auditID\":\"6f1c\\\"x\"}\n"
                  "{\"index\":{\"_index\":\"audit\",\"_id\":\"17\"}}\n"
                  "{\"@timestamp\":\"2024-05-01T10:15:00.000000123Z\",\"auditID\":17}\n"
                  "{\"index\":{\"_index\":\"audit\",\"_id\":\"%s\"}}\n"
                  "{\"@timestamp\":\"2024-05-01T10:15:00.000000123Z\"}\n",
                  origin);
    ck_assert_str_eq(body, want);
    ck_assert_uint_eq(result.id_fallbacks, 1);
    free(want);
    free(body);
    chunk_free(chunk);
    field_path_free(&path);
    es_index_pattern_free(index);
}
END_TEST

/* Ids Elasticsearch would reject (empty, over 512 bytes) and non-scalars fall
 * back to the origin id. */
START_TEST(test_field_id_fallbacks)
{
    struct es_index_pattern *index = compile_ok("audit");
    struct field_path path;
    char *error;
    ck_assert_int_eq(field_path_parse("auditID", &path, &error), 0);
    struct es_bulk_options opts = default_options(index);
    opts.id_mode = ES_ID_FIELD;
    opts.id_field = &path;

    char long_id[ES_ID_MAX_BYTES + 2];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    struct chunk *chunk = chunk_new(1, 0, "t", 1, 0);
    struct record rec;
    make_record(&rec, T_2024_05_01, 3, 30);
    set_str(&rec.fields, "auditID", "");
    chunk_append(chunk, &rec);
    record_free(&rec);
    make_record(&rec, T_2024_05_01, 3, 60);
    set_str(&rec.fields, "auditID", long_id);
    chunk_append(chunk, &rec);
    record_free(&rec);
    make_record(&rec, T_2024_05_01, 3, 90);
    struct value map = value_map_new();
    value_map_set(&rec.fields, "auditID", 7, &map);
    chunk_append(chunk, &rec);
    record_free(&rec);
    make_record(&rec, T_2024_05_01, 3, 120);
    long_id[ES_ID_MAX_BYTES] = '\0';
    set_str(&rec.fields, "auditID", long_id);
    chunk_append(chunk, &rec);
    record_free(&rec);

    struct es_bulk_result result;
    char *body = build_all(chunk, &opts, &result);
    ck_assert_uint_eq(result.id_fallbacks, 3);
    char id[ES_ID_MAX_BYTES + 8], want[ES_ID_ORIGIN_LEN + 1];
    es_id_origin("node-1", &(struct record_origin){3, 60}, want);
    const char *second = strstr(body, "\n{\"index\"") + 1;
    ck_assert_str_eq(id_of_body(second, id, sizeof id), want);
    ck_assert_ptr_nonnull(strstr(body, long_id));
    free(body);
    chunk_free(chunk);
    field_path_free(&path);
    es_index_pattern_free(index);
}
END_TEST

START_TEST(test_origin_ids_in_bulk)
{
    struct chunk *chunk = make_log_chunk(2);
    struct es_index_pattern *index = compile_ok("logs");
    struct es_bulk_options opts = default_options(index);
    opts.id_mode = ES_ID_ORIGIN;
    struct es_bulk_result result;
    char *first = build_all(chunk, &opts, &result);
    char *again = build_all(chunk, &opts, &result);
    ck_assert_str_eq(first, again);

    char id[64], want[ES_ID_ORIGIN_LEN + 1];
    es_id_origin("node-1", &(struct record_origin){7, 100}, want);
    ck_assert_str_eq(id_of_body(first, id, sizeof id), want);
    const char *second = strstr(first, "\n{\"index\"") + 1;
    es_id_origin("node-1", &(struct record_origin){7, 200}, want);
    ck_assert_str_eq(id_of_body(second, id, sizeof id), want);

    opts.node_name = "node-2";
    char *other = build_all(chunk, &opts, &result);
    ck_assert_str_ne(first, other);
    free(other);
    free(again);
    free(first);
    es_index_pattern_free(index);
    chunk_free(chunk);
}
END_TEST

START_TEST(test_dedot_nested_and_attached)
{
    struct record rec;
    make_record(&rec, T_2024_05_01, 1, 1);
    struct value inner = value_map_new();
    set_int(&inner.as.map, "c.d", 1);
    set_str(&inner.as.map, "e", "x.y \"q.\" z");
    value_map_set(&rec.fields, "a.b", 3, &inner);
    struct value item = value_map_new();
    set_str(&item.as.map, "k.k", "v.v");
    struct value arr = value_array_new();
    value_array_push(&arr.as.array, &item);
    value_map_set(&rec.fields, "arr.x", 5, &arr);
    struct value labels = value_map_new();
    set_str(&labels.as.map, "app.kubernetes.io/name", "web.1");
    struct value meta = value_map_new();
    value_map_set(&meta.as.map, "labels", 6, &labels);
    attach(&rec, "kube.meta", &meta);
    struct chunk *chunk = chunk_of(&rec);

    struct es_index_pattern *index = compile_ok("logs");
    struct es_bulk_options opts = default_options(index);
    opts.dedot_keys = true;
    struct es_bulk_result result;
    char *body = build_all(chunk, &opts, &result);
    ck_assert_str_eq(body, "{\"index\":{\"_index\":\"logs\"}}\n"
                           "{\"@timestamp\":\"2024-05-01T10:15:00.000000123Z\","
                           "\"a_b\":{\"c_d\":1,\"e\":\"x.y \\\"q.\\\" z\"},"
                           "\"arr_x\":[{\"k_k\":\"v.v\"}],"
                           "\"kube_meta\":{\"labels\":{\"app_kubernetes_io/name\":\"web.1\"}}}\n");

    opts.dedot_keys = false;
    char *plain = build_all(chunk, &opts, &result);
    ck_assert_ptr_nonnull(strstr(plain, "\"a.b\":{\"c.d\":1"));
    ck_assert_ptr_nonnull(strstr(plain, "\"app.kubernetes.io/name\""));
    free(plain);
    free(body);
    es_index_pattern_free(index);
    chunk_free(chunk);
}
END_TEST

/* Splits the whole chunk into bodies; returns how many, with the record
 * count of each in `sizes`. Every record is sent exactly once, in order. */
static size_t split_chunk(const struct chunk *chunk, const struct es_bulk_options *opts,
                          size_t *sizes, size_t max_bodies)
{
    struct es_record_list list = {0};
    es_record_list_from_chunk(&list, chunk);
    size_t bodies = 0;
    size_t first = 0;
    int lines = 0;
    while (first < list.count) {
        struct buf body = BUF_INIT;
        struct es_bulk_result result;
        ck_assert_int_eq(es_bulk_build(chunk, &list, first, opts, &body, &result), 0);
        ck_assert_uint_ge(result.records, 1);
        ck_assert_uint_lt(bodies, max_bodies);
        for (size_t i = 0; i < body.len; i++)
            lines += body.data[i] == '\n';
        if (opts->batch_max_bytes && result.records > 1)
            ck_assert_uint_le(body.len, opts->batch_max_bytes);
        char want[32];
        snprintf(want, sizeof want, "\"line %zu\"", first);
        ck_assert_ptr_nonnull(strstr(buf_cstr(&body), want));
        sizes[bodies++] = result.records;
        first += result.records;
        buf_free(&body);
    }
    ck_assert_int_eq(lines, (int)list.count * 2);
    es_record_list_free(&list);
    return bodies;
}

START_TEST(test_batch_limits)
{
    struct chunk *chunk = make_log_chunk(10);
    struct es_index_pattern *index = compile_ok("logs");
    struct es_bulk_options opts = default_options(index);
    size_t sizes[16];

    /* Every item is the same size here. */
    struct es_bulk_result result;
    char *all = build_all(chunk, &opts, &result);
    size_t item = strlen(all) / 10;
    free(all);

    opts.batch_max_records = 3;
    ck_assert_uint_eq(split_chunk(chunk, &opts, sizes, 16), 4);
    ck_assert_uint_eq(sizes[0], 3);
    ck_assert_uint_eq(sizes[3], 1);

    opts.batch_max_records = 0;
    opts.batch_max_bytes = item * 5 / 2; /* room for two and a half */
    ck_assert_uint_eq(split_chunk(chunk, &opts, sizes, 16), 5);
    ck_assert_uint_eq(sizes[0], 2);
    opts.batch_max_bytes = item * 2;
    ck_assert_uint_eq(split_chunk(chunk, &opts, sizes, 16), 5);

    /* A record larger than the limit still goes, alone. */
    opts.batch_max_bytes = 10;
    ck_assert_uint_eq(split_chunk(chunk, &opts, sizes, 16), 10);
    ck_assert_uint_eq(sizes[9], 1);

    es_index_pattern_free(index);
    chunk_free(chunk);
}
END_TEST

START_TEST(test_record_list_subset)
{
    struct chunk *chunk = make_log_chunk(5);
    struct es_record_list all = {0}, retry = {0};
    ck_assert_int_eq(es_record_list_from_chunk(&all, chunk), 0);
    ck_assert_uint_eq(all.count, 5);
    es_record_list_push(&retry, all.offsets[1]);
    es_record_list_push(&retry, all.offsets[4]);

    struct es_index_pattern *index = compile_ok("logs");
    struct es_bulk_options opts = default_options(index);
    struct buf body = BUF_INIT;
    buf_append_str(&body, "kept");
    struct es_bulk_result result;
    ck_assert_int_eq(es_bulk_build(chunk, &retry, 0, &opts, &body, &result), 0);
    ck_assert_uint_eq(result.records, 2);
    const char *text = buf_cstr(&body);
    ck_assert_int_eq(strncmp(text, "kept{\"index\"", 12), 0);
    ck_assert_ptr_nonnull(strstr(text, "\"line 1\""));
    ck_assert_ptr_nonnull(strstr(text, "\"line 4\""));
    ck_assert_ptr_null(strstr(text, "\"line 0\""));

    buf_free(&body);
    es_index_pattern_free(index);
    es_record_list_free(&retry);
    es_record_list_free(&all);
    chunk_free(chunk);
}
END_TEST

START_TEST(test_malformed_chunk)
{
    struct chunk *chunk = make_log_chunk(3);
    struct es_record_list list = {0};
    ck_assert_int_eq(es_record_list_from_chunk(&list, chunk), 0);
    /* Cut the last record short: the list stops before it. */
    chunk->data.len -= 3;
    ck_assert_int_eq(es_record_list_from_chunk(&list, chunk), -1);
    ck_assert_uint_eq(list.count, 2);

    /* A list made before the damage: the batch ends before the bad record,
     * which alone is an error. */
    es_record_list_push(&list, list.offsets[1] + (list.offsets[1] - list.offsets[0]));
    struct es_index_pattern *index = compile_ok("logs");
    struct es_bulk_options opts = default_options(index);
    struct buf body = BUF_INIT;
    struct es_bulk_result result;
    ck_assert_int_eq(es_bulk_build(chunk, &list, 0, &opts, &body, &result), 0);
    ck_assert_uint_eq(result.records, 2);
    size_t len = body.len;
    ck_assert_int_eq(es_bulk_build(chunk, &list, 2, &opts, &body, &result), -1);
    ck_assert_uint_eq(result.records, 0);
    ck_assert_uint_eq(body.len, len);
    buf_free(&body);
    es_index_pattern_free(index);
    es_record_list_free(&list);
    chunk_free(chunk);
}
END_TEST

static void parse_ok(const char *text, size_t expected, struct es_response *r)
{
    char error[ES_RESPONSE_ERROR_SIZE] = "";
    ck_assert_msg(es_response_parse(text, strlen(text), expected, r, error) == 0, "%s", error);
    ck_assert_uint_eq(r->count, expected);
}

static void parse_fails(const char *text, size_t expected, const char *message)
{
    struct es_response r;
    char error[ES_RESPONSE_ERROR_SIZE] = "";
    ck_assert_int_eq(es_response_parse(text, strlen(text), expected, &r, error), -1);
    ck_assert_ptr_null(r.items);
    ck_assert_uint_eq(r.count, 0);
    ck_assert_msg(strstr(error, message) != NULL, "'%s' lacks '%s'", error, message);
}

/* Elasticsearch 8.x, all created. */
START_TEST(test_response_es8_all_ok)
{
    static const char text[] =
        "{\"errors\":false,\"took\":6,\"items\":["
        "{\"index\":{\"_index\":\"logs\",\"_id\":\"a\",\"_version\":1,\"result\":\"created\","
        "\"_shards\":{\"total\":2,\"successful\":1,\"failed\":0},\"_seq_no\":0,"
        "\"_primary_term\":1,\"status\":201}},"
        "{\"index\":{\"_index\":\"logs\",\"_id\":\"b\",\"_version\":2,\"result\":\"updated\","
        "\"_shards\":{\"total\":2,\"successful\":1,\"failed\":0},\"_seq_no\":1,"
        "\"_primary_term\":1,\"status\":200}}]}";
    struct es_response r;
    parse_ok(text, 2, &r);
    ck_assert_int_eq(r.items[0].status, 201);
    ck_assert_int_eq(r.items[1].status, 200);
    ck_assert_int_eq(r.items[0].class, ES_ITEM_OK);
    ck_assert_str_eq(r.items[0].error_type, "");
    ck_assert_str_eq(r.items[0].error_reason, "");
    ck_assert_uint_eq(r.counts[ES_ITEM_OK], 2);
    es_response_free(&r);
}
END_TEST

/* Elasticsearch 7.x with a data stream: created, already there, throttled,
 * a mapping error and an unavailable shard. */
START_TEST(test_response_es7_mixed)
{
    static const char text[] =
        "{\"took\":30,\"errors\":true,\"items\":["
        "{\"create\":{\"_index\":\".ds-logs-2024.05.01-000001\",\"_type\":\"_doc\",\"_id\":\"a\","
        "\"_version\":1,\"result\":\"created\",\"status\":201}},"
        "{\"create\":{\"_index\":\".ds-logs-2024.05.01-000001\",\"_type\":\"_doc\",\"_id\":\"b\","
        "\"status\":409,\"error\":{\"type\":\"version_conflict_engine_exception\","
        "\"reason\":\"[b]: version conflict, document already exists (current version [1])\","
        "\"index_uuid\":\"x\",\"shard\":\"0\",\"index\":\".ds-logs\"}}},"
        "{\"create\":{\"_index\":\"logs\",\"_id\":\"c\",\"status\":429,\"error\":{\"type\":"
        "\"es_rejected_execution_exception\",\"reason\":\"rejected execution of coordinating "
        "operation\"}}},"
        "{\"create\":{\"_index\":\"logs\",\"_id\":\"d\",\"status\":400,\"error\":{\"type\":"
        "\"mapper_parsing_exception\",\"reason\":\"failed to parse field [status] of type [long] "
        "in document with id 'd'. Preview of field's value: 'OK'\",\"caused_by\":{\"type\":"
        "\"illegal_argument_exception\",\"reason\":\"For input string: \\\"OK\\\"\"}}}},"
        "{\"create\":{\"_index\":\"logs\",\"_id\":\"e\",\"status\":503,\"error\":{\"type\":"
        "\"unavailable_shards_exception\",\"reason\":\"[logs][0] primary shard is not active\"}}}"
        "]}";
    struct es_response r;
    parse_ok(text, 5, &r);
    ck_assert_int_eq(r.items[0].class, ES_ITEM_OK);
    ck_assert_int_eq(r.items[1].class, ES_ITEM_ALREADY_EXISTS);
    ck_assert_str_eq(r.items[1].error_type, "version_conflict_engine_exception");
    ck_assert_int_eq(r.items[2].class, ES_ITEM_RETRY);
    ck_assert_int_eq(r.items[2].status, 429);
    ck_assert_int_eq(r.items[3].class, ES_ITEM_REJECTED);
    ck_assert_str_eq(r.items[3].error_type, "mapper_parsing_exception");
    ck_assert_str_eq(r.items[3].error_reason,
                     "failed to parse field [status] of type [long] in document with id 'd'. "
                     "Preview of field's value: 'OK'");
    ck_assert_int_eq(r.items[4].class, ES_ITEM_RETRY);
    ck_assert_uint_eq(r.counts[ES_ITEM_OK], 1);
    ck_assert_uint_eq(r.counts[ES_ITEM_ALREADY_EXISTS], 1);
    ck_assert_uint_eq(r.counts[ES_ITEM_RETRY], 2);
    ck_assert_uint_eq(r.counts[ES_ITEM_REJECTED], 1);
    ck_assert_str_eq(es_item_class_name(r.items[1].class), "already_exists");
    es_response_free(&r);
}
END_TEST

/* OpenSearch 2.x: a 409 on "index" is not ours to ignore. */
START_TEST(test_response_opensearch)
{
    static const char text[] =
        "{\"took\":2,\"ingest_took\":0,\"errors\":true,\"items\":["
        "{\"index\":{\"_index\":\"logs\",\"_id\":\"a\",\"_version\":1,\"result\":\"created\","
        "\"forced_refresh\":false,\"status\":201}},"
        "{\"index\":{\"_index\":\"logs\",\"_id\":\"b\",\"status\":409,\"error\":{\"type\":"
        "\"version_conflict_engine_exception\",\"reason\":null}}}]}";
    struct es_response r;
    parse_ok(text, 2, &r);
    ck_assert_int_eq(r.items[1].class, ES_ITEM_REJECTED);
    ck_assert_str_eq(r.items[1].error_reason, "");
    es_response_free(&r);
}
END_TEST

START_TEST(test_response_empty_and_string_error)
{
    struct es_response r;
    parse_ok("{\"took\":0,\"errors\":false,\"items\":[]}", 0, &r);
    es_response_free(&r);
    parse_ok("{\"items\":[{\"delete\":{\"status\":302,\"error\":\"moved\"}}]}", 1, &r);
    ck_assert_int_eq(r.items[0].class, ES_ITEM_RETRY);
    ck_assert_str_eq(r.items[0].error_reason, "moved");
    es_response_free(&r);
}
END_TEST

START_TEST(test_response_malformed)
{
    parse_fails("{\"took\":3,\"errors\":false,\"items\":[{\"index\":{\"status\":201}},{\"ind", 2,
                "not JSON");
    parse_fails("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body></body></html>", 1,
                "\"<html>?\?<head><title>502 Bad Gateway</ti\"");
    parse_fails("", 1, "not JSON");
    parse_fails("[1,2]", 2, "not a JSON object");
    parse_fails("{\"took\":1,\"errors\":false,\"items\":[{\"index\":{\"status\":201}}]}", 2,
                "1 items for 2 records");
    parse_fails("{\"took\":1}", 1, "has no items");
    parse_fails("{\"error\":{\"root_cause\":[],\"type\":\"illegal_argument_exception\","
                "\"reason\":\"The bulk request must be terminated by a newline [\\\\n]\"},"
                "\"status\":400}",
                1, "no items: illegal_argument_exception: The bulk request must be terminated");
    parse_fails("{\"items\":[{\"index\":{\"status\":\"201\"}}]}", 1, "item 0 has no valid status");
    parse_fails("{\"items\":[{\"index\":{\"status\":201}},{\"index\":{\"status\":42}}]}", 2,
                "item 1 has no valid status");
    parse_fails("{\"items\":[{\"index\":{\"status\":201},\"create\":{\"status\":201}}]}", 1,
                "item 0 is not an object with one operation");
    parse_fails("{\"items\":[17]}", 1, "item 0 is not");
}
END_TEST

Suite *es_bulk_suite(void)
{
    Suite *s = suite_create("es_bulk");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_bulk_index_mode);
    tcase_add_test(tc, test_bulk_type_for_elasticsearch_6);
    tcase_add_test(tc, test_bulk_data_stream_mode);
    tcase_add_test(tc, test_index_pattern_dates_and_fields);
    tcase_add_test(tc, test_index_pattern_fallback_and_forbidden);
    tcase_add_test(tc, test_index_pattern_compile_errors);
    tcase_add_test(tc, test_index_name_in_bulk_counts_fallbacks);
    tcase_add_test(tc, test_siphash128_reference_vectors);
    tcase_add_test(tc, test_origin_ids);
    tcase_add_test(tc, test_field_ids);
    tcase_add_test(tc, test_field_id_fallbacks);
    tcase_add_test(tc, test_origin_ids_in_bulk);
    tcase_add_test(tc, test_dedot_nested_and_attached);
    tcase_add_test(tc, test_batch_limits);
    tcase_add_test(tc, test_record_list_subset);
    tcase_add_test(tc, test_malformed_chunk);
    tcase_add_test(tc, test_response_es8_all_ok);
    tcase_add_test(tc, test_response_es7_mixed);
    tcase_add_test(tc, test_response_opensearch);
    tcase_add_test(tc, test_response_empty_and_string_error);
    tcase_add_test(tc, test_response_malformed);
    suite_add_tcase(s, tc);
    return s;
}
