/* The redact filter's option table and checks: see redact_options.h. */
#include "redact_options.h"

#include "cfg_node.h"
#include "diag.h"
#include "record.h"
#include "redact_hmac.h"
#include "redact_marker.h"
#include "xalloc.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char *const replace_choices[] = {"mask", "hash", NULL};

const struct option_spec redact_options_table[] = {
    {.name = "detectors",
     .type = OPT_LIST,
     .default_value = "[card, bearer, jwt, password, aws, private_key, iban]",
     .offset = offsetof(struct redact_options, detectors),
     .description = "built-in detectors to run (`[]`: none): `card`, `bearer`, `jwt`, "
                    "`password`, `aws`, `private_key`, `iban`"},
    {.name = "rules",
     .type = OPT_MAP,
     .offset = offsetof(struct redact_options, rules),
     .description = "your own detectors, `name: regex` (PCRE2); the match is replaced, or only "
                    "its group named `value` when it has one"},
    {.name = "fields",
     .type = OPT_LIST,
     .offset = offsetof(struct redact_options, fields),
     .description = "field paths to check (`log`, `request.headers`); unset: every string value "
                    "of the record at any depth, pod metadata included"},
    {.name = "replace",
     .type = OPT_STRING,
     .default_value = "mask",
     .choices = replace_choices,
     .offset = offsetof(struct redact_options, replace),
     .description = "`mask`: write `mask`; `hash`: write `[detector:HMAC-SHA256 hex]`, keyed "
                    "with `hash_key_file`"},
    {.name = "mask",
     .type = OPT_STRING,
     .default_value = "[REDACTED:{detector}]",
     .offset = offsetof(struct redact_options, mask),
     .description = "what replaces a value; `{detector}` becomes the detector's or rule's name"},
    {.name = "hash_key_file",
     .type = OPT_STRING,
     .offset = offsetof(struct redact_options, hash_key_file),
     .description = "file holding the HMAC key (at least 32 bytes, one trailing newline "
                    "ignored), read at start; needed by `replace: hash`"},
    {.name = "hash_length",
     .type = OPT_INT,
     .default_value = "16",
     .min = REDACT_HASH_MIN,
     .max = REDACT_HASH_MAX,
     .offset = offsetof(struct redact_options, hash_length),
     .description = "hex digits of the HMAC written"},
    {0},
};

/* The node of option `name`'s item `i` (a sequence), or of the option, or
 * of the filter, for messages. */
static const struct cfg_node *item_node(const struct cfg_node *node, const char *name, size_t i)
{
    const struct cfg_node *at = node ? cfg_map_get(node, name) : NULL;
    if (at && at->type == CFG_SEQ && i < at->count)
        return at->items[i];
    return at ? at : node;
}

/* The value node of rule `i` (a map entry), for messages. */
static const struct cfg_node *rule_node(const struct cfg_node *node, size_t i)
{
    const struct cfg_node *at = node ? cfg_map_get(node, "rules") : NULL;
    if (at && at->type == CFG_MAP && i < at->count)
        return at->pairs[i].value;
    return at ? at : node;
}

static int detectors_mask(const struct string_list *names, uint32_t *mask,
                          const struct cfg_node *node, const char *context, struct diag_list *diags)
{
    const char *known[REDACT_DETECTOR_COUNT];
    int problems = 0;
    for (unsigned i = 0; i < REDACT_DETECTOR_COUNT; i++)
        known[i] = redact_detector_name(i);
    *mask = 0;
    for (size_t i = 0; i < names->count; i++) {
        int d = redact_detector_find(names->items[i]);
        if (d >= 0) {
            *mask |= 1u << d;
            continue;
        }
        const char *hint = diag_closest(names->items[i], known, REDACT_DETECTOR_COUNT);
        diag_add(diags, item_node(node, "detectors", i),
                 "%s: option 'detectors': unknown detector '%s'%s%s%s (known: card, bearer, jwt, "
                 "password, aws, private_key, iban)",
                 context, names->items[i], hint ? "; did you mean '" : "", hint ? hint : "",
                 hint ? "'?" : "");
        problems++;
    }
    return problems;
}

static int check_rules(const struct redact_options *opts, const struct cfg_node *node,
                       const char *context, struct diag_list *diags)
{
    int problems = 0;
    for (uint32_t i = 0; i < opts->rules.as.map.count; i++) {
        const struct map_entry *rule = &opts->rules.as.map.entries[i];
        char *error = NULL;
        if (rule->value.type != VALUE_STRING)
            error = xasprintf("rule '%s': the regular expression must be a string (quote it)",
                              rule->key.ptr);
        else if (redact_rule_check(rule->key.ptr, rule->value.as.string.ptr, &error) == 0)
            continue;
        diag_add(diags, rule_node(node, i), "%s: option 'rules': %s", context, error);
        free(error);
        problems++;
    }
    return problems;
}

static int check_fields(const struct string_list *fields, const struct cfg_node *node,
                        const char *context, struct diag_list *diags)
{
    int problems = 0;
    for (size_t i = 0; i < fields->count; i++) {
        struct field_path path;
        char *error = NULL;
        if (field_path_parse(fields->items[i], &path, &error) == 0) {
            field_path_free(&path);
            continue;
        }
        diag_add(diags, item_node(node, "fields", i), "%s: option 'fields': %s", context, error);
        free(error);
        problems++;
    }
    return problems;
}

static bool hashing(const struct redact_options *opts)
{
    return strcmp(opts->replace, "hash") == 0;
}

/* replace: hash needs a readable key of REDACT_KEY_MIN bytes or more; a
 * key file with masks would be a mistake the user would not notice. */
static int check_replacement(const struct redact_options *opts, const struct cfg_node *node,
                             const char *context, struct diag_list *diags)
{
    const struct cfg_node *at = item_node(node, "hash_key_file", 0);
    if (!hashing(opts)) {
        if (opts->hash_key_file) {
            diag_add(diags, at, "%s: option 'hash_key_file' is only read with `replace: hash`",
                     context);
            return 1;
        }
        char *error = NULL;
        if (redact_mask_check(opts->mask, &error) < 0) {
            diag_add(diags, item_node(node, "mask", 0), "%s: option 'mask': %s", context, error);
            free(error);
            return 1;
        }
        return 0;
    }
    if (!opts->hash_key_file) {
        diag_add(diags, item_node(node, "replace", 0),
                 "%s: `replace: hash` needs `hash_key_file` (a file of at least %d bytes, e.g. "
                 "from `openssl rand -hex 32`)",
                 context, REDACT_KEY_MIN);
        return 1;
    }
    unsigned char *key = NULL;
    size_t len = 0;
    char *error = NULL;
    if (redact_key_read(opts->hash_key_file, &key, &len, &error) < 0) {
        diag_add(diags, at, "%s: option 'hash_key_file': %s", context, error);
        free(error);
        return 1;
    }
    redact_key_free(key, len);
    return 0;
}

int redact_options_validate(const void *options, const struct cfg_node *node, const char *context,
                            struct diag_list *diags)
{
    const struct redact_options *opts = options;
    uint32_t mask;
    int problems = detectors_mask(&opts->detectors, &mask, node, context, diags);
    problems += check_rules(opts, node, context, diags);
    problems += check_fields(&opts->fields, node, context, diags);
    problems += check_replacement(opts, node, context, diags);
    return problems ? -1 : 0;
}

/* The rules as specs pointing into the options (valid while they live). */
static struct redact_rule_spec *rule_specs(const struct redact_options *opts, char **error)
{
    const struct value_map *map = &opts->rules.as.map;
    struct redact_rule_spec *specs = xcalloc(map->count, sizeof *specs);
    for (uint32_t i = 0; i < map->count; i++) {
        if (map->entries[i].value.type != VALUE_STRING) {
            *error = xasprintf("option 'rules': rule '%s': the regular expression must be a "
                               "string",
                               map->entries[i].key.ptr);
            free(specs);
            return NULL;
        }
        specs[i] =
            (struct redact_rule_spec){map->entries[i].key.ptr, map->entries[i].value.as.string.ptr};
    }
    return specs;
}

struct redact_engine *redact_options_engine(const struct redact_options *opts, char **error)
{
    struct diag_list ignored = {0};
    struct redact_engine_config config = {
        .mask = opts->mask,
        .hash_length = (unsigned)opts->hash_length,
        .rule_count = opts->rules.as.map.count,
    };
    detectors_mask(&opts->detectors, &config.detectors, NULL, "", &ignored);
    diag_free(&ignored);
    struct redact_rule_spec *specs = rule_specs(opts, error);
    if (!specs)
        return NULL;
    config.rules = specs;
    unsigned char *key = NULL;
    size_t key_len = 0;
    if (hashing(opts)) {
        char *detail = NULL;
        if (!opts->hash_key_file ||
            redact_key_read(opts->hash_key_file, &key, &key_len, &detail) < 0) {
            *error = xasprintf("option 'hash_key_file': %s",
                               detail ? detail : "needed by `replace: hash`");
            free(detail);
            free(specs);
            return NULL;
        }
        config.hash_key = key;
        config.hash_key_len = key_len;
    }
    struct redact_engine *engine = redact_engine_new(&config, error);
    redact_key_free(key, key_len);
    free(specs);
    return engine;
}
