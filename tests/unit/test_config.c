/* Loading skiff.yaml: a full valid config with every value checked, each kind
 * of mistake with its exact message and position, several mistakes reported in
 * one run and match reachability. ${VAR} substitution, YAML errors and the
 * built-in defaults are in test_config_env.c. */
#include "suites.h"

#include "config_fixture.h"

#include "cfg_node.h"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char full_config[] =
    "service:\n"
    "  log_level: debug\n"
    "  state_dir: /tmp/skiff-state\n"
    "  flush_interval: 250ms\n"
    "  grace: 10s\n"
    "  http: { listen: 127.0.0.1:2020 }\n"
    "pipeline:\n"
    "  inputs:\n"
    "    - name: dummy\n"
    "      tag: app.web\n"
    "      rate: 1000\n"
    "      count: 50\n"
    "      buffer_limit: 8MiB\n"
    "      record: { message: hello, level: 3, ratio: 0.5, ok: true, none: ~, quoted: \"42\",\n"
    "                tags: [a, 1] }\n"
    "    - name: dummy\n"
    "      alias: second\n"
    "  filters: []\n"
    "  outputs:\n"
    "    - name: file\n"
    "      match: \"app.*\"\n"
    "      path: /tmp/out.jsonl\n"
    "      retry_min: 500ms\n"
    "      retry_max: 2m\n"
    "      retry_limit: 5\n"
    "    - name: stdout\n"
    "      match: '*'\n";

START_TEST(test_full_config)
{
    ck_assert_int_eq(load(full_config), 0);
    EXPECT_DIAGS(NULL);
    ck_assert_str_eq(config.path, "skiff.yaml");
    ck_assert_ptr_nonnull(config.root);

    ck_assert_str_eq(config.service.log_level, "debug");
    ck_assert_str_eq(config.service.state_dir, "/tmp/skiff-state");
    ck_assert_int_eq(config.service.flush_interval_ms, 250);
    ck_assert_int_eq(config.service.grace_ms, 10000);
    ck_assert_str_eq(config.service.http.listen, "127.0.0.1:2020");

    ck_assert_uint_eq(config.input_count, 2);
    const struct instance_config *in = &config.inputs[0];
    ck_assert_ptr_eq(in->plugin, plugin_find("dummy", PLUGIN_INPUT));
    ck_assert_uint_eq(in->index, 0);
    ck_assert_uint_eq(in->node->line, 9);
    ck_assert_uint_eq(in->node->column, 7);
    ck_assert_str_eq(in->common.name, "dummy");
    ck_assert_str_eq(in->common.alias, "dummy.0");
    ck_assert_str_eq(in->common.tag, "app.web");
    ck_assert_ptr_null(in->common.match);
    ck_assert_int_eq(in->common.buffer_limit, 8 << 20);
    ck_assert_int_eq(*(const int64_t *)plugin_option(in, "rate"), 1000);
    ck_assert_int_eq(*(const int64_t *)plugin_option(in, "count"), 50);

    const struct value *record = plugin_option(in, "record");
    ck_assert_int_eq(record->type, VALUE_MAP);
    ck_assert_uint_eq(record->as.map.count, 7);
    ck_assert_str_eq(record->as.map.entries[0].key.ptr, "message");
    ck_assert_str_eq(record_field(record, "message")->as.string.ptr, "hello");
    ck_assert_int_eq(record_field(record, "level")->type, VALUE_INT);
    ck_assert_int_eq(record_field(record, "level")->as.integer, 3);
    ck_assert_int_eq(record_field(record, "ratio")->type, VALUE_FLOAT);
    ck_assert_double_eq(record_field(record, "ratio")->as.real, 0.5);
    ck_assert_int_eq(record_field(record, "ok")->type, VALUE_BOOL);
    ck_assert(record_field(record, "ok")->as.boolean);
    ck_assert_int_eq(record_field(record, "none")->type, VALUE_NULL);
    ck_assert_int_eq(record_field(record, "quoted")->type, VALUE_STRING);
    ck_assert_str_eq(record_field(record, "quoted")->as.string.ptr, "42");
    const struct value *tags = record_field(record, "tags");
    ck_assert_int_eq(tags->type, VALUE_ARRAY);
    ck_assert_uint_eq(tags->as.array.count, 2);
    ck_assert_str_eq(tags->as.array.items[0].as.string.ptr, "a");
    ck_assert_int_eq(tags->as.array.items[1].as.integer, 1);

    const struct instance_config *second = &config.inputs[1];
    ck_assert_uint_eq(second->index, 1);
    ck_assert_str_eq(second->common.alias, "second");
    ck_assert_str_eq(second->common.tag, "dummy");
    ck_assert_int_eq(second->common.buffer_limit, 8 << 20);
    ck_assert_int_eq(*(const int64_t *)plugin_option(second, "rate"), 1);
    ck_assert_int_eq(*(const int64_t *)plugin_option(second, "count"), 0);
    const struct value *default_record = plugin_option(second, "record");
    ck_assert_uint_eq(default_record->as.map.count, 1);
    ck_assert_str_eq(record_field(default_record, "message")->as.string.ptr, "dummy");

    ck_assert_uint_eq(config.filter_count, 0);

    ck_assert_uint_eq(config.output_count, 2);
    const struct instance_config *file = &config.outputs[0];
    ck_assert_ptr_eq(file->plugin, plugin_find("file", PLUGIN_OUTPUT));
    ck_assert_uint_eq(file->index, 0);
    ck_assert_uint_eq(file->node->line, 20);
    ck_assert_str_eq(file->common.name, "file");
    ck_assert_str_eq(file->common.alias, "file.0");
    ck_assert_str_eq(file->common.match, "app.*");
    ck_assert_ptr_null(file->common.tag);
    ck_assert_int_eq(file->common.retry_min_ms, 500);
    ck_assert_int_eq(file->common.retry_max_ms, 120000);
    ck_assert_int_eq(file->common.retry_limit, 5);
    ck_assert_str_eq(*(char *const *)plugin_option(file, "path"), "/tmp/out.jsonl");

    const struct instance_config *out = &config.outputs[1];
    ck_assert_ptr_eq(out->plugin, plugin_find("stdout", PLUGIN_OUTPUT));
    ck_assert_uint_eq(out->index, 1);
    ck_assert_str_eq(out->common.alias, "stdout.1");
    ck_assert_str_eq(out->common.match, "*");
    ck_assert_int_eq(out->common.retry_min_ms, 1000);
    ck_assert_int_eq(out->common.retry_max_ms, 60000);
    ck_assert_int_eq(out->common.retry_limit, -1);
}
END_TEST

START_TEST(test_service_defaults)
{
    ck_assert_int_eq(load(PIPELINE), 0);
    ck_assert_str_eq(config.service.log_level, "info");
    ck_assert_str_eq(config.service.state_dir, "/var/lib/skiff");
    ck_assert_int_eq(config.service.flush_interval_ms, 1000);
    ck_assert_int_eq(config.service.grace_ms, 5000);
    ck_assert_ptr_null(config.service.http.listen);
    ck_assert_str_eq(config.outputs[0].common.name, "null");
    ck_assert_str_eq(config.outputs[0].common.alias, "null.0");
}
END_TEST

START_TEST(test_load_file)
{
    char path[] = "/tmp/skiff-config-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs("service:\n  grace: 0\n" PIPELINE, f);
    fclose(f);

    ck_assert_int_eq(config_load(path, &config, &diags), 0);
    ck_assert_str_eq(config.path, path);
    ck_assert_int_eq(config.service.grace_ms, 0);
    config_free(&config);

    f = fopen(path, "w");
    fputs(PIPELINE "  filter: []\n", f);
    fclose(f);
    ck_assert_int_eq(config_load(path, &config, &diags), -1);
    ck_assert_uint_eq(diags.count, 1);
    char *expected = NULL;
    ck_assert_int_gt(asprintf(&expected,
                              "%s:4:3: pipeline: unknown key 'filter' (did you mean 'filters'?)",
                              path),
                     0);
    ck_assert_str_eq(diags.messages[0], expected);
    free(expected);
    unlink(path);
}
END_TEST

START_TEST(test_missing_file)
{
    ck_assert_int_eq(config_load("/nonexistent/skiff.yaml", &config, &diags), -1);
    EXPECT_DIAGS("/nonexistent/skiff.yaml: cannot read config: No such file or directory");
    ck_assert_ptr_null(config.path);
    diag_free(&diags);

    ck_assert_int_eq(config_load("/tmp", &config, &diags), -1);
    EXPECT_DIAGS("/tmp: cannot read config: Is a directory");
}
END_TEST

START_TEST(test_unknown_option)
{
    expect_failure("pipeline:\n"
                   "  inputs: [{name: dummy, tag: test}]\n"
                   "  outputs:\n"
                   "    - name: file\n"
                   "      match: '*'\n"
                   "      pth: /tmp/x\n");
    EXPECT_DIAGS("skiff.yaml:6:7: outputs[0] (file): unknown option 'pth' (did you mean 'path'?)",
                 "skiff.yaml:4:7: outputs[0] (file): missing required option 'path'");
}
END_TEST

START_TEST(test_value_errors)
{
    expect_failure("service:\n"
                   "  log_level: verbose\n"
                   "  grace: 5x\n"
                   "pipeline:\n"
                   "  inputs:\n"
                   "    - name: dummy\n"
                   "      rate: fast\n"
                   "      count: -5\n"
                   "      buffer_limit: 32XB\n"
                   "      record: [a, b]\n"
                   "    - {name: dummy, rate: -5}\n"
                   "  outputs: [{name: null, match: '*', retry_limit: 99999999999999999999}]\n");
    EXPECT_DIAGS("skiff.yaml:2:14: service: option 'log_level' must be one of error, warn, info, "
                 "debug; got 'verbose'",
                 "skiff.yaml:3:10: service: option 'grace': invalid duration '5x' (use a number "
                 "with a unit: ms, s, m, h, d)",
                 "skiff.yaml:7:13: inputs[0] (dummy): option 'rate' must be an integer, got 'fast'",
                 "skiff.yaml:8:14: inputs[0] (dummy): option 'count' must be between 0 and "
                 "9223372036854775807, got -5",
                 "skiff.yaml:9:21: inputs[0] (dummy): option 'buffer_limit': invalid size '32XB' "
                 "(use a number with a unit: B, KB, MB, GB, KiB, MiB, GiB, TiB)",
                 "skiff.yaml:10:15: inputs[0] (dummy): option 'record' must be a map, got a "
                 "sequence",
                 "skiff.yaml:11:27: inputs[1] (dummy): option 'rate' must be between 0 and "
                 "100000000, got -5",
                 "skiff.yaml:12:51: outputs[0] (null): option 'retry_limit': "
                 "'99999999999999999999' is out of range");
}
END_TEST

START_TEST(test_service_section_errors)
{
    expect_failure("service:\n"
                   "  flush_interval: 1ms\n"
                   "  http: {listn: ':2020'}\n"
                   "  colour: blue\n" PIPELINE);
    EXPECT_DIAGS("skiff.yaml:2:19: service: option 'flush_interval' must be between 10ms and 1h, "
                 "got 1ms",
                 "skiff.yaml:3:10: service.http: unknown option 'listn' (did you mean 'listen'?)",
                 "skiff.yaml:4:3: service: unknown option 'colour'");
    diag_free(&diags);

    expect_failure("service: [a]\n" PIPELINE);
    EXPECT_DIAGS("skiff.yaml:1:10: service: must be a map, got a sequence");
}
END_TEST

/* A listen address that cannot be bound is a config error with its line. */
START_TEST(test_http_listen)
{
    static const char *const good[] = {"0.0.0.0:2020", ":2020",          "127.0.0.1:0",
                                       "[::1]:2020",   "localhost:2020", "skiff-0.local:65535"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        char *yaml = NULL;
        ck_assert_int_ge(asprintf(&yaml, "service: {http: {listen: '%s'}}\n" PIPELINE, good[i]), 0);
        ck_assert_msg(load(yaml) == 0, "%s refused", good[i]);
        ck_assert_str_eq(config.service.http.listen, good[i]);
        config_free(&config);
        free(yaml);
    }
    expect_failure("service:\n  http: {listen: '2020'}\n" PIPELINE);
    EXPECT_DIAGS("skiff.yaml:2:18: service: option 'http.listen': '2020' is not host:port, "
                 "[ipv6]:port or :port with a port of 0 to 65535 (e.g. 0.0.0.0:2020, "
                 "127.0.0.1:2020, [::1]:2020)");
    diag_free(&diags);
    static const char *const bad[] = {"127.0.0.1:99999", "999.1.1.1:2020", "[::g]:2020",
                                      "::1:2020",        "host_name:2020", "127.0.0.1:"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *yaml = NULL;
        ck_assert_int_ge(asprintf(&yaml, "service: {http: {listen: '%s'}}\n" PIPELINE, bad[i]), 0);
        ck_assert_msg(load(yaml) == -1, "%s accepted", bad[i]);
        ck_assert_uint_eq(diags.count, 1);
        ck_assert_ptr_nonnull(strstr(diags.messages[0], "http.listen"));
        diag_free(&diags);
        free(yaml);
    }
    expect_failure("service: {http: {listen: '999.1.1.1:2020'}}\n" PIPELINE);
    EXPECT_DIAGS("skiff.yaml:1:26: service: option 'http.listen': '999.1.1.1:2020': the host "
                 "'999.1.1.1' is not an IPv4 address");
}
END_TEST

START_TEST(test_unknown_keys)
{
    expect_failure("servce: {}\n"
                   "pipeline:\n"
                   "  inputs: [{name: dummy}]\n"
                   "  output: []\n"
                   "  outputs: [{name: null, match: '*'}]\n"
                   "extra: 1\n");
    EXPECT_DIAGS("skiff.yaml:1:1: unknown key 'servce' (did you mean 'service'?)",
                 "skiff.yaml:6:1: unknown key 'extra'",
                 "skiff.yaml:4:3: pipeline: unknown key 'output' (did you mean 'outputs'?)");
}
END_TEST

START_TEST(test_pipeline_shape)
{
    expect_failure("service: {}\n");
    EXPECT_DIAGS("skiff.yaml:1:1: missing 'pipeline' (with 'inputs' and 'outputs')");
    diag_free(&diags);

    expect_failure("pipeline: [inputs]\n");
    EXPECT_DIAGS("skiff.yaml:1:11: 'pipeline' must be a map, got a sequence");
    diag_free(&diags);

    expect_failure("pipeline:\n  inputs: []\n  filters: {}\n");
    EXPECT_DIAGS("skiff.yaml:2:11: pipeline: 'inputs' must list at least one input",
                 "skiff.yaml:3:12: pipeline: 'filters' must be a sequence, got a map",
                 "skiff.yaml:2:3: pipeline: missing 'outputs' (at least one output)");
    diag_free(&diags);

    expect_failure("pipeline:\n  inputs:\n  outputs: file\n");
    EXPECT_DIAGS("skiff.yaml:2:10: pipeline: missing 'inputs' (at least one input)",
                 "skiff.yaml:3:12: pipeline: 'outputs' must be a sequence, got a scalar");
}
END_TEST

START_TEST(test_item_errors)
{
    expect_failure("pipeline:\n"
                   "  inputs:\n"
                   "    - dummy\n"
                   "    - {tag: x}\n"
                   "    - {name: [dummy]}\n"
                   "    - {name: dumy}\n"
                   "    - {name: kafka}\n"
                   "    - {name: file}\n"
                   "  filters: [{name: grpe, match: '*'}]\n"
                   "  outputs: [{name: stdot, match: '*'}]\n");
    EXPECT_DIAGS("skiff.yaml:3:7: inputs[0]: must be a map with a 'name', got a scalar",
                 "skiff.yaml:4:7: inputs[1]: missing required option 'name' (the input plugin to "
                 "use)",
                 "skiff.yaml:5:14: inputs[2]: option 'name' must be a plugin name, got a sequence",
                 "skiff.yaml:6:14: inputs[3]: unknown input plugin 'dumy' (did you mean "
                 "'dummy'?); see skiff --list-plugins",
                 "skiff.yaml:7:14: inputs[4]: unknown input plugin 'kafka'; see skiff "
                 "--list-plugins",
                 "skiff.yaml:8:14: inputs[5]: plugin 'file' is for outputs, not inputs",
                 "skiff.yaml:9:20: filters[0]: unknown filter plugin 'grpe' (did you mean "
                 "'grep'?); see skiff --list-plugins",
                 "skiff.yaml:10:20: outputs[0]: unknown output plugin 'stdot' (did you mean "
                 "'stdout'?); see skiff --list-plugins");
}
END_TEST

START_TEST(test_too_many_outputs)
{
    char yaml[8192] = "pipeline:\n  inputs: [{name: dummy}]\n  outputs:\n";
    for (int i = 0; i < 65; i++)
        strcat(yaml, "    - {name: null, match: '*'}\n");
    expect_failure(yaml);
    EXPECT_DIAGS("skiff.yaml:4:5: pipeline: at most 64 outputs are allowed, got 65");

    diag_free(&diags);
    *strrchr(yaml, '-') = '#';
    ck_assert_int_eq(load(yaml), 0);
    ck_assert_uint_eq(config.output_count, 64);
    ck_assert_str_eq(config.outputs[63].common.alias, "null.63");
}
END_TEST

START_TEST(test_aliases)
{
    expect_failure("pipeline:\n"
                   "  inputs:\n"
                   "    - {name: dummy, alias: null.0}\n"
                   "    - {name: dummy, alias: 'my input'}\n"
                   "    - {name: dummy, alias: dummy.3}\n"
                   "    - {name: dummy}\n"
                   "  outputs: [{name: null, match: '*'}]\n");
    EXPECT_DIAGS("skiff.yaml:4:28: inputs[1] (dummy): alias 'my input' may only contain letters, "
                 "digits, '_', '.' and '-'",
                 "skiff.yaml:6:7: inputs[3] (dummy): alias 'dummy.3' is already used by "
                 "inputs[2] (dummy)",
                 "skiff.yaml:7:13: outputs[0] (null): alias 'null.0' is already used by "
                 "inputs[0] (dummy)");
}
END_TEST

START_TEST(test_retry_order)
{
    expect_failure("pipeline:\n"
                   "  inputs: [{name: dummy}]\n"
                   "  outputs:\n"
                   "    - {name: null, match: '*', retry_min: 2m}\n"
                   "    - {name: null, match: '*', retry_min: 5s, retry_max: 1s}\n"
                   "    - {name: null, match: '*', retry_max: 1ms}\n");
    EXPECT_DIAGS("skiff.yaml:4:43: outputs[0] (null): retry_min (2m) must not be greater than "
                 "retry_max (1m)",
                 "skiff.yaml:5:43: outputs[1] (null): retry_min (5s) must not be greater than "
                 "retry_max (1s)",
                 "skiff.yaml:6:7: outputs[2] (null): retry_min (1s) must not be greater than "
                 "retry_max (1ms)");
}
END_TEST

START_TEST(test_match_reach)
{
    ck_assert_int_eq(load("pipeline:\n"
                          "  inputs:\n"
                          "    - {name: dummy, tag: test}\n"
                          "    - {name: dummy, tag: 'app.*'}\n"
                          "  outputs:\n"
                          "    - {name: null, match: app.web}\n"
                          "    - {name: null, match: '*.web'}\n"
                          "    - {name: null, match: test}\n"),
                     0);
    config_free(&config);

    expect_failure("pipeline:\n"
                   "  inputs:\n"
                   "    - {name: dummy, tag: test}\n"
                   "    - {name: dummy, tag: 'app.*'}\n"
                   "  outputs:\n"
                   "    - {name: file, match: 'kube.*', path: /tmp/x}\n"
                   "    - {name: null, match: tests}\n");
    EXPECT_DIAGS("skiff.yaml:6:27: outputs[0] (file): match 'kube.*' reaches no input (input tags: "
                 "'test', 'app.*')",
                 "skiff.yaml:7:27: outputs[1] (null): match 'tests' reaches no input (input tags: "
                 "'test', 'app.*')");
}
END_TEST

/* A broken input does not also make every output "unreachable". */
START_TEST(test_match_reach_needs_inputs)
{
    expect_failure("pipeline:\n"
                   "  inputs: [{name: dumm}]\n"
                   "  outputs: [{name: null, match: 'kube.*'}]\n");
    EXPECT_DIAGS("skiff.yaml:2:19: inputs[0]: unknown input plugin 'dumm' (did you mean "
                 "'dummy'?); see skiff --list-plugins");
}
END_TEST

START_TEST(test_all_errors_at_once)
{
    expect_failure("service:\n"
                   "  log_level: loud\n"
                   "  grace: 11m\n"
                   "pipeline:\n"
                   "  inputs:\n"
                   "    - name: dummy\n"
                   "      tag: app\n"
                   "      rat: 10\n"
                   "      buffer_limit: 1KiB\n"
                   "  outputs:\n"
                   "    - name: file\n"
                   "      match: db\n"
                   "    - name: nul\n"
                   "      match: '*'\n");
    ck_assert_uint_eq(diags.count, 7);
    EXPECT_DIAGS("skiff.yaml:2:14: service: option 'log_level' must be one of error, warn, info, "
                 "debug; got 'loud'",
                 "skiff.yaml:3:10: service: option 'grace' must be between 0 and 10m, got 11m",
                 "skiff.yaml:8:7: inputs[0] (dummy): unknown option 'rat' (did you mean "
                 "'rate'?)",
                 "skiff.yaml:9:21: inputs[0] (dummy): option 'buffer_limit' must be between "
                 "64KiB and 64GiB, got 1KiB",
                 "skiff.yaml:11:7: outputs[0] (file): missing required option 'path'",
                 "skiff.yaml:13:13: outputs[1]: unknown output plugin 'nul' (did you mean "
                 "'null'?); see skiff --list-plugins",
                 "skiff.yaml:12:14: outputs[0] (file): match 'db' reaches no input (input tags: "
                 "'app')");
}
END_TEST

Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("load");
    tcase_add_checked_fixture(tc, config_fixture_setup, config_fixture_teardown);
    tcase_add_test(tc, test_full_config);
    tcase_add_test(tc, test_service_defaults);
    tcase_add_test(tc, test_load_file);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_unknown_option);
    tcase_add_test(tc, test_value_errors);
    tcase_add_test(tc, test_service_section_errors);
    tcase_add_test(tc, test_http_listen);
    tcase_add_test(tc, test_unknown_keys);
    tcase_add_test(tc, test_pipeline_shape);
    tcase_add_test(tc, test_item_errors);
    tcase_add_test(tc, test_too_many_outputs);
    tcase_add_test(tc, test_aliases);
    tcase_add_test(tc, test_retry_order);
    tcase_add_test(tc, test_match_reach);
    tcase_add_test(tc, test_match_reach_needs_inputs);
    tcase_add_test(tc, test_all_errors_at_once);
    suite_add_tcase(s, tc);
    return s;
}
