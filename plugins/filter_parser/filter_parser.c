/* Filter `parser`: parses the text of one field with a named parser and puts
 * the fields it finds in the record, with its time. A value that does not
 * parse leaves the record as it was; the parser counts it. */
#include "plugin_api.h"
#include "xalloc.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct parser_filter_options {
    char *key_name;
    char *parser;
    bool reserve_data;
    bool preserve_key;
};

struct parser_filter_state {
    struct instance *parser;
};

static const struct option_spec parser_filter_options_table[] = {
    {.name = "key_name",
     .type = OPT_STRING,
     .default_value = "log",
     .offset = offsetof(struct parser_filter_options, key_name),
     .description = "top-level field whose text is parsed"},
    {.name = "parser",
     .type = OPT_PARSER,
     .required = true,
     .offset = offsetof(struct parser_filter_options, parser),
     .description = "parser to use: json, logfmt, cri, docker or one from `parsers:`"},
    {.name = "reserve_data",
     .type = OPT_BOOL,
     .default_value = "false",
     .offset = offsetof(struct parser_filter_options, reserve_data),
     .description = "keep the record's other fields; false: the record becomes what the parser "
                    "found"},
    {.name = "preserve_key",
     .type = OPT_BOOL,
     .default_value = "false",
     .offset = offsetof(struct parser_filter_options, preserve_key),
     .description = "keep the parsed field itself"},
    {0},
};

static int parser_filter_init(struct instance *f)
{
    const struct parser_filter_options *opts = f->options;
    struct parser_filter_state *state = xcalloc(1, sizeof *state);
    state->parser = pipeline_parser(f->pipeline, opts->parser);
    f->state = state;
    return 0;
}

static void parser_filter_destroy(struct instance *f)
{
    free(f->state);
    f->state = NULL;
}

/* Moves every field of `from` into `to`, replacing those with the same key. */
static void parser_filter_merge(struct value_map *to, struct value_map *from)
{
    for (uint32_t i = 0; i < from->count; i++) {
        struct map_entry *e = &from->entries[i];
        value_map_set(to, e->key.ptr, e->key.len, &e->value);
    }
    value_map_free(from);
}

static enum filter_result parser_filter(struct instance *f, struct instance *input, const char *tag,
                                        struct record *rec)
{
    const struct parser_filter_options *opts = f->options;
    struct parser_filter_state *state = f->state;
    size_t key_len = strlen(opts->key_name);
    struct value *text = value_map_get(&rec->fields, opts->key_name, key_len);
    if (!text || text->type != VALUE_STRING)
        return FILTER_KEEP;

    struct record parsed;
    record_init(&parsed);
    parsed.time = rec->time;
    if (parser_parse(state->parser, NULL, text->as.string.ptr, text->as.string.len, &parsed) !=
        PARSE_OK) {
        record_free(&parsed);
        return FILTER_KEEP;
    }
    rec->time = parsed.time;
    struct value original = value_null();
    if (opts->preserve_key)
        original = value_clone(text);
    if (!opts->reserve_data)
        value_map_free(&rec->fields);
    else
        value_map_remove(&rec->fields, opts->key_name, key_len);
    parser_filter_merge(&rec->fields, &parsed.fields);
    if (opts->preserve_key)
        value_map_set(&rec->fields, opts->key_name, key_len, &original);
    record_free(&parsed);
    return FILTER_KEEP;
}

const struct plugin filter_parser_plugin = {
    .name = "parser",
    .kind = PLUGIN_FILTER,
    .description = "parses a field's text with a named parser into fields",
    .options = parser_filter_options_table,
    .options_size = sizeof(struct parser_filter_options),
    .init = parser_filter_init,
    .destroy = parser_filter_destroy,
    .filter = parser_filter,
};
