/* The `elasticsearch` output's shared state, between its files: the options
 * (out_elasticsearch.c), the hosts and credentials (es_hosts.c) and the
 * sending of chunks as bulk requests (es_send.c). Internal to the plugin. */
#ifndef SKIFF_ES_OUTPUT_H
#define SKIFF_ES_OUTPUT_H

#include "es_bulk.h"
#include "http_client.h"
#include "options.h"
#include "pipeline.h"

#include <stdbool.h>
#include <stdint.h>

struct libdeflate_compressor;

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
    struct es_tls_options tls;
    int64_t timeout_ms;
    bool suppress_type_name;
    bool dedot_keys;
};

struct es_host {
    char *base_url; /* as configured, without a trailing '/' */
    char *bulk_url; /* base_url + /_bulk[?pipeline=...] */
    int64_t down_until_ms;
    unsigned failures; /* in a row; 0 when it answers */
};

struct es_metrics {
    struct metric *documents;       /* indexed (2xx, or 409 on create) */
    struct metric *body_bytes;      /* NDJSON before compression */
    struct metric *sent_bytes;      /* request bodies as sent */
    struct metric *items_retried;   /* items answered 429 or 5xx */
    struct metric *index_fallbacks; /* index names with "unknown" for a field */
    struct metric *id_fallbacks;    /* field ids missing: origin id used */
    struct metric_histogram *latency;
};

struct es_flush;

struct es_output {
    struct instance *out;
    const struct es_options *opts;
    struct http_client *http;
    struct es_bulk_options bulk;
    struct es_index_pattern *index;
    struct field_path id_field;
    bool has_id_field;
    char *node_name;
    struct es_host *hosts;
    size_t host_count;
    size_t next_host;
    struct http_tls tls;
    /* Request headers: the fixed ones, the user's, and Authorization last
     * (rebuilt when credentials are read again). */
    char **headers;
    size_t header_count;
    size_t auth_header;         /* index of Authorization in headers, or SIZE_MAX */
    bool auth_failing;          /* the last answer was 401/403: logged once */
    int64_t rejected_logged_ms; /* last log line about rejected documents */
    struct libdeflate_compressor *gzip;
    struct es_flush *flushes; /* in progress, for destroy */
    struct es_metrics metrics;
};

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
/* Reads password_file / api_key_file again (after a 401). */
void es_headers_reload(struct es_output *es);
void es_headers_free(struct es_output *es);
/* Reads a credential file: its first line, trimmed. NULL with *error. */
char *es_read_secret(const char *path, char **error);

/* es_send.c */
void es_send_flush(struct es_output *es, struct delivery *delivery);
void es_send_cancel_all(struct es_output *es);
/* gzip of `in` at level 1 into `out` (replaced). */
void es_gzip(struct es_output *es, const struct buf *in, struct buf *out);

#endif
