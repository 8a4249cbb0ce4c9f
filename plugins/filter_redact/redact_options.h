/* The redact filter's options: the table, the checks a table cannot make
 * (detector names, rules, field paths, the hash key file, read at load so a
 * missing or short key stops skiff at start), and the engine they make. */
#ifndef SKIFF_REDACT_OPTIONS_H
#define SKIFF_REDACT_OPTIONS_H

#include "options.h"
#include "redact_engine.h"

#include <stdint.h>

struct cfg_node;
struct diag_list;

struct redact_options {
    struct string_list detectors;
    struct value rules; /* map: name -> regex */
    struct string_list fields;
    char *replace; /* mask | hash */
    char *mask;
    char *hash_key_file;
    int64_t hash_length;
};

extern const struct option_spec redact_options_table[];

int redact_options_validate(const void *options, const struct cfg_node *node, const char *context,
                            struct diag_list *diags);
/* The engine the options describe (the key file is read here); NULL with
 * *error (malloc'ed) naming the option. */
struct redact_engine *redact_options_engine(const struct redact_options *opts, char **error);

#endif
