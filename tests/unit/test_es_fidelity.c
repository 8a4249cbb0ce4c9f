/* The Elasticsearch output against what real clusters answer and accept:
 * create actions, index names made valid (UTF-8 lower case, leading
 * characters, length), a record's own @timestamp, item errors that hold the
 * records (privileges, a missing pipeline) and whole-request errors read
 * from Elasticsearch's error object. Bodies from ../shared/es-responses/. */
#include "suites.h"

#include "es_helpers.h"

#include "chunk.h"
#include "plugins/out_elasticsearch/es_bulk.h"
#include "plugins/out_elasticsearch/es_index.h"
#include "plugins/out_elasticsearch/es_response.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct chunk *chunk_of_record(const char *const *pairs)
{
    struct chunk *chunk = chunk_new(1, 0, "kube.x", 1, 0);
    struct record rec;
    record_init(&rec);
    rec.time = (struct record_time){T_2024_05_01, 0};
    rec.origin = (struct record_origin){7, 100};
    for (size_t i = 0; pairs[i]; i += 2)
        set_str(&rec.fields, pairs[i], pairs[i + 1]);
    ck_assert_uint_gt(chunk_append(chunk, &rec), 0);
    record_free(&rec);
    return chunk;
}

static char *build(const struct chunk *chunk, const struct es_bulk_options *opts,
                   struct es_bulk_result *result)
{
    struct es_record_list list = {0};
    ck_assert_int_eq(es_record_list_from_chunk(&list, chunk), 0);
    struct buf body = BUF_INIT;
    ck_assert_int_eq(es_bulk_build(&list, 0, opts, &body, result), 0);
    es_record_list_free(&list);
    char *text = xstrndup(body.data, body.len);
    buf_free(&body);
    return text;
}

static struct es_index_pattern *compile(const char *text)
{
    char *error = NULL;
    struct es_index_pattern *p = es_index_pattern_compile(text, &error);
    ck_assert_msg(p != NULL, "%s", error ? error : "");
    return p;
}

START_TEST(create_action_with_every_id_mode)
{
    static const char *const fields[] = {"log", "x", "audit", "a-1", NULL};
    struct chunk *chunk = chunk_of_record(fields);
    struct es_index_pattern *index = compile("logs");
    static const char *const ids[] = {"origin", "field:audit", "fields:audit,log", "none"};
    for (size_t i = 0; i < 4; i++) {
        struct es_id_spec id;
        char *error = NULL;
        ck_assert_int_eq(es_id_spec_parse(ids[i], &id, &error), 0);
        struct es_bulk_options opts = {
            .index = index, .create = true, .id = &id, .node_name = "n", .time_key = "@timestamp"};
        struct es_bulk_result result;
        char *body = build(chunk, &opts, &result);
        ck_assert_msg(strncmp(body, "{\"create\":{\"_index\":\"logs\"", 26) == 0, "%s", body);
        free(body);
        es_id_spec_free(&id);
    }
    es_index_pattern_free(index);
    chunk_free(chunk);
}
END_TEST

static void check_fix(const char *name, const char *want, unsigned want_fixes)
{
    struct buf out = BUF_INIT;
    unsigned fixes = es_index_name_fix(name, strlen(name), &out);
    buf_cstr(&out);
    ck_assert_msg(strcmp(out.data, want) == 0, "'%s' became '%s', not '%s'", name, out.data, want);
    ck_assert_msg(fixes == want_fixes, "'%s': fixes %#x, not %#x", name, fixes, want_fixes);
    buf_free(&out);
}

#define FIX(f) (1u << ES_INDEX_FIX_##f)

START_TEST(index_names_follow_elasticsearch_rules)
{
    check_fix("logs-app", "logs-app", 0);
    check_fix("Logs-ÀÉÎÕÜ-Ÿ-Ĳ-Ł-Ž", "logs-àéîõü-ÿ-ĳ-ł-ž", FIX(UPPERCASE));
    check_fix("ΑΒΓ-Ώ-Привет-Ё-Ґ", "αβγ-ώ-привет-ё-ґ", FIX(UPPERCASE));
    check_fix("İ", "i\xCC\x87", FIX(UPPERCASE));
    check_fix("straße-ß-é", "straße-ß-é", 0);
    check_fix("_-+team", "team", FIX(LEADING));
    check_fix(" team", "team", FIX(FORBIDDEN) | FIX(LEADING));
    check_fix("a:b c#d", "a_b_c_d", FIX(FORBIDDEN));
    check_fix(".", "unknown", FIX(DOTS));
    check_fix("..", "unknown", FIX(DOTS));
    check_fix("...", "...", 0);
    check_fix("_", "unknown", FIX(LEADING) | FIX(EMPTY));
    check_fix("", "unknown", FIX(EMPTY));
    check_fix("\xff"
              "A",
              "\xff"
              "a",
              FIX(UPPERCASE));

    char long_name[300], want[256];
    memset(long_name, 'a', 254);
    strcpy(long_name + 254, "é-more");
    memcpy(want, long_name, 254);
    want[254] = '\0';
    check_fix(long_name, want, FIX(TOO_LONG));
    memset(long_name, 'b', 299);
    long_name[299] = '\0';
    memset(want, 'b', 255);
    want[255] = '\0';
    check_fix(long_name, want, FIX(TOO_LONG));
}
END_TEST

START_TEST(index_pattern_text_checked_at_load)
{
    static const char *const bad[] = {"Logs-%Y", "logs app", "_logs-${a}", "-x", "a:b", "..", NULL};
    static const char *const good[] = {"logs-${a}-%Y.%m.%d", "${a}-_x", ".ds-x", "logs-100%%",
                                       NULL};
    for (size_t i = 0; bad[i]; i++) {
        struct es_index_pattern *p = compile(bad[i]);
        char *error = NULL;
        ck_assert_msg(es_index_pattern_check(p, bad[i], &error) == -1, "%s passed", bad[i]);
        ck_assert_ptr_nonnull(strstr(error, "not a valid Elasticsearch name"));
        free(error);
        es_index_pattern_free(p);
    }
    for (size_t i = 0; good[i]; i++) {
        struct es_index_pattern *p = compile(good[i]);
        char *error = NULL;
        ck_assert_msg(es_index_pattern_check(p, good[i], &error) == 0, "%s: %s", good[i], error);
        es_index_pattern_free(p);
    }
}
END_TEST

START_TEST(bulk_fixes_names_from_fields_and_counts_them)
{
    static const char *const fields[] = {"team", "Équipe A", NULL};
    struct chunk *chunk = chunk_of_record(fields);
    struct es_index_pattern *index = compile("logs-${team}");
    struct es_index_fix_example example = {0};
    struct es_bulk_options opts = {
        .index = index, .time_key = "@timestamp", .fix_example = &example};
    struct es_bulk_result result;
    char *body = build(chunk, &opts, &result);
    ck_assert_msg(strncmp(body, "{\"index\":{\"_index\":\"logs-équipe_a\"}}\n", 38) == 0, "%s",
                  body);
    ck_assert_uint_eq(result.index_fixes[ES_INDEX_FIX_UPPERCASE], 1);
    ck_assert_uint_eq(result.index_fixes[ES_INDEX_FIX_FORBIDDEN], 1);
    ck_assert_uint_eq(result.index_fixes[ES_INDEX_FIX_LEADING], 0);
    ck_assert(example.set);
    ck_assert_str_eq(buf_cstr(&example.original), "logs-Équipe A");
    ck_assert_str_eq(buf_cstr(&example.fixed), "logs-équipe_a");
    buf_free(&example.original);
    buf_free(&example.fixed);
    free(body);
    es_index_pattern_free(index);
    chunk_free(chunk);
}
END_TEST

static char *document_of(const char *const *fields, struct es_bulk_result *result)
{
    struct chunk *chunk = chunk_of_record(fields);
    struct es_index_pattern *index = compile("logs");
    struct es_bulk_options opts = {
        .index = index, .time_key = "@timestamp", .time_key_original = "@timestamp_original"};
    char *body = build(chunk, &opts, result);
    es_index_pattern_free(index);
    chunk_free(chunk);
    char *document = xstrdup(strchr(body, '\n') + 1);
    free(body);
    return document;
}

START_TEST(own_timestamp_is_kept_under_another_name)
{
    static const char *const own[] = {"log", "x", "@timestamp", "yesterday", NULL};
    struct es_bulk_result result;
    char *doc = document_of(own, &result);
    ck_assert_str_eq(doc, "{\"@timestamp\":\"2024-05-01T10:15:00.000000000Z\",\"log\":\"x\","
                          "\"@timestamp_original\":\"yesterday\"}\n");
    ck_assert_uint_eq(result.time_key_conflicts, 1);
    free(doc);

    static const char *const both[] = {"@timestamp", "a", "@timestamp_original", "b", NULL};
    doc = document_of(both, &result);
    ck_assert_str_eq(doc, "{\"@timestamp\":\"2024-05-01T10:15:00.000000000Z\","
                          "\"@timestamp_original\":\"b\"}\n");
    ck_assert_uint_eq(result.time_key_conflicts, 1);
    free(doc);

    static const char *const none[] = {"log", "x", NULL};
    doc = document_of(none, &result);
    ck_assert_str_eq(doc, "{\"@timestamp\":\"2024-05-01T10:15:00.000000000Z\",\"log\":\"x\"}\n");
    ck_assert_uint_eq(result.time_key_conflicts, 0);
    free(doc);
}
END_TEST

static enum es_item_class class_of(const char *op, int status, const char *type, const char *reason)
{
    char *text = xasprintf("{\"errors\":true,\"items\":[{\"%s\":{\"status\":%d,\"error\":{\"type\":"
                           "\"%s\",\"reason\":\"%s\"}}}]}",
                           op, status, type, reason);
    struct es_response r;
    char *error = NULL;
    ck_assert_msg(es_response_parse(text, strlen(text), 1, &r, &error) == 0, "%s", error);
    enum es_item_class class = r.items[0].class;
    es_response_free(&r);
    free(text);
    return class;
}

/* Reasons from ../shared/es-responses/ (item_403_*, item_429_flood_stage,
 * yaml_item_400_pipeline_missing, es815_*). */
START_TEST(item_errors_that_hold_records)
{
    ck_assert_int_eq(class_of("index", 403, "security_exception",
                              "action [indices:data/write/bulk[s]] is unauthorized for API key "
                              "id [abc] of user [xyz] on indices [skiff-2026.12.04], this action "
                              "is granted by the index privileges [create_doc,create,index,all]"),
                     ES_ITEM_HELD);
    ck_assert_int_eq(class_of("create", 400, "illegal_argument_exception",
                              "pipeline with id [mypipeline] does not exist"),
                     ES_ITEM_HELD);
    ck_assert_int_eq(class_of("index", 403, "cluster_block_exception",
                              "index [myindex6] blocked by: [FORBIDDEN/8/index write (api)];"),
                     ES_ITEM_REJECTED);
    ck_assert_int_eq(class_of("create", 429, "cluster_block_exception",
                              "index [xxx] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded "
                              "flood-stage watermark, index has read-only-allow-delete block];"),
                     ES_ITEM_RETRY);
    ck_assert_int_eq(class_of("create", 409, "version_conflict_engine_exception", "exists"),
                     ES_ITEM_ALREADY_EXISTS);
    ck_assert_int_eq(class_of("index", 409, "version_conflict_engine_exception", "exists"),
                     ES_ITEM_REJECTED);
    ck_assert_int_eq(class_of("create", 400, "document_parsing_exception",
                              "[1:15] failed to parse field [n] of type [long]"),
                     ES_ITEM_REJECTED);
}
END_TEST

static void check_request_error(const char *body, const char *want)
{
    struct buf out = BUF_INIT;
    es_response_request_error(body, strlen(body), &out);
    ck_assert_str_eq(out.data, want);
    buf_free(&out);
}

START_TEST(request_errors_are_read_whole)
{
    check_request_error(
        "{\"error\":{\"root_cause\":[{\"type\":\"illegal_argument_exception\",\"reason\":\"Action/"
        "metadata line [1] contains an unknown parameter [_type]\"}],\"type\":\"illegal_argument_"
        "exception\",\"reason\":\"Action/metadata line [1] contains an unknown parameter "
        "[_type]\"},\"status\":400}",
        "illegal_argument_exception: Action/metadata line [1] contains an unknown parameter "
        "[_type]");
    check_request_error("{\"error\":{\"root_cause\":[{\"type\":\"a\",\"reason\":\"inner\"}],"
                        "\"type\":\"b\",\"reason\":\"outer\"},\"status\":400}",
                        "a: inner (b: outer)");
    check_request_error("{\"error\":{\"type\":\"media_type_header_exception\",\"reason\":\"Invalid "
                        "media-type value on headers [Content-Type]\"},\"status\":400}",
                        "media_type_header_exception: Invalid media-type value on headers "
                        "[Content-Type]");
    check_request_error("<html>\n<body>bad</body></html>", "<html>?<body>bad</body></html>");
    check_request_error("", "empty body");

    char reason[400];
    memset(reason, 'r', sizeof reason - 1);
    reason[sizeof reason - 1] = '\0';
    char *body = xasprintf("{\"error\":{\"type\":\"t\",\"reason\":\"%s\"}}", reason);
    char *want = xasprintf("t: %s", reason);
    check_request_error(body, want);
    free(body);
    free(want);
}
END_TEST

Suite *es_fidelity_suite(void)
{
    Suite *s = suite_create("es_fidelity");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, create_action_with_every_id_mode);
    tcase_add_test(tc, index_names_follow_elasticsearch_rules);
    tcase_add_test(tc, index_pattern_text_checked_at_load);
    tcase_add_test(tc, bulk_fixes_names_from_fields_and_counts_them);
    tcase_add_test(tc, own_timestamp_is_kept_under_another_name);
    tcase_add_test(tc, item_errors_that_hold_records);
    tcase_add_test(tc, request_errors_are_read_whole);
    suite_add_tcase(s, tc);
    return s;
}
