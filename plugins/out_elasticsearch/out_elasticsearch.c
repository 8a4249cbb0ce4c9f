/* Output `elasticsearch`: chunks as `_bulk` requests to Elasticsearch 7/8 or
 * OpenSearch. This file is the option table, its checks, and start/stop;
 * es_send.c sends, es_hosts.c picks hosts and builds the credentials. */
#include "es_output.h"

#include "cfg_node.h"
#include "diag.h"
#include "log.h"
#include "xalloc.h"

#include <errno.h>
#include <libdeflate.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OPT(field) offsetof(struct es_options, field)
#define TLS_OPT(field) offsetof(struct es_tls_options, field)

static const char *const compress_choices[] = {"gzip", "none", NULL};

static const struct option_spec es_tls_table[] = {
    {.name = "verify",
     .type = OPT_BOOL,
     .default_value = "true",
     .offset = TLS_OPT(verify),
     .description = "verify the server's certificate and name (false logs a warning at start)"},
    {.name = "ca_file",
     .type = OPT_STRING,
     .offset = TLS_OPT(ca_file),
     .description = "PEM bundle of the CAs to trust; unset: the system's"},
    {.name = "cert_file",
     .type = OPT_STRING,
     .offset = TLS_OPT(cert_file),
     .description = "client certificate (PEM) for mutual TLS"},
    {.name = "key_file",
     .type = OPT_STRING,
     .offset = TLS_OPT(key_file),
     .description = "the client certificate's private key (PEM)"},
    {.name = "server_name",
     .type = OPT_STRING,
     .offset = TLS_OPT(server_name),
     .description = "name to check the certificate against (and send as SNI) instead of the "
                    "URL's host"},
    {0},
};

static const struct option_spec es_options_table[] = {
    {.name = "hosts",
     .type = OPT_LIST,
     .required = true,
     .offset = OPT(hosts),
     .description = "Elasticsearch URLs (http:// or https://), used in turn; a failing one is "
                    "skipped until it recovers"},
    {.name = "index",
     .type = OPT_STRING,
     .default_value = "skiff-%Y.%m.%d",
     .offset = OPT(index),
     .description = "index name: text, record fields as ${field.path} ($${field} for a "
                    "top-level one: ${NAME} is the environment), %Y %m %d %H %M %j of the "
                    "record's time (UTC)"},
    {.name = "data_stream",
     .type = OPT_STRING,
     .offset = OPT(data_stream),
     .description = "write to this data stream (same pattern syntax) with op_type create, "
                    "instead of `index`"},
    {.name = "pipeline",
     .type = OPT_STRING,
     .offset = OPT(pipeline),
     .description = "ingest pipeline to run on the documents"},
    {.name = "id",
     .type = OPT_STRING,
     .default_value = "origin",
     .offset = OPT(id),
     .description = "document _id: origin (from node, file and offset: retries overwrite), "
                    "field:<path> (a record field), or none (duplicates possible)"},
    {.name = "time_key",
     .type = OPT_STRING,
     .default_value = "@timestamp",
     .offset = OPT(time_key),
     .description = "field that carries the record's time (RFC 3339, nanoseconds)"},
    {.name = "batch_max_bytes",
     .type = OPT_SIZE,
     .default_value = "5MiB",
     .min = 1024,
     .max = (int64_t)1 << 30,
     .offset = OPT(batch_max_bytes),
     .description = "largest bulk body before compression (one larger record goes alone)"},
    {.name = "batch_max_records",
     .type = OPT_INT,
     .default_value = "0",
     .min = 0,
     .max = 1000000,
     .offset = OPT(batch_max_records),
     .description = "most records per bulk request; 0: no limit"},
    {.name = "max_in_flight",
     .type = OPT_INT,
     .default_value = "4",
     .min = 1,
     .max = 64,
     .offset = OPT(max_in_flight),
     .description = "chunks sent in parallel (each one bulk request at a time)"},
    {.name = "compress",
     .type = OPT_STRING,
     .default_value = "gzip",
     .choices = compress_choices,
     .offset = OPT(compress),
     .description = "request body compression"},
    {.name = "user", .type = OPT_STRING, .offset = OPT(user), .description = "basic auth user"},
    {.name = "password",
     .type = OPT_STRING,
     .offset = OPT(password),
     .description = "basic auth password (prefer password_file)"},
    {.name = "password_file",
     .type = OPT_STRING,
     .offset = OPT(password_file),
     .description = "file whose first line is the password; read at start and after a 401"},
    {.name = "api_key",
     .type = OPT_STRING,
     .offset = OPT(api_key),
     .description = "API key, base64 of id:key as Elasticsearch prints it (prefer api_key_file)"},
    {.name = "api_key_file",
     .type = OPT_STRING,
     .offset = OPT(api_key_file),
     .description = "file whose first line is the API key; read at start and after a 401"},
    {.name = "headers",
     .type = OPT_MAP,
     .offset = OPT(headers),
     .description = "extra HTTP headers, name: value"},
    {.name = "tls",
     .type = OPT_SECTION,
     .section = es_tls_table,
     .offset = OPT(tls),
     .description = "TLS for https:// hosts"},
    {.name = "timeout",
     .type = OPT_DURATION,
     .default_value = "60s",
     .min = 100,
     .max = 3600 * 1000,
     .offset = OPT(timeout_ms),
     .description = "limit for one bulk request, from connecting to the last response byte"},
    {.name = "suppress_type_name",
     .type = OPT_BOOL,
     .default_value = "true",
     .offset = OPT(suppress_type_name),
     .description = "leave out _type (Elasticsearch 8, OpenSearch); false sends _type: _doc "
                    "for Elasticsearch 6"},
    {.name = "dedot_keys",
     .type = OPT_BOOL,
     .default_value = "false",
     .offset = OPT(dedot_keys),
     .description = "replace '.' by '_' in every field name"},
    {0},
};

static bool url_ok(const char *url)
{
    const char *rest = NULL;
    if (strncmp(url, "http://", 7) == 0)
        rest = url + 7;
    else if (strncmp(url, "https://", 8) == 0)
        rest = url + 8;
    return rest && rest[0] && rest[0] != '/' && rest[0] != ':' && !strpbrk(rest, " ?#");
}

static const struct cfg_node *option_node(const struct cfg_node *node, const char *name)
{
    const struct cfg_node *at = cfg_map_get(node, name);
    return at ? at : node;
}

static int check_hosts(const struct es_options *opts, const struct cfg_node *node,
                       const char *context, struct diag_list *diags)
{
    const struct cfg_node *list = cfg_map_get(node, "hosts");
    int problems = 0;
    if (opts->hosts.count == 0) {
        diag_add(diags, option_node(node, "hosts"), "%s: option 'hosts': give at least one URL",
                 context);
        return 1;
    }
    for (size_t i = 0; i < opts->hosts.count; i++) {
        if (url_ok(opts->hosts.items[i]))
            continue;
        const struct cfg_node *at = list && list->type == CFG_SEQ && i < list->count
                                        ? list->items[i]
                                        : option_node(node, "hosts");
        diag_add(diags, at,
                 "%s: option 'hosts': '%s' is not an http:// or https:// URL with a host "
                 "(e.g. https://elasticsearch:9200)",
                 context, opts->hosts.items[i]);
        problems++;
    }
    return problems;
}

static int check_file(const char *option, const char *path, const struct cfg_node *node,
                      const char *context, struct diag_list *diags)
{
    if (!path || access(path, R_OK) == 0)
        return 0;
    diag_add(diags, option_node(node, option), "%s: option '%s': cannot read '%s': %s", context,
             option, path, strerror(errno));
    return 1;
}

static int check_pattern(const char *option, const char *text, const struct cfg_node *node,
                         const char *context, struct diag_list *diags)
{
    char *error = NULL;
    struct es_index_pattern *pattern = es_index_pattern_compile(text, &error);
    if (pattern) {
        es_index_pattern_free(pattern);
        return 0;
    }
    diag_add(diags, option_node(node, option), "%s: option '%s': %s", context, option, error);
    free(error);
    return 1;
}

static int check_id(const char *id, const struct cfg_node *node, const char *context,
                    struct diag_list *diags)
{
    if (strcmp(id, "origin") == 0 || strcmp(id, "none") == 0)
        return 0;
    if (strncmp(id, "field:", 6) == 0) {
        struct field_path path;
        char *error = NULL;
        if (field_path_parse(id + 6, &path, &error) == 0) {
            field_path_free(&path);
            return 0;
        }
        diag_add(diags, option_node(node, "id"), "%s: option 'id': %s", context, error);
        free(error);
        return 1;
    }
    diag_add(diags, option_node(node, "id"),
             "%s: option 'id': '%s' is not origin, none or field:<path>", context, id);
    return 1;
}

static int check_credentials(const struct es_options *opts, const struct cfg_node *node,
                             const char *context, struct diag_list *diags)
{
    int problems = 0;
    if (opts->password && opts->password_file) {
        diag_add(diags, option_node(node, "password_file"),
                 "%s: set either password or password_file, not both", context);
        problems++;
    }
    if (opts->api_key && opts->api_key_file) {
        diag_add(diags, option_node(node, "api_key_file"),
                 "%s: set either api_key or api_key_file, not both", context);
        problems++;
    }
    if ((opts->password || opts->password_file) && !opts->user) {
        diag_add(diags, option_node(node, opts->password ? "password" : "password_file"),
                 "%s: a password needs `user`", context);
        problems++;
    }
    if (opts->user && (opts->api_key || opts->api_key_file)) {
        diag_add(diags, option_node(node, "user"),
                 "%s: use either user/password or an API key, not both", context);
        problems++;
    }
    problems += check_file("password_file", opts->password_file, node, context, diags);
    problems += check_file("api_key_file", opts->api_key_file, node, context, diags);
    return problems;
}

static int check_headers(const struct es_options *opts, const struct cfg_node *node,
                         const char *context, struct diag_list *diags)
{
    const struct value_map *map = &opts->headers.as.map;
    int problems = 0;
    for (uint32_t i = 0; opts->headers.type == VALUE_MAP && i < map->count; i++) {
        const struct map_entry *e = &map->entries[i];
        if (e->value.type == VALUE_STRING && !strpbrk(e->key.ptr, ": \r\n") &&
            !strpbrk(e->value.as.string.ptr, "\r\n"))
            continue;
        diag_add(diags, option_node(node, "headers"),
                 "%s: option 'headers': '%s' needs a header name and a one-line text value "
                 "(quote numbers)",
                 context, e->key.ptr);
        problems++;
    }
    return problems;
}

static int es_validate(const void *options, const struct cfg_node *node, const char *context,
                       struct diag_list *diags)
{
    const struct es_options *opts = options;
    int problems = check_hosts(opts, node, context, diags);
    if (opts->data_stream && cfg_map_get(node, "index")) {
        diag_add(diags, option_node(node, "data_stream"),
                 "%s: set either index or data_stream, not both", context);
        problems++;
    }
    problems +=
        check_pattern(opts->data_stream ? "data_stream" : "index",
                      opts->data_stream ? opts->data_stream : opts->index, node, context, diags);
    problems += check_id(opts->id, node, context, diags);
    problems += check_credentials(opts, node, context, diags);
    problems += check_headers(opts, node, context, diags);
    const struct es_tls_options *tls = &opts->tls;
    problems += check_file("ca_file", tls->ca_file, option_node(node, "tls"), context, diags);
    problems += check_file("cert_file", tls->cert_file, option_node(node, "tls"), context, diags);
    problems += check_file("key_file", tls->key_file, option_node(node, "tls"), context, diags);
    if (!tls->cert_file != !tls->key_file) {
        diag_add(diags, option_node(node, "tls"),
                 "%s: option 'tls': cert_file and key_file go together", context);
        problems++;
    }
    return problems ? -1 : 0;
}

/* The node's name goes into origin ids: NODE_NAME (the DaemonSet passes
 * spec.nodeName), else the host name. */
static char *node_name(void)
{
    const char *env = getenv("NODE_NAME");
    if (env && env[0])
        return xstrdup(env);
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    return xstrdup(host);
}

static struct metric *es_metric(const struct instance *out, const char *name, const char *help)
{
    struct buf labels = BUF_INIT;
    buf_append_str(&labels, "instance=\"");
    metrics_escape_label(&labels, out->alias);
    buf_append_byte(&labels, '"');
    struct metric *m = metrics_counter(name, help, buf_cstr(&labels));
    buf_free(&labels);
    return m;
}

static void es_register_metrics(struct es_output *es)
{
    static const double latency_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                            0.5,   1,    2.5,   5,    10,  30};
    struct es_metrics *m = &es->metrics;
    const struct instance *out = es->out;
    m->documents = es_metric(out, "skiff_es_documents_total", "Documents Elasticsearch indexed");
    m->body_bytes =
        es_metric(out, "skiff_es_body_bytes_total", "Bulk request bytes before compression");
    m->sent_bytes =
        es_metric(out, "skiff_es_sent_bytes_total", "Bulk request bytes sent (after compression)");
    m->items_retried =
        es_metric(out, "skiff_es_items_retried_total", "Bulk items answered 429 or 5xx");
    m->index_fallbacks = es_metric(out, "skiff_es_index_fallbacks_total",
                                   "Records whose index name has 'unknown' for a missing field");
    m->id_fallbacks = es_metric(out, "skiff_es_id_fallbacks_total",
                                "Records without a usable id field, sent with their origin id");
    struct buf labels = BUF_INIT;
    buf_append_str(&labels, "instance=\"");
    metrics_escape_label(&labels, out->alias);
    buf_append_byte(&labels, '"');
    m->latency = metrics_histogram("skiff_es_request_duration_seconds",
                                   "Bulk request latency, from start to the whole response",
                                   buf_cstr(&labels), latency_bounds,
                                   sizeof latency_bounds / sizeof latency_bounds[0]);
    buf_free(&labels);
}

static void es_bulk_setup(struct es_output *es)
{
    const struct es_options *opts = es->opts;
    es->bulk = (struct es_bulk_options){
        .index = es->index,
        .data_stream = opts->data_stream != NULL,
        .id_mode = strcmp(opts->id, "none") == 0         ? ES_ID_NONE
                   : strncmp(opts->id, "field:", 6) == 0 ? ES_ID_FIELD
                                                         : ES_ID_ORIGIN,
        .id_field = es->has_id_field ? &es->id_field : NULL,
        .node_name = es->node_name,
        .time_key = opts->time_key,
        .dedot_keys = opts->dedot_keys,
        .include_type = !opts->suppress_type_name,
        .batch_max_bytes = (size_t)opts->batch_max_bytes,
        .batch_max_records = (size_t)opts->batch_max_records,
    };
    es->tls = (struct http_tls){
        .verify = opts->tls.verify,
        .ca_file = opts->tls.ca_file,
        .cert_file = opts->tls.cert_file,
        .key_file = opts->tls.key_file,
        .server_name = opts->tls.server_name,
    };
}

static void es_destroy(struct instance *out)
{
    struct es_output *es = out->state;
    if (!es)
        return;
    es_send_cancel_all(es);
    http_client_destroy(es->http);
    es_hosts_free(es);
    es_headers_free(es);
    es_index_pattern_free(es->index);
    if (es->has_id_field)
        field_path_free(&es->id_field);
    if (es->gzip)
        libdeflate_free_compressor(es->gzip);
    free(es->node_name);
    free(es);
    out->state = NULL;
}

static int es_init(struct instance *out)
{
    const struct es_options *opts = out->options;
    struct es_output *es = xcalloc(1, sizeof *es);
    char *error = NULL;
    es->out = out;
    es->opts = opts;
    out->state = es;
    es->index =
        es_index_pattern_compile(opts->data_stream ? opts->data_stream : opts->index, &error);
    if (!es->index)
        goto fail;
    if (strncmp(opts->id, "field:", 6) == 0) {
        if (field_path_parse(opts->id + 6, &es->id_field, &error) < 0)
            goto fail;
        es->has_id_field = true;
    }
    es_hosts_init(es);
    if (es_headers_init(es, &error) < 0)
        goto fail;
    es->http = http_client_create(out->loop);
    if (!es->http)
        goto fail;
    if (strcmp(opts->compress, "gzip") == 0)
        es->gzip = libdeflate_alloc_compressor(1);
    es->node_name = node_name();
    es_bulk_setup(es);
    es_register_metrics(es);
    out->max_in_flight = (unsigned)opts->max_in_flight;
    if (!opts->tls.verify)
        log_warn(out->alias, "tls.verify is false: the server's certificate is not checked, so "
                             "anyone on the path can read and change the logs and credentials");
    return 0;
fail:
    log_error(out->alias, "cannot start: %s", error ? error : "see above");
    free(error);
    es_destroy(out);
    return -1;
}

static void es_flush(struct instance *out, struct delivery *delivery)
{
    es_send_flush(out->state, delivery);
}

const struct plugin out_elasticsearch_plugin = {
    .name = "elasticsearch",
    .kind = PLUGIN_OUTPUT,
    .description = "sends records to Elasticsearch or OpenSearch with the bulk API",
    .options = es_options_table,
    .options_size = sizeof(struct es_options),
    .validate = es_validate,
    .init = es_init,
    .destroy = es_destroy,
    .flush = es_flush,
};
