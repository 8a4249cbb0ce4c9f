/* The `kubernetes` metadata of a container's records, built from a Pod object
 * of the API server (its JSON parsed into a struct value) or, until the API
 * knows the pod, from the log file's path; and the pod annotations that steer
 * the pipeline. Not the cache or the API client: these are pure functions of
 * their arguments.
 *
 * Field names are those of Fluent Bit's kubernetes filter, so existing
 * dashboards keep working, in this order: pod_name, namespace_name, pod_id,
 * pod_ip, host, container_name, docker_id, container_image, container_hash,
 * owner (skiff's own), ownerReferences, labels, annotations. A field whose
 * source is missing, empty or of the wrong type is left out. */
#ifndef SKIFF_K8S_META_H
#define SKIFF_K8S_META_H

#include "k8s_path.h"
#include "value.h"

#include <stdbool.h>

struct k8s_meta_options {
    bool labels;
    bool annotations;
    /* metadata.ownerReferences as they are, under `ownerReferences`, as
     * Fluent Bit's Owner_References gives them. */
    bool owner_references;
    /* Replace '.' by '_' in label and annotation keys, so that `app` and
     * `app.kubernetes.io/name` cannot clash as text and object in an
     * Elasticsearch mapping. Of two keys that become equal the later wins. */
    bool dedot;
};

/* Sets *out to a new VALUE_MAP with the metadata of `container` in `pod`.
 * The container is looked up among the regular, init and ephemeral containers;
 * its id and image id (without a "containerd://" or "docker-pullable://"
 * style prefix) and image come from the pod's status, the image from the spec while there is no
 * status. `docker_id`, when not NULL, is the container id the log file's
 * name gives: it is the id of the container that wrote the file, where the
 * status has the current one (after a restart, the next container's), so it
 * wins, as in Fluent Bit. Returns 0, or -1 with *out VALUE_NULL if the pod
 * has no metadata.name or metadata.namespace string. */
int k8s_meta_build(const struct value *pod, const char *container, const char *docker_id,
                   const struct k8s_meta_options *opts, struct value *out);

/* Sets *out to a new VALUE_MAP with what the path gives: pod_name,
 * namespace_name, pod_id (pods/ paths), container_name and docker_id
 * (containers/ paths). */
void k8s_meta_from_path(const struct k8s_path *path, struct value *out);
/* Copies the map `source` (labels or annotations) under `field` of `out`,
 * with '.' in its keys replaced by '_' when `dedot`. Nothing for an empty or
 * missing map. */
void k8s_meta_set_map(struct value *out, const char *field, const struct value *source, bool dedot);

#endif
