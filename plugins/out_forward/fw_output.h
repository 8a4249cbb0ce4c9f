/* The `forward` output's shared state, between its files: the options
 * (out_forward.c, checked by fw_config.c), the hosts (fw_hosts.c), the
 * connections (fw_conn.c over fw_io.c and fw_tls.c) and the chunks on
 * them (fw_send.c). Internal to the plugin. */
#ifndef SKIFF_FW_OUTPUT_H
#define SKIFF_FW_OUTPUT_H

#include "fw_message.h"
#include "fw_proto.h"
#include "options.h"
#include "plugin_api.h"

#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
struct cfg_node;
struct diag_list;
struct fw_lookup;
struct gzip_compressor;
struct loop_timer;

#define FW_DEFAULT_PORT 24224
/* A server's message (HELO, PONG, ack) is a few hundred bytes: one that
 * does not fit in this is a protocol error, not a reason to grow. */
#define FW_READ_MAX ((size_t)64 << 10)

struct fw_tls_options {
    bool enabled;
    bool verify;
    char *ca_file;
    char *cert_file;
    char *key_file;
    char *server_name;
};

struct fw_options {
    struct string_list hosts;
    char *host;
    int64_t port;
    char *tag;
    bool require_ack;
    int64_t ack_timeout_ms;
    char *compress;
    char *shared_key;
    char *shared_key_file;
    char *self_hostname;
    char *username;
    char *password;
    char *password_file;
    struct fw_tls_options tls;
    int64_t connect_timeout_ms;
    int64_t send_timeout_ms;
    bool keepalive;
    int64_t keepalive_idle_timeout_ms;
    int64_t max_in_flight;
};

struct fw_host {
    char *name;  /* host name or address, without [] */
    char *port;  /* decimal */
    char *label; /* host:port as configured, for messages */
    int64_t down_until_ms;
    unsigned failures; /* in a row; 0 once it took a chunk */
};

/* Why a connection or a chunk failed: the `reason` label of
 * skiff_forward_errors_total. */
enum fw_error {
    FW_ERR_RESOLVE,
    FW_ERR_CONNECT,
    FW_ERR_TLS,
    FW_ERR_HANDSHAKE, /* a HELO or PONG that is malformed or late */
    FW_ERR_AUTH,      /* refused by the server, or a wrong server digest */
    FW_ERR_SEND,      /* writing failed or took too long */
    FW_ERR_CLOSED,    /* the server closed before the ack */
    FW_ERR_ACK_TIMEOUT,
    FW_ERR_PROTOCOL, /* an answer that is not what the protocol allows */
    FW_ERR_COUNT,
};

enum fw_conn_state {
    FW_CONN_CLOSED,
    FW_CONN_RESOLVING,
    FW_CONN_CONNECTING,
    FW_CONN_TLS,
    FW_CONN_HELO,    /* waiting for the server's HELO */
    FW_CONN_PONG,    /* PING sent or being sent, waiting for PONG */
    FW_CONN_IDLE,    /* ready, no chunk: kept open for the next */
    FW_CONN_SENDING, /* writing a chunk */
    FW_CONN_ACK,     /* the chunk written, waiting for its ack */
};

/* A chunk on its way: one attempt of a delivery. */
struct fw_send {
    struct delivery *delivery;
    char chunk_id[FW_CHUNK_ID_SIZE];
    struct fw_message_stats stats;
    size_t hosts_tried; /* connections that failed before the chunk went out */
};

/* One connection; the output has max_in_flight of them, each carrying at
 * most one chunk at a time. */
struct fw_conn {
    struct fw_output *fw;
    enum fw_conn_state state;
    size_t host;
    int fd;
    SSL *ssl;
    bool ssl_wants_write; /* the last TLS read or write waits for writability */
    unsigned watched;     /* LOOP_* asked of the loop now */
    struct fw_lookup *lookup;
    struct addrinfo *addrs;
    struct addrinfo *next_addr;
    struct fw_helo helo;
    char salt[FW_SALT_SIZE];
    struct buf in;  /* read, not yet a whole message */
    struct buf out; /* PING or the chunk's message */
    size_t out_sent;
    struct loop_timer *timer; /* the current phase's deadline */
    bool keepalive;           /* the server lets the connection carry more chunks */
    struct fw_send *send;
};

struct fw_metrics {
    struct metric *errors[FW_ERR_COUNT];
    struct metric *connections; /* handshakes done (or connects, without one) */
    struct metric *chunks;      /* chunks acknowledged (or written, without acks) */
    struct metric *entries_bytes;
};

struct fw_output {
    struct instance *out;
    const struct fw_options *opts;
    struct fw_host *hosts;
    size_t host_count;
    size_t next_host;
    struct fw_conn *conns;
    unsigned conn_count;
    SSL_CTX *tls;
    struct gzip_compressor *gzip;
    struct buf scratch; /* entries before compression */
    char *self_hostname;
    char *shared_key; /* NULL: no handshake */
    char *username;
    char *password;
    struct fw_credentials credentials;
    bool failing; /* output_set_failing holds: a handshake was refused */
    struct fw_metrics metrics;
};

/* fw_config.c: the checks run at load and by --dry-run. */
int fw_validate(const void *options, const struct cfg_node *node, const char *context,
                struct diag_list *diags);
/* Splits "host:port", "[v6]:port" or "host" (port `default_port`). 0, or
 * -1 with *error (malloc'ed). */
int fw_host_parse(const char *text, int64_t default_port, char **name, char **port, char **error);
/* The `host` option as fw_host_parse reads it: an IPv6 address gets its
 * brackets (malloc'ed). */
char *fw_host_text(const char *host);

/* fw_hosts.c */
int fw_hosts_init(struct fw_output *fw, char **error);
void fw_hosts_free(struct fw_output *fw);
/* The next host in turn that is not backing off; if all are, the one that
 * recovers first. */
size_t fw_hosts_pick(struct fw_output *fw, int64_t now_ms);
/* Another host than `host` that is not backing off, or SIZE_MAX. */
size_t fw_hosts_other_up(const struct fw_output *fw, size_t host, int64_t now_ms);
void fw_hosts_failed(struct fw_output *fw, size_t host, int64_t now_ms);
void fw_hosts_ok(struct fw_output *fw, size_t host);

/* fw_tls.c */
SSL_CTX *fw_tls_context(const struct fw_tls_options *opts, char **error);
void fw_tls_context_free(SSL_CTX *ctx);
/* A TLS session on `fd`, checking the certificate against `name`. */
SSL *fw_tls_session(SSL_CTX *ctx, int fd, const char *name, bool verify, char **error);
/* The reason of the last failed TLS call (malloc'ed). */
char *fw_tls_error(SSL *ssl, int rc);

/* fw_io.c: reading and writing a connection, with or without TLS. */
enum fw_io { FW_IO_DONE, FW_IO_AGAIN, FW_IO_EOF, FW_IO_ERROR };
enum fw_io fw_io_write(struct fw_conn *conn, char **error);
enum fw_io fw_io_read(struct fw_conn *conn, char **error);
/* Steps the TLS handshake: FW_IO_DONE once established. */
enum fw_io fw_io_tls_step(struct fw_conn *conn, char **error);
/* Asks the loop for what the connection waits for now. */
void fw_io_watch(struct fw_conn *conn);
void fw_io_close(struct fw_conn *conn);

/* fw_conn.c: connections. */
struct loop;
/* The loop's callback for every connection's socket. */
void fw_conn_on_event(struct loop *loop, int fd, unsigned events, void *data);
void fw_conn_open(struct fw_conn *conn, size_t host);
/* Closes the connection: its lookup, timer, TLS session and socket. */
void fw_conn_close(struct fw_conn *conn);
/* The connection failed: counted, and its chunk (if any) goes to another
 * host or back to the core for a retry. The connection is closed. */
void fw_conn_fail(struct fw_conn *conn, enum fw_error error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Writes what is pending in conn->out; once a chunk is all written,
 * fw_send_written. False when the connection ended or moved on. */
bool fw_conn_write(struct fw_conn *conn);
/* Sets the phase deadline (replacing the one before). */
void fw_conn_deadline(struct fw_conn *conn, int64_t ms);
const char *fw_conn_label(const struct fw_conn *conn);

/* fw_send.c: chunks on connections. */
void fw_send_flush(struct fw_output *fw, struct delivery *delivery);
/* The connection is ready (handshake done): it sends its chunk, or idles. */
void fw_send_ready(struct fw_conn *conn);
/* The chunk on `conn` is written: wait for its ack, or it is delivered. */
void fw_send_written(struct fw_conn *conn);
/* A whole message arrived while a chunk is out. */
void fw_send_answer(struct fw_conn *conn, const uint8_t *data, size_t len);
/* The connection failed under its chunk, `reason` saying why (with the
 * host); `refused`: the server refused the handshake; `chunk_out`: the
 * chunk had begun to go out (else another host may take it at once). */
void fw_send_failed(struct fw_conn *conn, const char *reason, bool refused, bool chunk_out);
/* At destroy: chunks stop without delivery_done, the core keeps them. */
void fw_send_cancel_all(struct fw_output *fw);

#endif
