/* Building and tearing down the pipeline: one instance per configured input,
 * filter and output, their metrics, the router, the chunk store, the output
 * thread and the HTTP endpoints. The record path itself is in pipeline.c. */
#include "chunk_store.h"
#include "config_compare.h"
#include "dead_letter.h"
#include "http_server.h"
#include "log.h"
#include "loop.h"
#include "output_worker.h"
#include "pipeline_internal.h"
#include "router.h"
#include "skiff_version.h"
#include "storage.h"
#include "xalloc.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Tags cached by the router; a node rarely has more files than this. */
enum { ROUTER_CACHE_TAGS = 16384 };

static struct metric *instance_metric(const struct instance *instance, bool gauge, const char *name,
                                      const char *help)
{
    struct buf labels = BUF_INIT;
    metrics_labels(&labels, "instance", instance->alias, "plugin", instance->plugin->name, NULL);
    struct metric *m = gauge ? metrics_gauge(name, help, buf_cstr(&labels))
                             : metrics_counter(name, help, buf_cstr(&labels));
    buf_free(&labels);
    return m;
}

static void input_register_metrics(struct instance *in)
{
    struct instance_metrics *m = &in->metrics;
    m->records =
        instance_metric(in, false, "skiff_input_records_total", "Records emitted by the input");
    m->bytes = instance_metric(in, false, "skiff_input_bytes_total",
                               "Bytes of records emitted by the input, as buffered");
    m->buffer_bytes = instance_metric(in, true, "skiff_input_buffer_bytes",
                                      "Bytes of the input's records in chunks not yet delivered");
    m->paused = instance_metric(in, true, "skiff_input_paused",
                                "1 while the input is paused because its buffer is full");
    m->pauses = instance_metric(in, false, "skiff_input_pauses_total",
                                "Times the input was paused by a full buffer");
    metric_set(
        instance_metric(in, true, "skiff_input_buffer_limit_bytes", "The input's buffer_limit"),
        in->config->common.buffer_limit);
}

static void filter_register_metrics(struct instance *f)
{
    f->metrics.records =
        instance_metric(f, false, "skiff_filter_records_total", "Records seen by the filter");
}

static void output_register_metrics(struct instance *out)
{
    struct instance_metrics *m = &out->metrics;
    m->records =
        instance_metric(out, false, "skiff_output_records_total", "Records the output delivered");
    m->bytes =
        instance_metric(out, false, "skiff_output_bytes_total", "Bytes the output wrote or sent");
    m->retries = instance_metric(out, false, "skiff_output_retries_total",
                                 "Chunk deliveries that failed and were scheduled again");
    m->failures = instance_metric(
        out, false, "skiff_output_failed_chunks_total",
        "Chunks the output gave up on (their records go to the dead-letter folder)");
    /* Shown from the start, at 0; dead_letter.c counts into the same series. */
    instance_metric(out, false, "skiff_dead_letter_records_total",
                    "Records written to the dead-letter folder");
    m->invalid_utf8 = instance_metric(out, false, "skiff_output_invalid_utf8_total",
                                      "Invalid UTF-8 sequences replaced by U+FFFD on output");
    m->failing = instance_metric(out, true, "skiff_output_failing",
                                 "1 while the destination refuses every request (see /readyz)");
}

static void instance_setup(struct instance *instance, struct pipeline *p,
                           const struct instance_config *config)
{
    instance->plugin = config->plugin;
    instance->config = config;
    instance->service = &p->config->service;
    instance->alias = config->common.alias;
    instance->index = config->index;
    instance->options = config->options;
    instance->pipeline = p;
    instance->loop = p->loop;
    instance->max_in_flight = 1;
}

/* Runs plugin destroy on the first `initialised` instances and frees all
 * `count` of them. */
static void instances_destroy(struct instance *instances, size_t initialised, size_t count)
{
    if (!instances)
        return;
    for (size_t i = 0; i < count; i++) {
        if (i < initialised && instances[i].plugin->destroy)
            instances[i].plugin->destroy(&instances[i]);
        free(instances[i].core);
    }
    free(instances);
}

/* Builds the instances of one kind and runs their plugin init. Returns the
 * array, or NULL if an init failed (the ones before it are destroyed). */
static struct instance *instances_create(struct pipeline *p, const struct instance_config *configs,
                                         size_t count, void (*register_metrics)(struct instance *),
                                         bool init_now)
{
    struct instance *instances = xcalloc(count ? count : 1, sizeof *instances);
    for (size_t i = 0; i < count; i++) {
        instance_setup(&instances[i], p, &configs[i]);
        instances[i].core = xcalloc(1, sizeof *instances[i].core);
        register_metrics(&instances[i]);
    }
    if (!init_now)
        return instances;
    for (size_t i = 0; i < count; i++) {
        struct instance *instance = &instances[i];
        if (instance->plugin->init && instance->plugin->init(instance) < 0) {
            log_error(instance->alias, "cannot initialise");
            instances_destroy(instances, i, count);
            return NULL;
        }
    }
    return instances;
}

struct instance *input_create(struct pipeline *p, const struct instance_config *config)
{
    struct instance *in = xcalloc(1, sizeof *in);
    instance_setup(in, p, config);
    in->core = xcalloc(1, sizeof *in->core);
    input_register_metrics(in);
    return in;
}

int input_init(struct instance *in)
{
    if (in->plugin->init && in->plugin->init(in) < 0) {
        log_error(in->alias, "cannot initialise");
        return -1;
    }
    in->core->initialised = true;
    return 0;
}

void input_destroy(struct instance *in)
{
    if (!in)
        return;
    if (in->core->initialised && in->plugin->destroy)
        in->plugin->destroy(in);
    input_destroy(in->core->successor);
    free(in->core);
    free(in);
}

/* One slot per input, in config order, and the queue of replayed chunks. */
static int pipeline_create_inputs(struct pipeline *p)
{
    const struct config *config = p->config;
    p->input_count = config->input_count + 1;
    p->replay_queue = (unsigned)config->input_count;
    p->inputs = xcalloc(p->input_count, sizeof *p->inputs);
    for (size_t i = 0; i < config->input_count; i++) {
        p->inputs[i] = input_create(p, &config->inputs[i]);
        if (input_init(p->inputs[i]) < 0)
            return -1;
    }
    return 0;
}

static int outputs_init(struct pipeline *p)
{
    for (size_t i = 0; i < p->output_count; i++) {
        struct instance *out = &p->outputs[i];
        if (out->plugin->init && out->plugin->init(out) < 0) {
            log_error(out->alias, "cannot initialise");
            return -1;
        }
        p->outputs_initialised = i + 1;
    }
    return 0;
}

/* ---- parsers ---- */

/* A built-in parser has the defaults of every option: its config is built
 * here rather than read from `parsers:`. */
static void builtin_parser_config(struct instance_config *config, const struct plugin *plugin,
                                  unsigned index)
{
    static const char *const ignored[] = {"name", "format", NULL};
    struct diag_list diags = {0};
    config->plugin = plugin;
    config->index = index;
    config->options = xcalloc(1, plugin->options_size);
    struct option_target targets[] = {
        {parser_common_options, &config->common},
        {plugin->options, config->options},
    };
    options_apply(targets, 2, NULL, plugin->name, ignored, &diags);
    diag_free(&diags); /* defaults of built-in tables are checked by the unit tests */
    config->common.name = xstrdup(plugin->name);
    config->common.alias = xstrdup(plugin->name);
}

static void pipeline_builtin_parsers(struct pipeline *p)
{
    size_t count = 0;
    for (const struct plugin *const *pl = plugin_all(); *pl; pl++)
        count += (*pl)->kind == PLUGIN_PARSER && (*pl)->builtin;
    p->builtin_parsers = xcalloc(count ? count : 1, sizeof *p->builtin_parsers);
    for (const struct plugin *const *pl = plugin_all(); *pl; pl++) {
        if ((*pl)->kind == PLUGIN_PARSER && (*pl)->builtin) {
            builtin_parser_config(&p->builtin_parsers[p->builtin_parser_count], *pl,
                                  (unsigned)p->builtin_parser_count);
            p->builtin_parser_count++;
        }
    }
}

static int parser_start(struct instance *parser)
{
    if (parser_support_init(parser) < 0)
        return -1;
    if (parser->plugin->init && parser->plugin->init(parser) < 0) {
        log_error(parser->alias, "cannot initialise");
        parser_support_free(parser);
        return -1;
    }
    return 0;
}

static bool parser_is_builtin(const struct pipeline *p, const struct instance_config *c)
{
    return c >= p->builtin_parsers && c < p->builtin_parsers + p->builtin_parser_count;
}

/* A parser of `old` to keep for config `c`: the same built-in one, or a
 * defined one with the same name and options (inputs that keep running hold
 * it, and their per-file states are its). */
static struct instance *parser_reusable(const struct pipeline *p, struct instance *const *old,
                                        size_t old_count, const struct instance_config *c)
{
    for (size_t i = 0; i < old_count; i++) {
        const struct instance_config *was = old[i]->config;
        if (was == c)
            return old[i];
        if (!parser_is_builtin(p, c) && !parser_is_builtin(p, was) && config_instance_equal(was, c))
            return old[i];
    }
    return NULL;
}

/* The parsers of p->config, then the built-in ones; those of `old` that are
 * the same are taken over rather than made again. */
static int pipeline_create_parsers(struct pipeline *p, struct instance *const *old,
                                   size_t old_count)
{
    const struct config *config = p->config;
    size_t total = config->parser_count + p->builtin_parser_count;
    p->parsers = xcalloc(total ? total : 1, sizeof *p->parsers);
    for (size_t i = 0; i < total; i++) {
        const struct instance_config *c = i < config->parser_count
                                              ? &config->parsers[i]
                                              : &p->builtin_parsers[i - config->parser_count];
        struct instance *parser = parser_reusable(p, old, old_count, c);
        if (!parser) {
            parser = xcalloc(1, sizeof *parser);
            instance_setup(parser, p, c);
            if (parser_start(parser) < 0) {
                free(parser);
                return -1;
            }
        }
        p->parsers[p->parser_count++] = parser;
    }
    return 0;
}

struct instance *pipeline_parser(const struct pipeline *p, const char *name)
{
    for (size_t i = 0; i < p->parser_count; i++) {
        if (strcmp(p->parsers[i]->alias, name) == 0)
            return p->parsers[i];
    }
    return NULL;
}

const struct config *pipeline_config(const struct pipeline *p)
{
    return p->config;
}

static bool parser_in(struct instance *parser, struct instance *const *set, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (set[i] == parser)
            return true;
    }
    return false;
}

void parser_destroy(struct instance *parser)
{
    if (parser->plugin->destroy)
        parser->plugin->destroy(parser);
    parser_support_free(parser);
    free(parser);
}

/* Destroys p's parsers but those also in `keep`. */
static void pipeline_destroy_parsers(struct pipeline *p, struct instance *const *keep,
                                     size_t keep_count)
{
    for (size_t i = 0; i < p->parser_count; i++) {
        if (!parser_in(p->parsers[i], keep, keep_count))
            parser_destroy(p->parsers[i]);
    }
    free(p->parsers);
    p->parsers = NULL;
    p->parser_count = 0;
}

static void pipeline_free_builtin_parsers(struct pipeline *p)
{
    for (size_t i = 0; i < p->builtin_parser_count; i++) {
        struct instance_config *c = &p->builtin_parsers[i];
        options_free(parser_common_options, &c->common);
        options_free(c->plugin->options, c->options);
        free(c->options);
    }
    free(p->builtin_parsers);
}

static void pipeline_build_router(struct pipeline *p)
{
    const struct config *config = p->config;
    p->filter_matches = xcalloc(config->filter_count + 1, sizeof *p->filter_matches);
    p->output_matches = xcalloc(config->output_count + 1, sizeof *p->output_matches);
    for (size_t i = 0; i < config->filter_count; i++)
        p->filter_matches[i] = config->filters[i].common.match;
    for (size_t i = 0; i < config->output_count; i++)
        p->output_matches[i] = config->outputs[i].common.match;
    p->router = router_create(p->filter_matches, config->filter_count, p->output_matches,
                              config->output_count, ROUTER_CACHE_TAGS);
}

/* SIGTERM, SIGINT and SIGHUP are blocked from here on, so one that arrives
 * while the pipeline starts waits for the signalfd instead of killing the
 * process; the output threads inherit the mask. SIGPIPE is ignored: a closed pipe is a
 * write error that the output retries. */
static void pipeline_block_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* The disk buffer is opened when an input buffers on disk, or when the last
 * run left chunks there (they are delivered even if storage is now memory). */
static int pipeline_open_storage(struct pipeline *p)
{
    const struct config *config = p->config;
    bool wanted = strcmp(config->service.storage.type, "filesystem") == 0;
    for (size_t i = 0; i < config->input_count; i++) {
        const char *type = config->inputs[i].common.storage_type;
        wanted = wanted || (type && strcmp(type, "filesystem") == 0);
    }
    if (!wanted) {
        char *folder = xasprintf("%s/chunks", config->service.state_dir);
        struct stat st;
        wanted = stat(folder, &st) == 0 && S_ISDIR(st.st_mode);
        free(folder);
    }
    if (!wanted)
        return 0;
    p->storage = storage_open(config->service.state_dir, &config->service.storage);
    return p->storage ? 0 : -1;
}

int pipeline_build(struct pipeline *p, struct instance *const *old_parsers, size_t old_count)
{
    const struct config *config = p->config;
    pipeline_build_router(p);
    if (pipeline_create_parsers(p, old_parsers, old_count) < 0)
        return -1;
    p->dead_letter =
        dead_letter_create(config->service.state_dir, config->service.dead_letter.max_size);
    p->output_count = config->output_count;
    p->outputs =
        instances_create(p, config->outputs, config->output_count, output_register_metrics, false);
    p->worker = output_worker_create(p->outputs, p->output_count, p->dead_letter);
    if (!p->worker || outputs_init(p) < 0)
        return -1;
    p->filters =
        instances_create(p, config->filters, config->filter_count, filter_register_metrics, true);
    if (!p->filters)
        return -1;
    p->filter_count = config->filter_count;
    return 0;
}

void pipeline_unbuild(struct pipeline *p, struct instance *const *keep_parsers, size_t keep_count)
{
    instances_destroy(p->filters, p->filter_count, p->filter_count);
    p->filters = NULL;
    p->filter_count = 0;
    if (p->worker) {
        /* A worker that ran has destroyed its outputs on its own thread. */
        output_worker_stop(p->worker);
        if (p->worker_started)
            p->outputs_initialised = 0;
        output_worker_destroy(p->worker);
        p->worker = NULL;
        p->worker_started = false;
    }
    instances_destroy(p->outputs, p->outputs_initialised, p->output_count);
    p->outputs = NULL;
    p->output_count = p->outputs_initialised = 0;
    pipeline_destroy_parsers(p, keep_parsers, keep_count);
    dead_letter_destroy(p->dead_letter);
    p->dead_letter = NULL;
    router_destroy(p->router);
    p->router = NULL;
    free(p->filter_matches);
    free(p->output_matches);
    p->filter_matches = p->output_matches = NULL;
}

struct pipeline *pipeline_create(const struct config *config)
{
    pipeline_block_signals();
    struct pipeline *p = xcalloc(1, sizeof *p);
    p->config = config;
    p->signal_fd = -1;
    p->loop = loop_create();
    if (!p->loop) {
        free(p);
        return NULL;
    }
    metric_set(
        metrics_gauge("skiff_build_info", "skiff's version", "version=\"" SKIFF_VERSION "\""), 1);
    p->chunks_pending = metrics_gauge("skiff_chunks_pending",
                                      "Sealed chunks not yet delivered by every output", "");
    p->memory_bytes_gauge =
        metrics_gauge("skiff_storage_memory_bytes", "Bytes of buffered records held in memory", "");
    p->memory_chunks_gauge =
        metrics_gauge("skiff_storage_memory_chunks", "Chunks whose records are held in memory", "");
    /* One queue per input, and one for the chunks read back from disk. */
    p->store = chunk_store_create(config->input_count + 1);
    pipeline_builtin_parsers(p);
    if (pipeline_open_storage(p) < 0 || pipeline_build(p, NULL, 0) < 0)
        goto fail;
    if (pipeline_create_inputs(p) < 0)
        goto fail;
    pipeline_note_storage(p);
    pipeline_reload_init(p);
    return p;

fail:
    pipeline_destroy(p);
    return NULL;
}

void pipeline_destroy(struct pipeline *p)
{
    if (!p)
        return;
    if (p->http)
        http_server_stop(p->http);
    pipeline_reload_destroy(p);
    for (size_t i = 0; i < p->input_count; i++)
        input_destroy(p->inputs[i]);
    free(p->inputs);
    for (size_t i = 0; i < p->orphan_parser_count; i++)
        parser_destroy(p->orphan_parsers[i]);
    free(p->orphan_parsers);
    loop_cancel_timer(p->loop, p->retire_timer);
    pipeline_close_lanes(p); /* while output_count still sizes them */
    pipeline_unbuild(p, NULL, 0);
    pipeline_free_builtin_parsers(p);
    chunk_store_destroy(p->store);
    storage_close(p->storage);
    if (p->signal_fd >= 0)
        close(p->signal_fd);
    loop_destroy(p->loop);
    pipeline_reload_free(p); /* last: instances point into the configs it owns */
    free(p);
}

/* ---- HTTP endpoints ---- */

static void http_metrics(const char *path, struct http_reply *response, void *data)
{
    response->content_type = "text/plain; version=0.0.4; charset=utf-8";
    metrics_render(&response->body);
}

static void http_healthz(const char *path, struct http_reply *response, void *data)
{
    buf_append_str(&response->body, "ok\n");
}

/* Ready while the inputs run and no output is failing: 503 once shutdown
 * began, so that a load balancer or a rollout stops counting on this
 * instance, and while an output's destination refuses every request (the
 * body names it and why), so that a rollout of a broken config stops. */
static void http_readyz(const char *path, struct http_reply *response, void *data)
{
    const struct pipeline *p = data;
    if (p->stopping) {
        response->status = 503;
        buf_append_str(&response->body, "stopping\n");
        return;
    }
    if (output_health_report(p->outputs, p->output_count, &response->body) > 0) {
        response->status = 503;
        return;
    }
    buf_append_str(&response->body, "ready\n");
}

int pipeline_http_listen(struct pipeline *p, int fd, const char *listen)
{
    char *error = NULL;
    bool routes = !p->http;
    if (!p->http)
        p->http = http_server_create(p->loop);
    if (http_server_relisten(p->http, fd, listen, &error) < 0) {
        log_error("http", "%s", error);
        free(error);
        return -1;
    }
    if (routes) {
        http_server_route(p->http, "/metrics", http_metrics, p);
        http_server_route(p->http, "/healthz", http_healthz, p);
        http_server_route(p->http, "/readyz", http_readyz, p);
        http_server_route_post(p->http, "/reload", pipeline_reload_http, p);
    }
    return 0;
}

int pipeline_start_http(struct pipeline *p)
{
    const char *listen = p->config->service.http.listen;
    if (!listen)
        return 0;
    char *error = NULL;
    int fd = http_listener_open(listen, &error);
    if (fd < 0) {
        log_error("http", "%s", error);
        free(error);
        return -1;
    }
    return pipeline_http_listen(p, fd, listen);
}
