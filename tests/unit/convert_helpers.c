/* Helpers for the unit tests of `skiff --convert` (see convert_helpers.h). */
#include "convert_helpers.h"

#include "config.h"

#include <check.h>
#include <string.h>

void convert_ok(struct convert_result *r, const char *text, bool yaml)
{
    int rc = convert_text(yaml ? "fb.yaml" : "fb.conf", text, yaml, r);
    ck_assert_msg(rc == 0, "not converted: %s", r->errors.count ? r->errors.messages[0] : "");
    ck_assert_ptr_nonnull(r->yaml);
}

void assert_yaml_has(const struct convert_result *r, const char *snippet)
{
    ck_assert_msg(strstr(r->yaml, snippet), "the YAML lacks:\n%s\n--- YAML:\n%s", snippet, r->yaml);
}

void assert_yaml_lacks(const struct convert_result *r, const char *snippet)
{
    ck_assert_msg(!strstr(r->yaml, snippet), "the YAML has:\n%s\n--- YAML:\n%s", snippet, r->yaml);
}

void assert_note(const struct convert_result *r, const char *snippet)
{
    for (size_t i = 0; i < r->notes.count; i++) {
        if (strstr(r->notes.messages[i], snippet))
            return;
    }
    ck_abort_msg("no note holds '%s' (%zu notes; YAML:\n%s)", snippet, r->notes.count, r->yaml);
}

void assert_error_has(const struct convert_result *r, const char *snippet)
{
    for (size_t i = 0; i < r->errors.count; i++) {
        if (strstr(r->errors.messages[i], snippet))
            return;
    }
    ck_abort_msg("no error holds '%s' (%zu errors)", snippet, r->errors.count);
}

void assert_loads(const struct convert_result *r)
{
    struct config config;
    struct diag_list diags = {0};
    int rc = config_load_string("converted", r->yaml, &config, &diags);
    ck_assert_msg(rc == 0, "skiff refuses the YAML: %s\n--- YAML:\n%s",
                  diags.count ? diags.messages[0] : "", r->yaml);
    config_free(&config);
    diag_free(&diags);
}
