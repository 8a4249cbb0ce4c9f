/* Fuzz target: what the kubernetes filter reads from outside: log file paths
 * (the first line of the input) and pod objects from the API server (the
 * rest, as JSON). Any input must give metadata that renders as JSON, or be
 * refused, without crashing or leaking. */
#include "fuzz.h"

#include "json.h"
#include "json_parse.h"
#include "plugins/filter_kubernetes/k8s_logging.h"
#include "plugins/filter_kubernetes/k8s_meta.h"
#include "plugins/filter_kubernetes/k8s_path.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

static void fuzz_path(const char *text, size_t len, struct buf *json)
{
    char *path = xstrndup(text, len);
    struct k8s_path parsed;
    if (k8s_path_parse(path, &parsed)) {
        struct value meta;
        k8s_meta_from_path(&parsed, &meta);
        buf_reset(json);
        json_write_value(json, &meta, NULL);
        value_free(&meta);
        k8s_path_free(&parsed);
    }
    free(path);
}

static void fuzz_pod(const char *text, size_t len, struct buf *json)
{
    static const struct k8s_meta_options options[] = {
        {.labels = true, .annotations = true, .owner_references = true, .dedot = true},
        {.labels = true, .annotations = false, .dedot = false},
    };
    struct value pod;
    if (json_parse(text, len, &pod, NULL) < 0)
        return;
    struct k8s_logging logging;
    k8s_logging_read(&pod, "app", &logging);
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
        struct value meta;
        if (k8s_meta_build(&pod, "app", i ? "0123abcd" : NULL, &options[i], &meta) == 0) {
            buf_reset(json);
            json_write_value(json, &meta, NULL);
            value_free(&meta);
        }
    }
    value_free(&pod);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *newline = memchr(text, '\n', size);
    size_t first = newline ? (size_t)(newline - text) : size;
    struct buf json = BUF_INIT;
    fuzz_path(text, first, &json);
    if (newline)
        fuzz_pod(newline + 1, size - first - 1, &json);
    buf_free(&json);
    return 0;
}
