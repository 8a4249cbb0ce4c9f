/* The API server's answers, decoded: a LIST (PodList, NamespaceList) and the
 * stream of a WATCH, which is one JSON event per line arriving in pieces of
 * any size. Not the HTTP requests (k8s_api.c) nor what is done with the
 * objects (k8s_cache.c). */
#ifndef SKIFF_K8S_WATCH_DECODE_H
#define SKIFF_K8S_WATCH_DECODE_H

#include "buf.h"
#include "value.h"

#include <stdbool.h>
#include <stddef.h>

/* Splits a watch stream into lines. A partial line is held until its newline
 * arrives, at most `max_line` bytes. */
struct k8s_stream {
    struct buf partial;
    size_t max_line;
};

/* Called with each complete line (without its newline; never empty). Returns
 * 0 to go on, -1 to stop feeding. */
typedef int k8s_line_cb(void *data, const char *line, size_t len);

void k8s_stream_init(struct k8s_stream *s, size_t max_line);
void k8s_stream_reset(struct k8s_stream *s); /* drops a held partial line */
void k8s_stream_free(struct k8s_stream *s);
/* Feeds a piece of the stream. Returns 0, -1 if `cb` stopped, or -2 if the
 * line being received grew past max_line (what was held is dropped: the
 * caller must restart the watch, the rest of that line is lost). */
int k8s_stream_feed(struct k8s_stream *s, const char *bytes, size_t len, k8s_line_cb *cb,
                    void *data);
/* Bytes of the partial line held now: non-zero when a stream ended with a
 * truncated event. */
size_t k8s_stream_pending(const struct k8s_stream *s);

enum k8s_event_type {
    K8S_EVENT_ADDED,
    K8S_EVENT_MODIFIED,
    K8S_EVENT_DELETED,
    K8S_EVENT_BOOKMARK,
    K8S_EVENT_ERROR,
};

struct k8s_event {
    enum k8s_event_type type;
    struct value object;    /* the Pod/Namespace (or the Status of an ERROR) */
    char *resource_version; /* object.metadata.resourceVersion, or NULL */
    long code;              /* ERROR: the Status's code (410: relist), else 0 */
};

/* Decodes one line of a watch stream. Returns 0, or -1 with a message in
 * *error (malloc'ed, the caller frees it) when the line is not JSON or not an
 * event of a known type with an object. */
int k8s_event_decode(const char *line, size_t len, struct k8s_event *out, char **error);
void k8s_event_free(struct k8s_event *ev);

/* Decodes a LIST answer: moves its `items` array into *items (VALUE_ARRAY)
 * and returns its metadata.resourceVersion (malloc'ed; NULL when the list has
 * none, as the kubelet's /pods). Returns 0 or -1 with a message in *error
 * (malloc'ed). */
int k8s_list_decode(const char *body, size_t len, struct value *items, char **resource_version,
                    char **error);

/* metadata.<key> of an object if it is a non-empty string, else NULL. */
const char *k8s_object_meta(const struct value *object, const char *key);

#endif
