/* Unit tests for the kubernetes filter's building blocks: pod identity from
 * log file paths (k8s_path) and the metadata map built from Pod objects
 * (k8s_meta). */
#include "error_slot.h"
#include "suites.h"

#include "buf.h"
#include "json.h"
#include "json_parse.h"
#include "plugins/filter_kubernetes/k8s_meta.h"
#include "plugins/filter_kubernetes/k8s_path.h"

#include <stdlib.h>
#include <string.h>

#define ID64 "3f1e2d4c5b6a79880a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef"

/* A Deployment's pod on containerd: two containers, an init container, dotted
 * label keys, annotations, and several ownerReferences of which one is the
 * controller. */
static const char pod_deployment[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\","
    "\"metadata\":{\"name\":\"web-7d9f8b6c5d-x2k4p\",\"generateName\":\"web-7d9f8b6c5d-\","
    "\"namespace\":\"shop-frontend\",\"uid\":\"9f1c2b3a-1111-2222-3333-444455556666\","
    "\"resourceVersion\":\"48213\",\"creationTimestamp\":\"2024-05-01T10:15:00Z\","
    "\"labels\":{\"app\":\"web\",\"app.kubernetes.io/name\":\"nginx\","
    "\"app.kubernetes.io/part-of\":\"shop\",\"pod-template-hash\":\"7d9f8b6c5d\"},"
    "\"annotations\":{\"kubectl.kubernetes.io/restartedAt\":\"2024-05-01T10:14:00Z\","
    "\"skiff.io/parser\":\"json\",\"skiff.io/parser-sidecar\":\"logfmt\"},"
    "\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"cfg\","
    "\"uid\":\"00000000-0000-0000-0000-000000000001\"},"
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"web-7d9f8b6c5d\","
    "\"uid\":\"5b1d0c8e-aaaa-bbbb-cccc-ddddeeeeffff\",\"controller\":true,"
    "\"blockOwnerDeletion\":true}]},"
    "\"spec\":{\"nodeName\":\"node-a.example.internal\",\"restartPolicy\":\"Always\","
    "\"initContainers\":[{\"name\":\"init-config\",\"image\":\"busybox:1.36\"}],"
    "\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1.25\","
    "\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"}]},"
    "{\"name\":\"sidecar\",\"image\":\"fluent/fluent-bit:3.0\"}]},"
    "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.244.1.17\","
    "\"initContainerStatuses\":[{\"name\":\"init-config\",\"ready\":true,\"restartCount\":0,"
    "\"image\":\"docker.io/library/busybox:1.36\","
    "\"imageID\":\"docker.io/library/busybox@sha256:"
    "5eef5ed34e1e1ff0a4ae850395cbf665c4de6b4b83a32a0bc7bcb998e24e7bbb\","
    "\"containerID\":\"containerd://"
    "1111111111111111111111111111111111111111111111111111111111111111\","
    "\"state\":{\"terminated\":{\"exitCode\":0,\"reason\":\"Completed\"}}}],"
    "\"containerStatuses\":[{\"name\":\"sidecar\",\"ready\":true,\"restartCount\":2,"
    "\"image\":\"docker.io/fluent/fluent-bit:3.0\","
    "\"imageID\":\"docker.io/fluent/fluent-bit@sha256:"
    "aaaa1111bbbb2222cccc3333dddd4444eeee5555ffff6666000077778888999a\","
    "\"containerID\":\"containerd://"
    "2222222222222222222222222222222222222222222222222222222222222222\"},"
    "{\"name\":\"web\",\"ready\":true,\"restartCount\":0,"
    "\"image\":\"docker.io/library/nginx:1.25\","
    "\"imageID\":\"docker.io/library/nginx@sha256:"
    "0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31\","
    "\"containerID\":\"containerd://" ID64 "\",\"started\":true}]}}";

/* A bare pod on docker, without owner, excluded by annotation. */
static const char pod_docker[] =
    "{\"metadata\":{\"name\":\"debug.shell\",\"namespace\":\"default\","
    "\"uid\":\"c0ffee00-1234-5678-9abc-def012345678\","
    "\"labels\":{\"run\":\"debug\"},\"annotations\":{\"skiff.io/exclude\":\"true\"}},"
    "\"spec\":{\"nodeName\":\"worker-1\",\"containers\":[{\"name\":\"shell\","
    "\"image\":\"ubuntu:22.04\"}],\"ephemeralContainers\":[{\"name\":\"debugger\","
    "\"image\":\"busybox\"}]},"
    "\"status\":{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"shell\","
    "\"image\":\"ubuntu:22.04\",\"imageID\":\"docker-pullable://ubuntu@sha256:"
    "77906da86b60585ce12215807090eb327e7386c8fafb5402369e421f44eff17e\","
    "\"containerID\":\"docker://" ID64 "\"}],"
    "\"ephemeralContainerStatuses\":[{\"name\":\"debugger\",\"image\":\"busybox:latest\","
    "\"imageID\":\"\",\"state\":{\"waiting\":{\"reason\":\"ContainerCreating\"}}}]}}";

/* Just scheduled: no status yet, so the image comes from the spec. */
static const char pod_pending[] =
    "{\"metadata\":{\"name\":\"batch-28512345-abcde\",\"namespace\":\"jobs\","
    "\"uid\":\"12345678-90ab-cdef-1234-567890abcdef\","
    "\"annotations\":{\"skiff.io/exclude\":\"false\",\"skiff.io/parser\":\"\"},"
    "\"ownerReferences\":[{\"kind\":\"Job\",\"name\":\"batch-28512345\",\"controller\":true}]},"
    "\"spec\":{\"nodeName\":\"worker-2\",\"containers\":[{\"name\":\"main\","
    "\"image\":\"registry.example.com/batch:2.1\"}]}}";

static struct buf scratch = BUF_INIT;

static void scratch_free(void)
{
    buf_free(&scratch);
}

static struct value parse(const char *json)
{
    struct value v;
    char *error = NULL;
    ck_assert_msg(json_parse(json, strlen(json), &v, FRESH(error)) == 0, "fixture: %s", error);
    free(error);
    return v;
}

/* The JSON of `v`, valid until the next call. */
static const char *json_of(const struct value *v)
{
    buf_reset(&scratch);
    json_write_value(&scratch, v, NULL);
    return buf_cstr(&scratch);
}

/* The JSON of the metadata built from `pod_json` for a file whose name gives
 * `docker_id` (or none), or "-1" if it is refused. */
static const char *meta_json_for(const char *pod_json, const char *container, const char *docker_id,
                                 const struct k8s_meta_options *opts)
{
    struct value pod = parse(pod_json);
    struct value meta;
    int rc = k8s_meta_build(&pod, container, docker_id, opts, &meta);
    value_free(&pod);
    if (rc != 0) {
        ck_assert_int_eq(meta.type, VALUE_NULL);
        return "-1";
    }
    const char *json = json_of(&meta);
    value_free(&meta);
    return json;
}

static const char *meta_json(const char *pod_json, const char *container, bool labels,
                             bool annotations, bool dedot)
{
    struct k8s_meta_options opts = {.labels = labels, .annotations = annotations, .dedot = dedot};
    return meta_json_for(pod_json, container, NULL, &opts);
}

/* The parsed path in one line, "kind|pod|ns|container|id|uid|restarts", or
 * "false". */
static const char *path_summary(const char *path)
{
    struct k8s_path p;
    buf_reset(&scratch);
    if (!k8s_path_parse(path, &p)) {
        ck_assert_ptr_null(p.pod_name);
        buf_append_str(&scratch, "false");
        return buf_cstr(&scratch);
    }
    buf_printf(&scratch, "%s|%s|%s|%s|%s|%s|%u",
               p.kind == K8S_PATH_CONTAINERS ? "containers" : "pods", p.pod_name, p.namespace_name,
               p.container_name, p.container_id ? p.container_id : "-", p.pod_uid ? p.pod_uid : "-",
               p.restart_count);
    k8s_path_free(&p);
    ck_assert_ptr_null(p.pod_name);
    return buf_cstr(&scratch);
}

START_TEST(test_path_containers)
{
    ck_assert_str_eq(
        path_summary("/var/log/containers/coredns-5d78c9869d-abcde_kube-system_coredns-" ID64
                     ".log"),
        "containers|coredns-5d78c9869d-abcde|kube-system|coredns|" ID64 "|-|0");
    ck_assert_str_eq(
        path_summary("/tmp/t/var/log/containers/web.v2-0_shop-frontend_log-shipper-x-" ID64 ".log"),
        "containers|web.v2-0|shop-frontend|log-shipper-x|" ID64 "|-|0");
    ck_assert_str_eq(path_summary("containers/p_n_c-" ID64 ".log"),
                     "containers|p|n|c|" ID64 "|-|0");
    /* The name is what counts, in any folder (a DaemonSet may mount the
     * kubelet's files elsewhere). */
    static const char *const anywhere[] = {
        "/var/log/containers//p_n_c-" ID64 ".log",
        "/var/log/xcontainers/p_n_c-" ID64 ".log",
        "/var/log/p_n_c-" ID64 ".log",
        "/mnt/node-logs/p_n_c-" ID64 ".log",
        "p_n_c-" ID64 ".log",
    };
    for (size_t i = 0; i < sizeof anywhere / sizeof *anywhere; i++)
        ck_assert_str_eq(path_summary(anywhere[i]), "containers|p|n|c|" ID64 "|-|0");
}
END_TEST

START_TEST(test_path_pods)
{
    ck_assert_str_eq(path_summary("/var/log/pods/kube-system_coredns-5d78c9869d-abcde_9f1c2b3a-"
                                  "1111-2222-3333-444455556666/coredns/0.log"),
                     "pods|coredns-5d78c9869d-abcde|kube-system|coredns|-|9f1c2b3a-1111-2222-"
                     "3333-444455556666|0");
    ck_assert_str_eq(path_summary("/var/log/pods/shop_web.v2-0_9f1c2b3a-1111-2222-3333-"
                                  "444455556666/log-shipper/12.log.20240501-101500"),
                     "pods|web.v2-0|shop|log-shipper|-|9f1c2b3a-1111-2222-3333-444455556666|12");
    ck_assert_str_eq(path_summary("/x/var/log/pods/kube-system_kube-apiserver-node1_"
                                  "8c4f3e2a1b0d9c8e7f6a5b4c3d2e1f0a/kube-apiserver/3.log."
                                  "20240501-101500.gz"),
                     "pods|kube-apiserver-node1|kube-system|kube-apiserver|-|"
                     "8c4f3e2a1b0d9c8e7f6a5b4c3d2e1f0a|3");
}
END_TEST

START_TEST(test_path_malformed)
{
    static const char *const bad[] = {
        "",
        "/",
        ".log",
        "/var/log/containers/",
        "/var/log/containers/.log",
        "/var/log/containers/p_n_c-" ID64,
        "/var/log/containers/p_n_c-" ID64 ".log.1",
        "/var/log/containers/p_n_c-" ID64 "0.log",
        "/var/log/containers/p_n_c-3f1e2d4c.log",
        "/var/log/containers/p_n_c-3F1E2D4C5B6A79880A1B2C3D4E5F60718293A4B5C6D7E8F90123456789ABCDEF"
        ".log",
        "/var/log/containers/p_n_c-3f1e2d4c5b6a79880a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdeg"
        ".log",
        "/var/log/containers/p_n_c" ID64 ".log",
        "/var/log/containers/p_n-" ID64 ".log",
        "/var/log/containers/p_n_c_d-" ID64 ".log",
        "/var/log/containers/_n_c-" ID64 ".log",
        "/var/log/containers/p__c-" ID64 ".log",
        "/var/log/containers/p_n_-" ID64 ".log",
        "/var/log/containers/P_n_c-" ID64 ".log",
        "/var/log/containers/p_n.s_c-" ID64 ".log",
        "/var/log/containers/p_n_c.d-" ID64 ".log",
        "/var/log/pods/ns_pod_uid1/c/0.log",
        "/var/log/pods/ns_pod_0a1b/c/.log",
        "/var/log/pods/ns_pod_0a1b/c/x.log",
        "/var/log/pods/ns_pod_0a1b/c/0.txt",
        "/var/log/pods/ns_pod_0a1b/c/0.log.",
        "/var/log/pods/ns_pod_0a1b/c/0.logx",
        "/var/log/pods/ns_pod_0a1b/c/1234567890.log",
        "/var/log/pods/ns_pod_0a1b/0.log",
        "/var/log/pods/ns_pod_0a1b/c/",
        "/var/log/pods/ns_pod/c/0.log",
        "/var/log/pods/ns_pod_0a1b_x/c/0.log",
        "/var/log/pods/_pod_0a1b/c/0.log",
        "/var/log/pods/ns__0a1b/c/0.log",
        "/var/log/pods/ns_pod_/c/0.log",
        "/var/log/pods/ns_pod_0A1B/c/0.log",
        "/var/log/pods/ns_pod_0a1b/C/0.log",
        "/var/log/pods/ns_pod_0a1b/c_d/0.log",
        "/var/log/pods/ns_pod_0a1b/c/d/0.log",
        "/var/log/containers/p_n_c-" ID64 ".log/",
        "/var/log/app/p_n_c-" ID64 ".txt",
        "/var/log/pods/ns_pod_0a1b//0.log",
        "pods/ns_pod_0a1b/c",
        "ns_pod_0a1b/c/0.log",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(strcmp(path_summary(bad[i]), "false") == 0, "accepted %s", bad[i]);
}
END_TEST

START_TEST(test_meta_from_path)
{
    struct k8s_path path;
    struct value meta;
    ck_assert(k8s_path_parse("/var/log/containers/web-0_shop_nginx-" ID64 ".log", &path));
    k8s_meta_from_path(&path, &meta);
    ck_assert_str_eq(json_of(&meta), "{\"pod_name\":\"web-0\",\"namespace_name\":\"shop\","
                                     "\"container_name\":\"nginx\",\"docker_id\":\"" ID64 "\"}");
    value_free(&meta);
    k8s_path_free(&path);

    ck_assert(k8s_path_parse("/var/log/pods/shop_web-0_9f1c2b3a-1111/nginx/1.log", &path));
    k8s_meta_from_path(&path, &meta);
    ck_assert_str_eq(json_of(&meta), "{\"pod_name\":\"web-0\",\"namespace_name\":\"shop\","
                                     "\"pod_id\":\"9f1c2b3a-1111\",\"container_name\":\"nginx\"}");
    value_free(&meta);
    k8s_path_free(&path);
}
END_TEST

#define DEPLOYMENT_HEAD                                                                            \
    "{\"pod_name\":\"web-7d9f8b6c5d-x2k4p\",\"namespace_name\":\"shop-frontend\","                 \
    "\"pod_id\":\"9f1c2b3a-1111-2222-3333-444455556666\",\"pod_ip\":\"10.244.1.17\","              \
    "\"host\":\"node-a.example.internal\","

#define DEPLOYMENT_WEB                                                                             \
    DEPLOYMENT_HEAD "\"container_name\":\"web\",\"docker_id\":\"" ID64 "\","                       \
                    "\"container_image\":\"docker.io/library/nginx:1.25\","                        \
                    "\"container_hash\":\"docker.io/library/nginx@sha256:"                         \
                    "0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31\","          \
                    "\"owner\":{\"kind\":\"ReplicaSet\",\"name\":\"web-7d9f8b6c5d\"}"

START_TEST(test_meta_deployment)
{
    ck_assert_str_eq(meta_json(pod_deployment, "web", true, false, true),
                     DEPLOYMENT_WEB ",\"labels\":{\"app\":\"web\","
                                    "\"app_kubernetes_io/name\":\"nginx\","
                                    "\"app_kubernetes_io/part-of\":\"shop\","
                                    "\"pod-template-hash\":\"7d9f8b6c5d\"}}");
    ck_assert_str_eq(meta_json(pod_deployment, "web", true, true, false), DEPLOYMENT_WEB
                     ",\"labels\":{\"app\":\"web\","
                     "\"app.kubernetes.io/name\":\"nginx\","
                     "\"app.kubernetes.io/part-of\":\"shop\","
                     "\"pod-template-hash\":\"7d9f8b6c5d\"},"
                     "\"annotations\":{"
                     "\"kubectl.kubernetes.io/restartedAt\":\"2024-05-01T10:14:00Z\","
                     "\"skiff.io/parser\":\"json\","
                     "\"skiff.io/parser-sidecar\":\"logfmt\"}}");
    ck_assert_str_eq(meta_json(pod_deployment, "web", false, true, true), DEPLOYMENT_WEB
                     ",\"annotations\":{"
                     "\"kubectl_kubernetes_io/restartedAt\":\"2024-05-01T10:14:00Z\","
                     "\"skiff_io/parser\":\"json\","
                     "\"skiff_io/parser-sidecar\":\"logfmt\"}}");
    ck_assert_str_eq(meta_json(pod_deployment, "web", false, false, true), DEPLOYMENT_WEB "}");
}
END_TEST

START_TEST(test_meta_other_containers)
{
    ck_assert_str_eq(meta_json(pod_deployment, "sidecar", false, false, true), DEPLOYMENT_HEAD
                     "\"container_name\":\"sidecar\",\"docker_id\":"
                     "\"2222222222222222222222222222222222222222222222222222222222222222\","
                     "\"container_image\":\"docker.io/fluent/fluent-bit:3.0\","
                     "\"container_hash\":\"docker.io/fluent/fluent-bit@sha256:"
                     "aaaa1111bbbb2222cccc3333dddd4444eeee5555ffff6666000077778888999a\","
                     "\"owner\":{\"kind\":\"ReplicaSet\",\"name\":\"web-7d9f8b6c5d\"}}");
    ck_assert_str_eq(meta_json(pod_deployment, "init-config", false, false, true), DEPLOYMENT_HEAD
                     "\"container_name\":\"init-config\",\"docker_id\":"
                     "\"1111111111111111111111111111111111111111111111111111111111111111\","
                     "\"container_image\":\"docker.io/library/busybox:1.36\","
                     "\"container_hash\":\"docker.io/library/busybox@sha256:"
                     "5eef5ed34e1e1ff0a4ae850395cbf665c4de6b4b83a32a0bc7bcb998e24e7bbb\","
                     "\"owner\":{\"kind\":\"ReplicaSet\",\"name\":\"web-7d9f8b6c5d\"}}");
    /* A container the pod does not have: only what the caller knows. */
    ck_assert_str_eq(meta_json(pod_deployment, "gone", false, false, true), DEPLOYMENT_HEAD
                     "\"container_name\":\"gone\","
                     "\"owner\":{\"kind\":\"ReplicaSet\",\"name\":\"web-7d9f8b6c5d\"}}");
}
END_TEST

START_TEST(test_meta_docker_pod)
{
    ck_assert_str_eq(meta_json(pod_docker, "shell", true, false, true),
                     "{\"pod_name\":\"debug.shell\",\"namespace_name\":\"default\","
                     "\"pod_id\":\"c0ffee00-1234-5678-9abc-def012345678\",\"host\":\"worker-1\","
                     "\"container_name\":\"shell\",\"docker_id\":\"" ID64 "\","
                     "\"container_image\":\"ubuntu:22.04\","
                     "\"container_hash\":\"ubuntu@sha256:"
                     "77906da86b60585ce12215807090eb327e7386c8fafb5402369e421f44eff17e\","
                     "\"labels\":{\"run\":\"debug\"}}");
    /* A waiting ephemeral container: no id, an empty imageID left out. */
    ck_assert_str_eq(meta_json(pod_docker, "debugger", false, false, true),
                     "{\"pod_name\":\"debug.shell\",\"namespace_name\":\"default\","
                     "\"pod_id\":\"c0ffee00-1234-5678-9abc-def012345678\",\"host\":\"worker-1\","
                     "\"container_name\":\"debugger\",\"container_image\":\"busybox:latest\"}");
}
END_TEST

START_TEST(test_meta_pending_pod)
{
    ck_assert_str_eq(meta_json(pod_pending, "main", true, true, true),
                     "{\"pod_name\":\"batch-28512345-abcde\",\"namespace_name\":\"jobs\","
                     "\"pod_id\":\"12345678-90ab-cdef-1234-567890abcdef\",\"host\":\"worker-2\","
                     "\"container_name\":\"main\","
                     "\"container_image\":\"registry.example.com/batch:2.1\","
                     "\"owner\":{\"kind\":\"Job\",\"name\":\"batch-28512345\"},"
                     "\"annotations\":{\"skiff_io/exclude\":\"false\","
                     "\"skiff_io/parser\":\"\"}}");
}
END_TEST

/* The file's container id wins over the status's (which, after a restart,
 * is the next container's); ownerReferences come as they are on request. */
START_TEST(test_meta_file_id_and_owner_references)
{
    static const struct k8s_meta_options plain = {.dedot = true};
    static const char old_id[] = "9999999999999999999999999999999999999999999999999999999999999999";
    const char *json = meta_json_for(pod_deployment, "web", old_id, &plain);
    ck_assert_ptr_nonnull(strstr(json, "\"docker_id\":\""
                                       "9999999999"));
    ck_assert_ptr_null(strstr(json, ID64));
    ck_assert_ptr_null(strstr(json, "ownerReferences"));

    static const struct k8s_meta_options refs = {.owner_references = true, .dedot = true};
    ck_assert_str_eq(meta_json_for(pod_deployment, "web", NULL, &refs),
                     DEPLOYMENT_WEB ",\"ownerReferences\":[{\"apiVersion\":\"v1\","
                                    "\"kind\":\"ConfigMap\",\"name\":\"cfg\","
                                    "\"uid\":\"00000000-0000-0000-0000-000000000001\"},"
                                    "{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\","
                                    "\"name\":\"web-7d9f8b6c5d\","
                                    "\"uid\":\"5b1d0c8e-aaaa-bbbb-cccc-ddddeeeeffff\","
                                    "\"controller\":true,\"blockOwnerDeletion\":true}]}");
    /* No ownerReferences, or an empty list: nothing. */
    ck_assert_str_eq(meta_json_for(pod_docker, "debugger", NULL, &refs),
                     "{\"pod_name\":\"debug.shell\",\"namespace_name\":\"default\","
                     "\"pod_id\":\"c0ffee00-1234-5678-9abc-def012345678\",\"host\":\"worker-1\","
                     "\"container_name\":\"debugger\",\"container_image\":\"busybox:latest\"}");
}
END_TEST

START_TEST(test_meta_dedot_collision)
{
    ck_assert_str_eq(meta_json("{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\","
                               "\"labels\":{\"a.b\":\"1\",\"a_b\":\"2\",\"c\":\"3\"}}}",
                               "c", true, false, true),
                     "{\"pod_name\":\"p\",\"namespace_name\":\"n\",\"container_name\":\"c\","
                     "\"labels\":{\"a_b\":\"2\",\"c\":\"3\"}}");
}
END_TEST

START_TEST(test_meta_malformed)
{
    static const char *const refused[] = {
        "null",
        "[]",
        "{}",
        "{\"metadata\":\"x\"}",
        "{\"metadata\":{\"name\":\"p\"}}",
        "{\"metadata\":{\"namespace\":\"n\"}}",
        "{\"metadata\":{\"name\":\"\",\"namespace\":\"n\"}}",
        "{\"metadata\":{\"name\":1,\"namespace\":\"n\"}}",
        "{\"metadata\":{\"name\":\"p\",\"namespace\":[\"n\"]}}",
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        ck_assert_msg(strcmp(meta_json(refused[i], "c", true, true, true), "-1") == 0,
                      "accepted %s", refused[i]);

    static const char bare[] = "{\"pod_name\":\"p\",\"namespace_name\":\"n\","
                               "\"container_name\":\"c\"}";
    static const char *const wrong_types[] = {
        "{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\",\"uid\":7,\"labels\":\"app=x\","
        "\"annotations\":[],\"ownerReferences\":{}},\"spec\":[],\"status\":\"Running\"}",
        "{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\",\"labels\":{},"
        "\"ownerReferences\":[1,{\"kind\":\"X\",\"name\":\"y\"},{\"kind\":\"X\","
        "\"controller\":true},{\"kind\":\"X\",\"name\":\"y\",\"controller\":\"true\"}]},"
        "\"spec\":{\"nodeName\":null,\"containers\":{\"name\":\"c\",\"image\":\"i\"}},"
        "\"status\":{\"containerStatuses\":{\"name\":\"c\"},\"initContainerStatuses\":\"c\"}}",
        "{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\"},"
        "\"spec\":{\"containers\":[null,\"c\",{\"name\":5},{\"name\":\"c\",\"image\":1}]},"
        "\"status\":{\"containerStatuses\":[[],{\"name\":\"c\",\"containerID\":\"docker://\","
        "\"image\":false,\"imageID\":{}}]}}",
    };
    for (size_t i = 0; i < sizeof wrong_types / sizeof *wrong_types; i++)
        ck_assert_str_eq(meta_json(wrong_types[i], "c", true, true, true), bare);

    ck_assert_str_eq(meta_json("{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\"},"
                               "\"status\":{\"containerStatuses\":[{\"name\":\"c\","
                               "\"containerID\":\"abc\"}]}}",
                               "c", true, true, true),
                     "{\"pod_name\":\"p\",\"namespace_name\":\"n\",\"container_name\":\"c\","
                     "\"docker_id\":\"abc\"}");
}
END_TEST

Suite *k8s_suite(void)
{
    Suite *s = suite_create("k8s");
    TCase *path = tcase_create("path");
    tcase_add_test(path, test_path_containers);
    tcase_add_test(path, test_path_pods);
    tcase_add_test(path, test_path_malformed);
    tcase_add_test(path, test_meta_from_path);
    tcase_add_checked_fixture(path, NULL, scratch_free);
    suite_add_tcase(s, path);

    TCase *meta = tcase_create("meta");
    tcase_add_test(meta, test_meta_deployment);
    tcase_add_test(meta, test_meta_other_containers);
    tcase_add_test(meta, test_meta_docker_pod);
    tcase_add_test(meta, test_meta_pending_pod);
    tcase_add_test(meta, test_meta_file_id_and_owner_references);
    tcase_add_test(meta, test_meta_dedot_collision);
    tcase_add_test(meta, test_meta_malformed);
    tcase_add_checked_fixture(meta, NULL, scratch_free);
    suite_add_tcase(s, meta);
    return s;
}
