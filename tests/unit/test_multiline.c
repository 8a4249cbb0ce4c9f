/* The multiline filter as the pipeline builds it from a config: the built-in
 * java, python and go rule sets on real-looking traces, a user rule set from
 * `multiline_parsers:`, pass-through of ordinary lines, max_size cuts and the
 * order of a source's records across streams. Records are fed to the filter
 * directly; what it hands on is read back from the open chunk of the input
 * with the filter's tag. */
#include "suites.h"

#include "codec.h"
#include "config.h"
#include "pipeline_internal.h"
#include "chunk_store.h"
#include "plugins/filter_multiline/multiline_rules.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

static const char *const config_text =
    "multiline_parsers:\n"
    "  - name: bracketed\n"
    "    rules:\n"
    "      - {state: start_state, regex: '^\\[\\d{4}-', next_state: cont}\n"
    "      - {state: cont, regex: '^\\s+', next_state: cont}\n"
    "pipeline:\n"
    "  inputs:\n"
    "    - { name: dummy, tag: java }\n"
    "    - { name: dummy, tag: python }\n"
    "    - { name: dummy, tag: go }\n"
    "    - { name: dummy, tag: user }\n"
    "    - { name: dummy, tag: small }\n"
    "  filters:\n"
    "    - { name: multiline, alias: ml_java, match: java, parser: java }\n"
    "    - { name: multiline, alias: ml_python, match: python, parser: python }\n"
    "    - { name: multiline, alias: ml_go, match: go, parser: go }\n"
    "    - { name: multiline, alias: ml_user, match: user, parser: bracketed }\n"
    "    - { name: multiline, alias: ml_small, match: small, parser: java, max_size: 1KiB }\n"
    "  outputs: [ { name: 'null', match: '*' } ]\n";

enum { F_JAVA, F_PYTHON, F_GO, F_USER, F_SMALL };
static const char *const tags[] = {"java", "python", "go", "user", "small"};

static struct config config;
static struct pipeline *pipeline;
static uint64_t next_offset;

static void setup(void)
{
    struct diag_list diags = {0};
    ck_assert_int_eq(config_load_string("multiline.yaml", config_text, &config, &diags), 0);
    diag_free(&diags);
    pipeline = pipeline_create(&config);
    ck_assert_ptr_nonnull(pipeline);
    next_offset = 0;
}

static void teardown(void)
{
    pipeline_destroy(pipeline);
    config_free(&config);
    metrics_reset();
}

/* Feeds one line of `source` (and `stream`, if not NULL) to filter `fi`; a
 * record it keeps is handed on as the pipeline would. Returns what the filter
 * said. */
static enum filter_result feed_stream(int fi, uint64_t source, const char *stream, const char *line)
{
    struct instance *f = &pipeline->filters[fi];
    struct instance *in = pipeline->inputs[fi];
    struct record rec;
    record_init(&rec);
    rec.origin.source_id = source;
    rec.origin.offset = ++next_offset;
    struct value text = value_cstring(line);
    record_set_key(&rec, "log", &text);
    if (stream) {
        struct value v = value_cstring(stream);
        record_set_key(&rec, "stream", &v);
    }
    enum filter_result result = f->plugin->filter(f, in, tags[fi], &rec);
    if (result == FILTER_KEEP)
        filter_emit(f, in, tags[fi], &rec);
    return result;
}

static void feed(int fi, const char *const *lines, size_t count)
{
    for (size_t i = 0; i < count; i++)
        feed_stream(fi, 1, NULL, lines[i]);
}

static void drain(int fi)
{
    struct instance *f = &pipeline->filters[fi];
    f->plugin->drain(f);
}

/* The `log` texts of the records handed on for filter `fi`, in order, with
 * their origin offsets in `offsets` (may be NULL). */
static size_t handed_on(int fi, char ***texts, uint64_t *offsets)
{
    struct chunk *chunk = chunk_store_find_open(pipeline->store, (unsigned)fi, tags[fi]);
    *texts = NULL;
    if (!chunk)
        return 0;
    *texts = xcalloc(chunk->record_count + 1, sizeof **texts);
    size_t pos = 0, n = 0;
    struct record_view view;
    while (chunk_next(chunk, &pos, &view) == 1) {
        struct value_map fields = {0};
        ck_assert_int_eq(codec_decode_fields(view.fields, view.fields_len, &fields), 0);
        const struct value *log = value_map_get(&fields, "log", 3);
        ck_assert_ptr_nonnull(log);
        (*texts)[n] = xstrdup(log->as.string.ptr);
        if (offsets)
            offsets[n] = view.origin.offset;
        n++;
        value_map_free(&fields);
    }
    return n;
}

static void free_texts(char **texts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(texts[i]);
    free(texts);
}

/* Lines [from, to) joined with "\n". */
static char *joined(const char *const *lines, size_t from, size_t to)
{
    struct buf b = BUF_INIT;
    for (size_t i = from; i < to; i++) {
        if (i > from)
            buf_append_byte(&b, '\n');
        buf_append_str(&b, lines[i]);
    }
    char *text = xstrdup(buf_cstr(&b));
    buf_free(&b);
    return text;
}

static int64_t counter(const char *name, const char *alias)
{
    char labels[64];
    snprintf(labels, sizeof labels, "instance=\"%s\"", alias);
    return metric_get(metrics_counter(name, "", labels));
}

/* Checks that the records handed on are `groups` (each [from, to) of
 * `lines`, joined). */
static void assert_groups(int fi, const char *const *lines, const size_t (*groups)[2],
                          size_t group_count)
{
    char **texts;
    size_t n = handed_on(fi, &texts, NULL);
    ck_assert_uint_eq(n, group_count);
    for (size_t g = 0; g < group_count; g++) {
        char *want = joined(lines, groups[g][0], groups[g][1]);
        ck_assert_str_eq(texts[g], want);
        free(want);
    }
    free_texts(texts, n);
}

/* 1 header + 20 frames + Caused by + 12 frames + "... 5 more" + Suppressed +
 * 3 frames + "... 2 more" = 40 lines, between two ordinary lines. */
static size_t java_sample(const char **lines, char ***owned)
{
    size_t n = 0, k = 0;
    *owned = xcalloc(64, sizeof **owned);
    lines[n++] = "2024-05-01 10:15:00 INFO Server - started";
    lines[n++] = "Exception in thread \"main\" java.lang.IllegalStateException: boom";
    for (int i = 0; i < 20; i++)
        lines[n++] = (*owned)[k++] =
            xasprintf("\tat com.example.Service.method%d(Service.java:%d)", i, 100 + i);
    lines[n++] = "Caused by: java.io.IOException: disk full";
    for (int i = 0; i < 12; i++)
        lines[n++] = (*owned)[k++] =
            xasprintf("\tat java.base/java.io.FileOutputStream.write%d(FileOutputStream.java:%d)",
                      i, 300 + i);
    lines[n++] = "\t... 5 more";
    lines[n++] = "\tSuppressed: java.lang.RuntimeException: close failed";
    for (int i = 0; i < 3; i++)
        lines[n++] = (*owned)[k++] =
            xasprintf("\t\tat com.example.Store.close%d(Store.java:%d)", i, 40 + i);
    lines[n++] = "\t\t... 2 more";
    lines[n++] = "2024-05-01 10:15:01 INFO Server - stopped";
    return n;
}

START_TEST(test_java_trace_is_one_record)
{
    const char *lines[64];
    char **owned;
    size_t n = java_sample(lines, &owned);
    ck_assert_uint_eq(n, 42);
    feed(F_JAVA, lines, n);
    static const size_t groups[][2] = {{0, 1}, {1, 41}, {41, 42}};
    assert_groups(F_JAVA, lines, groups, 3);
    ck_assert_int_eq(counter("skiff_multiline_events_total", "ml_java"), 1);
    ck_assert_int_eq(counter("skiff_multiline_lines_joined_total", "ml_java"), 40);
    free_texts(owned, 35);
}
END_TEST

START_TEST(test_java_error_log_line_with_trace)
{
    static const char *const lines[] = {
        "2024-05-01 10:15:02 ERROR Foo - failed",
        "java.lang.IllegalStateException: boom",
        "\tat com.example.Foo.run(Foo.java:12)",
        "\tat java.base/java.lang.Thread.run(Thread.java:833)",
        "2024-05-01 10:15:03 ERROR Foo - failed again",
        "2024-05-01 10:15:04 INFO Foo - ok",
    };
    feed(F_JAVA, lines, 6);
    static const size_t groups[][2] = {{0, 4}, {4, 5}, {5, 6}};
    assert_groups(F_JAVA, lines, groups, 3);
}
END_TEST

START_TEST(test_python_traceback)
{
    static const char *const lines[] = {
        "INFO:root:starting",
        "Traceback (most recent call last):",
        "  File \"/app/main.py\", line 10, in <module>",
        "    main()",
        "  File \"/app/main.py\", line 6, in main",
        "    raise ValueError(\"bad value\")",
        "ValueError: bad value",
        "INFO:root:recovered",
    };
    feed(F_PYTHON, lines, 7);
    /* The exception line ends the event at once, without waiting. */
    static const size_t groups[][2] = {{0, 1}, {1, 7}};
    assert_groups(F_PYTHON, lines, groups, 2);
    feed(F_PYTHON, lines + 7, 1);
    static const size_t all[][2] = {{0, 1}, {1, 7}, {7, 8}};
    assert_groups(F_PYTHON, lines, all, 3);
}
END_TEST

START_TEST(test_go_panic_with_two_goroutines)
{
    static const char *const lines[] = {
        "2024/05/01 10:15:00 serving on :8080",
        "panic: runtime error: index out of range [5] with length 3",
        "",
        "goroutine 1 [running]:",
        "main.process(...)",
        "\t/app/main.go:12",
        "main.main()",
        "\t/app/main.go:20 +0x1d",
        "",
        "goroutine 6 [chan receive]:",
        "main.worker(0xc000012345)",
        "\t/app/worker.go:30 +0x45",
        "created by main.main in goroutine 1",
        "\t/app/main.go:18 +0x65",
        "exit status 2",
    };
    feed(F_GO, lines, 15);
    static const size_t groups[][2] = {{0, 1}, {1, 14}, {14, 15}};
    assert_groups(F_GO, lines, groups, 3);
    ck_assert_int_eq(counter("skiff_multiline_lines_joined_total", "ml_go"), 13);
}
END_TEST

START_TEST(test_ordinary_lines_pass_through)
{
    static const char *const lines[] = {"GET /healthz 200", "  indented but no event",
                                        "\tat not after a header", "Caused by: nothing"};
    feed(F_JAVA, lines, 4);
    static const size_t groups[][2] = {{0, 1}, {1, 2}, {2, 3}, {3, 4}};
    assert_groups(F_JAVA, lines, groups, 4);
    ck_assert_int_eq(counter("skiff_multiline_events_total", "ml_java"), 0);
}
END_TEST

START_TEST(test_user_rule_set)
{
    static const char *const lines[] = {
        "[2024-05-01 10:15:00] request failed", "  retrying", "  giving up",
        "[2024-05-01 10:15:01] next",           "plain line",
    };
    feed(F_USER, lines, 5);
    static const size_t groups[][2] = {{0, 3}, {3, 4}, {4, 5}};
    assert_groups(F_USER, lines, groups, 3);
}
END_TEST

START_TEST(test_max_size_cuts_the_event)
{
    const char *lines[22];
    char *owned[21];
    lines[0] = "java.lang.IllegalStateException: boom";
    for (int i = 0; i < 20; i++) /* 62 bytes each */
        lines[i + 1] = owned[i] = xasprintf(
            "\tat com.example.VeryLongServiceName.method%02d(Service.java:%d)", i, 100 + i);
    lines[21] = "done";
    feed(F_SMALL, lines, 22);
    /* 37 + 15 * (1 + 62) = 982 bytes fit in 1 KiB, a 16th frame would not: it and
     * the frames after it are no event's and pass on one by one. */
    ck_assert_uint_eq(strlen(lines[0]), 37);
    ck_assert_uint_eq(strlen(lines[1]), 62);
    static const size_t groups[][2] = {{0, 16},  {16, 17}, {17, 18}, {18, 19},
                                       {19, 20}, {20, 21}, {21, 22}};
    assert_groups(F_SMALL, lines, groups, 7);
    ck_assert_int_eq(counter("skiff_multiline_truncated_total", "ml_small"), 1);
    for (int i = 0; i < 20; i++)
        free(owned[i]);
}
END_TEST

START_TEST(test_source_order_across_streams)
{
    feed_stream(F_JAVA, 1, "stderr", "java.lang.IllegalStateException: boom"); /* 1 */
    feed_stream(F_JAVA, 1, "stdout", "hello");                                 /* 2 */
    feed_stream(F_JAVA, 2, "stdout", "other source");                          /* 3 */
    feed_stream(F_JAVA, 1, "stderr", "\tat com.example.Foo.run(Foo.java:12)"); /* 4 */
    feed_stream(F_JAVA, 1, "stdout", "world");                                 /* 5 */
    feed_stream(F_JAVA, 1, "stderr", "bye");                                   /* 6 */
    char **texts;
    uint64_t offsets[8];
    size_t n = handed_on(F_JAVA, &texts, offsets);
    ck_assert_uint_eq(n, 5);
    ck_assert_str_eq(texts[0], "other source");
    /* Source 1 in the order of end offsets: "hello" (2) came in while the
     * event was open, and the event ends with its last line (4). */
    ck_assert_str_eq(texts[1], "hello");
    ck_assert_uint_eq(offsets[1], 2);
    ck_assert_str_eq(
        texts[2], "java.lang.IllegalStateException: boom\n\tat com.example.Foo.run(Foo.java:12)");
    ck_assert_uint_eq(offsets[2], 4); /* the last line's origin */
    ck_assert_str_eq(texts[3], "world");
    ck_assert_str_eq(texts[4], "bye");
    free_texts(texts, n);
}
END_TEST

START_TEST(test_drain_hands_on_open_events)
{
    feed_stream(F_JAVA, 1, "stderr", "java.lang.IllegalStateException: boom");
    feed_stream(F_JAVA, 1, "stdout", "queued behind it");
    feed_stream(F_JAVA, 1, "stderr", "\tat com.example.Foo.run(Foo.java:12)");
    char **texts;
    ck_assert_uint_eq(handed_on(F_JAVA, &texts, NULL), 0);
    drain(F_JAVA);
    size_t n = handed_on(F_JAVA, &texts, NULL);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(texts[0], "queued behind it"); /* offset 2, the event ends at 3 */
    ck_assert_str_eq(
        texts[1], "java.lang.IllegalStateException: boom\n\tat com.example.Foo.run(Foo.java:12)");
    free_texts(texts, n);
}
END_TEST

START_TEST(test_source_bound_hands_on_the_oldest_event)
{
    const char *header = "java.lang.IllegalStateException: boom";
    ck_assert_int_eq(feed_stream(F_JAVA, 1, "stderr", header), FILTER_TAKEN);
    /* 1 + 10,000 held records are one too many: the event is ended and
     * everything behind it handed on. */
    for (int i = 0; i < 10000; i++)
        ck_assert_int_eq(feed_stream(F_JAVA, 1, "stdout", "waiting"), FILTER_TAKEN);
    ck_assert_int_eq(feed_stream(F_JAVA, 1, "stdout", "nothing held"), FILTER_KEEP);
    ck_assert_int_eq(feed_stream(F_JAVA, 1, "stderr", "\tat com.example.Foo.run(Foo.java:12)"),
                     FILTER_KEEP);
}
END_TEST

START_TEST(test_rules_compile_errors)
{
    static const struct multiline_rule_def bad_regex[] = {{"start_state", "^(x", "start_state"}};
    static const struct multiline_rule_def no_start[] = {{"cont", "x", "cont"}};
    char *error = NULL;
    ck_assert_ptr_null(multiline_rules_compile(bad_regex, 1, &error));
    ck_assert_str_eq(error, "regex '^(x': missing closing parenthesis at offset 3");
    free(error);
    error = NULL;
    ck_assert_ptr_null(multiline_rules_compile(no_start, 1, &error));
    ck_assert_str_eq(error, "no rule for state 'start_state'");
    free(error);
    ck_assert_ptr_null(multiline_rules_builtin("ruby"));
}
END_TEST

Suite *multiline_suite(void)
{
    Suite *s = suite_create("multiline");
    TCase *tc = tcase_create("multiline");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_java_trace_is_one_record);
    tcase_add_test(tc, test_java_error_log_line_with_trace);
    tcase_add_test(tc, test_python_traceback);
    tcase_add_test(tc, test_go_panic_with_two_goroutines);
    tcase_add_test(tc, test_ordinary_lines_pass_through);
    tcase_add_test(tc, test_user_rule_set);
    tcase_add_test(tc, test_max_size_cuts_the_event);
    tcase_add_test(tc, test_source_order_across_streams);
    tcase_add_test(tc, test_drain_hands_on_open_events);
    tcase_add_test(tc, test_source_bound_hands_on_the_oldest_event);
    tcase_add_test(tc, test_rules_compile_errors);
    suite_add_tcase(s, tc);
    return s;
}
