/* Parser `logfmt`: `level=info msg="a b" took=3ms` becomes the fields level,
 * msg and took (strings; the parser's `types` option converts them). */
#include "logfmt.h"
#include "plugin_api.h"

static const struct option_spec logfmt_options_table[] = {
    {0},
};

static enum parse_result logfmt_parser_parse(struct instance *parser, void *state, const char *text,
                                             size_t len, struct record *rec)
{
    return logfmt_parse(text, len, &rec->fields) == 0 ? PARSE_OK : PARSE_FAILED;
}

const struct plugin parser_logfmt_plugin = {
    .name = "logfmt",
    .kind = PLUGIN_PARSER,
    .description = "key=value pairs, values optionally double-quoted",
    .options = logfmt_options_table,
    .options_size = 0,
    .builtin = true,
    .parse = logfmt_parser_parse,
};
