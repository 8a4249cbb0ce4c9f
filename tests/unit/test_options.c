/* Option tables: applying a table to YAML (every type, defaults, sections,
 * messages with positions). The unit parsers are tested in
 * test_options_units.c; "did you mean" and the --describe text and Markdown
 * in test_options_describe.c. */
#include "suites.h"

#include "cfg_node.h"
#include "diag.h"
#include "options.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

struct test_tls {
    bool verify;
    char *ca_file;
    char *cert_file;
};

struct test_config {
    char *mode;
    int64_t count;
    bool enabled;
    int64_t size;
    int64_t timeout;
    struct string_list hosts;
    struct value fields;
    struct value labels;
    struct option_regex pattern;
    struct test_tls tls;
    char *path;
    char *prefix;
    char *stamp;
};

static const char *const modes[] = {"fast", "safe", NULL};

static const struct option_spec tls_specs[] = {
    {.name = "verify",
     .type = OPT_BOOL,
     .default_value = "true",
     .offset = offsetof(struct test_tls, verify),
     .description = "check the certificate"},
    {.name = "ca_file",
     .type = OPT_STRING,
     .offset = offsetof(struct test_tls, ca_file),
     .description = "CA bundle"},
    {.name = "cert_file",
     .type = OPT_STRING,
     .empty_is_unset = true,
     .offset = offsetof(struct test_tls, cert_file),
     .description = "client certificate"},
    {0},
};

static const struct option_spec test_specs[] = {
    {.name = "mode",
     .type = OPT_STRING,
     .default_value = "safe",
     .choices = modes,
     .offset = offsetof(struct test_config, mode),
     .description = "how to run"},
    {.name = "count",
     .type = OPT_INT,
     .default_value = "5",
     .min = 1,
     .max = 10,
     .offset = offsetof(struct test_config, count),
     .description = "how many"},
    {.name = "enabled",
     .type = OPT_BOOL,
     .default_value = "false",
     .offset = offsetof(struct test_config, enabled),
     .description = "on or off"},
    {.name = "size",
     .type = OPT_SIZE,
     .default_value = "1MiB",
     .min = 1024,
     .max = 1LL << 30,
     .offset = offsetof(struct test_config, size),
     .description = "how big"},
    {.name = "timeout",
     .type = OPT_DURATION,
     .default_value = "5s",
     .min = 10,
     .max = 3600000,
     .offset = offsetof(struct test_config, timeout),
     .description = "how long"},
    {.name = "hosts",
     .type = OPT_LIST,
     .default_value = "[localhost]",
     .offset = offsetof(struct test_config, hosts),
     .description = "where"},
    {.name = "fields",
     .type = OPT_MAP,
     .default_value = "{a: 1}",
     .offset = offsetof(struct test_config, fields),
     .description = "what"},
    {.name = "labels",
     .type = OPT_MAP,
     .offset = offsetof(struct test_config, labels),
     .description = "extra"},
    {.name = "pattern",
     .type = OPT_REGEX,
     .offset = offsetof(struct test_config, pattern),
     .description = "which lines"},
    {.name = "tls",
     .type = OPT_SECTION,
     .section = tls_specs,
     .offset = offsetof(struct test_config, tls),
     .description = "TLS"},
    {.name = "path",
     .type = OPT_STRING,
     .required = true,
     .offset = offsetof(struct test_config, path),
     .description = "file"},
    /* String defaults are taken as written: "" must not become NULL (a
     * YAML `key: ` is null), and `@` or `%` must not need quotes. */
    {.name = "prefix",
     .type = OPT_STRING,
     .default_value = "",
     .offset = offsetof(struct test_config, prefix),
     .description = "put before"},
    {.name = "stamp",
     .type = OPT_STRING,
     .default_value = "@%Y",
     .offset = offsetof(struct test_config, stamp),
     .description = "when"},
    {0},
};

static struct test_config config;
static struct diag_list diags;
static struct cfg_node *root;

static void setup(void)
{
    memset(&config, 0, sizeof config);
    memset(&diags, 0, sizeof diags);
    root = NULL;
}

static void teardown(void)
{
    options_free(test_specs, &config);
    cfg_node_free(root);
    diag_free(&diags);
}

/* Parses `yaml` as t.yaml and applies test_specs to it with context "test". */
static int apply_with(const char *yaml, const char *context, const char *const *ignored)
{
    root = cfg_parse_string("t.yaml", yaml, strlen(yaml), &diags);
    ck_assert_ptr_nonnull(root);
    struct option_target target = {test_specs, &config};
    return options_apply(&target, 1, root, context, ignored, &diags);
}

static int apply(const char *yaml)
{
    return apply_with(yaml, "test", NULL);
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

START_TEST(test_defaults)
{
    ck_assert_int_eq(apply("path: /var/log/x\n"), 0);
    EXPECT_DIAGS(NULL);
    ck_assert_str_eq(config.mode, "safe");
    ck_assert_int_eq(config.count, 5);
    ck_assert(!config.enabled);
    ck_assert_int_eq(config.size, 1048576);
    ck_assert_int_eq(config.timeout, 5000);
    ck_assert_uint_eq(config.hosts.count, 1);
    ck_assert_str_eq(config.hosts.items[0], "localhost");
    ck_assert_int_eq(config.fields.type, VALUE_MAP);
    ck_assert_uint_eq(config.fields.as.map.count, 1);
    const struct value *a = value_map_get(&config.fields.as.map, "a", 1);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(a->type, VALUE_INT);
    ck_assert_int_eq(a->as.integer, 1);
    ck_assert_int_eq(config.labels.type, VALUE_MAP);
    ck_assert_uint_eq(config.labels.as.map.count, 0);
    ck_assert_ptr_null(config.pattern.pattern);
    ck_assert_ptr_null(config.pattern.code);
    ck_assert(config.tls.verify);
    ck_assert_ptr_null(config.tls.ca_file);
    ck_assert_str_eq(config.path, "/var/log/x");
    ck_assert_ptr_nonnull(config.prefix);
    ck_assert_str_eq(config.prefix, "");
    ck_assert_str_eq(config.stamp, "@%Y");
}
END_TEST

START_TEST(test_every_type)
{
    ck_assert_int_eq(apply("mode: fast\n"
                           "count: \"7\"\n"
                           "enabled: yes\n"
                           "size: 1.5MiB\n"
                           "timeout: 250ms\n"
                           "hosts: [a.example, 'b.example']\n"
                           "fields: {x: y}\n"
                           "pattern: '^(\\w+)$'\n"
                           "tls: {verify: off, ca_file: /etc/ca.pem}\n"
                           "path: out.log\n"),
                     0);
    EXPECT_DIAGS(NULL);
    ck_assert_str_eq(config.mode, "fast");
    ck_assert_int_eq(config.count, 7);
    ck_assert(config.enabled);
    ck_assert_int_eq(config.size, 1572864);
    ck_assert_int_eq(config.timeout, 250);
    ck_assert_uint_eq(config.hosts.count, 2);
    ck_assert_str_eq(config.hosts.items[0], "a.example");
    ck_assert_str_eq(config.hosts.items[1], "b.example");
    ck_assert_uint_eq(config.fields.as.map.count, 1);
    ck_assert_str_eq(value_map_get(&config.fields.as.map, "x", 1)->as.string.ptr, "y");
    ck_assert_ptr_null(value_map_get(&config.fields.as.map, "a", 1));
    ck_assert_str_eq(config.pattern.pattern, "^(\\w+)$");
    ck_assert(!config.tls.verify);
    ck_assert_str_eq(config.tls.ca_file, "/etc/ca.pem");
    ck_assert_str_eq(config.path, "out.log");
}
END_TEST

START_TEST(test_null_keeps_default)
{
    ck_assert_int_eq(apply("path: x\ncount: ~\nmode:\nhosts: null\ntls:\nprefix:\n"), 0);
    ck_assert_str_eq(config.prefix, "");
    ck_assert_int_eq(config.count, 5);
    ck_assert_str_eq(config.mode, "safe");
    ck_assert_str_eq(config.hosts.items[0], "localhost");
    ck_assert(config.tls.verify);
}
END_TEST

/* With empty_is_unset, "" is no value (`${VAR:-}` for "no file"); without,
 * it is the empty string. */
START_TEST(test_empty_is_unset)
{
    ck_assert_int_eq(apply("path: x\ntls: {ca_file: '', cert_file: ''}\n"), 0);
    ck_assert_str_eq(config.tls.ca_file, "");
    ck_assert_ptr_null(config.tls.cert_file);
}
END_TEST

START_TEST(test_list_forms)
{
    ck_assert_int_eq(apply("path: x\nhosts: only.example\n"), 0);
    ck_assert_uint_eq(config.hosts.count, 1);
    ck_assert_str_eq(config.hosts.items[0], "only.example");
    options_free(test_specs, &config);
    cfg_node_free(root);
    memset(&config, 0, sizeof config);

    ck_assert_int_eq(apply("path: x\nhosts:\n  - one\n  - 2\n  - \"three\"\n"), 0);
    ck_assert_uint_eq(config.hosts.count, 3);
    ck_assert_str_eq(config.hosts.items[0], "one");
    ck_assert_str_eq(config.hosts.items[1], "2");
    ck_assert_str_eq(config.hosts.items[2], "three");
    options_free(test_specs, &config);
    cfg_node_free(root);
    memset(&config, 0, sizeof config);

    ck_assert_int_eq(apply("path: x\nhosts: []\n"), 0);
    ck_assert_uint_eq(config.hosts.count, 0);
}
END_TEST

START_TEST(test_list_errors)
{
    ck_assert_int_eq(apply("path: x\nhosts: {a: b}\n"), -1);
    EXPECT_DIAGS("t.yaml:2:8: test: option 'hosts' must be a list of strings, got a map");
    diag_free(&diags);
    cfg_node_free(root);

    ck_assert_int_eq(apply("path: x\nhosts: [a, [b]]\n"), -1);
    EXPECT_DIAGS("t.yaml:2:12: test: option 'hosts' must be a list of strings, got a sequence in "
                 "the list");
    /* The default stays when a value is rejected. */
    ck_assert_uint_eq(config.hosts.count, 1);
    ck_assert_str_eq(config.hosts.items[0], "localhost");
}
END_TEST

static const struct value *field(const char *key)
{
    const struct value *v = value_map_get(&config.fields.as.map, key, strlen(key));
    ck_assert_msg(v != NULL, "no field '%s'", key);
    return v;
}

START_TEST(test_map_typing)
{
    ck_assert_int_eq(apply("path: x\n"
                           "fields:\n"
                           "  int: 42\n"
                           "  negative: -7\n"
                           "  float: 1.5\n"
                           "  exp: 2e3\n"
                           "  yes_bool: true\n"
                           "  no_bool: False\n"
                           "  tilde: ~\n"
                           "  empty:\n"
                           "  word: null\n"
                           "  text: hello world\n"
                           "  quoted_int: \"42\"\n"
                           "  quoted_bool: 'true'\n"
                           "  quoted_null: ''\n"
                           "  huge: 99999999999999999999\n"
                           "  hex: 0x1F\n"
                           "  infinity: inf\n"
                           "  yes_word: yes\n"
                           "  nested: {inner: [1, two, {deep: false}]}\n"),
                     0);
    EXPECT_DIAGS(NULL);
    ck_assert_uint_eq(config.fields.as.map.count, 18);
    ck_assert_str_eq(config.fields.as.map.entries[0].key.ptr, "int");
    ck_assert_int_eq(field("int")->type, VALUE_INT);
    ck_assert_int_eq(field("int")->as.integer, 42);
    ck_assert_int_eq(field("negative")->as.integer, -7);
    ck_assert_int_eq(field("float")->type, VALUE_FLOAT);
    ck_assert_double_eq(field("float")->as.real, 1.5);
    ck_assert_int_eq(field("exp")->type, VALUE_FLOAT);
    ck_assert_double_eq(field("exp")->as.real, 2000.0);
    ck_assert_int_eq(field("yes_bool")->type, VALUE_BOOL);
    ck_assert(field("yes_bool")->as.boolean);
    ck_assert_int_eq(field("no_bool")->type, VALUE_BOOL);
    ck_assert(!field("no_bool")->as.boolean);
    ck_assert_int_eq(field("tilde")->type, VALUE_NULL);
    ck_assert_int_eq(field("empty")->type, VALUE_NULL);
    ck_assert_int_eq(field("word")->type, VALUE_NULL);
    ck_assert_int_eq(field("text")->type, VALUE_STRING);
    ck_assert_str_eq(field("text")->as.string.ptr, "hello world");
    ck_assert_int_eq(field("quoted_int")->type, VALUE_STRING);
    ck_assert_str_eq(field("quoted_int")->as.string.ptr, "42");
    ck_assert_int_eq(field("quoted_bool")->type, VALUE_STRING);
    ck_assert_int_eq(field("quoted_null")->type, VALUE_STRING);
    ck_assert_uint_eq(field("quoted_null")->as.string.len, 0);
    ck_assert_int_eq(field("huge")->type, VALUE_STRING);
    ck_assert_int_eq(field("hex")->type, VALUE_STRING);
    ck_assert_int_eq(field("infinity")->type, VALUE_STRING);
    ck_assert_int_eq(field("yes_word")->type, VALUE_STRING);

    const struct value *nested = field("nested");
    ck_assert_int_eq(nested->type, VALUE_MAP);
    const struct value *inner = value_map_get(&nested->as.map, "inner", 5);
    ck_assert_int_eq(inner->type, VALUE_ARRAY);
    ck_assert_uint_eq(inner->as.array.count, 3);
    ck_assert_int_eq(inner->as.array.items[0].type, VALUE_INT);
    ck_assert_int_eq(inner->as.array.items[1].type, VALUE_STRING);
    ck_assert_str_eq(inner->as.array.items[1].as.string.ptr, "two");
    const struct value *deep = &inner->as.array.items[2];
    ck_assert_int_eq(deep->type, VALUE_MAP);
    ck_assert_int_eq(value_map_get(&deep->as.map, "deep", 4)->type, VALUE_BOOL);
}
END_TEST

START_TEST(test_map_errors)
{
    ck_assert_int_eq(apply("path: x\nfields: [a]\nlabels: text\n"), -1);
    EXPECT_DIAGS("t.yaml:2:9: test: option 'fields' must be a map, got a sequence",
                 "t.yaml:3:9: test: option 'labels' must be a map, got a scalar");
    ck_assert_int_eq(config.fields.as.map.count, 1);
}
END_TEST

START_TEST(test_regex)
{
    ck_assert_int_eq(apply("path: x\npattern: '^(?<level>[A-Z]+) (?<msg>.*)$'\n"), 0);
    ck_assert_ptr_nonnull(config.pattern.code);
    pcre2_match_data *match = pcre2_match_data_create_from_pattern(config.pattern.code, NULL);
    const char *line = "WARN disk almost full";
    int rc = pcre2_match(config.pattern.code, (PCRE2_SPTR)line, strlen(line), 0, 0, match, NULL);
    ck_assert_int_eq(rc, 3);
    ck_assert_uint_eq(pcre2_get_ovector_pointer(match)[3], 4);
    pcre2_match_data_free(match);

    match = pcre2_match_data_create(4, NULL);
    rc = pcre2_match(config.pattern.code, (PCRE2_SPTR) "lower case", 10, 0, 0, match, NULL);
    ck_assert_int_eq(rc, PCRE2_ERROR_NOMATCH);
    pcre2_match_data_free(match);
}
END_TEST

START_TEST(test_regex_invalid)
{
    ck_assert_int_eq(apply("path: x\npattern: 'a(b'\n"), -1);
    EXPECT_DIAGS("t.yaml:2:10: test: option 'pattern': invalid regular expression at offset 3: "
                 "missing closing parenthesis");
    ck_assert_ptr_null(config.pattern.code);
}
END_TEST

START_TEST(test_range_errors)
{
    ck_assert_int_eq(apply("path: x\ncount: 20\nsize: 1KB\ntimeout: 2h\n"), -1);
    EXPECT_DIAGS("t.yaml:2:8: test: option 'count' must be between 1 and 10, got 20",
                 "t.yaml:3:7: test: option 'size' must be between 1KiB and 1GiB, got 1KB",
                 "t.yaml:4:10: test: option 'timeout' must be between 10ms and 1h, got 2h");
    ck_assert_int_eq(config.count, 5);
    ck_assert_int_eq(config.size, 1048576);
    ck_assert_int_eq(config.timeout, 5000);
}
END_TEST

START_TEST(test_value_errors)
{
    ck_assert_int_eq(apply("path: x\n"
                           "count: many\n"
                           "enabled: maybe\n"
                           "size: 32XB\n"
                           "timeout: 5x\n"
                           "mode: turbo\n"),
                     -1);
    EXPECT_DIAGS("t.yaml:2:8: test: option 'count' must be an integer, got 'many'",
                 "t.yaml:3:10: test: option 'enabled' must be true or false, got 'maybe'",
                 "t.yaml:4:7: test: option 'size': invalid size '32XB' (use a number with a unit: "
                 "B, KB, MB, GB, KiB, MiB, GiB, TiB)",
                 "t.yaml:5:10: test: option 'timeout': invalid duration '5x' (use a number with a "
                 "unit: ms, s, m, h, d)",
                 "t.yaml:6:7: test: option 'mode' must be one of fast, safe; got 'turbo'");
}
END_TEST

START_TEST(test_overflow_errors)
{
    ck_assert_int_eq(apply("path: x\ncount: 99999999999999999999\nsize: 99999999999TiB\n"), -1);
    EXPECT_DIAGS("t.yaml:2:8: test: option 'count': '99999999999999999999' is out of range",
                 "t.yaml:3:7: test: option 'size': '99999999999TiB' is out of range");
}
END_TEST

START_TEST(test_type_errors)
{
    ck_assert_int_eq(apply("path: [x]\ncount: [1]\nenabled: {a: 1}\ntimeout: [1s]\n"
                           "pattern: [a]\ntls: 5\n"),
                     -1);
    EXPECT_DIAGS("t.yaml:1:7: test: option 'path' must be a string, got a sequence",
                 "t.yaml:2:8: test: option 'count' must be an integer, got a sequence",
                 "t.yaml:3:10: test: option 'enabled' must be true or false, got a map",
                 "t.yaml:4:10: test: option 'timeout' must be a duration, got a sequence",
                 "t.yaml:5:10: test: option 'pattern' must be a regular expression, got a "
                 "sequence",
                 "t.yaml:6:6: test: option 'tls' must be a map, got a scalar");
}
END_TEST

START_TEST(test_section_errors)
{
    ck_assert_int_eq(apply("path: x\ntls:\n  verify: maybe\n  ca_fil: /ca.pem\n"), -1);
    EXPECT_DIAGS("t.yaml:3:11: test.tls: option 'verify' must be true or false, got 'maybe'",
                 "t.yaml:4:3: test.tls: unknown option 'ca_fil' (did you mean 'ca_file'?)");
    diag_free(&diags);
    options_free(test_specs, &config);
    cfg_node_free(root);
    memset(&config, 0, sizeof config);

    ck_assert_int_eq(apply_with("path: x\ntls: {verify: 2}\n", "outputs[0] (es)", NULL), -1);
    EXPECT_DIAGS("t.yaml:2:15: outputs[0] (es) tls: option 'verify' must be true or false, "
                 "got '2'");
}
END_TEST

START_TEST(test_unknown_options)
{
    ck_assert_int_eq(apply("path: x\ncout: 3\nzzz: 1\nPATH: y\n"), -1);
    EXPECT_DIAGS("t.yaml:2:1: test: unknown option 'cout' (did you mean 'count'?)",
                 "t.yaml:3:1: test: unknown option 'zzz'",
                 "t.yaml:4:1: test: unknown option 'PATH'");
}
END_TEST

START_TEST(test_required)
{
    ck_assert_int_eq(apply("count: 3\n"), -1);
    EXPECT_DIAGS("t.yaml:1:1: test: missing required option 'path'");
    diag_free(&diags);
    cfg_node_free(root);

    ck_assert_int_eq(apply("count: 3\npath: ~\n"), -1);
    EXPECT_DIAGS("t.yaml:2:7: test: option 'path' is required and cannot be empty");
    diag_free(&diags);

    struct option_target target = {test_specs, &config};
    ck_assert_int_eq(options_apply(&target, 1, NULL, "test", NULL, &diags), -1);
    EXPECT_DIAGS("test: missing required option 'path'");
}
END_TEST

START_TEST(test_ignored_keys)
{
    static const char *const ignored[] = {"name", "path", NULL};
    ck_assert_int_eq(apply_with("name: thing\ncount: 2\n", "test", ignored), 0);
    EXPECT_DIAGS(NULL);
    ck_assert_int_eq(config.count, 2);
    ck_assert_ptr_null(config.path);
}
END_TEST

START_TEST(test_not_a_map)
{
    ck_assert_int_eq(apply("list: [a, b]\n"), -1);
    struct option_target target = {test_specs, &config};
    diag_free(&diags);
    ck_assert_int_eq(options_apply(&target, 1, cfg_map_get(root, "list"), "test", NULL, &diags),
                     -1);
    EXPECT_DIAGS("t.yaml:1:7: test: must be a map, got a sequence");
    ck_assert_int_eq(config.count, 5);
}
END_TEST

/* Common and plugin options land in different structs; a key in neither is
 * unknown, with hints from both. */
START_TEST(test_two_targets)
{
    struct test_tls tls = {0};
    struct option_target targets[] = {{tls_specs, &tls}, {test_specs, &config}};

    const char yaml[] = "verify: no\npath: p\ncountt: 1\n";
    root = cfg_parse_string("t.yaml", yaml, strlen(yaml), &diags);
    ck_assert_ptr_nonnull(root);
    ck_assert_int_eq(options_apply(targets, 2, root, "test", NULL, &diags), -1);
    EXPECT_DIAGS("t.yaml:3:1: test: unknown option 'countt' (did you mean 'count'?)");
    ck_assert(!tls.verify);
    ck_assert_str_eq(config.path, "p");
    options_free(tls_specs, &tls);
}
END_TEST

Suite *options_suite(void)
{
    Suite *s = suite_create("options");

    TCase *apply_case = tcase_create("apply");
    tcase_add_checked_fixture(apply_case, setup, teardown);
    tcase_add_test(apply_case, test_defaults);
    tcase_add_test(apply_case, test_every_type);
    tcase_add_test(apply_case, test_null_keeps_default);
    tcase_add_test(apply_case, test_empty_is_unset);
    tcase_add_test(apply_case, test_list_forms);
    tcase_add_test(apply_case, test_list_errors);
    tcase_add_test(apply_case, test_map_typing);
    tcase_add_test(apply_case, test_map_errors);
    tcase_add_test(apply_case, test_regex);
    tcase_add_test(apply_case, test_regex_invalid);
    tcase_add_test(apply_case, test_range_errors);
    tcase_add_test(apply_case, test_value_errors);
    tcase_add_test(apply_case, test_overflow_errors);
    tcase_add_test(apply_case, test_type_errors);
    tcase_add_test(apply_case, test_section_errors);
    tcase_add_test(apply_case, test_unknown_options);
    tcase_add_test(apply_case, test_required);
    tcase_add_test(apply_case, test_ignored_keys);
    tcase_add_test(apply_case, test_not_a_map);
    tcase_add_test(apply_case, test_two_targets);
    suite_add_tcase(s, apply_case);

    return s;
}
