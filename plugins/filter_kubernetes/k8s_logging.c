/* Reads the pod annotations that steer logging (see k8s_logging.h). */
#include "k8s_logging.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

static const char *const prefixes[] = {"skiff.io/", "fluentbit.io/"};

enum property { PROPERTY_EXCLUDE, PROPERTY_PARSER };

/* One annotation's name, taken apart. */
struct annotation_form {
    enum property property;
    int stream; /* K8S_STREAM_STDOUT, K8S_STREAM_STDERR, or -1 for both */
    const char *container;
    size_t container_len; /* 0: every container */
};

/* How specific a form is: a container's over the pod's, one stream's over
 * both's. A setting is replaced only by a more specific one. */
static int form_rank(const struct annotation_form *form)
{
    return 1 + (form->container_len ? 2 : 0) + (form->stream >= 0 ? 1 : 0);
}

static bool take(const char **cursor, const char *end, const char *word)
{
    size_t len = strlen(word);
    if ((size_t)(end - *cursor) < len || memcmp(*cursor, word, len) != 0)
        return false;
    *cursor += len;
    return true;
}

/* Parses what follows the prefix: <property>[_<stream>][-<container>]. */
static bool parse_form(const char *name, size_t len, struct annotation_form *form)
{
    const char *at = name, *end = name + len;
    if (take(&at, end, "exclude"))
        form->property = PROPERTY_EXCLUDE;
    else if (take(&at, end, "parser"))
        form->property = PROPERTY_PARSER;
    else
        return false;
    form->stream = -1;
    if (take(&at, end, "_stdout"))
        form->stream = K8S_STREAM_STDOUT;
    else if (take(&at, end, "_stderr"))
        form->stream = K8S_STREAM_STDERR;
    form->container = NULL;
    form->container_len = 0;
    if (at == end)
        return true;
    if (*at != '-' || at + 1 == end)
        return false;
    form->container = at + 1;
    form->container_len = (size_t)(end - form->container);
    return true;
}

/* Fluent Bit's words for true (flb_utils_bool): not "1", so that a pod Fluent
 * Bit ships is not dropped here. */
static bool truthy(const struct value *v)
{
    static const char *const yes[] = {"true", "yes", "on"};
    if (v->type != VALUE_STRING)
        return false;
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        if (strcasecmp(v->as.string.ptr, yes[i]) == 0)
            return true;
    }
    return false;
}

struct ranked {
    struct k8s_logging *out;
    int exclude_rank[K8S_STREAM_COUNT];
    int parser_rank[K8S_STREAM_COUNT];
};

static void apply(struct ranked *r, const struct annotation_form *form, const struct value *value)
{
    int rank = form_rank(form);
    for (int stream = 0; stream < K8S_STREAM_COUNT; stream++) {
        if (form->stream >= 0 && form->stream != stream)
            continue;
        if (form->property == PROPERTY_EXCLUDE && rank > r->exclude_rank[stream]) {
            r->out->exclude[stream] = truthy(value);
            r->exclude_rank[stream] = rank;
        } else if (form->property == PROPERTY_PARSER && rank > r->parser_rank[stream] &&
                   value->type == VALUE_STRING && value->as.string.len > 0) {
            r->out->parser[stream] = value->as.string.ptr;
            r->parser_rank[stream] = rank;
        }
    }
}

static bool for_container(const struct annotation_form *form, const char *container)
{
    return !form->container_len || (container && strlen(container) == form->container_len &&
                                    memcmp(container, form->container, form->container_len) == 0);
}

static void read_prefix(struct ranked *r, const struct value *annotations, const char *prefix,
                        const char *container)
{
    size_t prefix_len = strlen(prefix);
    for (uint32_t i = 0; i < annotations->as.map.count; i++) {
        const struct map_entry *e = &annotations->as.map.entries[i];
        if (e->key.len <= prefix_len || memcmp(e->key.ptr, prefix, prefix_len) != 0)
            continue;
        struct annotation_form form;
        if (!parse_form(e->key.ptr + prefix_len, e->key.len - prefix_len, &form)) {
            if (!r->out->malformed)
                r->out->malformed = e->key.ptr;
            continue;
        }
        if (for_container(&form, container))
            apply(r, &form, &e->value);
    }
}

void k8s_logging_read(const struct value *pod, const char *container, struct k8s_logging *out)
{
    memset(out, 0, sizeof *out);
    const struct value *metadata =
        pod && pod->type == VALUE_MAP ? value_map_get(&pod->as.map, "metadata", 8) : NULL;
    const struct value *annotations = metadata && metadata->type == VALUE_MAP
                                          ? value_map_get(&metadata->as.map, "annotations", 11)
                                          : NULL;
    if (!annotations || annotations->type != VALUE_MAP)
        return;
    struct ranked r = {.out = out};
    for (size_t p = 0; p < sizeof prefixes / sizeof *prefixes; p++)
        read_prefix(&r, annotations, prefixes[p], container);
}

enum k8s_log_stream k8s_logging_stream(const struct value *stream)
{
    if (!stream || stream->type != VALUE_STRING)
        return K8S_STREAM_OTHER;
    if (strcmp(stream->as.string.ptr, "stdout") == 0)
        return K8S_STREAM_STDOUT;
    if (strcmp(stream->as.string.ptr, "stderr") == 0)
        return K8S_STREAM_STDERR;
    return K8S_STREAM_OTHER;
}

bool k8s_logging_excluded(const struct k8s_logging *logging, enum k8s_log_stream stream)
{
    if (stream < K8S_STREAM_COUNT)
        return logging->exclude[stream];
    return logging->exclude[K8S_STREAM_STDOUT] && logging->exclude[K8S_STREAM_STDERR];
}

const char *k8s_logging_parser(const struct k8s_logging *logging, enum k8s_log_stream stream)
{
    if (stream < K8S_STREAM_COUNT)
        return logging->parser[stream];
    const char *out = logging->parser[K8S_STREAM_STDOUT];
    const char *err = logging->parser[K8S_STREAM_STDERR];
    return out && err && strcmp(out, err) == 0 ? out : NULL;
}
