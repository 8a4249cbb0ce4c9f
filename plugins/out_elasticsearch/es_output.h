/* The `elasticsearch` output's shared state, between its files: the options
 * (out_elasticsearch.c), the hosts and credentials (es_hosts.c) and the
 * sending of chunks as bulk requests (es_send.c). Internal to the plugin. */
#ifndef SKIFF_ES_OUTPUT_H
#define SKIFF_ES_OUTPUT_H

#include "es_bulk.h"
#include "diag.h"
#include "http_client.h"
#include "options.h"
#include "plugin_api.h"

#include <stdbool.h>
#include <stdint.h>

struct gzip_compressor;

struct es_tls_options {
    bool verify;
    char *ca_file;
    char *cert_file;
    char *key_file;
    char *server_name;
};

struct es_options {
    struct string_list hosts;
    char *index;
    char *data_stream;
    char *pipeline;
    char *id;
    char *write_operation; /* "create" or "index" */
    char *time_key;
    int64_t batch_max_bytes;
    int64_t batch_max_records;
    int64_t max_in_flight;
    char *compress;
    char *user;
    char *password;
    char *password_file;
    char *api_key;
    char *api_key_file;
    struct value headers;
    struct value headers_file; /* header name -> file holding its value */
    char *compatible_with;     /* "7", "8", "9" or NULL */
    struct es_tls_options tls;
    int64_t timeout_ms;
    bool suppress_type_name;
    bool dedot_keys;
};

struct es_host {
    char *base_url; /* as configured, without user:password@ and a trailing '/' */
    char *bulk_url; /* base_url + /_bulk[?pipeline=...] */
    int64_t down_until_ms;
    unsigned failures; /* in a row; 0 when it answers */
};

struct es_metrics {
    struct metric *documents;                       /* indexed (2xx, or 409 on create) */
    struct metric *body_bytes;                      /* NDJSON before compression */
    struct metric *sent_bytes;                      /* request bodies as sent */
    struct metric *items_retried;                   /* items answered 429 or 5xx */
    struct metric *index_fallbacks;                 /* index names with "unknown" for a field */
    struct metric *id_fallbacks;                    /* field ids missing: origin id used */
    struct metric *index_fixes[ES_INDEX_FIX_COUNT]; /* index names fixed, by reason */
    struct metric *time_key_conflicts;              /* records with their own time_key member */
    struct metric *batch_shrinks;                   /* batches halved after repeated 429s */
    struct metric *batch_limit;     /* gauge: records per request while throttled, 0: none */
    struct metric *in_flight_limit; /* gauge: chunks in flight now */
    struct metric_histogram *latency;
};

/* Request-level 429s in a row shrink the batches and the chunks in flight;
 * successes restore them step by step (es_answer.c). */
struct es_throttle {
    unsigned refused_in_row; /* request-level 429s since the last success */
    unsigned ok_in_row;      /* successes since the last change */
    size_t batch_records;    /* records per request; 0: only the configured limits */
    size_t shrunk_from;      /* records of the batch refused when shrinking began */
};

/* Body buffers between requests (es_buffers.c). */
struct es_spares {
    struct buf *bufs;
    size_t count;
    size_t max;      /* max_in_flight: at most one per chunk in flight */
    size_t keep_cap; /* a buffer with a larger capacity is freed */
};

struct es_flush;

struct es_output {
    struct instance *out;
    const struct es_options *opts;
    struct http_client *http;
    struct es_bulk_options bulk;
    struct es_index_pattern *index;
    struct es_id_spec id;
    char *node_name;
    /* Credentials taken out of a host URL (percent-decoded), or NULL. */
    char *url_user;
    char *url_password;
    struct es_host *hosts;
    size_t host_count;
    size_t next_host;
    struct http_tls tls;
    /* Request headers: the fixed ones, the user's, and Authorization last
     * (rebuilt when credentials are read again). */
    char **headers;
    size_t header_count;
    size_t auth_header;         /* index of Authorization in headers, or SIZE_MAX */
    size_t *file_headers;       /* index in headers of each of headers_file's, or SIZE_MAX */
    bool auth_failing;          /* the last answer was 401/403: logged once */
    bool items_held;            /* items refused by the cluster's setup: logged once per run */
    bool request_refused;       /* a whole request answered 400: the output is failing */
    bool index_fix_logged;      /* an index name was fixed: logged once */
    int64_t rejected_logged_ms; /* last log line about rejected documents */
    struct es_throttle throttle;
    char *time_key_original; /* "<time_key>_original" */
    struct es_index_fix_example fix_example;
    struct gzip_compressor *gzip;
    struct es_flush *flushes; /* in progress, for destroy */
    /* gzip: the compressed bodies of the requests in flight. */
    struct es_spares spare_gzipped;
    /* gzip: the one uncompressed body, of the batch being built: it is only
     * needed to compress it (a split or a retry builds again from the
     * records), and building and compressing happen at once on the output's
     * thread. Kept while its capacity is at most scratch_keep_cap. Without
     * compression, bodies are streamed (es_bulk_stream) and none is held. */
    struct buf scratch_body;
    size_t scratch_keep_cap;
    struct es_metrics metrics;
};

/* Bounds on the responses held in memory: one bulk response (filter_path
 * keeps about 30 bytes per item, a few hundred with an error), and all the
 * responses of this output's requests in flight together. A response over
 * either is answered as an error and its batch split (es_answer.c). */
#define ES_RESPONSE_MAX_BYTES ((size_t)16 << 20)
#define ES_RESPONSES_MAX_BYTES ((size_t)32 << 20)

/* out_elasticsearch.c: a series labelled with the output's alias and, if
 * `label` is not NULL, label="value". */
struct metric *es_labelled_metric(const struct instance *out, bool gauge, const char *name,
                                  const char *help, const char *label, const char *value);

/* es_config.c: the checks run at load and by --dry-run. */
int es_validate(const void *options, const struct cfg_node *node, const char *context,
                struct diag_list *diags);
/* Finds user:password@ in a URL (or in host:port without a scheme): returns
 * the length of the userinfo part (0 if none) and sets *at to its start. */
size_t es_url_userinfo(const char *url, size_t *at);

/* es_hosts.c */
void es_hosts_init(struct es_output *es);
void es_hosts_free(struct es_output *es);
/* The next host in turn that is not backing off; if all are, the one that
 * recovers first. */
size_t es_hosts_pick(struct es_output *es, int64_t now_ms);
bool es_hosts_any_up(const struct es_output *es, int64_t now_ms);
void es_hosts_failed(struct es_output *es, size_t host, int64_t now_ms, const char *why);
void es_hosts_ok(struct es_output *es, size_t host);
/* Builds es->headers with the credentials. Returns 0, or -1 with a message
 * (malloc'ed) naming the file that could not be read. */
int es_headers_init(struct es_output *es, char **error);
/* Reads password_file / api_key_file / headers_file again (after a 401). */
void es_headers_reload(struct es_output *es);
void es_headers_free(struct es_output *es);

/* es_headers.c */
/* Whether `header` ("Name: value") has the name `name`, in any case. */
bool es_header_named(const char *header, const char *name, size_t name_len);

/* es_buffers.c: buffers for request bodies, kept for the next request. */
void es_buffers_init(struct es_output *es);
void es_buffers_free(struct es_output *es);
/* An empty buffer, with the capacity of one given back before if any. */
void es_buffer_take(struct es_spares *spares, struct buf *out);
/* Keeps `b` for es_buffer_take (or frees it); `b` is then empty. */
void es_buffer_give(struct es_spares *spares, struct buf *b);
/* gzip: es->scratch_body emptied after its body was compressed; its room is
 * kept unless it grew past a batch's (a record larger than the batch). */
void es_scratch_body_done(struct es_output *es);

/* es_send.c */
void es_send_flush(struct es_output *es, struct delivery *delivery);
void es_send_cancel_all(struct es_output *es);
/* gzip of `in` at level 1 into `out` (replaced). */
void es_gzip(struct es_output *es, const struct buf *in, struct buf *out);

#endif
