/* The HTTP client tests' server (http_test_server.h): a thread that accepts
 * on 127.0.0.1, reads requests and answers each by its path. */
#include "http_test_server.h"

#include <check.h>

#include "log.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { MAX_CONNS = 64, REQ_MAX = 8192 };

struct conn {
    int fd;
    char req[REQ_MAX];
    size_t len;
};

struct server {
    int listen_fd;
    int wake[2];
    int port;
    pthread_t thread;
    atomic_int accepted;
    atomic_int expects; /* requests that came with Expect: 100-continue */
    struct conn conns[MAX_CONNS];
};

static struct server srv;

static void write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        data += n;
        len -= (size_t)n;
    }
}

static void respond(int fd, int status, const char *extra_headers, const char *body, size_t len)
{
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d X\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s\r\n",
                     status, len, extra_headers ? extra_headers : "");
    write_all(fd, head, (size_t)n);
    write_all(fd, body, len);
}

static void respond_body(int fd, size_t len)
{
    char *body = malloc(len + 1);
    memset(body, 'x', len);
    respond(fd, 200, NULL, body, len);
    free(body);
}

static void respond_echo(int fd, const char *req, const char *body, size_t body_len)
{
    char method[16] = "", test_header[64] = "", out[512];
    sscanf(req, "%15s", method);
    const char *h = strcasestr(req, "\r\nX-Test: ");
    if (h)
        sscanf(h + 10, "%63[^\r]", test_header);
    int n = snprintf(out, sizeof out, "%s %zu %s %.*s", method, body_len, test_header,
                     (int)body_len, body);
    respond(fd, 200, NULL, out, (size_t)n);
}

static void respond_stream(int fd)
{
    const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n";
    const struct timespec pause = {0, 20 * 1000 * 1000};
    write_all(fd, head, strlen(head));
    write_all(fd, "one", 3);
    nanosleep(&pause, NULL);
    write_all(fd, "two", 3);
    nanosleep(&pause, NULL);
    write_all(fd, "three", 5);
}

static void respond_retry_date(int fd)
{
    char header[128];
    time_t when = time(NULL) + 30;
    struct tm tm;
    gmtime_r(&when, &tm);
    strftime(header, sizeof header, "Retry-After: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
    respond(fd, 503, header, "busy", 4);
}

/* Returns false when the connection is to be closed. */
static bool serve(struct conn *c, const char *body, size_t body_len)
{
    char path[128] = "";
    sscanf(c->req, "%*s %127s", path);
    if (strncmp(path, "/body/", 6) == 0)
        respond_body(c->fd, strtoul(path + 6, NULL, 10));
    else if (strncmp(path, "/status/", 8) == 0)
        respond(c->fd, atoi(path + 8), NULL, "status", 6);
    else if (strcmp(path, "/echo") == 0)
        respond_echo(c->fd, c->req, body, body_len);
    else if (strcmp(path, "/stream") == 0)
        respond_stream(c->fd);
    else if (strcmp(path, "/retry-seconds") == 0)
        respond(c->fd, 429, "Retry-After: 7\r\n", "slow down", 9);
    else if (strcmp(path, "/retry-date") == 0)
        respond_retry_date(c->fd);
    else if (strcmp(path, "/close") == 0)
        return false;
    /* /silent is never answered: the client times out or cancels. */
    return true;
}

/* Netty's answer to a body over http.max_content_length: 413, no body,
 * connection: close, before the body is read. */
static bool answer_too_large(struct conn *c, const char *end)
{
    if (strncmp(c->req, "POST /too-large ", 16) != 0)
        return false;
    const char *expect = strcasestr(c->req, "\r\nExpect: 100-continue");
    if (expect && expect < end)
        atomic_fetch_add(&srv.expects, 1);
    const char *head = "HTTP/1.1 413 Request Entity Too Large\r\ncontent-length: 0\r\n"
                       "connection: close\r\n\r\n";
    write_all(c->fd, head, strlen(head));
    return true;
}

/* Walks a chunked body (RFC 9112 7.1) in c->req from `at`; with `decode`,
 * moves its data to its start. Returns 0 when more must arrive, -1 if
 * malformed, 1 when complete, with its decoded length in *body_len and the
 * bytes it took in *used. */
static int walk_chunks(struct conn *c, size_t at, bool decode, size_t *body_len, size_t *used)
{
    size_t in = at, out = at;
    for (;;) {
        char *eol = memmem(c->req + in, c->len - in, "\r\n", 2);
        if (!eol)
            return 0;
        char *end;
        size_t size = strtoul(c->req + in, &end, 16);
        if (end == c->req + in)
            return -1;
        size_t data = (size_t)(eol - c->req) + 2;
        if (c->len < data + size + 2)
            return 0;
        if (decode)
            memmove(c->req + out, c->req + data, size);
        out += size;
        in = data + size + 2;
        if (size == 0) {
            *body_len = out - at;
            *used = in - at;
            return 1;
        }
    }
}

/* A chunked body complete in c->req from `at`, decoded in place. */
static int dechunk(struct conn *c, size_t at, size_t *body_len, size_t *used)
{
    int rc = walk_chunks(c, at, false, body_len, used);
    return rc == 1 ? walk_chunks(c, at, true, body_len, used) : rc;
}

/* Serves every complete request in the buffer; false to close. */
static bool conn_drain(struct conn *c)
{
    for (;;) {
        char *end = memmem(c->req, c->len, "\r\n\r\n", 4);
        if (!end)
            return c->len < REQ_MAX;
        if (answer_too_large(c, end))
            return false;
        size_t head_len = (size_t)(end - c->req) + 4;
        size_t body_len = 0;
        const char *cl = strcasestr(c->req, "\r\nContent-Length: ");
        if (cl && cl < end)
            body_len = strtoul(cl + 18, NULL, 10);
        size_t used = body_len;
        const char *te = strcasestr(c->req, "\r\nTransfer-Encoding: chunked");
        if (te && te < end) {
            int rc = dechunk(c, head_len, &body_len, &used);
            if (rc <= 0)
                return rc == 0 && c->len < REQ_MAX;
        }
        if (head_len + used > REQ_MAX)
            return false;
        if (c->len < head_len + used)
            return true;
        if (!serve(c, c->req + head_len, body_len))
            return false;
        memmove(c->req, c->req + head_len + used, c->len - head_len - used);
        c->len -= head_len + used;
    }
}

static void conn_close(struct conn *c)
{
    close(c->fd);
    c->fd = -1;
    c->len = 0;
}

static void server_accept(void)
{
    int fd = accept(srv.listen_fd, NULL, NULL);
    if (fd < 0)
        return;
    atomic_fetch_add(&srv.accepted, 1);
    int one = 1; /* no Nagle delay between the pieces of /stream */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (int i = 0; i < MAX_CONNS; i++) {
        if (srv.conns[i].fd < 0) {
            srv.conns[i].fd = fd;
            return;
        }
    }
    close(fd);
}

static void *server_main(void *arg)
{
    (void)arg;
    for (;;) {
        struct pollfd fds[MAX_CONNS + 2];
        int map[MAX_CONNS + 2];
        nfds_t n = 0;
        fds[n++] = (struct pollfd){.fd = srv.wake[0], .events = POLLIN};
        fds[n++] = (struct pollfd){.fd = srv.listen_fd, .events = POLLIN};
        for (int i = 0; i < MAX_CONNS; i++) {
            if (srv.conns[i].fd >= 0) {
                map[n] = i;
                fds[n++] = (struct pollfd){.fd = srv.conns[i].fd, .events = POLLIN};
            }
        }
        if (poll(fds, n, 1000) < 0 || fds[0].revents)
            return NULL;
        if (fds[1].revents)
            server_accept();
        for (nfds_t k = 2; k < n; k++) {
            if (!fds[k].revents)
                continue;
            struct conn *c = &srv.conns[map[k]];
            ssize_t got = read(c->fd, c->req + c->len, REQ_MAX - 1 - c->len);
            if (got <= 0) {
                conn_close(c);
                continue;
            }
            c->len += (size_t)got;
            c->req[c->len] = '\0';
            if (!conn_drain(c))
                conn_close(c);
        }
    }
}

void http_test_server_start(void)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t addr_len = sizeof addr;
    srv.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(srv.listen_fd, 0);
    ck_assert_int_eq(bind(srv.listen_fd, (struct sockaddr *)&addr, sizeof addr), 0);
    ck_assert_int_eq(listen(srv.listen_fd, 128), 0);
    getsockname(srv.listen_fd, (struct sockaddr *)&addr, &addr_len);
    srv.port = ntohs(addr.sin_port);
    ck_assert_int_eq(pipe(srv.wake), 0);
    atomic_store(&srv.accepted, 0);
    atomic_store(&srv.expects, 0);
    for (int i = 0; i < MAX_CONNS; i++)
        srv.conns[i].fd = -1;
    pthread_create(&srv.thread, NULL, server_main, NULL);
}

void http_test_server_stop(void)
{
    ck_assert_int_eq(write(srv.wake[1], "x", 1), 1);
    pthread_join(srv.thread, NULL);
    for (int i = 0; i < MAX_CONNS; i++)
        if (srv.conns[i].fd >= 0)
            conn_close(&srv.conns[i]);
    close(srv.listen_fd);
    close(srv.wake[0]);
    close(srv.wake[1]);
}

int http_test_server_port(void)
{
    return srv.port;
}

int http_test_server_accepted(void)
{
    return atomic_load(&srv.accepted);
}

int http_test_server_expects(void)
{
    return atomic_load(&srv.expects);
}
