/* Bytes in and out of a `forward` connection, over its socket or its TLS
 * session, never blocking: a call does what the socket takes now and says
 * whether to wait. The connection asks the loop for readability always
 * (a server closing an idle connection is noticed) and for writability
 * while it has bytes to send or TLS needs to write. */
#include "fw_output.h"

#include "loop.h"
#include "xalloc.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum fw_io fw_io_write(struct fw_conn *conn, char **error)
{
    conn->ssl_wants_write = false;
    while (conn->out_sent < conn->out.len) {
        const char *data = conn->out.data + conn->out_sent;
        size_t left = conn->out.len - conn->out_sent;
        if (conn->ssl) {
            int n = SSL_write(conn->ssl, data, left > INT32_MAX ? INT32_MAX : (int)left);
            if (n > 0) {
                conn->out_sent += (size_t)n;
                continue;
            }
            int kind = SSL_get_error(conn->ssl, n);
            if (kind == SSL_ERROR_WANT_WRITE || kind == SSL_ERROR_WANT_READ) {
                conn->ssl_wants_write = kind == SSL_ERROR_WANT_WRITE;
                return FW_IO_AGAIN;
            }
            *error = fw_tls_error(conn->ssl, n);
            return FW_IO_ERROR;
        }
        ssize_t n = send(conn->fd, data, left, MSG_NOSIGNAL);
        if (n > 0) {
            conn->out_sent += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            conn->ssl_wants_write = true;
            return FW_IO_AGAIN;
        } else {
            *error = xasprintf("send: %s", strerror(errno));
            return FW_IO_ERROR;
        }
    }
    return FW_IO_DONE;
}

/* Reads what is there, up to FW_READ_MAX held. FW_IO_DONE when bytes
 * came (more may follow), FW_IO_AGAIN when none. */
enum fw_io fw_io_read(struct fw_conn *conn, char **error)
{
    if (conn->in.len >= FW_READ_MAX) {
        *error = xasprintf("the server sent a message over %zu KiB", FW_READ_MAX >> 10);
        return FW_IO_ERROR;
    }
    size_t room = FW_READ_MAX - conn->in.len;
    if (room > 16384)
        room = 16384;
    buf_reserve(&conn->in, room);
    char *at = conn->in.data + conn->in.len;
    if (conn->ssl) {
        int n = SSL_read(conn->ssl, at, (int)room);
        if (n > 0) {
            conn->in.len += (size_t)n;
            return FW_IO_DONE;
        }
        int kind = SSL_get_error(conn->ssl, n);
        if (kind == SSL_ERROR_WANT_READ || kind == SSL_ERROR_WANT_WRITE) {
            conn->ssl_wants_write = kind == SSL_ERROR_WANT_WRITE;
            return FW_IO_AGAIN;
        }
        if (kind == SSL_ERROR_ZERO_RETURN)
            return FW_IO_EOF;
        if (kind == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && (n == 0 || errno == ECONNRESET))
            return FW_IO_EOF; /* closed without close_notify, as many servers do */
        *error = fw_tls_error(conn->ssl, n);
        return FW_IO_ERROR;
    }
    for (;;) {
        ssize_t n = recv(conn->fd, at, room, 0);
        if (n > 0) {
            conn->in.len += (size_t)n;
            return FW_IO_DONE;
        }
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return FW_IO_EOF;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return FW_IO_AGAIN;
        *error = xasprintf("recv: %s", strerror(errno));
        return FW_IO_ERROR;
    }
}

enum fw_io fw_io_tls_step(struct fw_conn *conn, char **error)
{
    int rc = SSL_do_handshake(conn->ssl);
    if (rc == 1) {
        conn->ssl_wants_write = false;
        return FW_IO_DONE;
    }
    int kind = SSL_get_error(conn->ssl, rc);
    if (kind == SSL_ERROR_WANT_READ || kind == SSL_ERROR_WANT_WRITE) {
        conn->ssl_wants_write = kind == SSL_ERROR_WANT_WRITE;
        return FW_IO_AGAIN;
    }
    *error = fw_tls_error(conn->ssl, rc);
    return FW_IO_ERROR;
}

void fw_io_watch(struct fw_conn *conn)
{
    if (conn->fd < 0)
        return;
    unsigned want = LOOP_READABLE;
    if (conn->state == FW_CONN_CONNECTING)
        want = LOOP_WRITABLE;
    else if (conn->ssl_wants_write || conn->out_sent < conn->out.len)
        want |= LOOP_WRITABLE;
    if (want == conn->watched)
        return;
    conn->watched = want;
    loop_watch_fd(conn->fw->out->loop, conn->fd, want, fw_conn_on_event, conn);
}

void fw_io_close(struct fw_conn *conn)
{
    if (conn->ssl) {
        SSL_shutdown(conn->ssl); /* one try: a close_notify if the socket takes it */
        SSL_free(conn->ssl);
        ERR_clear_error();
        conn->ssl = NULL;
    }
    if (conn->fd >= 0) {
        loop_unwatch_fd(conn->fw->out->loop, conn->fd);
        close(conn->fd);
        conn->fd = -1;
    }
    conn->watched = 0;
    conn->ssl_wants_write = false;
}
