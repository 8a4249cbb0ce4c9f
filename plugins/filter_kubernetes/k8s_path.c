/* Pod identity from kubelet's log file names (see k8s_path.h). Not a path
 * normalizer: "." and ".." components and doubled slashes are not resolved,
 * so such paths do not match. */
#include "k8s_path.h"

#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

#define K8S_CONTAINER_ID_LEN 64
/* Keeps the restart count inside an unsigned without overflow checks. */
#define K8S_RESTART_MAX_DIGITS 9

struct span {
    const char *ptr;
    size_t len;
};

static bool span_is(struct span s, const char *text)
{
    return s.len == strlen(text) && memcmp(s.ptr, text, s.len) == 0;
}

/* The last `n` (> 0) components of `path`, in order. False if it has fewer. */
static bool last_components(const char *path, struct span *parts, size_t n)
{
    const char *end = path + strlen(path);
    for (size_t i = n; i > 0; i--) {
        const char *start = end;
        while (start > path && start[-1] != '/')
            start--;
        parts[i - 1] = (struct span){start, (size_t)(end - start)};
        if (i == 1)
            break;
        if (start == path)
            return false;
        end = start - 1;
    }
    return true;
}

/* Splits `s` at `sep` into exactly three fields. */
static bool split3(struct span s, char sep, struct span fields[3])
{
    const char *end = s.ptr + s.len;
    const char *p = s.ptr;
    for (int i = 0; i < 2; i++) {
        const char *hit = memchr(p, sep, (size_t)(end - p));
        if (!hit)
            return false;
        fields[i] = (struct span){p, (size_t)(hit - p)};
        p = hit + 1;
    }
    fields[2] = (struct span){p, (size_t)(end - p)};
    return memchr(p, sep, fields[2].len) == NULL;
}

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_lower_hex(char c)
{
    return (c >= 'a' && c <= 'f') || (c >= '0' && c <= '9');
}

/* A Kubernetes name: DNS label characters, and '.' too if `dots`. */
static bool valid_name(struct span s, bool dots)
{
    if (s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (!is_lower_alnum(c) && c != '-' && !(dots && c == '.'))
            return false;
    }
    return true;
}

static bool valid_hex(struct span s, bool dashes)
{
    if (s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        if (!is_lower_hex(s.ptr[i]) && !(dashes && s.ptr[i] == '-'))
            return false;
    }
    return true;
}

static char *span_dup(struct span s)
{
    return xstrndup(s.ptr, s.len);
}

/* <pod>_<namespace>_<container>-<64 hex>.log, in any folder: the kubelet
 * puts it in /var/log/containers, but a DaemonSet may mount it elsewhere (as
 * Fluent Bit, this reads the name, not the folder). */
static bool parse_containers(const char *path, struct k8s_path *out)
{
    struct span parts[1];
    if (!last_components(path, parts, 1))
        return false;
    struct span file = parts[0];
    const char suffix[] = ".log";
    size_t suffix_len = sizeof suffix - 1;
    if (file.len <= suffix_len || memcmp(file.ptr + file.len - suffix_len, suffix, suffix_len) != 0)
        return false;
    struct span stem = {file.ptr, file.len - suffix_len};
    const char *dash = memrchr(stem.ptr, '-', stem.len);
    if (!dash)
        return false;
    struct span id = {dash + 1, (size_t)(stem.ptr + stem.len - dash - 1)};
    struct span head = {stem.ptr, (size_t)(dash - stem.ptr)};
    struct span names[3];
    if (id.len != K8S_CONTAINER_ID_LEN || !valid_hex(id, false) || !split3(head, '_', names) ||
        !valid_name(names[0], true) || !valid_name(names[1], false) || !valid_name(names[2], false))
        return false;
    out->kind = K8S_PATH_CONTAINERS;
    out->pod_name = span_dup(names[0]);
    out->namespace_name = span_dup(names[1]);
    out->container_name = span_dup(names[2]);
    out->container_id = span_dup(id);
    return true;
}

/* <n>.log or <n>.log.<suffix> (rotated): sets *restarts to n. */
static bool parse_log_file_name(struct span file, unsigned *restarts)
{
    size_t digits = 0;
    unsigned n = 0;
    while (digits < file.len && file.ptr[digits] >= '0' && file.ptr[digits] <= '9') {
        n = n * 10 + (unsigned)(file.ptr[digits] - '0');
        digits++;
    }
    if (digits == 0 || digits > K8S_RESTART_MAX_DIGITS)
        return false;
    struct span rest = {file.ptr + digits, file.len - digits};
    if (!span_is(rest, ".log") && !(rest.len > 5 && memcmp(rest.ptr, ".log.", 5) == 0))
        return false;
    *restarts = n;
    return true;
}

/* pods/<namespace>_<pod>_<uid>/<container>/<n>.log[.<suffix>] */
static bool parse_pods(const char *path, struct k8s_path *out)
{
    struct span parts[4];
    if (!last_components(path, parts, 4) || !span_is(parts[0], "pods"))
        return false;
    struct span names[3];
    unsigned restarts;
    if (!split3(parts[1], '_', names) || !valid_name(names[0], false) ||
        !valid_name(names[1], true) || !valid_hex(names[2], true) || !valid_name(parts[2], false) ||
        !parse_log_file_name(parts[3], &restarts))
        return false;
    out->kind = K8S_PATH_PODS;
    out->namespace_name = span_dup(names[0]);
    out->pod_name = span_dup(names[1]);
    out->pod_uid = span_dup(names[2]);
    out->container_name = span_dup(parts[2]);
    out->restart_count = restarts;
    return true;
}

bool k8s_path_parse(const char *path, struct k8s_path *out)
{
    memset(out, 0, sizeof *out);
    return parse_containers(path, out) || parse_pods(path, out);
}

void k8s_path_free(struct k8s_path *path)
{
    free(path->pod_name);
    free(path->namespace_name);
    free(path->container_name);
    free(path->container_id);
    free(path->pod_uid);
    memset(path, 0, sizeof *path);
}
