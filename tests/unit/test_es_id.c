/* Unit tests for the Elasticsearch output's document ids (es_id.c):
 * SipHash-2-4-128 against its reference vectors, ids from the origin and from
 * fields, and ids in _bulk bodies. */
#include "suites.h"

#include "error_slot.h"

#include "es_helpers.h"

#include "chunk.h"
#include "plugins/out_elasticsearch/es_bulk.h"
#include "plugins/out_elasticsearch/es_id.h"
#include "plugins/out_elasticsearch/es_index.h"
#include "plugins/out_elasticsearch/es_response.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The id of (auditID "7a1f", stage "RequestReceived"), pinned. */
#define FIELDS_ID_7A1F_REQUEST_RECEIVED "J55gYYuL3JOQzCLEy2y3OA"

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

/* Ids that skiff has given documents since origin ids exist: a record sent
 * again after an upgrade must overwrite its first copy, so these never
 * change. Node names of 0, 1, 7, 8, 9 and 40 bytes end the message at every
 * place in its last word; one of 300 bytes has a length over 255. */
START_TEST(test_origin_ids_are_stable)
{
    static const struct {
        const char *node;
        struct record_origin origin;
        const char *id;
    } known[] = {
        {"", {0, 0}, "dVuJMDzcchOrob56aRoQnQ"},
        {"", {42, 1000}, "i1PDG5VWeasiLWs0E94mGQ"},
        {"a", {18446744073709551615ULL, 9223372036854775809ULL}, "0G4NFqEHShUG3_gD5Q3gsg"},
        {"node-1", {0, 0}, "6dbhJgTToZkNrBR5MD3pwg"},
        {"node-1", {42, 1000}, "yal5H-1qo63f_1FHSxJryQ"},
        {"node-1", {123456789, 987654321}, "rwmaRJTDthUaxDpAjKrQNQ"},
        {"1234567", {42, 1000}, "-iT41tx-LHIPKyIrRCGecg"},
        {"12345678", {42, 1000}, "Kt4OnG7XEUJQBsCEOz4Mpg"},
        {"123456789", {123456789, 987654321}, "WDdmM0ilUi5xdLERwrgI3g"},
        {"ip-10-0-12-34.eu-west-1.compute.internal", {42, 1000}, "eu1PKJfUtRAgqeAiOlSH_A"},
        {"ip-10-0-12-34.eu-west-1.compute.internal",
         {18446744073709551615ULL, 9223372036854775809ULL},
         "EgCcZsb27A2A4yqUvm6ssQ"},
    };
    char id[ES_ID_ORIGIN_LEN + 1];
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        es_id_origin(known[i].node, &known[i].origin, id);
        ck_assert_str_eq(id, known[i].id);
        /* Prepared once, hashing first another record of the same source,
         * then one of another source. */
        struct es_id_origin_key key;
        es_id_origin_init(&key, known[i].node);
        struct record_origin before = {known[i].origin.source_id, known[i].origin.offset + 1};
        struct record_origin other = {known[i].origin.source_id + 1, known[i].origin.offset};
        char other_id[ES_ID_ORIGIN_LEN + 1];
        es_id_origin_of(&key, &known[i].origin, id);
        ck_assert_str_eq(id, known[i].id);
        es_id_origin_of(&key, &before, id);
        es_id_origin_of(&key, &known[i].origin, id);
        ck_assert_str_eq(id, known[i].id);
        es_id_origin_of(&key, &other, other_id);
        es_id_origin(known[i].node, &other, id);
        ck_assert_str_eq(other_id, id);
        es_id_origin_of(&key, &known[i].origin, id);
        ck_assert_str_eq(id, known[i].id);
        es_id_origin_key_free(&key);
    }
    char node[301];
    memset(node, 'n', sizeof node - 1);
    node[sizeof node - 1] = '\0';
    es_id_origin(node, &(struct record_origin){42, 1000}, id);
    ck_assert_str_eq(id, "JVuKUtUO9mGMrv84wp3cXw");
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
    struct es_id_spec id;
    char *error;
    ck_assert_int_eq(es_id_spec_parse("field:auditID", &id, &error), 0);
    struct es_bulk_options opts = default_options(index);
    opts.id = &id;

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
    es_id_spec_free(&id);
    es_index_pattern_free(index);
}
END_TEST

/* Ids Elasticsearch would reject (empty, over 512 bytes) and non-scalars fall
 * back to the origin id. */
START_TEST(test_field_id_fallbacks)
{
    struct es_index_pattern *index = compile_ok("audit");
    struct es_id_spec spec;
    char *error;
    ck_assert_int_eq(es_id_spec_parse("field:auditID", &spec, &error), 0);
    struct es_bulk_options opts = default_options(index);
    opts.id = &spec;

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
    es_id_spec_free(&spec);
    es_index_pattern_free(index);
}
END_TEST

START_TEST(test_origin_ids_in_bulk)
{
    struct chunk *chunk = make_log_chunk(2);
    struct es_index_pattern *index = compile_ok("logs");
    struct es_bulk_options opts = default_options(index);
    opts.id = &origin_ids;
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

START_TEST(test_id_spec_parse)
{
    struct es_id_spec spec;
    char *error = NULL;
    ck_assert_int_eq(es_id_spec_parse("fields:auditID,stage", &spec, FRESH(error)), 0);
    ck_assert_int_eq(spec.mode, ES_ID_FIELDS);
    ck_assert_uint_eq(spec.path_count, 2);
    ck_assert_str_eq(spec.paths[1].text, "stage");
    es_id_spec_free(&spec);

    /* A comma inside a quoted segment belongs to the path. */
    ck_assert_int_eq(es_id_spec_parse("fields:labels[\"a,b\"],x", &spec, FRESH(error)), 0);
    ck_assert_uint_eq(spec.path_count, 2);
    ck_assert_str_eq(spec.paths[0].text, "labels[\"a,b\"]");
    es_id_spec_free(&spec);
    ck_assert_int_eq(es_id_spec_parse("field:a,b", &spec, FRESH(error)), 0);
    ck_assert_uint_eq(spec.path_count, 1); /* one field: a key may hold a comma */
    es_id_spec_free(&spec);

    static const char *const bad[] = {
        "fields:", "fields:a,,b", "fields:a,", "field:", "fields:a,b,c,d,e,f,g,h,i",
        "hash:a",  "Origin"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(es_id_spec_parse(bad[i], &spec, FRESH(error)) == -1, "%s", bad[i]);
        ck_assert_ptr_nonnull(error);
        ck_assert_uint_eq(spec.path_count, 0);
        ck_assert_ptr_null(spec.paths);
    }
    free(error);
}
END_TEST

/* Appends a record with auditID and stage (NULL: absent) at `offset`. */
static void append_audit(struct chunk *chunk, uint64_t offset, const char *audit_id,
                         const char *stage)
{
    struct record rec;
    make_record(&rec, T_2024_05_01, 3, offset);
    if (audit_id)
        set_str(&rec.fields, "auditID", audit_id);
    if (stage)
        set_str(&rec.fields, "stage", stage);
    ck_assert_uint_gt(chunk_append(chunk, &rec), 0);
    record_free(&rec);
}

/* The ids of a body's documents, in order, into ids[n][64]. */
static void ids_of_body(const char *body, char (*ids)[64], size_t n)
{
    const char *at = body;
    for (size_t i = 0; i < n; i++) {
        ck_assert_ptr_nonnull(id_of_body(at, ids[i], sizeof ids[i]));
        at = strchr(strchr(at, '\n') + 1, '\n') + 1; /* past the document line */
    }
}

/* One audit event is logged at every stage with the same auditID: ids from
 * (auditID, stage) keep each stage, and the same event read again (a retry,
 * a restart: another origin) gets the same id. */
START_TEST(test_fields_ids)
{
    struct es_index_pattern *index = compile_ok("audit");
    struct es_id_spec spec;
    char *error = NULL;
    ck_assert_int_eq(es_id_spec_parse("fields:auditID,stage", &spec, &error), 0);
    struct es_bulk_options opts = default_options(index);
    opts.id = &spec;

    struct chunk *chunk = chunk_new(1, 0, "t", 1, 0);
    append_audit(chunk, 10, "7a1f", "RequestReceived");
    append_audit(chunk, 20, "7a1f", "ResponseComplete");
    append_audit(chunk, 30, "7a1f", "RequestReceived"); /* read again */
    append_audit(chunk, 40, "7a1fR", "equestReceived"); /* the same bytes, framed apart */
    append_audit(chunk, 50, "7a1f", NULL);              /* no stage: its origin id */
    append_audit(chunk, 60, "", "RequestReceived");     /* empty: its origin id */
    struct es_bulk_result result;
    char *body = build_all(chunk, &opts, &result);
    char ids[6][64];
    ids_of_body(body, ids, 6);
    ck_assert_str_ne(ids[0], ids[1]);
    ck_assert_str_eq(ids[0], ids[2]);
    ck_assert_str_ne(ids[0], ids[3]);
    /* Ids must not change between versions: a changed id makes the first
     * document sent after an upgrade a duplicate. */
    ck_assert_str_eq(ids[0], FIELDS_ID_7A1F_REQUEST_RECEIVED);
    char want[ES_ID_ORIGIN_LEN + 1];
    es_id_origin("node-1", &(struct record_origin){3, 50}, want);
    ck_assert_str_eq(ids[4], want);
    es_id_origin("node-1", &(struct record_origin){3, 60}, want);
    ck_assert_str_eq(ids[5], want);
    ck_assert_uint_eq(result.id_fallbacks, 2);
    free(body);
    chunk_free(chunk);
    es_id_spec_free(&spec);
    es_index_pattern_free(index);
}
END_TEST

/* A number and the string of its digits are different values. */
START_TEST(test_fields_ids_numbers)
{
    struct es_index_pattern *index = compile_ok("audit");
    struct es_id_spec spec;
    char *error = NULL;
    ck_assert_int_eq(es_id_spec_parse("fields:n", &spec, &error), 0);
    struct es_bulk_options opts = default_options(index);
    opts.id = &spec;
    struct chunk *chunk = chunk_new(1, 0, "t", 1, 0);
    struct record rec;
    make_record(&rec, T_2024_05_01, 3, 10);
    set_int(&rec.fields, "n", 17);
    chunk_append(chunk, &rec);
    record_free(&rec);
    make_record(&rec, T_2024_05_01, 3, 20);
    set_str(&rec.fields, "n", "17");
    chunk_append(chunk, &rec);
    record_free(&rec);
    struct es_bulk_result result;
    char *body = build_all(chunk, &opts, &result);
    char ids[2][64];
    ids_of_body(body, ids, 2);
    ck_assert_str_ne(ids[0], ids[1]);
    ck_assert_uint_eq(result.id_fallbacks, 0);
    free(body);
    chunk_free(chunk);
    es_id_spec_free(&spec);
    es_index_pattern_free(index);
}
END_TEST

Suite *es_id_suite(void)
{
    Suite *s = suite_create("es_id");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_siphash128_reference_vectors);
    tcase_add_test(tc, test_origin_ids);
    tcase_add_test(tc, test_origin_ids_are_stable);
    tcase_add_test(tc, test_field_ids);
    tcase_add_test(tc, test_field_id_fallbacks);
    tcase_add_test(tc, test_origin_ids_in_bulk);
    tcase_add_test(tc, test_id_spec_parse);
    tcase_add_test(tc, test_fields_ids);
    tcase_add_test(tc, test_fields_ids_numbers);
    suite_add_tcase(s, tc);
    return s;
}
