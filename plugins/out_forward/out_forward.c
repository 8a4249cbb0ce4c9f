/* Output `forward`: chunks to Fluentd (or Fluent Bit) aggregators over
 * Fluentd's forward protocol v1, on the output thread's loop with
 * non-blocking sockets, optionally TLS, with the shared_key handshake and
 * acks. This file is the option table, the metrics, and start/stop;
 * fw_config.c checks the options, fw_send.c puts chunks on connections,
 * fw_conn.c runs them, fw_message.c and fw_proto.c write and read the
 * protocol's messages. */
#include "fw_output.h"

#include "gzip.h"
#include "log.h"
#include "xalloc.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OPT(field) offsetof(struct fw_options, field)
#define TLS_OPT(field) offsetof(struct fw_tls_options, field)

static const char *const compress_choices[] = {"none", "gzip", NULL};

static const struct option_spec fw_tls_table[] = {
    {.name = "enabled",
     .type = OPT_BOOL,
     .default_value = "false",
     .offset = TLS_OPT(enabled),
     .description = "connect with TLS (Fluentd's <transport tls>)"},
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
                    "host's"},
    {0},
};

static const struct option_spec fw_options_table[] = {
    {.name = "hosts",
     .type = OPT_LIST,
     .offset = OPT(hosts),
     .description = "servers as host:port ([IPv6]:port; without a port, `port`); new "
                    "connections go to them in turn, a failing one is skipped until it "
                    "recovers. Set hosts or host"},
    {.name = "host",
     .type = OPT_STRING,
     .offset = OPT(host),
     .description = "one server's name or address, with `port`"},
    {.name = "port",
     .type = OPT_INT,
     .default_value = "24224",
     .min = 1,
     .max = 65535,
     .offset = OPT(port),
     .description = "port of `host`, and of `hosts` given without one"},
    {.name = "tag",
     .type = OPT_STRING,
     .offset = OPT(tag),
     .description = "tag sent with every record; unset: the record's own tag"},
    {.name = "require_ack",
     .type = OPT_BOOL,
     .default_value = "true",
     .offset = OPT(require_ack),
     .description = "a chunk counts as delivered only when the server acknowledges it ({\"ack\": "
                    "chunk id}); false: once it is written to the socket"},
    {.name = "ack_timeout",
     .type = OPT_DURATION,
     .default_value = "60s",
     .min = 100,
     .max = 3600 * 1000,
     .offset = OPT(ack_timeout_ms),
     .description = "a chunk not acknowledged within this is sent again, possibly to "
                    "another host"},
    {.name = "compress",
     .type = OPT_STRING,
     .default_value = "none",
     .choices = compress_choices,
     .offset = OPT(compress),
     .description = "gzip: send the records gzip-compressed (CompressedPackedForward)"},
    {.name = "shared_key",
     .type = OPT_STRING,
     .offset = OPT(shared_key),
     .description = "key of the server's <security> section: do the handshake, and check "
                    "that the server holds the key too (prefer shared_key_file)"},
    {.name = "shared_key_file",
     .type = OPT_STRING,
     .offset = OPT(shared_key_file),
     .description = "file whose first line is the shared key; read at start"},
    {.name = "self_hostname",
     .type = OPT_STRING,
     .offset = OPT(self_hostname),
     .description = "this client's name in the handshake; unset: the host name"},
    {.name = "username",
     .type = OPT_STRING,
     .offset = OPT(username),
     .description = "user for a server with user_auth (needs shared_key)"},
    {.name = "password",
     .type = OPT_STRING,
     .offset = OPT(password),
     .description = "that user's password (prefer password_file)"},
    {.name = "password_file",
     .type = OPT_STRING,
     .offset = OPT(password_file),
     .description = "file whose first line is the password; read at start"},
    {.name = "tls",
     .type = OPT_SECTION,
     .section = fw_tls_table,
     .offset = OPT(tls),
     .description = "TLS to the servers"},
    {.name = "connect_timeout",
     .type = OPT_DURATION,
     .default_value = "10s",
     .min = 100,
     .max = 600 * 1000,
     .offset = OPT(connect_timeout_ms),
     .description = "limit for a new connection: name lookup, connect, TLS and handshake"},
    {.name = "send_timeout",
     .type = OPT_DURATION,
     .default_value = "60s",
     .min = 100,
     .max = 3600 * 1000,
     .offset = OPT(send_timeout_ms),
     .description = "limit for writing one chunk to the socket"},
    {.name = "keepalive",
     .type = OPT_BOOL,
     .default_value = "true",
     .offset = OPT(keepalive),
     .description = "keep connections open for the next chunks (unless the server's HELO "
                    "says otherwise)"},
    {.name = "keepalive_idle_timeout",
     .type = OPT_DURATION,
     .default_value = "30s",
     .min = 100,
     .max = 3600 * 1000,
     .offset = OPT(keepalive_idle_timeout_ms),
     .description = "a connection idle for this long is closed"},
    {.name = "max_in_flight",
     .type = OPT_INT,
     .default_value = "2",
     .min = 1,
     .max = 16,
     .offset = OPT(max_in_flight),
     .description = "chunks sent at once, each on a connection of its own"},
    {0},
};

static const char *const error_names[FW_ERR_COUNT] = {
    [FW_ERR_RESOLVE] = "resolve",   [FW_ERR_CONNECT] = "connect",
    [FW_ERR_TLS] = "tls",           [FW_ERR_HANDSHAKE] = "handshake",
    [FW_ERR_AUTH] = "auth",         [FW_ERR_SEND] = "send",
    [FW_ERR_CLOSED] = "closed",     [FW_ERR_ACK_TIMEOUT] = "ack_timeout",
    [FW_ERR_PROTOCOL] = "protocol",
};

static struct metric *fw_metric(const struct instance *out, const char *name, const char *help,
                                const char *label, const char *value)
{
    struct buf labels = BUF_INIT;
    metrics_labels(&labels, "instance", out->alias, label, value, NULL);
    struct metric *m = metrics_counter(name, help, buf_cstr(&labels));
    buf_free(&labels);
    return m;
}

static void fw_register_metrics(struct fw_output *fw)
{
    struct fw_metrics *m = &fw->metrics;
    const struct instance *out = fw->out;
    for (unsigned i = 0; i < FW_ERR_COUNT; i++)
        m->errors[i] =
            fw_metric(out, "skiff_forward_errors_total",
                      "Connections and chunks that failed, by reason", "reason", error_names[i]);
    m->connections =
        fw_metric(out, "skiff_forward_connections_total",
                  "Connections made ready to send (after the handshake, if any)", NULL, NULL);
    m->chunks =
        fw_metric(out, "skiff_forward_chunks_total",
                  "Chunks the servers acknowledged (or took, without require_ack)", NULL, NULL);
    m->entries_bytes =
        fw_metric(out, "skiff_forward_entries_bytes_total",
                  "MessagePack bytes of the records sent, before compression", NULL, NULL);
}

/* The secrets, read once at start: from the options or their files. */
static int fw_secrets_init(struct fw_output *fw, char **error)
{
    const struct fw_options *opts = fw->opts;
    if (opts->shared_key)
        fw->shared_key = xstrdup(opts->shared_key);
    else if (opts->shared_key_file &&
             !(fw->shared_key = secret_read_file(opts->shared_key_file, error)))
        return -1;
    if (opts->password)
        fw->password = xstrdup(opts->password);
    else if (opts->password_file && !(fw->password = secret_read_file(opts->password_file, error)))
        return -1;
    secret_register(fw->shared_key); /* masked if a server ever quotes them (the files' */
    secret_register(fw->password);   /* values are registered as they are read) */
    fw->username = xstrdup(opts->username ? opts->username : "");
    if (!fw->password)
        fw->password = xstrdup("");
    if (opts->self_hostname) {
        fw->self_hostname = xstrdup(opts->self_hostname);
    } else {
        char host[256] = "";
        gethostname(host, sizeof host - 1);
        fw->self_hostname = xstrdup(host[0] ? host : "localhost");
    }
    fw->credentials = (struct fw_credentials){
        .self_hostname = fw->self_hostname,
        .shared_key = fw->shared_key ? fw->shared_key : "",
        .username = fw->username,
        .password = fw->password,
    };
    return 0;
}

static void fw_destroy(struct instance *out)
{
    struct fw_output *fw = out->state;
    if (!fw)
        return;
    if (fw->conns)
        fw_send_cancel_all(fw);
    free(fw->conns);
    fw_tls_context_free(fw->tls);
    gzip_compressor_free(fw->gzip);
    buf_free(&fw->scratch);
    if (fw->hosts)
        fw_hosts_free(fw);
    secret_free(fw->shared_key);
    secret_free(fw->password);
    free(fw->username);
    free(fw->self_hostname);
    free(fw);
    out->state = NULL;
}

static int fw_init(struct instance *out)
{
    const struct fw_options *opts = out->options;
    struct fw_output *fw = xcalloc(1, sizeof *fw);
    char *error = NULL;
    fw->out = out;
    fw->opts = opts;
    out->state = fw;
    if (fw_hosts_init(fw, &error) < 0 || fw_secrets_init(fw, &error) < 0)
        goto fail;
    if (opts->tls.enabled && !(fw->tls = fw_tls_context(&opts->tls, &error)))
        goto fail;
    if (strcmp(opts->compress, "gzip") == 0)
        fw->gzip = gzip_compressor_new();
    fw->conn_count = (unsigned)opts->max_in_flight;
    fw->conns = xcalloc(fw->conn_count, sizeof *fw->conns);
    for (unsigned i = 0; i < fw->conn_count; i++) {
        fw->conns[i].fw = fw;
        fw->conns[i].fd = -1;
    }
    fw_register_metrics(fw);
    out->max_in_flight = fw->conn_count;
    if (opts->tls.enabled && !opts->tls.verify)
        log_warn(out->alias, "tls.verify is false: the server's certificate is not checked, so "
                             "anyone on the path can read and change the logs");
    if (fw->shared_key && !opts->tls.enabled)
        log_info(out->alias, "the shared_key handshake authenticates both ends, but the records "
                             "travel in clear text: set tls.enabled to encrypt them");
    return 0;
fail:
    log_error(out->alias, "cannot start: %s", error ? error : "see above");
    free(error);
    fw_destroy(out);
    return -1;
}

static void fw_flush(struct instance *out, struct delivery *delivery)
{
    fw_send_flush(out->state, delivery);
}

const struct plugin out_forward_plugin = {
    .name = "forward",
    .kind = PLUGIN_OUTPUT,
    .description = "sends records to Fluentd or Fluent Bit with the forward protocol",
    .options = fw_options_table,
    .options_size = sizeof(struct fw_options),
    .validate = fw_validate,
    .init = fw_init,
    .destroy = fw_destroy,
    .flush = fw_flush,
};
