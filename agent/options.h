/* Option tables: each plugin (and the service section) declares its options as
 * data. The loader validates and converts a YAML map against the table into the
 * plugin's config struct; --describe and the README reference are generated
 * from the same table. A plugin never parses its own options. */
#ifndef SKIFF_OPTIONS_H
#define SKIFF_OPTIONS_H

#include "value.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct cfg_node;
struct diag_list;

/* What each type lands as at `offset` in the config struct:
 *   OPT_STRING   char *            (NULL when unset and no default)
 *   OPT_INT      int64_t
 *   OPT_BOOL     bool              (true/false, yes/no, on/off)
 *   OPT_SIZE     int64_t bytes     (`512KiB`, `8MiB`, `1GiB`, `4096`; KB/MB = 1000)
 *   OPT_DURATION int64_t ms        (`250ms`, `5s`, `1m`, `1h`, `1d`)
 *   OPT_LIST     struct string_list (a YAML sequence of scalars, or one scalar)
 *   OPT_MAP      struct value      (VALUE_MAP; YAML scalars typed: int, float,
 *                                   bool, null, else string; quoted stays string)
 *   OPT_REGEX    struct option_regex (PCRE2, compiled with JIT where available)
 *   OPT_SECTION  a nested struct at `offset`, filled from the map in `section`
 *   OPT_PARSER   char *, the name of a parser (built in or from `parsers:`),
 *                which the config loader checks exists
 */
enum option_type {
    OPT_STRING,
    OPT_INT,
    OPT_BOOL,
    OPT_SIZE,
    OPT_DURATION,
    OPT_LIST,
    OPT_MAP,
    OPT_REGEX,
    OPT_SECTION,
    OPT_PARSER,
};

struct string_list {
    char **items;
    size_t count;
};

struct option_regex {
    char *pattern;
    void *code; /* pcre2_code_8 * */
};

struct option_spec {
    const char *name;
    enum option_type type;
    /* As it would be written in YAML; NULL means no default. */
    const char *default_value;
    bool required;
    /* Inclusive limits for INT, SIZE (bytes) and DURATION (ms); ignored when
     * both are 0. */
    int64_t min;
    int64_t max;
    /* For OPT_STRING: the allowed values, NULL-terminated; NULL = any. */
    const char *const *choices;
    /* For OPT_STRING: "" leaves the option unset (NULL), as when it is not
     * given, so that `${VAR:-}` can mean "none" (a file a variable may name). */
    bool empty_is_unset;
    size_t offset;
    const char *description;
    /* For OPT_SECTION: the nested table, terminated by a zero entry. */
    const struct option_spec *section;
};

/* A table and the struct its values land in. A YAML map may be validated
 * against several tables at once (the options common to every output, plus the
 * plugin's own); a key in none of them is an unknown option. */
struct option_target {
    const struct option_spec *specs; /* terminated by an entry with name NULL */
    void *config;
};

/* Applies defaults, then the values in `map`, to every target. `context`
 * prefixes messages: "outputs[0] (file)". Keys listed in `ignored_keys`
 * (NULL-terminated, may be NULL) are skipped. Every problem is added to
 * `diags`. Returns 0 if none was found. */
int options_apply(const struct option_target *targets, size_t target_count,
                  const struct cfg_node *map, const char *context, const char *const *ignored_keys,
                  struct diag_list *diags);
/* Frees what options_apply allocated in `config` for this table. */
void options_free(const struct option_spec *specs, void *config);

/* Parsers for the unit syntaxes (also used by the tests). Return 0 or -1. */
int options_parse_size(const char *text, int64_t *bytes);
int options_parse_duration(const char *text, int64_t *ms);
int options_parse_bool(const char *text, bool *out);
int options_parse_int(const char *text, int64_t *out);

const char *option_type_name(enum option_type type);

/* Prints the table as aligned text (for --describe): name, type, default,
 * limits or choices, description; sections as `tls.verify`. */
void options_describe(const struct option_spec *specs, FILE *out);
/* Prints the table as a Markdown table (for the README reference). */
void options_describe_markdown(const struct option_spec *specs, FILE *out);

#endif
