/* Unit tests for the value conversions of `skiff --convert`
 * (convert_value.c): Fluent Bit's booleans, sizes, times, comma lists,
 * quoted arguments, record accessors and ${VAR} references into skiff's
 * syntax; and the YAML writer's quoting (convert_emit.c). */
#include "suites.h"

#include "convert_out.h"
#include "convert_value.h"
#include "error_slot.h"

#include <stdlib.h>
#include <string.h>

START_TEST(test_bool)
{
    static const char *const yes[] = {"On", "on", "TRUE", "true", "Yes", "yes"};
    static const char *const no[] = {"Off", "OFF", "false", "False", "no", "No"};
    bool value;
    for (size_t i = 0; i < 6; i++) {
        ck_assert_int_eq(cv_bool(yes[i], &value), 0);
        ck_assert(value);
        ck_assert_int_eq(cv_bool(no[i], &value), 0);
        ck_assert(!value);
    }
    ck_assert_int_eq(cv_bool("1", &value), -1);
    ck_assert_int_eq(cv_bool("enabled", &value), -1);
    ck_assert_int_eq(cv_bool("", &value), -1);
}
END_TEST

static char *size_text(const char *fb)
{
    int64_t bytes;
    ck_assert_msg(cv_size(fb, &bytes) == 0, "size '%s' refused", fb);
    return cv_size_text(bytes);
}

START_TEST(test_size)
{
    /* Fluent Bit's K, M, G are powers of 1000, as skiff's KB, MB, GB. */
    static const char *const cases[][2] = {
        {"5MB", "5MB"},     {"5M", "5MB"},      {"5mb", "5MB"}, {"32k", "32KB"},
        {"32K", "32KB"},    {"1.5M", "1500KB"}, {"2G", "2GB"},  {"4096", "4KiB"},
        {"32768", "32KiB"}, {"100", "100B"},    {"false", "0"}, {"0", "0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = size_text(cases[i][0]);
        ck_assert_msg(!strcmp(text, cases[i][1]), "%s -> %s, expected %s", cases[i][0], text,
                      cases[i][1]);
        free(text);
    }
    static const char *const bad[] = {"", "MB", "5XB", "5MBB", "5 MB", "-1M", "5T", "lots"};
    int64_t bytes;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(cv_size(bad[i], &bytes) == -1, "size '%s' accepted", bad[i]);
}
END_TEST

START_TEST(test_times)
{
    int64_t ms;
    ck_assert_int_eq(cv_seconds("1", &ms), 0);
    ck_assert_int_eq(ms, 1000);
    ck_assert_int_eq(cv_seconds("0.5", &ms), 0);
    ck_assert_int_eq(ms, 500);
    ck_assert_int_eq(cv_seconds("1s", &ms), -1);
    ck_assert_int_eq(cv_seconds("-1", &ms), -1);

    ck_assert_int_eq(cv_time("5", true, &ms), 0);
    ck_assert_int_eq(ms, 5000);
    ck_assert_int_eq(cv_time("10m", true, &ms), 0);
    ck_assert_int_eq(ms, 600000);
    ck_assert_int_eq(cv_time("2H", true, &ms), 0);
    ck_assert_int_eq(ms, 7200000);
    ck_assert_int_eq(cv_time("1d", true, &ms), 0);
    ck_assert_int_eq(ms, 86400000);
    ck_assert_int_eq(cv_time("30s", true, &ms), 0);
    ck_assert_int_eq(ms, 30000);
    /* Fluent Bit's config maps take the integer part; throttle does not. */
    ck_assert_int_eq(cv_time("1.5m", true, &ms), 0);
    ck_assert_int_eq(ms, 60000);
    ck_assert_int_eq(cv_time("1.5m", false, &ms), 0);
    ck_assert_int_eq(ms, 90000);
    ck_assert_int_eq(cv_time("5x", true, &ms), -1);
    ck_assert_int_eq(cv_time("5ms", true, &ms), -1);
    ck_assert_int_eq(cv_time("m", true, &ms), -1);

    char *text = cv_duration_text(1000);
    ck_assert_str_eq(text, "1s");
    free(text);
    text = cv_duration_text(500);
    ck_assert_str_eq(text, "500ms");
    free(text);
    text = cv_duration_text(0);
    ck_assert_str_eq(text, "0s");
    free(text);
    text = cv_duration_text(60000);
    ck_assert_str_eq(text, "1m");
    free(text);
}
END_TEST

static void assert_text(const struct fb_config *c, const char *fb, const char *skiff)
{
    char *text = cv_text(c, fb);
    ck_assert_msg(!strcmp(text, skiff), "'%s' -> '%s', expected '%s'", fb, text, skiff);
    free(text);
}

START_TEST(test_variables)
{
    struct fb_config c = {0};
    fb_config_set_var(&c, "cluster", 7, "prod", 4);
    fb_config_set_var(&c, "empty", 5, "", 0);
    fb_config_set_var(&c, "money", 5, "a$b", 3);
    /* @SET variables are replaced; the environment's are kept for skiff. */
    assert_text(&c, "${cluster}-logs", "prod-logs");
    assert_text(&c, "${HOME}/x", "${HOME}/x");
    assert_text(&c, "${UNSET:-fallback}", "${UNSET:-fallback}");
    assert_text(&c, "${empty:-fallback}", "fallback");
    assert_text(&c, "${empty}", "");
    assert_text(&c, "${cluster:-x}", "prod");
    /* A `$` skiff would read as `$$` or `${` is written so that it stays. */
    assert_text(&c, "${money}", "a$$b");
    assert_text(&c, "^a$", "^a$");
    assert_text(&c, "a$$b", "a$$$b");
    assert_text(&c, "$${cluster}", "$$prod");
    assert_text(&c, "$kubernetes['x']", "$kubernetes['x']");
    assert_text(&c, "${unterminated", "${unterminated");
    assert_text(NULL, "${cluster}", "${cluster}");
    fb_config_free(&c);
}
END_TEST

static void assert_path(const char *accessor, bool top, const char *expected)
{
    char *error = NULL;
    char *path = cv_field_path(accessor, top, &error);
    ck_assert_msg(path, "'%s' refused: %s", accessor, error ? error : "");
    ck_assert_msg(!strcmp(path, expected), "'%s' -> '%s', expected '%s'", accessor, path, expected);
    free(path);
}

static void assert_no_path(const char *accessor, const char *why)
{
    char *error = NULL;
    ck_assert_ptr_null(cv_field_path(accessor, false, &error));
    ck_assert_msg(error && strstr(error, why), "'%s': error '%s' lacks '%s'", accessor,
                  error ? error : "", why);
    free(error);
}

START_TEST(test_field_paths)
{
    assert_path("log", false, "log");
    assert_path("$log", false, "log");
    assert_path("$kubernetes['labels']['app']", false, "kubernetes.labels.app");
    assert_path("$kubernetes['labels']['app.kubernetes.io/name']", false,
                "kubernetes.labels[\"app.kubernetes.io/name\"]");
    assert_path("$a[ 'it''s' ]", false, "a[\"it's\"]");
    assert_path("$a.b", false, "[\"a.b\"]");
    assert_path("kubernetes['pod_name']", false, "kubernetes.pod_name");
    /* modify's keys: top-level keys, dots and all. */
    assert_path("log.level", true, "[\"log.level\"]");
    assert_path("a\"b", true, "[\"a\\\"b\"]");
    assert_path("$k['v']", true, "k.v");
    assert_no_path("$a[0]", "array index");
    assert_no_path("$TAG", "the tag");
    assert_no_path("@timestamp", "not a record key");
    assert_no_path("$a['b'", "expected ['key']");
    assert_no_path("$a x", "unexpected ' '");
}
END_TEST

START_TEST(test_lists_and_arguments)
{
    char **items;
    size_t count = cv_split_list(" /a/*.log, /b.log ,, /c.log ", &items);
    ck_assert_int_eq(count, 3);
    ck_assert_str_eq(items[0], "/a/*.log");
    ck_assert_str_eq(items[1], "/b.log");
    ck_assert_str_eq(items[2], "/c.log");
    cv_free_list(items, count);
    ck_assert_int_eq(cv_split_list("", &items), 0);
    cv_free_list(items, 0);

    char **args;
    int n = cv_split_args("key  \"a value\" 'it\\'s' \"q\\\"\" x\\y", &args);
    ck_assert_int_eq(n, 5);
    ck_assert_str_eq(args[0], "key");
    ck_assert_str_eq(args[1], "a value");
    ck_assert_str_eq(args[2], "it's");
    ck_assert_str_eq(args[3], "q\"");
    ck_assert_str_eq(args[4], "x\\y");
    cv_free_list(args, (size_t)n);
    ck_assert_int_eq(cv_split_args("a \"open", &args), -1);
    ck_assert_ptr_null(args);
}
END_TEST

START_TEST(test_yaml_quoting)
{
    static const char *const plain[] = {"kube.*",
                                        "/var/log/containers/*.log",
                                        "https://es:9200",
                                        "0.0.0.0:2020",
                                        "${HOME}",
                                        "logstash-%Y.%m.%d",
                                        "5MB",
                                        "a b",
                                        "^hel"};
    static const char *const quoted[] = {"*",  "",    "true", "On",  "no",   "null", "~",
                                         "5",  "1.5", "0x10", "-x",  "a: b", "a #b", "[a]",
                                         "{a", "%Y",  "@x",   "'a'", "a\tb", "end:", " x"};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        ck_assert_msg(!out_needs_quotes(plain[i]), "'%s' quoted", plain[i]);
    for (size_t i = 0; i < sizeof quoted / sizeof quoted[0]; i++)
        ck_assert_msg(out_needs_quotes(quoted[i]), "'%s' not quoted", quoted[i]);

    struct out_node *doc = out_map();
    out_map_set(doc, "a.b", out_string("it's"));
    out_map_set(doc, "c", out_string("line\nbreak"));
    out_map_set(doc, "d", out_raw("true"));
    struct out_node *list = out_map_list(doc, "e");
    out_list_add(list, out_string("*"));
    struct out_node *hidden = out_map();
    hidden->hidden = true;
    out_map_set(hidden, "name", out_string("x"));
    out_list_add(list, hidden);
    out_map_set(doc, "f", out_map());
    struct buf text = BUF_INIT;
    struct out_lines lines = {0};
    out_emit(doc, &text, &lines);
    ck_assert_str_eq(buf_cstr(&text), "a:\n"
                                      "  b: it's\n"
                                      "c: \"line\\nbreak\"\n"
                                      "d: true\n"
                                      "e:\n"
                                      "  - '*'\n"
                                      "  # - name: x\n"
                                      "f: {}\n");
    ck_assert_int_eq(lines.count, 8);
    buf_free(&text);
    out_lines_free(&lines);
    out_free(doc);
}
END_TEST

Suite *convert_value_suite(void)
{
    Suite *s = suite_create("convert_value");
    TCase *values = tcase_create("values");
    tcase_add_test(values, test_bool);
    tcase_add_test(values, test_size);
    tcase_add_test(values, test_times);
    tcase_add_test(values, test_variables);
    tcase_add_test(values, test_field_paths);
    tcase_add_test(values, test_lists_and_arguments);
    tcase_add_test(values, test_yaml_quoting);
    suite_add_tcase(s, values);
    return s;
}
