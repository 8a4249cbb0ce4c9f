/* Fuzz target: what the kubernetes filter reads from a WATCH stream and a
 * LIST answer. The input is fed as a stream in pieces whose sizes come from
 * its first byte; each complete line is decoded as an event and applied to a
 * small pod cache whose attachments are built; the whole input is also
 * decoded as a list. Nothing may crash, leak or hold more than the bound. */
#include "fuzz.h"

#include "json_parse.h"
#include "plugins/filter_kubernetes/k8s_cache.h"
#include "plugins/filter_kubernetes/k8s_logging.h"
#include "plugins/filter_kubernetes/k8s_watch_decode.h"

#include <stdlib.h>

enum { MAX_LINE = 4096 };

struct fuzz_state {
    struct k8s_cache *cache;
    int64_t now;
};

static int on_line(void *data, const char *line, size_t len)
{
    struct fuzz_state *state = data;
    struct k8s_event ev;
    char *error = NULL;
    if (k8s_event_decode(line, len, &ev, &error) != 0) {
        free(error);
        return 0;
    }
    state->now += 10;
    if (ev.type == K8S_EVENT_DELETED) {
        k8s_cache_delete(state->cache, &ev.object, state->now);
    } else if (ev.type == K8S_EVENT_ADDED || ev.type == K8S_EVENT_MODIFIED) {
        struct k8s_pod *pod = k8s_cache_put(state->cache, &ev.object);
        if (pod) {
            k8s_pod_attachment(state->cache, pod, "app", NULL);
            struct k8s_logging logging;
            k8s_logging_read(k8s_pod_object(pod), "app", &logging);
        }
    }
    k8s_event_free(&ev);
    k8s_cache_expire(state->cache, state->now);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t piece = (size_t)data[0] % 64 + 1;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    struct k8s_cache_options opts = {
        .max_pods = 4, .ttl_ms = 25, .meta = {.labels = true, .annotations = true, .dedot = true}};
    struct fuzz_state state = {k8s_cache_create(&opts), 0};
    struct k8s_stream stream;
    k8s_stream_init(&stream, MAX_LINE);
    for (size_t at = 0; at < len; at += piece) {
        size_t n = len - at < piece ? len - at : piece;
        if (k8s_stream_feed(&stream, text + at, n, on_line, &state) == -2 &&
            k8s_stream_pending(&stream) != 0)
            abort(); /* an oversized line must be dropped */
        if (k8s_stream_pending(&stream) > MAX_LINE)
            abort();
    }
    k8s_stream_free(&stream);
    k8s_cache_destroy(state.cache);

    struct value items;
    char *rv;
    char *error = NULL;
    if (k8s_list_decode(text, len, &items, &rv, &error) == 0) {
        value_free(&items);
        free(rv);
    }
    free(error);
    return 0;
}
