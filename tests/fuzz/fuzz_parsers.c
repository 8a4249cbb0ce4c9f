/* Fuzz target: the cri, docker and regex parsers as the pipeline builds them.
 * The first byte picks the parser; the rest is split into lines that are fed
 * in order through one per-source state, so partial-line joining is
 * exercised too. Every record a parser produces must render as JSON. */
#include "fuzz.h"

#include "config.h"
#include "json.h"
#include "log.h"
#include "pipeline.h"
#include "plugin_api.h"

#include <stdlib.h>
#include <string.h>

static const char *const parsers_config =
    "parsers:\n"
    "  - name: access\n"
    "    format: regex\n"
    "    regex: '^(?<ip>\\S+) \\[(?<time>[^\\]]+)\\] (?<status>\\d+) (?<took>\\S*)'\n"
    "    time_key: time\n"
    "    time_format: '%d/%b/%Y:%H:%M:%S %z'\n"
    "    types: { status: int, took: float }\n"
    "pipeline:\n"
    "  inputs: [ { name: dummy } ]\n"
    "  outputs: [ { name: 'null', match: '*' } ]\n";

static const char *const parser_names[] = {"cri", "docker", "access", "json", "logfmt"};

static struct pipeline *fuzz_pipeline(void)
{
    static struct config config;
    static struct pipeline *pipeline;
    if (!pipeline) {
        struct diag_list diags = {0};
        log_set_level(LOG_ERROR);
        if (config_load_string("fuzz.yaml", parsers_config, &config, &diags) < 0)
            abort();
        diag_free(&diags);
        pipeline = pipeline_create(&config);
        if (!pipeline)
            abort();
    }
    return pipeline;
}

static void fuzz_line(struct instance *parser, void *state, const char *line, size_t len,
                      struct buf *json)
{
    struct record rec;
    record_init(&rec);
    if (parser_parse(parser, state, line, len, &rec) == PARSE_OK) {
        struct value fields = {.type = VALUE_MAP, .as.map = rec.fields};
        buf_reset(json);
        json_write_value(json, &fields, NULL);
    }
    record_free(&rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t pick = data[0] % (sizeof parser_names / sizeof parser_names[0]);
    struct instance *parser = pipeline_parser(fuzz_pipeline(), parser_names[pick]);
    void *state = parser_state_new(parser, 4096);
    struct buf json = BUF_INIT;
    const char *text = (const char *)data + 1, *end = (const char *)data + size;

    while (text < end) {
        const char *newline = memchr(text, '\n', (size_t)(end - text));
        const char *stop = newline ? newline : end;
        fuzz_line(parser, state, text, (size_t)(stop - text), &json);
        text = stop + 1;
    }
    parser_state_free(parser, state);
    buf_free(&json);
    return 0;
}
