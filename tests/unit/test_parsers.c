/* The parsers as the pipeline builds them from a config: cri and docker with
 * their partial-line joining, json, logfmt, and a user regex parser with
 * types and time. */
#include "suites.h"

#include "config.h"
#include "json.h"
#include "pipeline.h"
#include "plugin_api.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

static const char *const config_text =
    "parsers:\n"
    "  - name: access\n"
    "    format: regex\n"
    "    regex: '^(?<ip>\\S+) \\[(?<time>[^\\]]+)\\] (?<status>\\d+) (?<took>\\S+)$'\n"
    "    time_key: time\n"
    "    time_format: '%d/%b/%Y:%H:%M:%S %z'\n"
    "    types: { status: int, took: float }\n"
    "pipeline:\n"
    "  inputs: [ { name: dummy } ]\n"
    "  outputs: [ { name: 'null', match: '*' } ]\n";

static struct config config;
static struct pipeline *pipeline;

static void setup(void)
{
    struct diag_list diags = {0};
    ck_assert_int_eq(config_load_string("parsers.yaml", config_text, &config, &diags), 0);
    diag_free(&diags);
    pipeline = pipeline_create(&config);
    ck_assert_ptr_nonnull(pipeline);
}

static void teardown(void)
{
    pipeline_destroy(pipeline);
    config_free(&config);
    metrics_reset();
}

/* Parses `text`, and renders the record's fields as JSON into `out`. */
static enum parse_result parse(const char *parser_name, void *state, const char *text,
                               struct record *rec, char *out, size_t out_size)
{
    struct instance *parser = pipeline_parser(pipeline, parser_name);
    ck_assert_ptr_nonnull(parser);
    record_init(rec);
    rec->time.sec = 7;
    enum parse_result r = parser_parse(parser, state, text, strlen(text), rec);
    struct value fields = {.type = VALUE_MAP, .as.map = rec->fields};
    struct buf json = BUF_INIT;
    json_write_value(&json, &fields, NULL);
    snprintf(out, out_size, "%s", buf_cstr(&json));
    buf_free(&json);
    return r;
}

START_TEST(test_cri_full_line)
{
    struct record rec;
    char json[512];
    ck_assert_int_eq(parse("cri", NULL, "2024-05-01T10:15:00.123456789Z stdout F hello world", &rec,
                           json, sizeof json),
                     PARSE_OK);
    ck_assert_str_eq(json, "{\"time\":\"2024-05-01T10:15:00.123456789Z\",\"stream\":\"stdout\","
                           "\"logtag\":\"F\",\"log\":\"hello world\"}");
    ck_assert_int_eq(rec.time.sec, 1714558500);
    ck_assert_uint_eq(rec.time.nsec, 123456789);
    record_free(&rec);
}
END_TEST

START_TEST(test_invalid_utf8_is_kept_then_replaced_on_output)
{
    struct record rec;
    char json[512];
    ck_assert_int_eq(parse("cri", NULL, "2024-05-01T10:15:00Z stdout F bad \xff\xfe bytes", &rec,
                           json, sizeof json),
                     PARSE_OK);
    ck_assert_str_eq(record_get_key(&rec, "log")->as.string.ptr, "bad \xff\xfe bytes");
    ck_assert_ptr_nonnull(strstr(json, "\"log\":\"bad \xef\xbf\xbd\xef\xbf\xbd bytes\""));
    record_free(&rec);
    ck_assert_int_eq(
        parse("json", NULL, "{\"k\":\"\xc3\x28\",\"e\":\"\\ud800\"}", &rec, json, sizeof json),
        PARSE_OK);
    ck_assert_str_eq(json, "{\"k\":\"\xef\xbf\xbd(\",\"e\":\"\xef\xbf\xbd\"}");
    record_free(&rec);
}
END_TEST

START_TEST(test_cri_empty_message_and_malformed)
{
    struct record rec;
    char json[512];
    ck_assert_int_eq(parse("cri", NULL, "2024-05-01T10:15:00Z stderr F", &rec, json, sizeof json),
                     PARSE_OK);
    ck_assert_str_eq(json, "{\"time\":\"2024-05-01T10:15:00Z\",\"stream\":\"stderr\","
                           "\"logtag\":\"F\",\"log\":\"\"}");
    record_free(&rec);
    const char *bad[] = {"", "not a cri line", "2024-05-01T10:15:00Z stdout",
                         "2024-13-01T10:15:00Z stdout F x",
                         "2024-05-01T10:15:00Z stdout X message"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(parse("cri", NULL, bad[i], &rec, json, sizeof json), PARSE_FAILED);
        ck_assert_str_eq(json, "{}");
        ck_assert_int_eq(rec.time.sec, 7); /* untouched */
        record_free(&rec);
    }
}
END_TEST

START_TEST(test_cri_joins_partial_lines_per_stream)
{
    struct instance *cri = pipeline_parser(pipeline, "cri");
    void *state = parser_state_new(cri, 1024);
    struct record rec;
    char json[512];
    ck_assert_int_eq(
        parse("cri", state, "2024-05-01T10:15:01Z stderr P one ", &rec, json, sizeof json),
        PARSE_PENDING);
    record_free(&rec);
    ck_assert_int_eq(
        parse("cri", state, "2024-05-01T10:15:02Z stdout F between", &rec, json, sizeof json),
        PARSE_OK);
    ck_assert_ptr_nonnull(strstr(json, "\"log\":\"between\""));
    record_free(&rec);
    ck_assert_int_eq(
        parse("cri", state, "2024-05-01T10:15:03Z stderr P two ", &rec, json, sizeof json),
        PARSE_PENDING);
    record_free(&rec);
    ck_assert_int_eq(
        parse("cri", state, "2024-05-01T10:15:04Z stderr F three", &rec, json, sizeof json),
        PARSE_OK);
    /* The joined record has the first piece's time. */
    ck_assert_str_eq(json, "{\"time\":\"2024-05-01T10:15:01Z\",\"stream\":\"stderr\","
                           "\"logtag\":\"F\",\"log\":\"one two three\"}");
    ck_assert_int_eq(rec.time.sec, 1714558501);
    record_free(&rec);
    parser_state_free(cri, state);
}
END_TEST

START_TEST(test_cri_join_is_bounded)
{
    struct instance *cri = pipeline_parser(pipeline, "cri");
    void *state = parser_state_new(cri, 10);
    struct record rec;
    char json[512];
    ck_assert_int_eq(
        parse("cri", state, "2024-05-01T10:15:01Z stdout P 123456", &rec, json, sizeof json),
        PARSE_PENDING);
    record_free(&rec);
    ck_assert_int_eq(
        parse("cri", state, "2024-05-01T10:15:01Z stdout F 789abcdef", &rec, json, sizeof json),
        PARSE_OK);
    ck_assert_ptr_nonnull(strstr(json, "\"log\":\"123456789a\""));
    record_free(&rec);
    parser_state_free(cri, state);
}
END_TEST

START_TEST(test_cri_flush_hands_on_held_pieces)
{
    struct instance *cri = pipeline_parser(pipeline, "cri");
    void *state = parser_state_new(cri, 1024);
    struct record rec;
    char json[512];
    ck_assert_int_eq(
        parse("cri", state, "2024-05-01T10:15:01Z stderr P cut ", &rec, json, sizeof json),
        PARSE_PENDING);
    record_free(&rec);
    ck_assert_int_eq(
        parse("cri", state, "2024-05-01T10:15:02Z stdout P also cut", &rec, json, sizeof json),
        PARSE_PENDING);
    record_free(&rec);
    int flushed = 0;
    for (;;) {
        record_init(&rec);
        if (parser_state_flush(cri, state, UINT64_MAX, &rec) != PARSE_OK) {
            record_free(&rec);
            break;
        }
        const char *log = record_get_key(&rec, "log")->as.string.ptr;
        const char *stream = record_get_key(&rec, "stream")->as.string.ptr;
        ck_assert_str_eq(record_get_key(&rec, "logtag")->as.string.ptr, "P");
        ck_assert_str_eq(log, strcmp(stream, "stderr") == 0 ? "cut " : "also cut");
        flushed++;
        record_free(&rec);
    }
    ck_assert_int_eq(flushed, 2);
    record_init(&rec);
    ck_assert_int_eq(parser_state_flush(cri, state, UINT64_MAX, &rec), PARSE_FAILED);
    record_free(&rec);
    parser_state_free(cri, state);
}
END_TEST

/* Parses `text` as if it spanned [start, end) of its source. */
static enum parse_result parse_at(struct instance *parser, void *state, const char *text,
                                  uint64_t start, uint64_t end)
{
    struct record rec;
    record_init(&rec);
    rec.origin.offset = end;
    enum parse_result r = parser_parse_at(parser, state, text, strlen(text), start, &rec);
    record_free(&rec);
    return r;
}

START_TEST(test_held_pieces_know_where_they_start)
{
    const char *names[] = {"cri", "docker"};
    const char *lines[][3] = {
        {"2024-05-01T10:15:01Z stdout P a-", "2024-05-01T10:15:01Z stderr P b-",
         "2024-05-01T10:15:01Z stdout F end"},
        {"{\"log\":\"a-\",\"stream\":\"stdout\"}", "{\"log\":\"b-\",\"stream\":\"stderr\"}",
         "{\"log\":\"end\\n\",\"stream\":\"stdout\"}"},
    };
    for (int p = 0; p < 2; p++) {
        struct instance *parser = pipeline_parser(pipeline, names[p]);
        void *state = parser_state_new(parser, 1024);
        uint64_t start = 0;
        ck_assert(!parser_state_held_from(parser, state, &start));
        ck_assert_int_eq(parse_at(parser, state, lines[p][0], 100, 140), PARSE_PENDING);
        ck_assert_int_eq(parse_at(parser, state, lines[p][1], 140, 180), PARSE_PENDING);
        ck_assert(parser_state_held_from(parser, state, &start));
        ck_assert_uint_eq(start, 100);
        /* The stdout line ends: the stderr piece is the oldest held. */
        ck_assert_int_eq(parse_at(parser, state, lines[p][2], 180, 220), PARSE_OK);
        ck_assert(parser_state_held_from(parser, state, &start));
        ck_assert_uint_eq(start, 140);
        /* Only lines that started before `before` are handed on, each with
         * the end of its last piece as origin, marked partial. */
        struct record rec;
        record_init(&rec);
        ck_assert_int_eq(parser_state_flush(parser, state, 140, &rec), PARSE_FAILED);
        ck_assert_int_eq(parser_state_flush(parser, state, 141, &rec), PARSE_OK);
        ck_assert_uint_eq(rec.origin.offset, 180);
        ck_assert_str_eq(record_get_key(&rec, "log")->as.string.ptr, "b-");
        if (p == 0)
            ck_assert_str_eq(record_get_key(&rec, "logtag")->as.string.ptr, "P");
        else
            ck_assert(record_get_key(&rec, "partial")->as.boolean);
        record_free(&rec);
        ck_assert(!parser_state_held_from(parser, state, &start));
        parser_state_free(parser, state);
    }
}
END_TEST

START_TEST(test_docker_line_and_split_entries)
{
    struct instance *docker = pipeline_parser(pipeline, "docker");
    void *state = parser_state_new(docker, 16 << 20);
    struct record rec;
    char json[512];
    ck_assert_int_eq(parse("docker", state,
                           "{\"log\":\"hello\\n\",\"stream\":\"stdout\","
                           "\"time\":\"2024-05-01T10:15:00.5Z\"}",
                           &rec, json, sizeof json),
                     PARSE_OK);
    ck_assert_str_eq(json, "{\"log\":\"hello\",\"stream\":\"stdout\","
                           "\"time\":\"2024-05-01T10:15:00.5Z\"}");
    ck_assert_int_eq(rec.time.sec, 1714558500);
    ck_assert_uint_eq(rec.time.nsec, 500000000);
    record_free(&rec);

    /* A 10 MiB line that docker split into 640 entries of 16 KiB. */
    char *piece = xmalloc(16384 + 1);
    memset(piece, 'x', 16384);
    piece[16384] = '\0';
    struct instance *parser = docker;
    for (int i = 0; i < 640; i++) {
        char *entry = xasprintf("{\"log\":\"%s%s\",\"stream\":\"stderr\",\"time\":"
                                "\"2024-05-01T10:15:%02dZ\"}",
                                piece, i == 639 ? "\\n" : "", i % 60);
        record_init(&rec);
        enum parse_result r = parser_parse(parser, state, entry, strlen(entry), &rec);
        ck_assert_int_eq(r, i == 639 ? PARSE_OK : PARSE_PENDING);
        if (r == PARSE_OK) {
            const struct value *log = record_get_key(&rec, "log");
            ck_assert_uint_eq(log->as.string.len, 640u * 16384u);
            ck_assert_str_eq(record_get_key(&rec, "time")->as.string.ptr, "2024-05-01T10:15:00Z");
        }
        record_free(&rec);
        free(entry);
    }
    free(piece);
    const char *bad[] = {"{\"log\":", "[1,2]", "{\"stream\":\"stdout\"}", "{\"log\":5}", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(parse("docker", state, bad[i], &rec, json, sizeof json), PARSE_FAILED);
        record_free(&rec);
    }
    parser_state_free(docker, state);
}
END_TEST

START_TEST(test_json_and_logfmt)
{
    struct record rec;
    char json[512];
    ck_assert_int_eq(
        parse("json", NULL, "{\"level\":\"warn\",\"n\":3,\"ok\":true}", &rec, json, sizeof json),
        PARSE_OK);
    ck_assert_str_eq(json, "{\"level\":\"warn\",\"n\":3,\"ok\":true}");
    record_free(&rec);
    ck_assert_int_eq(parse("json", NULL, "{\"level\":\"warn\"", &rec, json, sizeof json),
                     PARSE_FAILED);
    record_free(&rec);
    ck_assert_int_eq(parse("json", NULL, "[1]", &rec, json, sizeof json), PARSE_FAILED);
    record_free(&rec);
    ck_assert_int_eq(
        parse("logfmt", NULL, "level=info msg=\"a b\" took=3ms", &rec, json, sizeof json),
        PARSE_OK);
    ck_assert_str_eq(json, "{\"level\":\"info\",\"msg\":\"a b\",\"took\":\"3ms\"}");
    record_free(&rec);
}
END_TEST

START_TEST(test_regex_with_types_and_time)
{
    struct record rec;
    char json[512];
    ck_assert_int_eq(parse("access", NULL, "10.0.0.1 [01/May/2024:12:15:00 +0200] 503 0.25", &rec,
                           json, sizeof json),
                     PARSE_OK);
    ck_assert_str_eq(json, "{\"ip\":\"10.0.0.1\",\"status\":503,\"took\":0.25}");
    ck_assert_int_eq(rec.time.sec, 1714558500);
    record_free(&rec);
    /* A type that does not convert stays a string; a bad time keeps the
     * ingestion time and the field. */
    ck_assert_int_eq(
        parse("access", NULL, "10.0.0.1 [yesterday] 200 fast", &rec, json, sizeof json), PARSE_OK);
    ck_assert_str_eq(json, "{\"ip\":\"10.0.0.1\",\"time\":\"yesterday\",\"status\":200,"
                           "\"took\":\"fast\"}");
    ck_assert_int_eq(rec.time.sec, 7);
    record_free(&rec);
    ck_assert_int_eq(parse("access", NULL, "no match here", &rec, json, sizeof json), PARSE_FAILED);
    record_free(&rec);
}
END_TEST

Suite *parsers_suite(void)
{
    Suite *s = suite_create("parsers");
    TCase *tc = tcase_create("parsers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_cri_full_line);
    tcase_add_test(tc, test_cri_empty_message_and_malformed);
    tcase_add_test(tc, test_invalid_utf8_is_kept_then_replaced_on_output);
    tcase_add_test(tc, test_cri_joins_partial_lines_per_stream);
    tcase_add_test(tc, test_cri_join_is_bounded);
    tcase_add_test(tc, test_cri_flush_hands_on_held_pieces);
    tcase_add_test(tc, test_held_pieces_know_where_they_start);
    tcase_add_test(tc, test_docker_line_and_split_entries);
    tcase_add_test(tc, test_json_and_logfmt);
    tcase_add_test(tc, test_regex_with_types_and_time);
    suite_add_tcase(s, tc);
    return s;
}
