/* Fuzz target: `skiff --convert` on a Fluent Bit configuration held in
 * memory, classic or (first byte odd) YAML. Whatever it reads, the YAML it
 * writes must be a YAML document that libyaml reads without an error (every
 * value quoted where it must be), and an input it refuses must say why. */
#include "fuzz.h"

#include "convert.h"
#include "log.h"
#include "xalloc.h"

#include <stdlib.h>
#include <yaml.h>

static void check_yaml(const char *text)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        abort();
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
    for (;;) {
        yaml_event_t event;
        if (!yaml_parser_parse(&parser, &event))
            abort(); /* the converter wrote YAML that does not parse */
        yaml_event_type_t type = event.type;
        yaml_event_delete(&event);
        if (type == YAML_STREAM_END_EVENT)
            break;
    }
    yaml_parser_delete(&parser);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    log_set_level(LOG_ERROR);
    char *text = xstrndup((const char *)data + 1, size - 1);
    struct convert_result result;
    if (convert_text("fuzz.conf", text, data[0] & 1, &result) == 0)
        check_yaml(result.yaml);
    else if (result.errors.count == 0)
        abort(); /* a refused input must say why */
    convert_result_free(&result);
    free(text);
    return 0;
}
