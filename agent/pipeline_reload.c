/* Reloading the configuration, on SIGHUP or POST /reload: the file skiff
 * started with is loaded again (with the same environment) and compared with
 * the running one. A config that does not load, or whose change needs a
 * restart (config_compare.c), or whose new instances cannot start, is
 * refused: the running pipeline goes on untouched. Otherwise the new filters,
 * outputs (on a new output thread), parsers and router are built beside the
 * old ones, and the reload is applied: the old output thread takes no more
 * chunks and ends once the attempts under way end (at most service.grace),
 * then pipeline_reroute.c swaps the parts. Inputs keep running throughout,
 * through the old filters, until the swap. */
#include "pipeline_reload.h"

#include "config_compare.h"
#include "http_server.h"
#include "json.h"
#include "log.h"
#include "loop.h"
#include "output_worker.h"
#include "storage.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void pipeline_parts_swap(struct pipeline *p, struct pipeline_parts *parts)
{
#define SWAP(field)                                                                                \
    do {                                                                                           \
        __typeof__(p->field) held = p->field;                                                      \
        p->field = parts->field;                                                                   \
        parts->field = held;                                                                       \
    } while (0)
    SWAP(config);
    SWAP(router);
    SWAP(filter_matches);
    SWAP(output_matches);
    SWAP(parsers);
    SWAP(parser_count);
    SWAP(dead_letter);
    SWAP(outputs);
    SWAP(output_count);
    SWAP(outputs_initialised);
    SWAP(worker);
    SWAP(worker_started);
    SWAP(filters);
    SWAP(filter_count);
#undef SWAP
}

/* Destroys the parts in `parts` (a reload's new ones, or the old ones it
 * replaced), but the parsers p still runs with. */
static void parts_destroy(struct pipeline *p, struct pipeline_parts *parts)
{
    pipeline_parts_swap(p, parts);
    pipeline_unbuild(p, parts->parsers, parts->parser_count);
    pipeline_parts_swap(p, parts);
}

void pipeline_reload_init(struct pipeline *p)
{
    struct reloader *r = xcalloc(1, sizeof *r);
    const char *help = "Configuration reloads (SIGHUP, POST /reload), applied or refused";
    r->applied = metrics_counter("skiff_reloads_total", help, "result=\"applied\"");
    r->refused = metrics_counter("skiff_reloads_total", help, "result=\"refused\"");
    r->load_time = metrics_gauge("skiff_config_last_load_timestamp_seconds",
                                 "When the running configuration was loaded (Unix time)", "");
    r->successful = metrics_gauge("skiff_config_last_reload_successful",
                                  "0 after a refused reload, until one is applied; else 1", "");
    metric_set(r->load_time, (int64_t)time(NULL));
    metric_set(r->successful, 1);
    p->reloader = r;
}

static void reload_cancel(struct pipeline *p)
{
    struct reloader *r = p->reloader;
    struct reload *reload = r ? r->running : NULL;
    if (!reload)
        return;
    loop_cancel_timer(p->loop, reload->grace_timer);
    reload_inputs_drop(reload);
    parts_destroy(p, &reload->parts);
    free(reload);
    r->running = NULL;
    p->outputs_closing = false;
}

void pipeline_reload_destroy(struct pipeline *p)
{
    struct reloader *r = p->reloader;
    if (!r)
        return;
    reload_cancel(p);
    loop_cancel_timer(p->loop, r->next);
    r->next = NULL;
}

void pipeline_reload_free(struct pipeline *p)
{
    struct reloader *r = p->reloader;
    if (!r)
        return;
    for (struct owned_config *c = r->configs, *next; c; c = next) {
        next = c->next;
        config_free(&c->config);
        free(c);
    }
    free(r);
    p->reloader = NULL;
}

/* ---- the answer ---- */

static void reload_answer(struct http_reply *reply, int status, const char *result, const char *key,
                          const char *text)
{
    if (!reply)
        return;
    reply->status = status;
    reply->content_type = "application/json";
    buf_append_str(&reply->body, "{\"result\":");
    json_write_string(&reply->body, result, strlen(result), NULL);
    buf_printf(&reply->body, ",\"%s\":", key);
    json_write_string(&reply->body, text, strlen(text), NULL);
    buf_append_str(&reply->body, "}\n");
}

static void reload_refuse(struct pipeline *p, struct http_reply *reply, const char *reason)
{
    metric_add(p->reloader->refused, 1);
    metric_set(p->reloader->successful, 0);
    log_error("reload", "refused, the running configuration goes on: %s", reason);
    reload_answer(reply, 422, "refused", "reason", reason);
}

/* "FILE: 2 errors in the configuration: FILE:3:5: ...; FILE:9:1: ..." */
static char *diags_text(const char *path, const struct diag_list *diags)
{
    struct buf text = BUF_INIT;
    buf_printf(&text, "%s: %zu error%s in the configuration: ", path, diags->count,
               diags->count == 1 ? "" : "s");
    for (size_t i = 0; i < diags->count; i++)
        buf_printf(&text, "%s%s", i ? "; " : "", diags->messages[i]);
    buf_cstr(&text);
    return text.data;
}

/* ---- building the new parts ---- */

static bool text_differs(const char *a, const char *b)
{
    return a != b && (!a || !b || strcmp(a, b) != 0);
}

/* Builds the new parts into reload->parts and starts their output thread.
 * Returns NULL, or why it cannot be done (malloc'ed; nothing is left). */
static char *reload_build(struct pipeline *p, struct reload *reload, const struct config *next)
{
    log_capture_start();
    reload->parts.config = next;
    pipeline_parts_swap(p, &reload->parts);
    int rc = pipeline_build(p, reload->parts.parsers, reload->parts.parser_count);
    if (rc == 0 && output_worker_start(p->worker) == 0)
        p->worker_started = true;
    else
        rc = -1;
    if (rc == 0)
        rc = reload_inputs_build(p, next, reload);
    pipeline_parts_swap(p, &reload->parts);
    char *errors = log_capture_end();
    if (rc == 0) {
        free(errors);
        return NULL;
    }
    reload_inputs_drop(reload);
    parts_destroy(p, &reload->parts);
    char *reason =
        xasprintf("the new configuration cannot start: %s", errors ? errors : "see the log above");
    free(errors);
    return reason;
}

/* Opens the new listen address, if it changed, before anything is
 * committed; *fd is -1 when there is nothing to open. */
static char *reload_listen(const struct pipeline *p, const struct config *next, int *fd)
{
    const char *listen = next->service.http.listen;
    char *error = NULL;
    *fd = -1;
    if (!listen || !text_differs(p->config->service.http.listen, listen))
        return NULL;
    *fd = http_listener_open(listen, &error);
    if (*fd >= 0)
        return NULL;
    char *reason = xasprintf("service.http.listen: %s", error);
    free(error);
    return reason;
}

/* ---- applying ---- */

static void reload_on_completion(struct loop *loop, int fd, unsigned events, void *data)
{
    struct pipeline *p = data;
    pipeline_on_completion(loop, fd, events, p);
    if (p->reloader->running && output_worker_finished(p->worker))
        pipeline_reload_finish(p);
}

static void reload_on_grace(struct loop *loop, struct loop_timer *timer, void *data)
{
    struct pipeline *p = data;
    p->reloader->running->grace_timer = NULL;
    unsigned busy = 0;
    for (size_t i = 0; i < p->output_count; i++)
        busy += p->lanes[i].submitted;
    log_warn("reload",
             "the old outputs still had %u deliveries under way after service.grace (%.1fs); "
             "they are abandoned, and the new outputs send their chunks",
             busy, (double)p->reloader->running->grace_ms / 1000.0);
    pipeline_reload_finish(p);
}

/* What changes at once: the log level, the HTTP listener, the disk limits. */
static void reload_service(struct pipeline *p, const struct service_config *service, int fd)
{
    enum log_level level;
    if (log_level_parse(service->log_level, &level))
        log_set_level(level);
    if (fd >= 0)
        pipeline_http_listen(p, fd, service->http.listen);
    else if (!service->http.listen && p->http)
        pipeline_http_listen(p, -1, NULL);
    if (p->storage)
        storage_configure(p->storage, &service->storage);
}

/* From here on the reload cannot fail: the old outputs finish what they are
 * doing, and pipeline_reload_finish swaps. */
static void reload_commit(struct pipeline *p, struct reload *reload, struct owned_config *next,
                          int listen_fd)
{
    struct reloader *r = p->reloader;
    next->next = r->configs;
    r->configs = next;
    reload_service(p, &next->config.service, listen_fd);
    metric_add(r->applied, 1);
    metric_set(r->successful, 1);
    metric_set(r->load_time, (int64_t)time(NULL));
    r->running = reload;
    reload->started_ms = loop_now_ms(p->loop);
    reload->grace_ms = next->config.service.grace_ms;
    p->outputs_closing = true;
    output_worker_finish(p->worker);
    loop_watch_fd(p->loop, output_worker_completion_fd(p->worker), LOOP_READABLE,
                  reload_on_completion, p);
    reload->grace_timer = loop_add_timer(p->loop, reload->grace_ms, 0, reload_on_grace, p);
}

/* Loads, compares, builds and commits; answers `reply` (NULL for SIGHUP). */
static void reload_run(struct pipeline *p, struct http_reply *reply)
{
    struct owned_config *next = xcalloc(1, sizeof *next);
    struct diag_list diags = {0};
    struct config_diff diff = {0};
    struct reload *reload = xcalloc(1, sizeof *reload);
    char *reason = NULL;
    int listen_fd = -1;

    log_debug("reload", "reading %s again", p->config->path);
    if (config_load(p->config->path, &next->config, &diags) < 0) {
        reason = diags_text(p->config->path, &diags);
        free(next);
        next = NULL;
    } else {
        config_diff(p->config, &next->config, &diff);
        reload->input_from = diff.input_from; /* the reload's from now on */
        diff.input_from = NULL;
        if (diff.refused)
            reason = xstrdup(diff.refused);
        if (!reason)
            reason = reload_listen(p, &next->config, &listen_fd);
        if (!reason)
            reason = reload_build(p, reload, &next->config);
    }
    if (reason) {
        reload_refuse(p, reply, reason);
        if (listen_fd >= 0)
            close(listen_fd);
        if (next)
            config_free(&next->config);
        free(next);
        free(reload->input_from);
        free(reload);
    } else {
        log_info("reload", "applied: %s", buf_cstr(&diff.summary));
        reload_answer(reply, 200, "applied", "changes", buf_cstr(&diff.summary));
        reload_commit(p, reload, next, listen_fd);
    }
    free(reason);
    diag_free(&diags);
    config_diff_free(&diff);
}

/* ---- requests ---- */

/* Refuses a request that comes while shutting down or reloading; returns
 * false when the reload may go ahead. */
static bool reload_busy(struct pipeline *p, struct http_reply *reply)
{
    if (p->stopping) {
        log_info("reload", "asked while shutting down: ignored");
        reload_answer(reply, 503, "refused", "reason", "skiff is shutting down");
        return true;
    }
    if (p->reloader->running) {
        if (!reply)
            p->reloader->again = true;
        log_info("reload", "asked while a reload waits for the old outputs: %s",
                 reply ? "refused" : "one more reload follows it");
        reload_answer(reply, 409, "refused", "reason",
                      "a reload is under way (the old outputs are finishing); try again");
        return true;
    }
    return false;
}

void pipeline_reload_signal(struct pipeline *p)
{
    if (!reload_busy(p, NULL))
        reload_run(p, NULL);
}

/* service.http.reload: local callers only by default, since the server
 * listens on every address in a pod and a reload re-reads the file and
 * hands held records on. */
static bool reload_forbidden(const struct pipeline *p, struct http_reply *reply)
{
    const char *who = p->config->service.http.reload;
    if (strcmp(who, "any") == 0 || (strcmp(who, "local") == 0 && reply->from_loopback))
        return false;
    log_warn("reload", "POST /reload from %s refused (service.http.reload: %s)",
             reply->from_loopback ? "this host" : "another host", who);
    reload_answer(reply, 403, "refused", "reason",
                  strcmp(who, "off") == 0
                      ? "reloading over HTTP is off (service.http.reload: off); send SIGHUP"
                      : "only callers on this host may reload (service.http.reload: local)");
    return true;
}

void pipeline_reload_http(const char *path, struct http_reply *reply, void *data)
{
    struct pipeline *p = data;
    if (!reload_forbidden(p, reply) && !reload_busy(p, reply))
        reload_run(p, reply);
}

/* ---- after the swap ---- */

static bool instances_use(const struct instance *instances, size_t count,
                          const struct config *config)
{
    for (size_t i = 0; i < count; i++) {
        if (instances[i].service == &config->service)
            return true;
    }
    return false;
}

/* Inputs that kept running (or wait to start), and parsers taken over, still
 * hold the config they were made from. */
static bool config_in_use(const struct pipeline *p, const struct config *config)
{
    if (config == p->config || instances_use(p->filters, p->filter_count, config) ||
        instances_use(p->outputs, p->output_count, config))
        return true;
    for (size_t i = 0; i < p->input_count; i++) {
        const struct instance *in = p->inputs[i];
        if (in && (in->service == &config->service ||
                   (in->core->successor && in->core->successor->service == &config->service)))
            return true;
    }
    for (size_t i = 0; i < p->parser_count; i++) {
        if (p->parsers[i]->service == &config->service)
            return true;
    }
    for (size_t i = 0; i < p->orphan_parser_count; i++) {
        if (p->orphan_parsers[i]->service == &config->service)
            return true;
    }
    return false;
}

static void reload_again(struct loop *loop, struct loop_timer *timer, void *data)
{
    struct pipeline *p = data;
    p->reloader->next = NULL;
    pipeline_reload_signal(p);
}

void pipeline_reload_collect(struct pipeline *p)
{
    struct reloader *r = p->reloader;
    size_t held = 0;
    for (struct owned_config **link = &r->configs; *link;) {
        struct owned_config *c = *link;
        if (config_in_use(p, &c->config)) {
            link = &c->next;
            held++;
            continue;
        }
        *link = c->next;
        config_free(&c->config);
        free(c);
    }
    log_debug("reload", "%zu configurations loaded by reloads are still in use", held);
}

void pipeline_reload_done(struct pipeline *p)
{
    struct reloader *r = p->reloader;
    pipeline_reload_collect(p);
    if (r->again && !r->next) {
        r->again = false;
        r->next = loop_add_timer(p->loop, 0, 0, reload_again, p);
    }
}
