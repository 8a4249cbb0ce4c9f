/* The pod annotations that steer how a container's lines are handled, by
 * skiff's names and by Fluent Bit's, so that pods annotated for Fluent Bit
 * keep working: <prefix>exclude and <prefix>parser, where <prefix> is
 * skiff.io/ or fluentbit.io/, in the forms
 *   <property>                        every container, both streams
 *   <property>_stdout, _stderr        every container, one stream
 *   <property>-<container>            one container, both streams
 *   <property>_<stream>-<container>   one container, one stream
 * The more specific form wins: a container's over the pod's, one stream's over
 * both's; at the same level skiff.io/ over fluentbit.io/, then the first in
 * the pod's order. An exclude value of true, yes or on (any case, Fluent
 * Bit's words) excludes; any other value does not, so a container's "false"
 * lets it log although the pod says "true". Pure functions of the Pod
 * object. */
#ifndef SKIFF_K8S_LOGGING_H
#define SKIFF_K8S_LOGGING_H

#include "value.h"

#include <stdbool.h>

enum k8s_log_stream {
    K8S_STREAM_STDOUT,
    K8S_STREAM_STDERR,
    K8S_STREAM_COUNT,
    K8S_STREAM_OTHER = K8S_STREAM_COUNT, /* a record without stdout/stderr */
};

struct k8s_logging {
    bool exclude[K8S_STREAM_COUNT];
    const char *parser[K8S_STREAM_COUNT]; /* points into the pod; NULL: none */
    /* The first annotation with one of our prefixes whose name is not one of
     * the forms above (points into the pod; NULL if none), for a warning. */
    const char *malformed;
};

void k8s_logging_read(const struct value *pod, const char *container, struct k8s_logging *out);

/* The stream of a record whose `stream` field is `stream` (may be NULL). */
enum k8s_log_stream k8s_logging_stream(const struct value *stream);

/* Whether the record is excluded, and the parser name for it: a record of no
 * known stream is excluded when both streams are, and parsed when both
 * streams name the same parser (as Fluent Bit does). */
bool k8s_logging_excluded(const struct k8s_logging *logging, enum k8s_log_stream stream);
const char *k8s_logging_parser(const struct k8s_logging *logging, enum k8s_log_stream stream);

#endif
