/* Output `elasticsearch`: chunks as `_bulk` requests to Elasticsearch 7, 8
 * and 9 or OpenSearch. This file is the option table, the metrics, and
 * start/stop; es_config.c checks the options, es_send.c and es_answer.c send
 * and read the answers, es_hosts.c picks hosts, es_headers.c builds the
 * headers and credentials. */
#include "es_output.h"

#include "cfg_node.h"
#include "diag.h"
#include "gzip.h"
#include "log.h"
#include "xalloc.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OPT(field) offsetof(struct es_options, field)
#define TLS_OPT(field) offsetof(struct es_tls_options, field)

static const char *const compress_choices[] = {"gzip", "none", NULL};
static const char *const write_operation_choices[] = {"create", "index", NULL};
static const char *const compatible_choices[] = {"7", "8", "9", NULL};

static const struct option_spec es_tls_table[] = {
    {.name = "verify",
     .type = OPT_BOOL,
     .default_value = "true",
     .offset = TLS_OPT(verify),
     .description = "verify the server's certificate and name (false logs a warning at start)"},
    {.name = "ca_file",
     .type = OPT_STRING,
     .empty_is_unset = true,
     .offset = TLS_OPT(ca_file),
     .description = "PEM bundle of the CAs to trust; unset: the system's"},
    {.name = "cert_file",
     .type = OPT_STRING,
     .empty_is_unset = true,
     .offset = TLS_OPT(cert_file),
     .description = "client certificate (PEM) for mutual TLS"},
    {.name = "key_file",
     .type = OPT_STRING,
     .empty_is_unset = true,
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
     .description = "write to this data stream (same pattern syntax) instead of `index`; "
                    "needs write_operation create and time_key @timestamp"},
    {.name = "pipeline",
     .type = OPT_STRING,
     .offset = OPT(pipeline),
     .description = "ingest pipeline to run on the documents"},
    {.name = "id",
     .type = OPT_STRING,
     .default_value = "origin",
     .offset = OPT(id),
     .description = "document _id: origin (from node, file and offset: a retry is answered "
                    "409, already there), field:<path> (a record field's value), "
                    "fields:<path>,<path>,... (a hash of several fields' values, e.g. "
                    "fields:auditID,stage), or none (duplicates possible)"},
    {.name = "write_operation",
     .type = OPT_STRING,
     .default_value = "create",
     .choices = write_operation_choices,
     .offset = OPT(write_operation),
     .description = "bulk action for every document: create (409 for an existing _id counts as "
                    "delivered; a create_doc role suffices) or index (overwrites)"},
    {.name = "time_key",
     .type = OPT_STRING,
     .default_value = "@timestamp",
     .offset = OPT(time_key),
     .description = "field that carries the record's time (RFC 3339, nanoseconds); a record's "
                    "own member of that name is kept as <time_key>_original"},
    {.name = "batch_max_bytes",
     .type = OPT_SIZE,
     .default_value = "5MiB",
     .min = 1024,
     .max = (int64_t)1 << 30,
     .offset = OPT(batch_max_bytes),
     .description = "largest bulk body before compression (one larger record goes alone); "
                    "buffered chunks are taken together up to this size per delivery"},
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
     .description = "deliveries sent in parallel, each one bulk request at a time; while "
                    "all are under way, new chunks wait and go together in the next"},
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
     .description = "extra HTTP headers, name: value; one named like skiff's own "
                    "(Content-Type...) replaces it"},
    {.name = "headers_file",
     .type = OPT_MAP,
     .offset = OPT(headers_file),
     .description = "extra HTTP headers whose values are secrets, name: file whose first line "
                    "is the value; read at start and after a 401"},
    {.name = "compatible_with",
     .type = OPT_STRING,
     .choices = compatible_choices,
     .offset = OPT(compatible_with),
     .description = "ask Elasticsearch 8/9 for this major version's REST API (Accept and "
                    "Content-Type with compatible-with=N)"},
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
    return es_labelled_metric(out, false, name, help, NULL, NULL);
}

struct metric *es_labelled_metric(const struct instance *out, bool gauge, const char *name,
                                  const char *help, const char *label, const char *value)
{
    struct buf labels = BUF_INIT;
    metrics_labels(&labels, "instance", out->alias, label, value, NULL);
    struct metric *m = gauge ? metrics_gauge(name, help, buf_cstr(&labels))
                             : metrics_counter(name, help, buf_cstr(&labels));
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
    m->time_key_conflicts =
        es_metric(out, "skiff_es_time_key_conflicts_total",
                  "Records with their own member named time_key (kept as <time_key>_original)");
    m->batch_shrinks = es_metric(out, "skiff_es_batch_shrinks_total",
                                 "Times repeated 429s for whole requests halved the batches");
    for (unsigned i = 0; i < ES_INDEX_FIX_COUNT; i++)
        m->index_fixes[i] = es_labelled_metric(out, false, "skiff_es_index_names_fixed_total",
                                               "Records whose index name was made valid, by reason",
                                               "reason", es_index_fix_name(i));
    m->batch_limit =
        es_labelled_metric(out, true, "skiff_es_batch_records_limit",
                           "Records per bulk request while 429s last; 0: no limit", NULL, NULL);
    m->in_flight_limit = es_labelled_metric(out, true, "skiff_es_in_flight_limit",
                                            "Deliveries sent in parallel now (max_in_flight, "
                                            "lowered while 429s last)",
                                            NULL, NULL);
    struct buf labels = BUF_INIT;
    metrics_labels(&labels, "instance", out->alias, NULL);
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
        .create = opts->data_stream || strcmp(opts->write_operation, "create") == 0,
        .id = &es->id,
        .node_name = es->node_name,
        .time_key = opts->time_key,
        .time_key_original = es->time_key_original,
        .fix_example = &es->fix_example,
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
    es_buffers_free(es);
    http_client_destroy(es->http);
    es_hosts_free(es);
    es_headers_free(es);
    es_index_pattern_free(es->index);
    buf_free(&es->fix_example.original);
    buf_free(&es->fix_example.fixed);
    free(es->time_key_original);
    es_id_spec_free(&es->id);
    gzip_compressor_free(es->gzip);
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
    if (es_id_spec_parse(opts->id, &es->id, &error) < 0)
        goto fail;
    es_hosts_init(es);
    if (es_headers_init(es, &error) < 0)
        goto fail;
    es->http = http_client_create(out->loop);
    if (!es->http)
        goto fail;
    http_client_set_response_budget(es->http, ES_RESPONSES_MAX_BYTES);
    es->time_key_original = xasprintf("%s_original", opts->time_key);
    if (strcmp(opts->compress, "gzip") == 0)
        es->gzip = gzip_compressor_new();
    es->node_name = node_name();
    es_bulk_setup(es);
    es_buffers_init(es);
    es_register_metrics(es);
    out->max_in_flight = (unsigned)opts->max_in_flight;
    /* Chunks waiting for this output go together, one delivery (and, as
     * long as their documents fit, one request) per batch_max_bytes of them:
     * a flush of a hundred files' chunks is one bulk request, not a hundred. */
    out->delivery_max_bytes = (size_t)opts->batch_max_bytes;
    metric_set(es->metrics.in_flight_limit, opts->max_in_flight);
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
