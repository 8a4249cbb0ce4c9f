/* Parser `json`: a line holding one JSON object becomes the record's fields.
 * Anything else (an array, a number, a truncated object) does not parse. */
#include "json_parse.h"
#include "plugin_api.h"

static const struct option_spec json_options_table[] = {
    {0},
};

static enum parse_result json_parser_parse(struct instance *parser, void *state, const char *text,
                                           size_t len, struct record *rec)
{
    return json_parse_object_into(text, len, &rec->fields, NULL) == 0 ? PARSE_OK : PARSE_FAILED;
}

const struct plugin parser_json_plugin = {
    .name = "json",
    .kind = PLUGIN_PARSER,
    .description = "a JSON object per line, its members as fields",
    .options = json_options_table,
    .options_size = 0,
    .builtin = true,
    .parse = json_parser_parse,
};
