/* The Elasticsearch output's building blocks: index name patterns and `_bulk`
 * bodies built from chunks (batching, dedot). Document ids are tested in
 * test_es_id.c, the parser of `_bulk` responses in test_es_response.c. */
#include "suites.h"

#include "es_helpers.h"

#include "chunk.h"
#include "chunk_fixture.h"
#include "plugins/out_elasticsearch/es_bulk.h"
#include "plugins/out_elasticsearch/es_id.h"
#include "plugins/out_elasticsearch/es_index.h"
#include "plugins/out_elasticsearch/es_response.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Attaches `value` under `key`; the record holds the only reference. */
static void attach(struct record *rec, const char *key, struct value *value)
{
    struct attachment *a = attachment_new(key, value);
    ck_assert_int_eq(record_attach(rec, a), 0);
    attachment_unref(a);
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
    opts.id = &origin_ids;
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

/* Runs of records with the same index name, some fixed: each record's name
 * and fixes are its own, though a run's name is made valid once. */
START_TEST(test_index_name_runs_count_every_fix)
{
    static const char *const apps[] = {"Web", "Web", "api", "Web", "a b", "a b", NULL};
    struct chunk *chunk = chunk_new(1, 0, "t", 1, 0);
    for (size_t i = 0; apps[i]; i++) {
        struct record rec;
        make_record(&rec, T_2024_05_01, 1, i + 1);
        set_str(&rec.fields, "app", apps[i]);
        chunk_append(chunk, &rec);
        record_free(&rec);
    }
    struct es_index_pattern *index = compile_ok("${app}");
    struct es_bulk_options opts = default_options(index);
    struct es_index_fix_example example = {0};
    opts.fix_example = &example;
    struct es_bulk_result result;
    char *body = build_all(chunk, &opts, &result);
    static const char *const names[] = {"web", "web", "api", "web", "a_b", "a_b"};
    const char *at = body;
    for (size_t i = 0; i < 6; i++) {
        char *action = xasprintf("{\"index\":{\"_index\":\"%s\"}}\n", names[i]);
        ck_assert_msg(strncmp(at, action, strlen(action)) == 0, "record %zu: %s", i, at);
        at = strchr(strchr(at, '\n') + 1, '\n') + 1;
        free(action);
    }
    ck_assert_uint_eq(result.index_fixes[ES_INDEX_FIX_UPPERCASE], 3);
    ck_assert_uint_eq(result.index_fixes[ES_INDEX_FIX_FORBIDDEN], 2);
    ck_assert(example.set);
    ck_assert_str_eq(buf_cstr(&example.original), "Web");
    ck_assert_str_eq(buf_cstr(&example.fixed), "web");
    buf_free(&example.original);
    buf_free(&example.fixed);
    free(body);
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
        ck_assert_int_eq(es_bulk_build(&list, first, opts, &body, &result), 0);
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
    es_record_list_push(&retry, chunk, all.records[1].offset);
    es_record_list_push(&retry, chunk, all.records[4].offset);

    struct es_index_pattern *index = compile_ok("logs");
    struct es_bulk_options opts = default_options(index);
    struct buf body = BUF_INIT;
    buf_append_str(&body, "kept");
    struct es_bulk_result result;
    ck_assert_int_eq(es_bulk_build(&retry, 0, &opts, &body, &result), 0);
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

/* A delivery of several chunks: the list runs across them in order, each
 * record read from its own chunk, and a batch may end in either. */
START_TEST(test_record_list_across_chunks)
{
    struct chunk *first = make_log_chunk(3);
    struct chunk *second = chunk_new(2, 0, "kube.y", 1, 0);
    for (int i = 0; i < 3; i++) {
        struct record rec;
        char line[32];
        snprintf(line, sizeof line, "other %d", i);
        make_record(&rec, T_2024_05_01, 8, (uint64_t)(i + 1) * 10);
        set_str(&rec.fields, "log", line);
        ck_assert_uint_gt(chunk_append(second, &rec), 0);
        record_free(&rec);
    }
    struct es_record_list list = {0};
    ck_assert_int_eq(es_record_list_add_chunk(&list, first), 0);
    ck_assert_int_eq(es_record_list_add_chunk(&list, second), 0);
    ck_assert_uint_eq(list.count, 6);
    ck_assert_ptr_eq(list.records[2].chunk, first);
    ck_assert_ptr_eq(list.records[3].chunk, second);
    ck_assert_uint_eq(list.records[3].offset, 0);

    struct es_index_pattern *index = compile_ok("logs");
    struct es_bulk_options opts = default_options(index);
    opts.batch_max_records = 4;
    struct buf body = BUF_INIT;
    struct es_bulk_result result;
    ck_assert_int_eq(es_bulk_build(&list, 0, &opts, &body, &result), 0);
    ck_assert_uint_eq(result.records, 4);
    const char *text = buf_cstr(&body);
    const char *at[4] = {strstr(text, "\"line 0\""), strstr(text, "\"line 2\""),
                         strstr(text, "\"other 0\""), strstr(text, "\"other 1\"")};
    ck_assert_ptr_nonnull(at[0]);
    ck_assert_ptr_nonnull(at[2]);
    ck_assert(at[0] < at[1] && at[1] < at[2]);
    ck_assert_ptr_null(at[3]);
    buf_reset(&body);
    ck_assert_int_eq(es_bulk_build(&list, 4, &opts, &body, &result), 0);
    ck_assert_uint_eq(result.records, 2);
    ck_assert_ptr_nonnull(strstr(buf_cstr(&body), "\"other 2\""));

    buf_free(&body);
    es_index_pattern_free(index);
    es_record_list_free(&list);
    chunk_free(first);
    chunk_free(second);
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
    es_record_list_push(&list, chunk,
                        list.records[1].offset + (list.records[1].offset - list.records[0].offset));
    struct es_index_pattern *index = compile_ok("logs");
    struct es_bulk_options opts = default_options(index);
    struct buf body = BUF_INIT;
    struct es_bulk_result result;
    ck_assert_int_eq(es_bulk_build(&list, 0, &opts, &body, &result), 0);
    ck_assert_uint_eq(result.records, 2);
    size_t len = body.len;
    ck_assert_int_eq(es_bulk_build(&list, 2, &opts, &body, &result), -1);
    ck_assert_uint_eq(result.records, 0);
    ck_assert_uint_eq(body.len, len);
    buf_free(&body);
    es_index_pattern_free(index);
    es_record_list_free(&list);
    chunk_free(chunk);
}
END_TEST

/* A chunk filled by chunk_append (fields_checked) whose second record's
 * fields were damaged in memory: the list, made from the records' lengths,
 * holds all three; the writer finds the damage. A batch ends before the
 * record, one starting at it is -1 (es_send.c sets it aside, counted as
 * malformed) and writes nothing, and the record after it goes on. */
START_TEST(test_corrupt_fields_in_a_checked_chunk)
{
    struct chunk *chunk = make_log_chunk(3);
    fixture_corrupt_fields(chunk, 1);
    struct es_record_list list = {0};
    ck_assert_int_eq(es_record_list_from_chunk(&list, chunk), 0);
    ck_assert_uint_eq(list.count, 3);
    struct es_index_pattern *index = compile_ok("logs");
    struct es_bulk_options opts = default_options(index);
    struct buf body = BUF_INIT;
    struct es_bulk_result result;
    ck_assert_int_eq(es_bulk_build(&list, 0, &opts, &body, &result), 0);
    ck_assert_uint_eq(result.records, 1);
    ck_assert_int_eq(es_bulk_build(&list, 1, &opts, &body, &result), -1);
    ck_assert_uint_eq(result.records, 0);
    ck_assert_int_eq(es_bulk_build(&list, 2, &opts, &body, &result), 0);
    ck_assert_uint_eq(result.records, 1);
    ck_assert_str_eq(buf_cstr(&body), "{\"index\":{\"_index\":\"logs\"}}\n"
                                      "{\"@timestamp\":\"2024-05-01T10:15:00.000000123Z\","
                                      "\"log\":\"line 0\",\"stream\":\"stdout\"}\n"
                                      "{\"index\":{\"_index\":\"logs\"}}\n"
                                      "{\"@timestamp\":\"2024-05-01T10:15:00.000000123Z\","
                                      "\"log\":\"line 2\",\"stream\":\"stdout\"}\n");
    struct es_bulk_stream *stream = es_bulk_stream_create();
    ck_assert_int_eq(es_bulk_stream_start(stream, &list, 1, &opts), -1);
    es_bulk_stream_free(stream);
    buf_free(&body);
    es_index_pattern_free(index);
    es_record_list_free(&list);
    chunk_free(chunk);
}
END_TEST

/* The writer allows the nesting the decoder allows, CODEC_MAX_DEPTH maps
 * counting the record's own, and no more: with a chunk's fields not walked
 * before, it is the only check. */
START_TEST(test_nesting_limit_in_a_checked_chunk)
{
    struct chunk *chunk = chunk_new(1, 0, "t", 1, 0);
    fixture_append_nested(chunk, CODEC_MAX_DEPTH);
    fixture_append_nested(chunk, CODEC_MAX_DEPTH + 1);
    struct es_record_list list = {0};
    ck_assert_int_eq(es_record_list_from_chunk(&list, chunk), 0);
    ck_assert_uint_eq(list.count, 2);
    struct es_index_pattern *index = compile_ok("logs");
    struct es_bulk_options opts = default_options(index);
    struct buf body = BUF_INIT;
    struct es_bulk_result result;
    ck_assert_int_eq(es_bulk_build(&list, 0, &opts, &body, &result), 0);
    ck_assert_uint_eq(result.records, 1);
    ck_assert_int_eq(es_bulk_build(&list, 1, &opts, &body, &result), -1);
    /* The decoder agrees: it stops at the second record. */
    chunk->fields_checked = false;
    ck_assert_int_eq(es_record_list_from_chunk(&list, chunk), -1);
    ck_assert_uint_eq(list.count, 1);
    buf_free(&body);
    es_index_pattern_free(index);
    es_record_list_free(&list);
    chunk_free(chunk);
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
    tcase_add_test(tc, test_index_name_runs_count_every_fix);
    tcase_add_test(tc, test_dedot_nested_and_attached);
    tcase_add_test(tc, test_batch_limits);
    tcase_add_test(tc, test_record_list_subset);
    tcase_add_test(tc, test_record_list_across_chunks);
    tcase_add_test(tc, test_malformed_chunk);
    tcase_add_test(tc, test_corrupt_fields_in_a_checked_chunk);
    tcase_add_test(tc, test_nesting_limit_in_a_checked_chunk);
    suite_add_tcase(s, tc);
    return s;
}
