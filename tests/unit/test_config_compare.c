/* Comparing two configurations for a reload (config_compare.c): options of
 * every type, instances, inputs and the parsers they name, YAML trees, and
 * the diff: which inputs keep running, what needs a restart, and the summary
 * a reload logs and answers. */
#include "suites.h"

#include "cfg_node.h"
#include "config.h"
#include "config_compare.h"

#include <stdio.h>
#include <string.h>

static struct config old_config, new_config;
static struct config_diff diff;

static void setup(void)
{
    memset(&old_config, 0, sizeof old_config);
    memset(&new_config, 0, sizeof new_config);
    memset(&diff, 0, sizeof diff);
}

static void teardown(void)
{
    config_diff_free(&diff);
    config_free(&old_config);
    config_free(&new_config);
}

static void load(struct config *config, const char *yaml)
{
    struct diag_list diags = {0};
    int rc = config_load_string("skiff.yaml", yaml, config, &diags);
    ck_assert_msg(rc == 0, "config does not load: %s", diags.count ? diags.messages[0] : "?");
    diag_free(&diags);
}

static void load_both(const char *before, const char *after)
{
    load(&old_config, before);
    load(&new_config, after);
    config_diff(&old_config, &new_config, &diff);
}

#define OUTPUTS "  outputs: [{name: file, alias: out, match: '*', path: /tmp/a.log}]\n"

START_TEST(test_options_of_every_type)
{
    /* string, int, size, map (dummy); list, duration, bool (tail); regex
     * (grep); section, list (elasticsearch). */
    static const char base[] =
        "pipeline:\n"
        "  inputs:\n"
        "    - {name: dummy, tag: a, rate: 5, buffer_limit: 1MiB, record: {m: x, n: 1}}\n"
        "    - {name: tail, tag: b, path: [/a, /b], refresh_interval: 1s, read_from_head: true}\n"
        "  filters: [{name: grep, match: '*', key: m, regex: '^x'}]\n"
        "  outputs:\n"
        "    - {name: elasticsearch, match: '*', hosts: [http://e:9200], tls: {verify: true}}\n";
    static const char *const changes[][2] = {
        {"rate: 5", "rate: 6"},
        {"buffer_limit: 1MiB", "buffer_limit: 2MiB"},
        {"{m: x, n: 1}", "{m: x, n: 2}"},
        {"{m: x, n: 1}", "{n: 1, m: x}"}, /* a record's fields are in order */
        {"tag: a", "tag: c"},
        {"[/a, /b]", "[/b, /a]"},
        {"refresh_interval: 1s", "refresh_interval: 2s"},
        {"read_from_head: true", "read_from_head: false"},
        {"'^x'", "'^y'"},
        {"verify: true", "verify: false"},
        {"[http://e:9200]", "[http://e:9200, http://f:9200]"},
    };
    load(&old_config, base);
    for (size_t c = 0; c < sizeof changes / sizeof changes[0]; c++) {
        char yaml[1024];
        const char *at = strstr(base, changes[c][0]);
        ck_assert_ptr_nonnull(at);
        snprintf(yaml, sizeof yaml, "%.*s%s%s", (int)(at - base), base, changes[c][1],
                 at + strlen(changes[c][0]));
        load(&new_config, yaml);
        bool equal = config_instance_equal(&old_config.inputs[0], &new_config.inputs[0]) &&
                     config_instance_equal(&old_config.inputs[1], &new_config.inputs[1]) &&
                     config_instance_equal(&old_config.filters[0], &new_config.filters[0]) &&
                     config_instance_equal(&old_config.outputs[0], &new_config.outputs[0]);
        ck_assert_msg(!equal, "'%s' -> '%s' went unnoticed", changes[c][0], changes[c][1]);
        config_free(&new_config);
    }
    load(&new_config, base);
    for (size_t i = 0; i < 2; i++)
        ck_assert(config_instance_equal(&old_config.inputs[i], &new_config.inputs[i]));
    ck_assert(config_instance_equal(&old_config.filters[0], &new_config.filters[0]));
    ck_assert(config_instance_equal(&old_config.outputs[0], &new_config.outputs[0]));
}
END_TEST

START_TEST(test_same_value_written_otherwise)
{
    /* Units, key order and defaults written out do not make a change. */
    load(&old_config, "pipeline:\n"
                      "  inputs: [{name: tail, tag: b, path: /a, refresh_interval: 1s}]\n" OUTPUTS);
    load(&new_config, "pipeline:\n"
                      "  inputs: [{refresh_interval: 1000ms, path: [/a], name: tail, tag: b,\n"
                      "            alias: tail.0, read_from_head: false}]\n" OUTPUTS);
    ck_assert(config_instance_equal(&old_config.inputs[0], &new_config.inputs[0]));
}
END_TEST

START_TEST(test_plugin_and_alias)
{
    load(&old_config, "pipeline:\n"
                      "  inputs: [{name: dummy, tag: a}, {name: dummy, tag: a}]\n" OUTPUTS);
    load(&new_config, "pipeline:\n"
                      "  inputs: [{name: dummy, tag: a, alias: other}, {name: tail, tag: a, "
                      "path: /x, alias: dummy.1}]\n" OUTPUTS);
    /* The default alias holds the position: dummy.0 is not `other`. */
    ck_assert(!config_instance_equal(&old_config.inputs[0], &new_config.inputs[0]));
    ck_assert(!config_instance_equal(&old_config.inputs[1], &new_config.inputs[1]));
}
END_TEST

#define PARSERS(regex)                                                                             \
    "parsers: [{name: mine, format: regex, regex: '" regex "'}]\n"                                 \
    "pipeline:\n"                                                                                  \
    "  inputs:\n"                                                                                  \
    "    - {name: tail, alias: t, tag: t, path: /a, parser: mine}\n"                               \
    "    - {name: tail, alias: u, tag: u, path: /b, parser: json}\n"                               \
    "    - {name: tail, alias: v, tag: v, path: /c}\n" OUTPUTS

START_TEST(test_input_follows_its_parser)
{
    load_both(PARSERS("^(?<m>.*)$"), PARSERS("^(?<msg>.*)$"));
    ck_assert(config_instance_equal(&old_config.inputs[0], &new_config.inputs[0]));
    ck_assert(
        !config_input_same(&old_config, &old_config.inputs[0], &new_config, &new_config.inputs[0]));
    ck_assert(
        config_input_same(&old_config, &old_config.inputs[1], &new_config, &new_config.inputs[1]));
    ck_assert(
        config_input_same(&old_config, &old_config.inputs[2], &new_config, &new_config.inputs[2]));
    ck_assert_int_eq(diff.input_from[0], -1);
    ck_assert_int_eq(diff.input_from[1], 1);
    ck_assert_int_eq(diff.input_from[2], 2);
    ck_assert_ptr_null(diff.refused);
    ck_assert_str_eq(buf_cstr(&diff.summary), "inputs: t changed; parsers: mine changed");
}
END_TEST

START_TEST(test_inputs_matched_by_alias)
{
    load_both("pipeline:\n"
              "  inputs:\n"
              "    - {name: dummy, alias: a, tag: a}\n"
              "    - {name: dummy, alias: b, tag: b}\n"
              "    - {name: dummy, alias: c, tag: c}\n" OUTPUTS,
              "pipeline:\n"
              "  inputs:\n"
              "    - {name: dummy, alias: d, tag: d}\n"
              "    - {name: dummy, alias: c, tag: c}\n"
              "    - {name: dummy, alias: a, tag: a, rate: 3}\n" OUTPUTS);
    ck_assert_uint_eq(diff.input_count, 3);
    ck_assert_int_eq(diff.input_from[0], -1); /* added */
    ck_assert_int_eq(diff.input_from[1], 2);  /* moved: kept */
    ck_assert_int_eq(diff.input_from[2], -1); /* changed */
    ck_assert_ptr_null(diff.refused);
    ck_assert_str_eq(buf_cstr(&diff.summary), "inputs: d added, a changed, b removed");
}
END_TEST

#define SERVICE(lines)                                                                             \
    "service:\n" lines "pipeline:\n"                                                               \
    "  inputs: [{name: dummy, tag: a}]\n" OUTPUTS

START_TEST(test_service_live_and_restart)
{
    load_both(SERVICE("  log_level: info\n  grace: 5s\n"),
              SERVICE("  log_level: debug\n  grace: 2s\n  flush_interval: 2s\n"
                      "  http: {listen: 127.0.0.1:2020}\n  storage: {max_size: 2GiB, sync: full}\n"
                      "  dead_letter: {max_size: 1MiB}\n"));
    ck_assert_ptr_null(diff.refused);
    ck_assert_str_eq(buf_cstr(&diff.summary),
                     "service: log_level, flush_interval, grace, http.listen, storage.max_size, "
                     "storage.sync, dead_letter.max_size");
    config_diff_free(&diff);
    config_free(&new_config);

    load(&new_config, SERVICE("  state_dir: /elsewhere\n  storage: {type: filesystem}\n"));
    config_diff(&old_config, &new_config, &diff);
    ck_assert_str_eq(diff.refused, "changing service.state_dir needs a restart");
    ck_assert_str_eq(buf_cstr(&diff.summary), "service: state_dir, storage.type");
    config_diff_free(&diff);
    config_free(&new_config);

    load(&new_config, SERVICE("  storage: {type: filesystem}\n"));
    config_diff(&old_config, &new_config, &diff);
    ck_assert_str_eq(diff.refused, "changing service.storage.type needs a restart");
}
END_TEST

START_TEST(test_filters_outputs_sections)
{
    load_both("multiline_parsers: [{name: m, rules: [{state: start_state, regex: '^a', "
              "next_state: cont}, {state: cont, regex: '^ ', next_state: cont}]}]\n"
              "pipeline:\n"
              "  inputs: [{name: dummy, tag: a}]\n"
              "  filters:\n"
              "    - {name: grep, alias: g, match: '*', key: m, regex: x}\n"
              "    - {name: grep, alias: h, match: '*', key: m, regex: x}\n"
              "  outputs:\n"
              "    - {name: file, alias: out, match: '*', path: /tmp/a.log}\n"
              "    - {name: null, alias: gone, match: '*'}\n",
              "multiline_parsers: [{name: m, rules: [{state: start_state, regex: '^b', "
              "next_state: cont}, {state: cont, regex: '^ ', next_state: cont}]}]\n"
              "pipeline:\n"
              "  inputs: [{name: dummy, tag: a}]\n"
              "  filters:\n"
              "    - {name: grep, alias: h, match: '*', key: m, regex: x}\n"
              "    - {name: grep, alias: g, match: '*', key: m, regex: x}\n"
              "  outputs:\n"
              "    - {name: file, alias: out, match: '*', path: /tmp/b.log}\n"
              "    - {name: null, alias: new, match: '*'}\n");
    ck_assert_ptr_null(diff.refused);
    ck_assert_int_eq(diff.input_from[0], 0);
    ck_assert_str_eq(buf_cstr(&diff.summary), "sections: multiline_parsers; filters: h moved, g "
                                              "moved; outputs: out changed, new added, gone "
                                              "removed");
}
END_TEST

START_TEST(test_nothing_changed)
{
    load_both(SERVICE("  log_level: info\n"), SERVICE("  log_level: info\n"));
    ck_assert_ptr_null(diff.refused);
    ck_assert_str_eq(buf_cstr(&diff.summary), "nothing changed");
    ck_assert_int_eq(diff.input_from[0], 0);
}
END_TEST

START_TEST(test_yaml_trees)
{
    load_both("service: {log_level: info, grace: 1s}\n"
              "pipeline:\n  inputs: [{name: dummy, tag: a}]\n" OUTPUTS,
              "service: {grace: 1s, log_level: info}\n"
              "pipeline:\n  inputs: [{name: dummy, tag: a}]\n" OUTPUTS);
    ck_assert(cfg_node_equal(cfg_map_get(old_config.root, "service"),
                             cfg_map_get(new_config.root, "service")));
    ck_assert(!cfg_node_equal(cfg_map_get(old_config.root, "service"),
                              cfg_map_get(new_config.root, "pipeline")));
    ck_assert(cfg_node_equal(NULL, NULL));
    ck_assert(!cfg_node_equal(cfg_map_get(old_config.root, "service"), NULL));
    config_diff_free(&diff);
    config_free(&new_config);
    /* "1" quoted is a string, not the number a plain 1 may be. */
    load(&new_config, "service: {log_level: info, grace: '1s'}\n"
                      "pipeline:\n  inputs: [{name: dummy, tag: a}]\n" OUTPUTS);
    ck_assert(!cfg_node_equal(cfg_map_get(old_config.root, "service"),
                              cfg_map_get(new_config.root, "service")));
}
END_TEST

Suite *config_compare_suite(void)
{
    Suite *s = suite_create("config_compare");
    TCase *tc = tcase_create("compare");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_options_of_every_type);
    tcase_add_test(tc, test_same_value_written_otherwise);
    tcase_add_test(tc, test_plugin_and_alias);
    tcase_add_test(tc, test_input_follows_its_parser);
    tcase_add_test(tc, test_inputs_matched_by_alias);
    tcase_add_test(tc, test_service_live_and_restart);
    tcase_add_test(tc, test_filters_outputs_sections);
    tcase_add_test(tc, test_nothing_changed);
    tcase_add_test(tc, test_yaml_trees);
    suite_add_tcase(s, tc);
    return s;
}
