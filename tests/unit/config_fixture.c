/* The config loader's test fixture (config_fixture.h). */
#include "config_fixture.h"

#include "suites.h"

#include <string.h>

struct config config;
struct diag_list diags;

void config_fixture_setup(void)
{
    memset(&config, 0, sizeof config);
    memset(&diags, 0, sizeof diags);
}

void config_fixture_teardown(void)
{
    config_free(&config);
    diag_free(&diags);
}

int load(const char *yaml)
{
    return config_load_string("skiff.yaml", yaml, &config, &diags);
}

void expect_diags(const char *const *expected)
{
    size_t n = 0;
    for (; expected[n]; n++) {
        ck_assert_msg(n < diags.count, "missing message: %s", expected[n]);
        ck_assert_str_eq(diags.messages[n], expected[n]);
    }
    ck_assert_uint_eq(diags.count, n);
}

void expect_failure(const char *yaml)
{
    ck_assert_int_eq(load(yaml), -1);
    ck_assert_ptr_null(config.root);
    ck_assert_ptr_null(config.inputs);
    ck_assert_ptr_null(config.outputs);
    ck_assert_ptr_null(config.service.log_level);
}

const void *plugin_option(const struct instance_config *inst, const char *name)
{
    for (const struct option_spec *spec = inst->plugin->options; spec->name; spec++) {
        if (strcmp(spec->name, name) == 0)
            return (const char *)inst->options + spec->offset;
    }
    ck_abort_msg("plugin %s has no option %s", inst->plugin->name, name);
    return NULL;
}

const struct value *record_field(const struct value *record, const char *key)
{
    const struct value *v = value_map_get(&record->as.map, key, strlen(key));
    ck_assert_msg(v != NULL, "record has no field '%s'", key);
    return v;
}
