/* The parser of Elasticsearch and OpenSearch `_bulk` responses (es_response.c):
 * every item's fate, errors, malformed bodies. */
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

static void parse_ok(const char *text, size_t expected, struct es_response *r)
{
    char *error = NULL;
    ck_assert_msg(es_response_parse(text, strlen(text), expected, r, &error) == 0, "%s", error);
    ck_assert_uint_eq(r->count, expected);
}

static void parse_fails(const char *text, size_t expected, const char *message)
{
    struct es_response r;
    char *error = NULL;
    ck_assert_int_eq(es_response_parse(text, strlen(text), expected, &r, &error), -1);
    ck_assert_ptr_null(r.items);
    ck_assert_uint_eq(r.count, 0);
    ck_assert_msg(strstr(error, message) != NULL, "'%s' lacks '%s'", error, message);
    free(error);
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

Suite *es_response_suite(void)
{
    Suite *s = suite_create("es_response");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_response_es8_all_ok);
    tcase_add_test(tc, test_response_es7_mixed);
    tcase_add_test(tc, test_response_opensearch);
    tcase_add_test(tc, test_response_empty_and_string_error);
    tcase_add_test(tc, test_response_malformed);
    suite_add_tcase(s, tc);
    return s;
}
