/* The streaming reader of `_bulk` responses (es_response_scan.c) against
 * every answer in ../shared/es-responses (real Elasticsearch and OpenSearch
 * answers): it reads them without the value tree, item for item as the tree
 * reader does, with the class each one must have; whole-request errors are
 * left to the tree reader. */
#include "suites.h"

#include "json.h"
#include "json_parse.h"
#include "plugins/out_elasticsearch/es_response_internal.h"
#include "value.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct value load(const char *name)
{
    char *path = xasprintf("%s/%s.json", SKIFF_ES_RESPONSES_DIR, name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    struct buf text = BUF_INIT;
    char block[4096];
    size_t n;
    while ((n = fread(block, 1, sizeof block, f)) > 0)
        buf_append(&text, block, n);
    fclose(f);
    struct value v;
    char *error = NULL;
    ck_assert_msg(json_parse(text.data, text.len, &v, &error) == 0, "%s: %s", path, error);
    buf_free(&text);
    free(path);
    return v;
}

static const struct value *get(const struct value *map, const char *key)
{
    return value_map_get(&map->as.map, key, strlen(key));
}

static void same_items(const struct es_response *a, const struct es_response *b)
{
    ck_assert_uint_eq(a->count, b->count);
    for (int c = 0; c < ES_ITEM_CLASS_COUNT; c++)
        ck_assert_uint_eq(a->counts[c], b->counts[c]);
    for (size_t i = 0; i < a->count; i++) {
        ck_assert_int_eq(a->items[i].status, b->items[i].status);
        ck_assert_int_eq(a->items[i].class, b->items[i].class);
        ck_assert_str_eq(a->items[i].error_type, b->items[i].error_type);
        ck_assert_str_eq(a->items[i].error_reason, b->items[i].error_reason);
    }
}

/* Reads `text` with the scan, which must accept it, and with the tree
 * reader; they agree. The caller frees *scanned. */
static void scan_both(const char *text, size_t expected, struct es_response *scanned)
{
    struct es_response tree;
    char *error = NULL;
    ck_assert_msg(es_response_scan(text, strlen(text), expected, scanned) == 0, "declined: %s",
                  text);
    ck_assert_msg(es_response_parse_tree(text, strlen(text), expected, &tree, &error) == 0, "%s",
                  error);
    same_items(scanned, &tree);
    es_response_free(&tree);
}

/* Each item file's item between two successes, in the full form and in the
 * form filter_path=errors,items.*.status,items.*.error leaves. */
static const struct {
    const char *file;
    enum es_item_class class;
} item_files[] = {
    {"ds_item_400_index_op", ES_ITEM_REJECTED},
    {"ds_item_created", ES_ITEM_OK},
    {"ds_item_timestamp_missing", ES_ITEM_REJECTED},
    {"es815_item_create_409", ES_ITEM_ALREADY_EXISTS},
    {"es815_item_document_parsing_exception", ES_ITEM_REJECTED},
    {"item_403_security_create_doc", ES_ITEM_HELD},
    {"item_403_write_block", ES_ITEM_REJECTED},
    {"item_429_es_rejected", ES_ITEM_RETRY},
    {"item_429_flood_stage", ES_ITEM_RETRY},
    {"item_503_unavailable_shards", ES_ITEM_RETRY},
    {"yaml_item_400_empty_id", ES_ITEM_REJECTED},
    {"yaml_item_400_no_write_index", ES_ITEM_REJECTED},
    {"yaml_item_400_pipeline_missing", ES_ITEM_HELD},
    {"yaml_item_404_require_alias", ES_ITEM_REJECTED},
};

/* {"<op>":{"status":N,"error":...}}: only what filter_path keeps. */
static void write_filtered(struct buf *out, const struct value *item)
{
    const struct map_entry *op = &item->as.map.entries[0];
    const struct value *error = get(&op->value, "error");
    buf_append_str(out, "{");
    json_write_string(out, op->key.ptr, op->key.len, NULL);
    buf_printf(out, ":{\"status\":%lld", (long long)get(&op->value, "status")->as.integer);
    if (error) {
        buf_append_str(out, ",\"error\":");
        json_write_value(out, error, NULL);
    }
    buf_append_str(out, "}}");
}

START_TEST(scan_reads_every_real_item)
{
    static const char ok[] = "{\"create\":{\"_index\":\"logs\",\"_id\":\"a\",\"_version\":1,"
                             "\"result\":\"created\",\"_shards\":{\"total\":2,\"successful\":1,"
                             "\"failed\":0},\"_seq_no\":0,\"_primary_term\":1,\"status\":201}}";
    for (size_t f = 0; f < sizeof item_files / sizeof item_files[0]; f++) {
        struct value file = load(item_files[f].file);
        const struct value *item = get(&file, "item");
        for (int filtered = 0; filtered < 2; filtered++) {
            struct buf text = BUF_INIT;
            buf_printf(&text, "{\"took\":3,\"errors\":true,\"items\":[%s,\n  ",
                       filtered ? "{\"create\":{\"status\":201}}" : ok);
            if (filtered)
                write_filtered(&text, item);
            else
                json_write_value(&text, item, NULL);
            buf_printf(&text, " ,%s]}\n", filtered ? "{\"create\":{\"status\":201}}" : ok);
            struct es_response r;
            scan_both(buf_cstr(&text), 3, &r);
            ck_assert_msg(r.items[1].class == item_files[f].class, "%s: class %s",
                          item_files[f].file, es_item_class_name(r.items[1].class));
            ck_assert_int_eq(r.items[0].class, ES_ITEM_OK);
            ck_assert_int_eq(r.items[2].class, ES_ITEM_OK);
            if (r.items[1].class != ES_ITEM_OK)
                ck_assert_str_ne(r.items[1].error_reason, "");
            es_response_free(&r);
            buf_free(&text);
        }
        value_free(&file);
    }
}
END_TEST

/* The whole bodies of 200 answers: read by the scan, except one with items
 * that have no status (filter_path=items.*.error drops them), which both
 * readers refuse. */
START_TEST(scan_reads_real_bodies)
{
    /* ds_item_timestamp_missing's body is a Python literal: its item only. */
    static const char *const files[] = {"item_429_es_rejected", "item_503_unavailable_shards",
                                        "spec_bulk_failed_actions", "spec_bulk_ok_mixed_ops"};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        struct value file = load(files[f]);
        const struct value *body = get(&file, "body");
        struct value parsed;
        ck_assert_int_eq(json_parse(body->as.string.ptr, body->as.string.len, &parsed, NULL), 0);
        size_t count = get(&parsed, "items")->as.array.count;
        struct es_response r;
        scan_both(body->as.string.ptr, count, &r);
        ck_assert_uint_gt(r.count, 0);
        es_response_free(&r);
        value_free(&parsed);
        value_free(&file);
    }
    struct value file = load("spec_bulk_filter_path_items_error");
    const struct value *body = get(&file, "body");
    struct es_response r;
    char *error = NULL;
    ck_assert_int_eq(es_response_scan(body->as.string.ptr, body->as.string.len, 2, &r), -1);
    ck_assert_int_eq(es_response_parse(body->as.string.ptr, body->as.string.len, 2, &r, &error),
                     -1);
    ck_assert_msg(strstr(error, "item 0 has no valid status") != NULL, "%s", error);
    free(error);
    value_free(&file);
}
END_TEST

/* Whole-request errors that came with a body: not bulk responses. */
START_TEST(scan_leaves_request_errors_to_the_tree)
{
    static const char *const files[] = {"req_400_type_unknown", "req_401_missing_credentials",
                                        "req_403_opensearch_no_permissions",
                                        "req_429_circuit_breaker", "req_429_indexing_pressure"};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        struct value file = load(files[f]);
        const struct value *body = get(&file, "body");
        struct es_response r;
        char *error = NULL;
        ck_assert_int_eq(es_response_scan(body->as.string.ptr, body->as.string.len, 1, &r), -1);
        ck_assert_ptr_null(r.items);
        ck_assert_int_eq(es_response_parse(body->as.string.ptr, body->as.string.len, 1, &r, &error),
                         -1);
        ck_assert_msg(strstr(error, "has no items") != NULL, "%s: %s", files[f], error);
        free(error);
        value_free(&file);
    }
}
END_TEST

/* A success answer with filter_path, as Elasticsearch sends it for a whole
 * batch: no allocation per item, every item delivered. */
START_TEST(scan_reads_a_large_success)
{
    struct buf text = BUF_INIT;
    buf_append_str(&text, "{\"errors\":false,\"items\":[");
    for (int i = 0; i < 5000; i++)
        buf_append_str(&text,
                       i ? ",{\"create\":{\"status\":201}}" : "{\"create\":{\"status\":201}}");
    buf_append_str(&text, "]}");
    struct es_response r;
    scan_both(buf_cstr(&text), 5000, &r);
    ck_assert_uint_eq(r.counts[ES_ITEM_OK], 5000);
    ck_assert_str_eq(r.items[4999].error_type, "");
    es_response_free(&r);
    /* The short form of other statuses and of "index", and near misses of
     * it that take the general walk, read as the tree reads them. */
    static const char mixed[] =
        "{\"errors\":true,\"items\":[{\"index\":{\"status\":200}},{\"create\":{\"status\":409}},"
        "{\"index\":{\"status\":409}},{\"create\":{\"status\":429}},"
        "{\"create\":{\"status\":201 }},{\"create\": {\"status\":503}}]}";
    struct es_response m;
    scan_both(mixed, 6, &m);
    ck_assert_int_eq(m.items[0].class, ES_ITEM_OK);
    ck_assert_int_eq(m.items[1].class, ES_ITEM_ALREADY_EXISTS);
    ck_assert_int_eq(m.items[2].class, ES_ITEM_REJECTED);
    ck_assert_int_eq(m.items[3].class, ES_ITEM_RETRY);
    ck_assert_int_eq(m.items[4].class, ES_ITEM_OK);
    ck_assert_int_eq(m.items[5].class, ES_ITEM_RETRY);
    es_response_free(&m);
    /* One item more or less than the request had: the tree reader's message. */
    char *error = NULL;
    ck_assert_int_eq(es_response_parse(text.data, text.len, 5001, &r, &error), -1);
    ck_assert_msg(strstr(error, "5000 items for 5001 records") != NULL, "%s", error);
    free(error);
    buf_free(&text);
}
END_TEST

/* Items repeated byte for byte, as in an all-success answer, and items
 * that differ from the one before only a little (the operation, the status,
 * a space, an error): each is read as the tree reader reads it, an error's
 * texts owned by each item; a body cut anywhere, or with one item more or
 * less than the request had, is still refused. */
START_TEST(scan_reads_repeated_items_each)
{
    static const char *const items[] = {
        "{\"create\":{\"status\":201,\"result\":\"created\"}}",
        "{\"create\":{\"status\":201,\"result\":\"created\"}}",
        "{\"index\":{\"status\":201,\"result\":\"created\"}}",
        "{\"create\":{\"status\":409,\"error\":{\"type\":\"version_conflict_engine_exception\","
        "\"reason\":\"exists\"}}}",
        "{\"create\":{\"status\":409,\"error\":{\"type\":\"version_conflict_engine_exception\","
        "\"reason\":\"exists\"}}}",
        "{\"index\":{\"status\":409}}",
        "{\"create\":{\"status\":409}}",
        "{\"create\":{\"status\":409}}",
        "{\"create\":{\"status\":429}}",
        "{\"create\":{\"status\":201}}",
        "{\"create\":{\"status\":201} }",
        "{\"create\":{\"status\":201} }",
        "{\"create\":{\"status\":201}}",
        "{\"create\":{\"status\":201}}",
    };
    size_t n = sizeof items / sizeof items[0];
    struct buf text = BUF_INIT;
    buf_append_str(&text, "{\"errors\":true,\"items\":[");
    for (size_t i = 0; i < n; i++) {
        buf_append_str(&text, i ? "," : "");
        buf_append_str(&text, items[i]);
    }
    buf_append_str(&text, "]}");
    struct es_response r;
    scan_both(buf_cstr(&text), n, &r);
    ck_assert_uint_eq(r.counts[ES_ITEM_OK], 8);
    ck_assert_uint_eq(r.counts[ES_ITEM_ALREADY_EXISTS], 4);
    ck_assert_uint_eq(r.counts[ES_ITEM_REJECTED], 1);
    ck_assert_uint_eq(r.counts[ES_ITEM_RETRY], 1);
    ck_assert_str_eq(r.items[4].error_reason, "exists");
    ck_assert_ptr_ne(r.items[3].error_reason, r.items[4].error_reason);
    es_response_free(&r);
    for (size_t expected = n - 1; expected <= n + 1; expected += 2) {
        ck_assert_int_eq(es_response_scan(text.data, text.len, expected, &r), -1);
        ck_assert_ptr_null(r.items);
    }
    for (size_t cut = 0; cut < text.len; cut++) {
        ck_assert_msg(es_response_scan(text.data, cut, n, &r) == -1, "cut at %zu", cut);
        ck_assert_ptr_null(r.items);
    }
    buf_free(&text);
}
END_TEST

/* Shapes the scan declines, read by the tree reader as before: an escaped
 * key, two operations in an item (the last wins), a status written as a
 * fraction, nesting past the scan's depth, "items" twice. A duplicate
 * status the scan reads itself: the last wins, as in the tree. */
START_TEST(scan_declines_rare_shapes)
{
    static const struct {
        const char *text;
        int rc; /* of es_response_parse */
        int status;
    } cases[] = {
        {"{\"items\":[{\"cre\\u0061te\":{\"status\":409}}]}", 0, 409},
        {"{\"items\":[{\"create\":{\"status\":201},\"create\":{\"status\":429}}]}", 0, 429},
        {"{\"items\":[{\"index\":{\"status\":201.0}}]}", -1, 0},
        {"{\"items\":[{\"index\":{\"status\":201,\"x\":[[[[[[[[[[[[[[[[[[[["
         "[[[[[[[[[[[[[[[[[[[["
         "]]]]]]]]]]]]]]]]]]]]"
         "]]]]]]]]]]]]]]]]]]]]}}]}",
         0, 201},
        {"{\"items\":[],\"items\":[{\"index\":{\"status\":201}}]}", 0, 201},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *text = cases[i].text;
        struct es_response r;
        char *error = NULL;
        ck_assert_msg(es_response_scan(text, strlen(text), 1, &r) == -1, "accepted: %s", text);
        int rc = es_response_parse(text, strlen(text), 1, &r, &error);
        ck_assert_msg(rc == cases[i].rc, "%s: %s", text, error ? error : "accepted");
        if (rc == 0)
            ck_assert_int_eq(r.items[0].status, cases[i].status);
        es_response_free(&r);
        free(error);
    }
    struct es_response r;
    scan_both("{\"items\":[{\"create\":{\"status\":500,\"error\":\"x\",\"status\":201}}]}", 1, &r);
    ck_assert_int_eq(r.items[0].status, 201);
    ck_assert_str_eq(r.items[0].error_reason, "x");
    es_response_free(&r);
}
END_TEST

Suite *es_response_scan_suite(void)
{
    Suite *s = suite_create("es_response_scan");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, scan_reads_every_real_item);
    tcase_add_test(tc, scan_reads_real_bodies);
    tcase_add_test(tc, scan_leaves_request_errors_to_the_tree);
    tcase_add_test(tc, scan_reads_a_large_success);
    tcase_add_test(tc, scan_reads_repeated_items_each);
    tcase_add_test(tc, scan_declines_rare_shapes);
    suite_add_tcase(s, tc);
    return s;
}
