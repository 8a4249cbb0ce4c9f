/* The config loader's test fixture, shared by test_config.c and
 * test_config_env.c (see config_fixture.c): one config and its diagnostics,
 * reset by config_fixture_setup and freed by config_fixture_teardown. */
#ifndef SKIFF_TEST_CONFIG_FIXTURE_H
#define SKIFF_TEST_CONFIG_FIXTURE_H

#include "cfg_node.h"
#include "config.h"

extern struct config config;
extern struct diag_list diags;

void config_fixture_setup(void);
void config_fixture_teardown(void);
/* Loads `yaml` as the file "skiff.yaml" into `config`. */
int load(const char *yaml);

#define EXPECT_DIAGS(...) expect_diags((const char *const[]){__VA_ARGS__, NULL})
/* The diagnostics are exactly `expected` (NULL-terminated), in order. */
void expect_diags(const char *const *expected);
/* Loads a config that must fail, and checks that nothing is left behind. */
void expect_failure(const char *yaml);

/* The pipeline lines shared by tests that are about something else. */
#define PIPELINE                                                                                   \
    "pipeline:\n"                                                                                  \
    "  inputs: [{name: dummy, tag: test}]\n"                                                       \
    "  outputs: [{name: null, match: '*'}]\n"

/* A plugin option's field, found through the plugin's table so that the tests
 * do not depend on the plugin's private struct. */
const void *plugin_option(const struct instance_config *inst, const char *name);
/* The field `key` of a map value; fails the test when it is absent. */
const struct value *record_field(const struct value *record, const char *key);

#endif
