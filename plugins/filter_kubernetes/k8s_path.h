/* A pod's identity from the path of its log file alone, for the kubernetes
 * filter before (or without) the API server: the names kubelet puts in
 * /var/log/containers/ and /var/log/pods/. Not a lookup of anything: it reads
 * text and checks its shape, nothing more. */
#ifndef SKIFF_K8S_PATH_H
#define SKIFF_K8S_PATH_H

#include <stdbool.h>

enum k8s_path_kind {
    K8S_PATH_CONTAINERS, /* <pod>_<namespace>_<container>-<id>.log, any folder */
    K8S_PATH_PODS,       /* pods/<namespace>_<pod>_<uid>/<container>/<n>.log[.<suffix>] */
};

/* Strings are malloc'ed; those a kind does not give are NULL. */
struct k8s_path {
    enum k8s_path_kind kind;
    char *pod_name;
    char *namespace_name;
    char *container_name;
    char *container_id;     /* K8S_PATH_CONTAINERS: 64 lowercase hex digits */
    char *pod_uid;          /* K8S_PATH_PODS */
    unsigned restart_count; /* K8S_PATH_PODS: the <n> of <n>.log */
};

/* Parses the last components of `path`: a file named as in containers/ in any
 * folder, or the last four components of a pods/ path, so any prefix before
 * the `pods` component is allowed (/tmp/t/var/log/pods/..).
 * Names must have the characters Kubernetes allows: lowercase letters, digits
 * and '-', and also '.' in pod names. A pod uid is lowercase hex and '-': a
 * UUID, or the 32-digit hash kubelet gives static pods. Returns false, with
 * *out zeroed and nothing to free, if the path has neither shape. */
bool k8s_path_parse(const char *path, struct k8s_path *out);
void k8s_path_free(struct k8s_path *path); /* leaves *path zeroed */

#endif
