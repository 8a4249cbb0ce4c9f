/* Filter `k8s_audit`: Kubernetes API server audit events (audit.k8s.io/v1
 * Event, one JSON object per line) made fit for a security index:
 * - the request and response bodies of chosen resources (Secrets by
 *   default) are removed, whatever the audit policy logged: a Secret's
 *   values are in its data and stringData, in the items of a list, and in
 *   the last-applied-configuration annotation, so only the whole objects are
 *   safe to drop;
 * - the event moves under `target` (kubernetes.audit, where Elastic's
 *   Kubernetes integration keeps it), and
 * - ECS fields are added: event.action, event.outcome, user.name, source.ip
 *   and user_agent.original.
 * Event fields: https://kubernetes.io/docs/reference/config-api/apiserver-audit.v1/ */
#include "cfg_node.h"
#include "diag.h"
#include "log.h"
#include "plugin_api.h"
#include "xalloc.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct k8s_audit_options {
    char *target;
    bool ecs;
    struct string_list secret_resources;
};

static const struct option_spec k8s_audit_options_table[] = {
    {.name = "target",
     .type = OPT_STRING,
     .default_value = "kubernetes.audit",
     .offset = offsetof(struct k8s_audit_options, target),
     .description = "field path the event's fields move under; \"\": they stay at the top"},
    {.name = "ecs",
     .type = OPT_BOOL,
     .default_value = "true",
     .offset = offsetof(struct k8s_audit_options, ecs),
     .description = "add event.action (the verb), event.outcome (success, failure or unknown, "
                    "from the authorization decision and the response code), user.name, "
                    "source.ip (the first of sourceIPs) and user_agent.original"},
    {.name = "secret_resources",
     .type = OPT_LIST,
     .default_value = "[secrets]",
     .offset = offsetof(struct k8s_audit_options, secret_resources),
     .description = "resources (objectRef.resource) whose requestObject and responseObject are "
                    "removed; [] keeps every body"},
    {0},
};

/* The event fields the filter reads, compiled once. */
enum audit_field {
    F_RESOURCE,
    F_REQUEST_OBJECT,
    F_RESPONSE_OBJECT,
    F_VERB,
    F_USERNAME,
    F_SOURCE_IPS,
    F_USER_AGENT,
    F_CODE,
    F_DECISION,
    F_COUNT,
};

static const char *const audit_field_paths[F_COUNT] = {
    [F_RESOURCE] = "objectRef.resource",
    [F_REQUEST_OBJECT] = "requestObject",
    [F_RESPONSE_OBJECT] = "responseObject",
    [F_VERB] = "verb",
    [F_USERNAME] = "user.username",
    [F_SOURCE_IPS] = "sourceIPs",
    [F_USER_AGENT] = "userAgent",
    [F_CODE] = "responseStatus.code",
    [F_DECISION] = "annotations[\"authorization.k8s.io/decision\"]",
};

/* The ECS fields written, at the top of the record. */
enum ecs_field { E_ACTION, E_OUTCOME, E_USER, E_SOURCE_IP, E_USER_AGENT, E_COUNT };

static const char *const ecs_field_paths[E_COUNT] = {
    [E_ACTION] = "event.action", [E_OUTCOME] = "event.outcome",          [E_USER] = "user.name",
    [E_SOURCE_IP] = "source.ip", [E_USER_AGENT] = "user_agent.original",
};

struct k8s_audit {
    struct field_path fields[F_COUNT];
    struct field_path ecs[E_COUNT];
    struct field_path target;
    bool has_target;
    struct metric *bodies_removed;
};

static int check_target(const char *target, char **error)
{
    struct field_path path;
    if (!*target)
        return 0;
    if (field_path_parse(target, &path, error) < 0)
        return -1;
    field_path_free(&path);
    return 0;
}

static int k8s_audit_validate(const void *options, const struct cfg_node *node, const char *context,
                              struct diag_list *diags)
{
    const struct k8s_audit_options *opts = options;
    char *error = NULL;
    if (check_target(opts->target, &error) == 0)
        return 0;
    const struct cfg_node *at = cfg_map_get(node, "target");
    diag_add(diags, at ? at : node, "%s: option 'target': %s", context, error);
    free(error);
    return -1;
}

static void parse_fixed(const char *text, struct field_path *out)
{
    char *error = NULL;
    if (field_path_parse(text, out, &error) < 0)
        abort(); /* the paths above are constants */
}

static struct metric *bodies_removed_counter(const struct instance *f)
{
    struct buf labels = BUF_INIT;
    metrics_labels(&labels, "instance", f->alias, NULL);
    struct metric *m = metrics_counter("skiff_k8s_audit_bodies_removed_total",
                                       "Audit events whose request and response objects were "
                                       "removed (secret_resources)",
                                       buf_cstr(&labels));
    buf_free(&labels);
    return m;
}

static int k8s_audit_init(struct instance *f)
{
    const struct k8s_audit_options *opts = f->options;
    struct k8s_audit *audit = xcalloc(1, sizeof *audit);
    for (int i = 0; i < F_COUNT; i++)
        parse_fixed(audit_field_paths[i], &audit->fields[i]);
    for (int i = 0; i < E_COUNT; i++)
        parse_fixed(ecs_field_paths[i], &audit->ecs[i]);
    if (*opts->target) {
        char *error = NULL;
        if (field_path_parse(opts->target, &audit->target, &error) < 0) {
            log_error(f->alias, "option 'target': %s", error);
            free(error);
            f->state = audit;
            return -1;
        }
        audit->has_target = true;
    }
    audit->bodies_removed = bodies_removed_counter(f);
    f->state = audit;
    return 0;
}

static void k8s_audit_destroy(struct instance *f)
{
    struct k8s_audit *audit = f->state;
    if (!audit)
        return;
    for (int i = 0; i < F_COUNT; i++)
        field_path_free(&audit->fields[i]);
    for (int i = 0; i < E_COUNT; i++)
        field_path_free(&audit->ecs[i]);
    if (audit->has_target)
        field_path_free(&audit->target);
    free(audit);
    f->state = NULL;
}

static bool string_is(const struct value *v, const char *s)
{
    return v && v->type == VALUE_STRING && v->as.string.len == strlen(s) &&
           memcmp(v->as.string.ptr, s, v->as.string.len) == 0;
}

static bool is_secret_resource(const struct k8s_audit_options *opts, const struct value *resource)
{
    for (size_t i = 0; i < opts->secret_resources.count; i++)
        if (string_is(resource, opts->secret_resources.items[i]))
            return true;
    return false;
}

static void remove_bodies(struct instance *f, struct record *rec)
{
    const struct k8s_audit_options *opts = f->options;
    struct k8s_audit *audit = f->state;
    if (!is_secret_resource(opts, record_get(rec, &audit->fields[F_RESOURCE])))
        return;
    bool removed = record_delete(rec, &audit->fields[F_REQUEST_OBJECT]);
    removed |= record_delete(rec, &audit->fields[F_RESPONSE_OBJECT]);
    if (removed)
        metric_add(audit->bodies_removed, 1);
}

/* failure when authorization forbade the request or it was answered >= 400;
 * success for a lower code; unknown when the event says neither (the
 * RequestReceived stage has no response yet). */
static const char *outcome(const struct k8s_audit *audit, const struct record *rec)
{
    if (string_is(record_get(rec, &audit->fields[F_DECISION]), "forbid"))
        return "failure";
    const struct value *code = record_get(rec, &audit->fields[F_CODE]);
    if (!code || code->type != VALUE_INT)
        return "unknown";
    return code->as.integer >= 400 ? "failure" : "success";
}

/* A copy of `from` when it is a string, else VALUE_NULL. */
static struct value string_copy(const struct value *from)
{
    if (!from || from->type != VALUE_STRING)
        return value_null();
    return value_string(from->as.string.ptr, from->as.string.len);
}

/* The ECS values of the event, read before it moves: ecs[E_...]. */
static void read_ecs(const struct k8s_audit *audit, const struct record *rec,
                     struct value ecs[E_COUNT])
{
    const struct value *ips = record_get(rec, &audit->fields[F_SOURCE_IPS]);
    ecs[E_ACTION] = string_copy(record_get(rec, &audit->fields[F_VERB]));
    ecs[E_OUTCOME] = value_cstring(outcome(audit, rec));
    ecs[E_USER] = string_copy(record_get(rec, &audit->fields[F_USERNAME]));
    ecs[E_SOURCE_IP] = ips && ips->type == VALUE_ARRAY && ips->as.array.count > 0
                           ? string_copy(&ips->as.array.items[0])
                           : value_null();
    ecs[E_USER_AGENT] = string_copy(record_get(rec, &audit->fields[F_USER_AGENT]));
}

/* Moves the record's own fields under the target path. */
static void nest_event(const struct k8s_audit *audit, struct record *rec)
{
    struct value event = value_map_new();
    event.as.map = rec->fields; /* moved: the record's map is emptied */
    rec->fields = (struct value_map){0};
    record_set(rec, &audit->target, &event);
}

static enum filter_result k8s_audit_filter(struct instance *f, struct instance *input,
                                           const char *tag, struct record *rec)
{
    const struct k8s_audit_options *opts = f->options;
    struct k8s_audit *audit = f->state;
    (void)input;
    (void)tag;
    struct value ecs[E_COUNT];
    remove_bodies(f, rec);
    if (opts->ecs)
        read_ecs(audit, rec, ecs);
    if (audit->has_target)
        nest_event(audit, rec);
    for (int i = 0; opts->ecs && i < E_COUNT; i++) {
        if (ecs[i].type == VALUE_NULL)
            continue;
        /* Sets the field inside a map the record has (the event's own
         * `user`, when it stays at the top) or a new one. */
        record_set(rec, &audit->ecs[i], &ecs[i]);
    }
    return FILTER_KEEP;
}

const struct plugin filter_k8s_audit_plugin = {
    .name = "k8s_audit",
    .kind = PLUGIN_FILTER,
    .description = "Kubernetes audit events: removes Secrets' bodies, nests the event under "
                   "kubernetes.audit, adds ECS fields",
    .options = k8s_audit_options_table,
    .options_size = sizeof(struct k8s_audit_options),
    .validate = k8s_audit_validate,
    .init = k8s_audit_init,
    .destroy = k8s_audit_destroy,
    .filter = k8s_audit_filter,
};
