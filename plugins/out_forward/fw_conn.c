/* A `forward` connection's life: name lookup (fw_resolve.c), a
 * non-blocking connect to each address in turn, TLS, the shared_key
 * handshake (HELO, PING, PONG: Fluentd Forward Protocol Specification v1,
 * "Handshake Messages"), then chunks (fw_send.c) until it fails, the
 * server closes it, or it idles past keepalive_idle_timeout. Each phase
 * has a deadline: connecting through the handshake connect_timeout,
 * writing a chunk send_timeout, its ack ack_timeout. Answers are framed as
 * whole MessagePack values, at most FW_READ_MAX bytes. */
#include "fw_output.h"

#include "fw_msgpack.h"
#include "fw_resolve.h"
#include "log.h"
#include "loop.h"
#include "xalloc.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

const char *fw_conn_label(const struct fw_conn *conn)
{
    return conn->fw->hosts[conn->host].label;
}

static double seconds(int64_t ms)
{
    return (double)ms / 1000.0;
}

void fw_conn_close(struct fw_conn *conn)
{
    struct loop *loop = conn->fw->out->loop;
    if (conn->lookup) {
        fw_lookup_cancel(conn->lookup);
        conn->lookup = NULL;
    }
    if (conn->timer) {
        loop_cancel_timer(loop, conn->timer);
        conn->timer = NULL;
    }
    if (conn->addrs) {
        freeaddrinfo(conn->addrs);
        conn->addrs = conn->next_addr = NULL;
    }
    fw_io_close(conn);
    buf_free(&conn->in);
    buf_free(&conn->out);
    conn->out_sent = 0;
    conn->state = FW_CONN_CLOSED;
}

void fw_conn_fail(struct fw_conn *conn, enum fw_error error, const char *fmt, ...)
{
    struct fw_output *fw = conn->fw;
    char text[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    char reason[1024];
    snprintf(reason, sizeof reason, "%s: %s", fw_conn_label(conn), text);
    metric_add(fw->metrics.errors[error], 1);
    fw_hosts_failed(fw, conn->host, loop_now_ms(fw->out->loop));
    bool chunk_out = conn->state == FW_CONN_SENDING || conn->state == FW_CONN_ACK;
    if (conn->send) {
        fw_send_failed(conn, reason, error == FW_ERR_AUTH, chunk_out);
        return;
    }
    log_warn(fw->out->alias, "%s", reason);
    fw_conn_close(conn);
}

static void conn_on_timeout(struct loop *loop, struct loop_timer *timer, void *data)
{
    struct fw_conn *conn = data;
    const struct fw_options *opts = conn->fw->opts;
    conn->timer = NULL; /* one-shot: freed after this callback */
    double connect = seconds(opts->connect_timeout_ms);
    switch (conn->state) {
    case FW_CONN_RESOLVING:
        fw_conn_fail(conn, FW_ERR_RESOLVE, "no address for the host name within %.1fs", connect);
        break;
    case FW_CONN_CONNECTING:
        fw_conn_fail(conn, FW_ERR_CONNECT, "connect: no answer within %.1fs", connect);
        break;
    case FW_CONN_TLS:
        fw_conn_fail(conn, FW_ERR_TLS, "no TLS handshake within %.1fs", connect);
        break;
    case FW_CONN_HELO:
        fw_conn_fail(conn, FW_ERR_HANDSHAKE,
                     "no HELO within %.1fs: shared_key is set here, is it in the server's "
                     "<security> section?",
                     connect);
        break;
    case FW_CONN_PONG:
        fw_conn_fail(conn, FW_ERR_HANDSHAKE, "no PONG within %.1fs", connect);
        break;
    case FW_CONN_SENDING:
        fw_conn_fail(conn, FW_ERR_SEND, "the chunk was not written within send_timeout (%.1fs)",
                     seconds(opts->send_timeout_ms));
        break;
    case FW_CONN_ACK:
        fw_conn_fail(conn, FW_ERR_ACK_TIMEOUT, "no ack within ack_timeout (%.1fs)",
                     seconds(opts->ack_timeout_ms));
        break;
    case FW_CONN_IDLE:
        log_debug(conn->fw->out->alias, "%s: idle for keepalive_idle_timeout: closed",
                  fw_conn_label(conn));
        fw_conn_close(conn);
        break;
    case FW_CONN_CLOSED:
        break;
    }
}

void fw_conn_deadline(struct fw_conn *conn, int64_t ms)
{
    struct loop *loop = conn->fw->out->loop;
    if (conn->timer)
        loop_cancel_timer(loop, conn->timer);
    conn->timer = loop_add_timer(loop, ms, 0, conn_on_timeout, conn);
}

static void conn_read(struct fw_conn *conn);

static void conn_ready(struct fw_conn *conn)
{
    struct fw_output *fw = conn->fw;
    if (conn->timer) {
        loop_cancel_timer(fw->out->loop, conn->timer);
        conn->timer = NULL;
    }
    metric_add(fw->metrics.connections, 1);
    conn->keepalive = fw->opts->keepalive && (!fw->shared_key || conn->helo.keepalive);
    fw_send_ready(conn);
}

static void conn_established(struct fw_conn *conn)
{
    struct fw_output *fw = conn->fw;
    if (!fw->shared_key) {
        conn_ready(conn);
        return;
    }
    uint8_t salt[16];
    if (fw_random(salt, sizeof salt) < 0) {
        fw_conn_fail(conn, FW_ERR_HANDSHAKE, "no random bytes for the handshake's salt: %s",
                     strerror(errno));
        return;
    }
    fw_salt(salt, conn->salt);
    conn->state = FW_CONN_HELO;
    /* TLS may hold the HELO already, read with the end of its handshake,
     * where the loop cannot see it. */
    conn_read(conn);
}

static void conn_tls_step(struct fw_conn *conn)
{
    char *error = NULL;
    switch (fw_io_tls_step(conn, &error)) {
    case FW_IO_DONE:
        conn_established(conn);
        return;
    case FW_IO_AGAIN:
        fw_io_watch(conn);
        return;
    default:
        fw_conn_fail(conn, FW_ERR_TLS, "%s", error);
        free(error);
    }
}

static void conn_connected(struct fw_conn *conn)
{
    struct fw_output *fw = conn->fw;
    freeaddrinfo(conn->addrs);
    conn->addrs = conn->next_addr = NULL;
    int one = 1;
    setsockopt(conn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (!fw->tls) {
        conn_established(conn);
        return;
    }
    const struct fw_tls_options *tls = &fw->opts->tls;
    char *error = NULL;
    const char *name = tls->server_name ? tls->server_name : fw->hosts[conn->host].name;
    conn->ssl = fw_tls_session(fw->tls, conn->fd, name, tls->verify, &error);
    if (!conn->ssl) {
        fw_conn_fail(conn, FW_ERR_TLS, "%s", error);
        free(error);
        return;
    }
    conn->state = FW_CONN_TLS;
    conn_tls_step(conn);
}

/* Connects to the next address of the host; `last_error` is why the
 * previous one failed (0 at the first). */
static void conn_try_next(struct fw_conn *conn, int last_error)
{
    while (conn->next_addr) {
        struct addrinfo *ai = conn->next_addr;
        conn->next_addr = ai->ai_next;
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            last_error = errno;
            continue;
        }
        int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (rc == 0 || errno == EINPROGRESS) {
            bool now = rc == 0;
            conn->fd = fd;
            conn->state = FW_CONN_CONNECTING;
            if (now)
                conn_connected(conn);
            else
                fw_io_watch(conn);
            return;
        }
        last_error = errno;
        close(fd);
    }
    fw_conn_fail(conn, FW_ERR_CONNECT, "connect: %s",
                 last_error ? strerror(last_error) : "no address");
}

static void conn_on_connect(struct fw_conn *conn)
{
    int error = 0;
    socklen_t len = sizeof error;
    if (getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
        error = errno;
    if (error == 0) {
        conn_connected(conn);
        return;
    }
    fw_io_close(conn);
    conn_try_next(conn, error);
}

static void conn_on_lookup(void *data, struct addrinfo *addrs, const char *error)
{
    struct fw_conn *conn = data;
    conn->lookup = NULL;
    if (!addrs) {
        fw_conn_fail(conn, FW_ERR_RESOLVE, "cannot resolve the host name: %s", error);
        return;
    }
    conn->addrs = conn->next_addr = addrs;
    conn_try_next(conn, 0);
}

void fw_conn_open(struct fw_conn *conn, size_t host)
{
    struct fw_output *fw = conn->fw;
    const struct fw_host *h = &fw->hosts[host];
    conn->host = host;
    conn->state = FW_CONN_RESOLVING;
    memset(&conn->helo, 0, sizeof conn->helo);
    fw_conn_deadline(conn, fw->opts->connect_timeout_ms);
    struct addrinfo *addrs = fw_resolve_numeric(h->name, h->port);
    if (addrs) {
        conn_on_lookup(conn, addrs, NULL);
        return;
    }
    const char *error = NULL;
    conn->lookup = fw_lookup_start(fw->out->loop, h->name, h->port, conn_on_lookup, conn, &error);
    if (!conn->lookup)
        fw_conn_fail(conn, FW_ERR_RESOLVE, "cannot look the host name up: %s", error);
}

/* ---- after the connection is up ---- */

/* Writes what is pending. False when the connection ended or moved on. */
bool fw_conn_write(struct fw_conn *conn)
{
    char *error = NULL;
    switch (fw_io_write(conn, &error)) {
    case FW_IO_DONE:
        if (conn->state == FW_CONN_SENDING) {
            fw_send_written(conn);
            return false;
        }
        fw_io_watch(conn);
        return true;
    case FW_IO_AGAIN:
        fw_io_watch(conn);
        return true;
    default:
        fw_conn_fail(conn, conn->state == FW_CONN_SENDING ? FW_ERR_SEND : FW_ERR_HANDSHAKE, "%s",
                     error);
        free(error);
        return false;
    }
}

static bool conn_on_helo(struct fw_conn *conn, const uint8_t *data, size_t len)
{
    char *error = NULL;
    if (fw_helo_parse(data, len, &conn->helo, &error) < 0) {
        fw_conn_fail(conn, FW_ERR_HANDSHAKE, "%s", error);
        free(error);
        return false;
    }
    buf_reset(&conn->out);
    conn->out_sent = 0;
    fw_ping_write(&conn->out, &conn->fw->credentials, conn->salt, &conn->helo);
    conn->state = FW_CONN_PONG;
    return fw_conn_write(conn);
}

static bool conn_on_pong(struct fw_conn *conn, const uint8_t *data, size_t len)
{
    char *error = NULL;
    enum fw_pong_result result =
        fw_pong_check(data, len, &conn->fw->credentials, conn->salt, &conn->helo, &error);
    if (result == FW_PONG_OK) {
        buf_free(&conn->out);
        conn->out_sent = 0;
        conn_ready(conn);
        return false;
    }
    fw_conn_fail(conn, result == FW_PONG_MALFORMED ? FW_ERR_HANDSHAKE : FW_ERR_AUTH, "%s", error);
    free(error);
    return false;
}

/* One whole message from the server. False when the connection ended or
 * moved on (the caller stops reading). */
static bool conn_on_message(struct fw_conn *conn, const uint8_t *data, size_t len)
{
    switch (conn->state) {
    case FW_CONN_HELO:
        return conn_on_helo(conn, data, len);
    case FW_CONN_PONG:
        return conn_on_pong(conn, data, len);
    case FW_CONN_SENDING:
    case FW_CONN_ACK:
        fw_send_answer(conn, data, len);
        return false;
    default:
        fw_conn_fail(conn, FW_ERR_PROTOCOL, "%s",
                     fw_is_helo(data, len)
                         ? "the server began a handshake (HELO): it needs shared_key"
                         : "the server sent a message while no chunk was out");
        return false;
    }
}

static void conn_on_eof(struct fw_conn *conn)
{
    switch (conn->state) {
    case FW_CONN_IDLE:
        log_debug(conn->fw->out->alias, "%s: the server closed the idle connection",
                  fw_conn_label(conn));
        fw_conn_close(conn);
        return;
    case FW_CONN_HELO:
    case FW_CONN_PONG:
        fw_conn_fail(conn, FW_ERR_HANDSHAKE, "the server closed the connection in the handshake");
        return;
    default:
        fw_conn_fail(conn, FW_ERR_CLOSED,
                     "the server closed the connection before acknowledging the chunk");
    }
}

/* Takes the whole messages at the start of conn->in. */
static bool conn_take_messages(struct fw_conn *conn)
{
    for (;;) {
        size_t size = 0;
        enum fw_mp_status status =
            fw_mp_measure((const uint8_t *)conn->in.data, conn->in.len, &size);
        if (status == FW_MP_INCOMPLETE)
            return true;
        if (status == FW_MP_MALFORMED) {
            fw_conn_fail(conn, FW_ERR_PROTOCOL, "the server sent bytes that are not MessagePack");
            return false;
        }
        /* The message is copied out: handling it may reset the buffer. */
        uint8_t *message = xmalloc(size);
        memcpy(message, conn->in.data, size);
        memmove(conn->in.data, conn->in.data + size, conn->in.len - size);
        conn->in.len -= size;
        bool go_on = conn_on_message(conn, message, size);
        free(message);
        if (!go_on)
            return false;
    }
}

static void conn_read(struct fw_conn *conn)
{
    for (;;) {
        char *error = NULL;
        switch (fw_io_read(conn, &error)) {
        case FW_IO_DONE:
            if (!conn_take_messages(conn))
                return;
            continue;
        case FW_IO_AGAIN:
            fw_io_watch(conn);
            return;
        case FW_IO_EOF:
            conn_on_eof(conn);
            return;
        default:
            fw_conn_fail(conn, conn->state == FW_CONN_ACK ? FW_ERR_CLOSED : FW_ERR_PROTOCOL, "%s",
                         error);
            free(error);
            return;
        }
    }
}

void fw_conn_on_event(struct loop *loop, int fd, unsigned events, void *data)
{
    struct fw_conn *conn = data;
    switch (conn->state) {
    case FW_CONN_CONNECTING:
        conn_on_connect(conn);
        return;
    case FW_CONN_TLS:
        conn_tls_step(conn);
        return;
    case FW_CONN_CLOSED:
    case FW_CONN_RESOLVING:
        return;
    default:
        if (conn->out_sent < conn->out.len && !fw_conn_write(conn))
            return;
        conn_read(conn);
    }
}
