/* Unit tests for what options print: --describe text and the README's Markdown
 * (options_describe.c), type names, "did you mean" and positions of diagnostics
 * (diag.c). */
#include "suites.h"

#include "cfg_node.h"
#include "diag.h"
#include "options.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

static struct diag_list diags;

static void setup(void)
{
    memset(&diags, 0, sizeof diags);
}

static void teardown(void)
{
    diag_free(&diags);
}

#define EXPECT_DIAGS(...) expect_diags((const char *const[]){__VA_ARGS__, NULL})

static void expect_diags(const char *const *expected)
{
    size_t n = 0;
    for (; expected[n]; n++) {
        ck_assert_msg(n < diags.count, "missing message: %s", expected[n]);
        ck_assert_str_eq(diags.messages[n], expected[n]);
    }
    ck_assert_uint_eq(diags.count, n);
}

START_TEST(test_closest)
{
    const char *const names[] = {"path", "rate", "record", "retry_max", "retry_min"};
    ck_assert_str_eq(diag_closest("pth", names, 5), "path");
    ck_assert_str_eq(diag_closest("rcord", names, 5), "record");
    ck_assert_str_eq(diag_closest("retry_mn", names, 5), "retry_min");
    ck_assert_str_eq(diag_closest("retrymax", names, 5), "retry_max");
    ck_assert_str_eq(diag_closest("rate", names, 5), "rate");
    ck_assert_ptr_null(diag_closest("xyz", names, 5));
    ck_assert_ptr_null(diag_closest("p", names, 5));
    ck_assert_ptr_null(diag_closest("recorded_at", names, 5));
    ck_assert_ptr_null(diag_closest("path", names, 0));
}
END_TEST

START_TEST(test_diag_positions)
{
    struct cfg_node at = {.type = CFG_SCALAR, .file = "a.yaml", .line = 3, .column = 9};
    diag_add(&diags, &at, "%s: %d", "x", 5);
    diag_add(&diags, NULL, "plain");
    EXPECT_DIAGS("a.yaml:3:9: x: 5", "plain");

    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    diag_print(&diags, out);
    fclose(out);
    ck_assert_str_eq(text, "a.yaml:3:9: x: 5\nplain\n");
    free(text);
}
END_TEST

static const char *const levels[] = {"info", "debug", NULL};

struct describe_config {
    char *level;
    int64_t limit;
    int64_t every;
    int64_t count;
    char *path;
    char *listen;
};

static const struct option_spec listen_specs[] = {
    {.name = "listen", .type = OPT_STRING, .description = "host:port"},
    {0},
};

static const struct option_spec describe_specs[] = {
    {.name = "level",
     .type = OPT_STRING,
     .default_value = "info",
     .choices = levels,
     .description = "log level"},
    {.name = "limit",
     .type = OPT_SIZE,
     .default_value = "32MiB",
     .min = 65536,
     .max = 64LL << 30,
     .description = "buffer"},
    {.name = "every",
     .type = OPT_DURATION,
     .default_value = "1s",
     .min = 10,
     .max = 3600000,
     .description = "how often"},
    {.name = "count",
     .type = OPT_INT,
     .default_value = "0",
     .min = 0,
     .max = INT64_MAX,
     .description = "records"},
    {.name = "path", .type = OPT_STRING, .required = true, .description = "one|two"},
    {.name = "http", .type = OPT_SECTION, .section = listen_specs, .description = "server"},
    {0},
};

static char *capture(void (*print)(const struct option_spec *, FILE *))
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    print(describe_specs, out);
    fclose(out);
    return text;
}

START_TEST(test_describe)
{
    char *text = capture(options_describe);
    ck_assert_str_eq(text, "OPTION       TYPE      DEFAULT     DESCRIPTION\n"
                           "level        string    info        log level (one of: info, debug)\n"
                           "limit        size      32MiB       buffer (64KiB..64GiB)\n"
                           "every        duration  1s          how often (10ms..1h)\n"
                           "count        int       0           records (at least 0)\n"
                           "path         string    (required)  one|two\n"
                           "http         section   -           server\n"
                           "http.listen  string    -           host:port\n");
    free(text);
}
END_TEST

START_TEST(test_describe_markdown)
{
    char *text = capture(options_describe_markdown);
    ck_assert_str_eq(text, "| Option | Type | Default | Description |\n"
                           "|---|---|---|---|\n"
                           "| `level` | string | `info` | log level (one of: info, debug) |\n"
                           "| `limit` | size | `32MiB` | buffer (64KiB..64GiB) |\n"
                           "| `every` | duration | `1s` | how often (10ms..1h) |\n"
                           "| `count` | int | `0` | records (at least 0) |\n"
                           "| `path` | string | (required) | one\\|two |\n"
                           "| `http` | section | - | server |\n"
                           "| `http.listen` | string | - | host:port |\n");
    free(text);
}
END_TEST

START_TEST(test_type_names)
{
    ck_assert_str_eq(option_type_name(OPT_STRING), "string");
    ck_assert_str_eq(option_type_name(OPT_INT), "int");
    ck_assert_str_eq(option_type_name(OPT_BOOL), "bool");
    ck_assert_str_eq(option_type_name(OPT_SIZE), "size");
    ck_assert_str_eq(option_type_name(OPT_DURATION), "duration");
    ck_assert_str_eq(option_type_name(OPT_LIST), "list");
    ck_assert_str_eq(option_type_name(OPT_MAP), "map");
    ck_assert_str_eq(option_type_name(OPT_REGEX), "regex");
    ck_assert_str_eq(option_type_name(OPT_SECTION), "section");
}
END_TEST

Suite *options_describe_suite(void)
{
    Suite *s = suite_create("options_describe");

    TCase *apply_case = tcase_create("diag");
    tcase_add_checked_fixture(apply_case, setup, teardown);
    tcase_add_test(apply_case, test_closest);
    tcase_add_test(apply_case, test_diag_positions);
    suite_add_tcase(s, apply_case);

    TCase *describe = tcase_create("describe");
    tcase_add_test(describe, test_describe);
    tcase_add_test(describe, test_describe_markdown);
    tcase_add_test(describe, test_type_names);
    suite_add_tcase(s, describe);
    return s;
}
