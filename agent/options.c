/* Applies option tables to YAML maps (see options.h): defaults, conversion of
 * each value to its type with messages that name the option, and freeing. Not
 * the unit syntaxes (options_units.c) nor --describe (options_describe.c). */
#include "options.h"

#include "buf.h"
#include "cfg_node.h"
#include "diag.h"
#include "options_units.h"
#include "xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* One option being converted: its spec, the field it lands in, and where
 * messages go. */
struct option_slot {
    const struct option_spec *spec;
    void *field;
    const char *context;
    struct diag_list *diags;
};

static void apply_map(const struct option_target *targets, size_t target_count,
                      const struct cfg_node *map, const char *context,
                      const char *const *ignored_keys, struct diag_list *diags);

static int expect_scalar(const struct option_slot *slot, const struct cfg_node *value,
                         const char *what)
{
    if (value->type == CFG_SCALAR)
        return 0;
    diag_add(slot->diags, value, "%s: option '%s' must be %s, got a %s", slot->context,
             slot->spec->name, what, cfg_type_name(value->type));
    return -1;
}

static int expect_map(const struct option_slot *slot, const struct cfg_node *value)
{
    if (value->type == CFG_MAP)
        return 0;
    diag_add(slot->diags, value, "%s: option '%s' must be a map, got a %s", slot->context,
             slot->spec->name, cfg_type_name(value->type));
    return -1;
}

static void report_choices(const struct option_slot *slot, const struct cfg_node *value)
{
    struct buf list = BUF_INIT;
    for (const char *const *c = slot->spec->choices; *c; c++)
        buf_printf(&list, "%s%s", c == slot->spec->choices ? "" : ", ", *c);
    diag_add(slot->diags, value, "%s: option '%s' must be one of %s; got '%s'", slot->context,
             slot->spec->name, buf_cstr(&list), value->scalar);
    buf_free(&list);
}

static bool is_choice(const char *const *choices, const char *text)
{
    for (const char *const *c = choices; *c; c++) {
        if (strcmp(*c, text) == 0)
            return true;
    }
    return false;
}

static void convert_string(const struct option_slot *slot, const struct cfg_node *value)
{
    if (expect_scalar(slot, value, "a string") < 0)
        return;
    if (slot->spec->choices && !is_choice(slot->spec->choices, value->scalar)) {
        report_choices(slot, value);
        return;
    }
    char **field = slot->field;
    free(*field);
    if (slot->spec->empty_is_unset && value->scalar_len == 0)
        *field = NULL;
    else
        *field = xstrndup(value->scalar, value->scalar_len);
}

static void convert_bool(const struct option_slot *slot, const struct cfg_node *value)
{
    if (expect_scalar(slot, value, "true or false") < 0)
        return;
    if (options_parse_bool(value->scalar, slot->field) < 0)
        diag_add(slot->diags, value, "%s: option '%s' must be true or false, got '%s'",
                 slot->context, slot->spec->name, value->scalar);
}

static int check_range(const struct option_slot *slot, const struct cfg_node *value, int64_t number)
{
    const struct option_spec *spec = slot->spec;
    if ((spec->min == 0 && spec->max == 0) || (number >= spec->min && number <= spec->max))
        return 0;
    char min[OPTIONS_NUMBER_TEXT_MAX], max[OPTIONS_NUMBER_TEXT_MAX];
    options_format_number(spec->type, spec->min, min);
    options_format_number(spec->type, spec->max, max);
    diag_add(slot->diags, value, "%s: option '%s' must be between %s and %s, got %s", slot->context,
             spec->name, min, max, value->scalar);
    return -1;
}

/* Reads errno as the parser that just failed left it. */
static void report_bad_number(const struct option_slot *slot, const struct cfg_node *value)
{
    const char *name = slot->spec->name;
    const char *text = value->scalar;

    if (errno == ERANGE)
        diag_add(slot->diags, value, "%s: option '%s': '%s' is out of range", slot->context, name,
                 text);
    else if (slot->spec->type == OPT_INT)
        diag_add(slot->diags, value, "%s: option '%s' must be an integer, got '%s'", slot->context,
                 name, text);
    else if (slot->spec->type == OPT_SIZE)
        diag_add(slot->diags, value,
                 "%s: option '%s': invalid size '%s' (use a number with a unit: B, KB, MB, GB, "
                 "KiB, MiB, GiB, TiB)",
                 slot->context, name, text);
    else
        diag_add(slot->diags, value,
                 "%s: option '%s': invalid duration '%s' (use a number with a unit: ms, s, m, "
                 "h, d)",
                 slot->context, name, text);
}

/* OPT_INT, OPT_SIZE and OPT_DURATION: an int64_t, checked against the
 * limits. */
static void convert_number(const struct option_slot *slot, const struct cfg_node *value)
{
    static const char *const what[] = {
        [OPT_INT] = "an integer", [OPT_SIZE] = "a size", [OPT_DURATION] = "a duration"};
    enum option_type type = slot->spec->type;
    int64_t number;
    int rc;

    if (expect_scalar(slot, value, what[type]) < 0)
        return;
    if (type == OPT_INT)
        rc = options_parse_int(value->scalar, &number);
    else if (type == OPT_SIZE)
        rc = options_parse_size(value->scalar, &number);
    else
        rc = options_parse_duration(value->scalar, &number);
    if (rc < 0) {
        report_bad_number(slot, value);
        return;
    }
    if (check_range(slot, value, number) == 0)
        *(int64_t *)slot->field = number;
}

static void string_list_free(struct string_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->items[i]);
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

/* A sequence of scalars, or one scalar as a list of one. */
static void convert_list(const struct option_slot *slot, const struct cfg_node *value)
{
    const struct cfg_node *const *items = &value;
    size_t count = 1;

    if (value->type == CFG_MAP) {
        diag_add(slot->diags, value, "%s: option '%s' must be a list of strings, got a map",
                 slot->context, slot->spec->name);
        return;
    }
    if (value->type == CFG_SEQ) {
        items = (const struct cfg_node *const *)value->items;
        count = value->count;
    }
    for (size_t i = 0; i < count; i++) {
        if (items[i]->type != CFG_SCALAR) {
            diag_add(slot->diags, items[i],
                     "%s: option '%s' must be a list of strings, got a %s in the list",
                     slot->context, slot->spec->name, cfg_type_name(items[i]->type));
            return;
        }
    }
    struct string_list *list = slot->field;
    string_list_free(list);
    list->items = xcalloc(count, sizeof *list->items);
    for (size_t i = 0; i < count; i++)
        list->items[i] = xstrndup(items[i]->scalar, items[i]->scalar_len);
    list->count = count;
}

/* YAML's float syntax, not strtod's: no hex, no inf or nan. */
static bool parse_float(const char *text, double *out)
{
    if (text[strspn(text, "+-0123456789.eE")] != '\0' || !strpbrk(text, "0123456789"))
        return false;
    char *end;
    errno = 0;
    *out = strtod(text, &end);
    return *end == '\0' && errno == 0;
}

static struct value scalar_value(const struct cfg_node *node)
{
    const char *text = node->scalar;
    int64_t integer;
    double real;

    if (!node->plain)
        return value_string(text, node->scalar_len);
    if (cfg_is_null(node))
        return value_null();
    if (strcmp(text, "true") == 0 || strcmp(text, "True") == 0 || strcmp(text, "TRUE") == 0)
        return value_bool(true);
    if (strcmp(text, "false") == 0 || strcmp(text, "False") == 0 || strcmp(text, "FALSE") == 0)
        return value_bool(false);
    if (options_parse_int(text, &integer) == 0)
        return value_int(integer);
    if (errno != ERANGE && parse_float(text, &real))
        return value_float(real);
    return value_string(text, node->scalar_len);
}

static struct value node_value(const struct cfg_node *node)
{
    if (node->type == CFG_SCALAR)
        return scalar_value(node);
    if (node->type == CFG_SEQ) {
        struct value array = value_array_new();
        for (size_t i = 0; i < node->count; i++) {
            struct value item = node_value(node->items[i]);
            value_array_push(&array.as.array, &item);
        }
        return array;
    }
    struct value map = value_map_new();
    for (size_t i = 0; i < node->count; i++) {
        const struct cfg_node *key = node->pairs[i].key;
        struct value item = node_value(node->pairs[i].value);
        value_map_set(&map.as.map, key->scalar, key->scalar_len, &item);
    }
    return map;
}

static void convert_map(const struct option_slot *slot, const struct cfg_node *value)
{
    if (expect_map(slot, value) < 0)
        return;
    struct value *field = slot->field;
    value_free(field);
    *field = node_value(value);
}

static void regex_free(struct option_regex *regex)
{
    free(regex->pattern);
    pcre2_code_free(regex->code);
    regex->pattern = NULL;
    regex->code = NULL;
}

static void convert_regex(const struct option_slot *slot, const struct cfg_node *value)
{
    int error;
    PCRE2_SIZE offset;

    if (expect_scalar(slot, value, "a regular expression") < 0)
        return;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)value->scalar, value->scalar_len,
                                     PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &error, &offset, NULL);
    if (!code) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(error, message, sizeof message);
        diag_add(slot->diags, value,
                 "%s: option '%s': invalid regular expression at offset %zu: %s", slot->context,
                 slot->spec->name, (size_t)offset, (const char *)message);
        return;
    }
    /* Without JIT (some platforms, or W^X policies) the interpreter still
     * matches correctly, only slower. */
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    struct option_regex *regex = slot->field;
    regex_free(regex);
    regex->pattern = xstrndup(value->scalar, value->scalar_len);
    regex->code = code;
}

/* "service.http", but "outputs[0] (elasticsearch) tls" after a plugin name. */
static char *section_context(const char *context, const char *name)
{
    size_t len = strlen(context);
    bool after_plugin = len > 0 && context[len - 1] == ')';
    return xasprintf("%s%s%s", context, after_plugin ? " " : ".", name);
}

static void convert_section(const struct option_slot *slot, const struct cfg_node *value)
{
    if (expect_map(slot, value) < 0)
        return;
    struct option_target target = {slot->spec->section, slot->field};
    char *context = section_context(slot->context, slot->spec->name);
    apply_map(&target, 1, value, context, NULL, slot->diags);
    free(context);
}

/* A null value keeps the default. */
static void convert_value(const struct option_slot *slot, const struct cfg_node *value)
{
    if (cfg_is_null(value))
        return;
    switch (slot->spec->type) {
    case OPT_STRING:
    case OPT_PARSER:
        convert_string(slot, value);
        break;
    case OPT_INT:
    case OPT_SIZE:
    case OPT_DURATION:
        convert_number(slot, value);
        break;
    case OPT_BOOL:
        convert_bool(slot, value);
        break;
    case OPT_LIST:
        convert_list(slot, value);
        break;
    case OPT_MAP:
        convert_map(slot, value);
        break;
    case OPT_REGEX:
        convert_regex(slot, value);
        break;
    case OPT_SECTION:
        convert_section(slot, value);
        break;
    }
}

/* A string default is the text itself: read as YAML, "" would be null and leave
 * the field NULL, which no plugin expects of an option with a default. */
static void apply_string_default(const struct option_slot *slot)
{
    char **field = slot->field;
    free(*field);
    *field = xstrdup(slot->spec->default_value);
}

/* Other defaults are YAML text, so they go through the same conversion as the
 * user's values (and a bad default in a table shows up in the tests). */
static void apply_default(const struct option_slot *slot)
{
    if (slot->spec->type == OPT_STRING || slot->spec->type == OPT_PARSER) {
        apply_string_default(slot);
        return;
    }
    char *text = xasprintf("default: %s", slot->spec->default_value);
    struct cfg_node *root = cfg_parse_string("(built-in default)", text, strlen(text), slot->diags);
    if (root)
        convert_value(slot, root->pairs[0].value);
    cfg_node_free(root);
    free(text);
}

static void apply_defaults(const struct option_spec *specs, void *config, const char *context,
                           struct diag_list *diags)
{
    for (const struct option_spec *spec = specs; spec->name; spec++) {
        struct option_slot slot = {spec, (char *)config + spec->offset, context, diags};
        if (spec->type == OPT_SECTION) {
            char *inner = section_context(context, spec->name);
            apply_defaults(spec->section, slot.field, inner, diags);
            free(inner);
        } else if (spec->default_value) {
            apply_default(&slot);
        } else if (spec->type == OPT_MAP) {
            *(struct value *)slot.field = value_map_new();
        }
    }
}

static bool find_spec(const struct option_target *targets, size_t target_count, const char *name,
                      struct option_slot *slot)
{
    for (size_t t = 0; t < target_count; t++) {
        for (const struct option_spec *spec = targets[t].specs; spec->name; spec++) {
            if (strcmp(spec->name, name) == 0) {
                slot->spec = spec;
                slot->field = (char *)targets[t].config + spec->offset;
                return true;
            }
        }
    }
    return false;
}

static void report_unknown(const struct option_target *targets, size_t target_count,
                           const struct cfg_node *key, const char *context, struct diag_list *diags)
{
    size_t count = 0;
    for (size_t t = 0; t < target_count; t++) {
        for (const struct option_spec *spec = targets[t].specs; spec->name; spec++)
            count++;
    }
    const char **names = xcalloc(count, sizeof *names);
    count = 0;
    for (size_t t = 0; t < target_count; t++) {
        for (const struct option_spec *spec = targets[t].specs; spec->name; spec++)
            names[count++] = spec->name;
    }
    const char *hint = diag_closest(key->scalar, names, count);
    if (hint)
        diag_add(diags, key, "%s: unknown option '%s' (did you mean '%s'?)", context, key->scalar,
                 hint);
    else
        diag_add(diags, key, "%s: unknown option '%s'", context, key->scalar);
    free(names);
}

static bool is_ignored(const char *const *ignored_keys, const char *key)
{
    for (const char *const *k = ignored_keys; k && *k; k++) {
        if (strcmp(*k, key) == 0)
            return true;
    }
    return false;
}

/* A required option must be present and not null; `map` may be NULL. The
 * caller checks the keys it asked to ignore. */
static void check_required(const struct option_target *targets, size_t target_count,
                           const struct cfg_node *map, const char *context,
                           const char *const *ignored_keys, struct diag_list *diags)
{
    for (size_t t = 0; t < target_count; t++) {
        for (const struct option_spec *spec = targets[t].specs; spec->name; spec++) {
            if (!spec->required || is_ignored(ignored_keys, spec->name))
                continue;
            const struct cfg_node *value = cfg_map_get(map, spec->name);
            if (!value)
                diag_add(diags, map, "%s: missing required option '%s'", context, spec->name);
            else if (cfg_is_null(value))
                diag_add(diags, value, "%s: option '%s' is required and cannot be empty", context,
                         spec->name);
        }
    }
}

static void apply_map(const struct option_target *targets, size_t target_count,
                      const struct cfg_node *map, const char *context,
                      const char *const *ignored_keys, struct diag_list *diags)
{
    for (size_t i = 0; i < map->count; i++) {
        const struct cfg_node *key = map->pairs[i].key;
        struct option_slot slot = {.context = context, .diags = diags};
        if (is_ignored(ignored_keys, key->scalar))
            continue;
        if (find_spec(targets, target_count, key->scalar, &slot))
            convert_value(&slot, map->pairs[i].value);
        else
            report_unknown(targets, target_count, key, context, diags);
    }
    check_required(targets, target_count, map, context, ignored_keys, diags);
}

/* The config structs must start zeroed: converting a value frees the one it
 * replaces. */
int options_apply(const struct option_target *targets, size_t target_count,
                  const struct cfg_node *map, const char *context, const char *const *ignored_keys,
                  struct diag_list *diags)
{
    size_t before = diags->count;

    for (size_t t = 0; t < target_count; t++)
        apply_defaults(targets[t].specs, targets[t].config, context, diags);
    if (map && !cfg_is_null(map) && map->type != CFG_MAP)
        diag_add(diags, map, "%s: must be a map, got a %s", context, cfg_type_name(map->type));
    else if (map && map->type == CFG_MAP)
        apply_map(targets, target_count, map, context, ignored_keys, diags);
    else
        check_required(targets, target_count, NULL, context, ignored_keys, diags);
    return diags->count > before ? -1 : 0;
}

void options_free(const struct option_spec *specs, void *config)
{
    for (const struct option_spec *spec = specs; spec->name; spec++) {
        void *field = (char *)config + spec->offset;
        switch (spec->type) {
        case OPT_STRING:
        case OPT_PARSER:
            free(*(char **)field);
            *(char **)field = NULL;
            break;
        case OPT_LIST:
            string_list_free(field);
            break;
        case OPT_MAP:
            value_free(field);
            break;
        case OPT_REGEX:
            regex_free(field);
            break;
        case OPT_SECTION:
            options_free(spec->section, field);
            break;
        case OPT_INT:
        case OPT_BOOL:
        case OPT_SIZE:
        case OPT_DURATION:
            break;
        }
    }
}

const char *option_type_name(enum option_type type)
{
    static const char *const names[] = {
        [OPT_STRING] = "string", [OPT_INT] = "int",           [OPT_BOOL] = "bool",
        [OPT_SIZE] = "size",     [OPT_DURATION] = "duration", [OPT_LIST] = "list",
        [OPT_MAP] = "map",       [OPT_REGEX] = "regex",       [OPT_SECTION] = "section",
        [OPT_PARSER] = "parser",
    };
    return (unsigned)type < sizeof names / sizeof names[0] ? names[type] : "?";
}
