/* Unit tests for the config loader: ${VAR} substitution, YAML errors, the
 * nesting limit, cfg_node helpers, built-in defaults and the common option
 * tables. */
#include "suites.h"

#include "config_fixture.h"

#include "cfg_node.h"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

START_TEST(test_env_substitution)
{
    setenv("SKIFF_TEST_DIR", "/data", 1);
    setenv("SKIFF_TEST_RATE", "250", 1);
    setenv("SKIFF_TEST_RAW", "${SKIFF_TEST_DIR}", 1);
    setenv("SKIFF_TEST_EMPTY", "", 1);
    unsetenv("SKIFF_TEST_UNSET");
    ck_assert_int_eq(load("service:\n"
                          "  state_dir: ${SKIFF_TEST_DIR}/state\n"
                          "  log_level: ${SKIFF_TEST_UNSET:-warn}\n"
                          "  http: {listen: \"${SKIFF_TEST_EMPTY:-0.0.0.0}:${SKIFF_TEST_RATE}\"}\n"
                          "pipeline:\n"
                          "  inputs:\n"
                          "    - name: dummy\n"
                          "      rate: ${SKIFF_TEST_RATE}\n"
                          "      record: {a: $$HOME, b: 'cost $5', c: '${SKIFF_TEST_RAW}',\n"
                          "               d: '${SKIFF_TEST_EMPTY}', e: 'x$', f: '$$$$',\n"
                          "               g: 'logs-${kubernetes.namespace_name}-${a[0]}',\n"
                          "               h: '${SKIFF_TEST_UNSET:-x.y}'}\n"
                          "  outputs: [{name: null, match: '*'}]\n"),
                     0);
    EXPECT_DIAGS(NULL);
    ck_assert_str_eq(config.service.state_dir, "/data/state");
    ck_assert_str_eq(config.service.log_level, "warn");
    ck_assert_str_eq(config.service.http.listen, "0.0.0.0:250");
    const struct instance_config *in = &config.inputs[0];
    ck_assert_int_eq(*(const int64_t *)plugin_option(in, "rate"), 250);
    const struct value *record = plugin_option(in, "record");
    ck_assert_str_eq(record_field(record, "a")->as.string.ptr, "$HOME");
    ck_assert_str_eq(record_field(record, "b")->as.string.ptr, "cost $5");
    ck_assert_str_eq(record_field(record, "c")->as.string.ptr, "${SKIFF_TEST_DIR}");
    ck_assert_str_eq(record_field(record, "d")->as.string.ptr, "");
    ck_assert_str_eq(record_field(record, "e")->as.string.ptr, "x$");
    ck_assert_str_eq(record_field(record, "f")->as.string.ptr, "$$");
    /* Record field references are left for the plugin; a default may hold dots. */
    ck_assert_str_eq(record_field(record, "g")->as.string.ptr,
                     "logs-${kubernetes.namespace_name}-${a[0]}");
    ck_assert_str_eq(record_field(record, "h")->as.string.ptr, "x.y");
}
END_TEST

START_TEST(test_env_errors)
{
    unsetenv("ES_HOST");
    expect_failure("service:\n"
                   "  state_dir: /x\n"
                   "  http:\n"
                   "    listen: ${ES_HOST}:9200\n"
                   "  log_level: \"${LEVEL\"\n"
                   "  grace: ${1BAD}\n" PIPELINE);
    EXPECT_DIAGS("skiff.yaml:4:13: environment variable 'ES_HOST' is not set (set it, or write "
                 "${ES_HOST:-default})",
                 "skiff.yaml:5:14: unterminated '${' in this value (write '$$' for a literal '$')",
                 "skiff.yaml:6:10: invalid environment variable name after '${' (letters, digits "
                 "and '_', not starting with a digit; write '$$' for a literal '$')");
}
END_TEST

START_TEST(test_yaml_errors)
{
    expect_failure("service:\n  log_level: [info\n" PIPELINE);
    EXPECT_DIAGS("skiff.yaml:3:9: YAML syntax error: did not find expected ',' or ']' (while "
                 "parsing a flow sequence)");
    diag_free(&diags);

    expect_failure("service: {grace: 1s, grace: 2s}\n" PIPELINE);
    EXPECT_DIAGS("skiff.yaml:1:22: duplicate key 'grace' (first given at line 1)");
    diag_free(&diags);

    expect_failure("service:\n  state_dir: &dir /x\n  log_level: *dir\n" PIPELINE);
    EXPECT_DIAGS("skiff.yaml:3:14: YAML aliases (a value starting with '*') are not supported; "
                 "write the value out, quoted");
    diag_free(&diags);

    expect_failure("service:\n  state_dir: !!str 5\n" PIPELINE);
    EXPECT_DIAGS("skiff.yaml:2:14: YAML tags (a value starting with '!') are not supported; "
                 "quote the value");
    diag_free(&diags);

    expect_failure("");
    EXPECT_DIAGS("skiff.yaml: the configuration is empty");
    diag_free(&diags);

    expect_failure("# nothing but a comment\n---\n");
    EXPECT_DIAGS("skiff.yaml: the configuration is empty");
    diag_free(&diags);

    expect_failure("- a\n- b\n");
    EXPECT_DIAGS("skiff.yaml:1:1: the configuration must be a map of keys, got a sequence");
    diag_free(&diags);

    expect_failure(PIPELINE "---\n" PIPELINE);
    EXPECT_DIAGS("skiff.yaml:4:1: only one YAML document is allowed");
    diag_free(&diags);

    expect_failure("{[a]: 1}\n");
    EXPECT_DIAGS("skiff.yaml:1:2: a map key must be a scalar, got a sequence");
}
END_TEST

START_TEST(test_nesting_limit)
{
    char yaml[512] = "a: ";
    for (int i = 0; i < 70; i++)
        strcat(yaml, "[");
    expect_failure(yaml);
    EXPECT_DIAGS("skiff.yaml:1:68: YAML nesting deeper than 64 levels");
}
END_TEST

START_TEST(test_cfg_helpers)
{
    const char yaml[] = "a: ~\nb: null\nc:\nd: ''\ne: x\nf: [1]\n";
    struct cfg_node *root = cfg_parse_string("n.yaml", yaml, strlen(yaml), &diags);
    ck_assert_ptr_nonnull(root);
    ck_assert(cfg_is_null(cfg_map_get(root, "a")));
    ck_assert(cfg_is_null(cfg_map_get(root, "b")));
    ck_assert(cfg_is_null(cfg_map_get(root, "c")));
    ck_assert(!cfg_is_null(cfg_map_get(root, "d")));
    ck_assert(!cfg_is_null(cfg_map_get(root, "e")));
    ck_assert(!cfg_is_null(cfg_map_get(root, "f")));
    ck_assert(!cfg_is_null(NULL));
    ck_assert_ptr_null(cfg_map_get(root, "g"));
    ck_assert_ptr_null(cfg_map_get(cfg_map_get(root, "f"), "x"));
    const struct cfg_node *e = cfg_map_get(root, "e");
    ck_assert_str_eq(e->file, "n.yaml");
    ck_assert_uint_eq(e->line, 5);
    ck_assert_uint_eq(e->column, 4);
    ck_assert(e->plain);
    ck_assert(!cfg_map_get(root, "d")->plain);
    ck_assert_str_eq(cfg_type_name(CFG_SCALAR), "scalar");
    ck_assert_str_eq(cfg_type_name(CFG_MAP), "map");
    ck_assert_str_eq(cfg_type_name(CFG_SEQ), "sequence");
    cfg_node_free(root);
    EXPECT_DIAGS(NULL);
}
END_TEST

/* Every registered plugin's defaults, and the common tables', are valid YAML
 * of the right type and within their limits. */
START_TEST(test_builtin_defaults)
{
    for (const struct plugin *const *p = plugin_all(); *p; p++) {
        const struct plugin *plugin = *p;
        void *options = calloc(1, plugin->options_size + 1);
        struct instance_common common = {0};
        struct option_target targets[] = {
            {config_common_options(plugin->kind), &common},
            {plugin->options, options},
        };
        options_apply(targets, 2, NULL, plugin->name, NULL, &diags);
        for (size_t i = 0; i < diags.count; i++)
            ck_assert_msg(strstr(diags.messages[i], "missing required option") != NULL,
                          "plugin %s: %s", plugin->name, diags.messages[i]);
        options_free(config_common_options(plugin->kind), &common);
        options_free(plugin->options, options);
        free(options);
        diag_free(&diags);
    }
    struct service_config service = {0};
    struct option_target target = {service_options, &service};
    ck_assert_int_eq(options_apply(&target, 1, NULL, "service", NULL, &diags), 0);
    options_free(service_options, &service);
}
END_TEST

START_TEST(test_common_tables)
{
    ck_assert_ptr_eq(config_common_options(PLUGIN_INPUT), input_common_options);
    ck_assert_ptr_eq(config_common_options(PLUGIN_FILTER), filter_common_options);
    ck_assert_ptr_eq(config_common_options(PLUGIN_OUTPUT), output_common_options);
    for (const struct option_spec *spec = output_common_options; spec->name; spec++)
        ck_assert_msg(spec->description && *spec->description, "%s has no description", spec->name);
}
END_TEST

Suite *config_env_suite(void)
{
    Suite *s = suite_create("config_env");
    TCase *tc = tcase_create("load");
    tcase_add_checked_fixture(tc, config_fixture_setup, config_fixture_teardown);
    tcase_add_test(tc, test_env_substitution);
    tcase_add_test(tc, test_env_errors);
    tcase_add_test(tc, test_yaml_errors);
    tcase_add_test(tc, test_nesting_limit);
    tcase_add_test(tc, test_cfg_helpers);
    tcase_add_test(tc, test_builtin_defaults);
    tcase_add_test(tc, test_common_tables);
    suite_add_tcase(s, tc);
    return s;
}
