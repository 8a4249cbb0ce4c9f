/* The monitoring HTTP server (see http_server.h): accepts on the loop, reads one
 * request head, answers from a route table and closes. No keep-alive, no
 * request bodies, no chunked encoding: scrapers and probes need none of them,
 * nor does POST /reload. The listen address is http_listen.c's. */
#include "http_server.h"

#include "log.h"
#include "loop.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
    HTTP_MAX_REQUEST = 8192,
    HTTP_MAX_CLIENTS = 64,
    HTTP_CLIENT_TIMEOUT_MS = 5000,
    HTTP_ACCEPT_RETRY_MS = 1000,
};

struct http_route {
    char *path;
    http_handler *handler;
    void *data;
    bool post; /* POST only; otherwise GET and HEAD */
};

struct http_conn {
    struct http_server *server;
    struct http_conn *prev;
    struct http_conn *next;
    int fd;
    bool from_loopback; /* the peer's address is this host's */
    /* Bounds the whole exchange, so slow readers and slow writers both go. */
    struct loop_timer *timeout;
    struct buf response;
    size_t sent;
    size_t request_len;
    char request[HTTP_MAX_REQUEST + 1];
};

struct http_server {
    struct loop *loop;
    int listen_fd;
    int port;
    struct http_route *routes;
    size_t routes_len;
    size_t routes_cap;
    struct http_conn *clients;
    size_t clients_len;
    /* Set while accepting is paused because the process ran out of fds. */
    struct loop_timer *accept_retry;
};

static void on_listener_readable(struct loop *loop, int fd, unsigned events, void *data);

/* Stops accepting on the current listener, if any. */
static void listener_close(struct http_server *server)
{
    loop_cancel_timer(server->loop, server->accept_retry);
    server->accept_retry = NULL;
    if (server->listen_fd < 0)
        return;
    loop_unwatch_fd(server->loop, server->listen_fd);
    close(server->listen_fd);
    server->listen_fd = -1;
    server->port = 0;
}

int http_server_relisten(struct http_server *server, int fd, const char *listen, char **error)
{
    int port = fd >= 0 ? http_listener_port(fd) : 0;
    if (fd >= 0 && (port < 0 || loop_watch_fd(server->loop, fd, LOOP_READABLE, on_listener_readable,
                                              server) < 0)) {
        *error = xasprintf("http: listen on %s: %s", listen, strerror(errno));
        close(fd);
        return -1;
    }
    listener_close(server);
    server->listen_fd = fd;
    server->port = port;
    if (fd >= 0)
        log_info("http", "listening on %s (port %d)", listen, port);
    return 0;
}

struct http_server *http_server_create(struct loop *loop)
{
    struct http_server *server = xcalloc(1, sizeof *server);
    server->loop = loop;
    server->listen_fd = -1;
    return server;
}

struct http_server *http_server_start(struct loop *loop, const char *listen, char **error)
{
    int fd = http_listener_open(listen, error);
    if (fd < 0)
        return NULL;
    struct http_server *server = http_server_create(loop);
    if (http_server_relisten(server, fd, listen, error) < 0) {
        free(server);
        return NULL;
    }
    return server;
}

static void route_add(struct http_server *server, const char *path, http_handler *handler,
                      void *data, bool post)
{
    server->routes =
        xgrow(server->routes, &server->routes_cap, server->routes_len + 1, sizeof *server->routes);
    server->routes[server->routes_len++] =
        (struct http_route){.path = xstrdup(path), .handler = handler, .data = data, .post = post};
}

void http_server_route(struct http_server *server, const char *path, http_handler *handler,
                       void *data)
{
    route_add(server, path, handler, data, false);
}

void http_server_route_post(struct http_server *server, const char *path, http_handler *handler,
                            void *data)
{
    route_add(server, path, handler, data, true);
}

int http_server_port(const struct http_server *server)
{
    return server->port;
}

/* ---- clients ---- */

static void client_close(struct http_conn *client)
{
    struct http_server *server = client->server;
    loop_unwatch_fd(server->loop, client->fd);
    close(client->fd);
    loop_cancel_timer(server->loop, client->timeout);
    if (client->prev)
        client->prev->next = client->next;
    else
        server->clients = client->next;
    if (client->next)
        client->next->prev = client->prev;
    server->clients_len--;
    buf_free(&client->response);
    free(client);
}

static void on_client_timeout(struct loop *loop, struct loop_timer *timer, void *data)
{
    (void)loop;
    (void)timer;
    struct http_conn *client = data;
    /* The loop frees this one-shot timer once we return. */
    client->timeout = NULL;
    client_close(client);
}

static void on_client_draining(struct loop *loop, int fd, unsigned events, void *data)
{
    (void)loop;
    (void)events;
    char scratch[1024];
    for (;;) {
        ssize_t n = read(fd, scratch, sizeof scratch);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            client_close(data);
            return;
        }
    }
}

/* Closing a socket with unread input makes the kernel send a reset, which can
 * destroy the response before the client has read it (typically after a 431).
 * Then half-close and drain until the client closes or the timeout fires. */
static void client_finish(struct http_conn *client)
{
    char probe;
    bool unread_input = recv(client->fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
    if (!unread_input || shutdown(client->fd, SHUT_WR) < 0) {
        client_close(client);
        return;
    }
    if (loop_watch_fd(client->server->loop, client->fd, LOOP_READABLE, on_client_draining, client) <
        0)
        client_close(client);
}

static void on_client_writable(struct loop *loop, int fd, unsigned events, void *data);

static void client_flush(struct http_conn *client)
{
    while (client->sent < client->response.len) {
        ssize_t n = send(client->fd, client->response.data + client->sent,
                         client->response.len - client->sent, MSG_NOSIGNAL);
        if (n >= 0) {
            client->sent += (size_t)n;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (loop_watch_fd(client->server->loop, client->fd, LOOP_WRITABLE, on_client_writable,
                              client) < 0)
                client_close(client);
            return;
        } else if (errno != EINTR) {
            client_close(client);
            return;
        }
    }
    client_finish(client);
}

static void on_client_writable(struct loop *loop, int fd, unsigned events, void *data)
{
    (void)loop;
    (void)fd;
    (void)events;
    client_flush(data);
}

static const struct {
    int status;
    const char *phrase;
} reason_phrases[] = {
    {200, "OK"},
    {204, "No Content"},
    {400, "Bad Request"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {409, "Conflict"},
    {422, "Unprocessable Content"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {503, "Service Unavailable"},
};

static const char *reason_phrase(int status)
{
    for (size_t i = 0; i < sizeof reason_phrases / sizeof reason_phrases[0]; i++) {
        if (reason_phrases[i].status == status)
            return reason_phrases[i].phrase;
    }
    return "Unknown";
}

/* `allow` is the Allow header of a 405. */
static void client_respond(struct http_conn *client, const struct http_reply *response,
                           bool with_body, const char *allow)
{
    struct buf *out = &client->response;
    const char *type =
        response->content_type ? response->content_type : "text/plain; charset=utf-8";
    buf_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n",
               response->status, reason_phrase(response->status), type, response->body.len);
    if (response->status == 405 && allow)
        buf_printf(out, "Allow: %s\r\n", allow);
    buf_append_str(out, "Connection: close\r\n\r\n");
    if (with_body)
        buf_append(out, response->body.data, response->body.len);
    client_flush(client);
}

static void client_respond_error(struct http_conn *client, int status, bool with_body,
                                 const char *allow)
{
    struct http_reply response = {.status = status, .body = BUF_INIT};
    buf_printf(&response.body, "%s\n", reason_phrase(status));
    client_respond(client, &response, with_body, allow);
    buf_free(&response.body);
}

static const struct http_route *route_find(const struct http_server *server, const char *path)
{
    for (size_t i = 0; i < server->routes_len; i++) {
        if (strcmp(server->routes[i].path, path) == 0)
            return &server->routes[i];
    }
    return NULL;
}

static void client_serve(struct http_conn *client, const char *method, char *target)
{
    bool head = strcmp(method, "HEAD") == 0;
    bool get = head || strcmp(method, "GET") == 0;
    target[strcspn(target, "?")] = '\0';
    const struct http_route *route = route_find(client->server, target);
    if (!route) {
        client_respond_error(client, get ? 404 : 405, !head, "GET, HEAD");
        return;
    }
    if (route->post ? strcmp(method, "POST") != 0 : !get) {
        client_respond_error(client, 405, !head, route->post ? "POST" : "GET, HEAD");
        return;
    }
    struct http_reply response = {
        .status = 200, .body = BUF_INIT, .from_loopback = client->from_loopback};
    route->handler(target, &response, route->data);
    client_respond(client, &response, !head, NULL);
    buf_free(&response.body);
}

/* Parses the request line "METHOD SP target SP HTTP/1.x" in place; the rest of
 * the head (headers) is not needed by any route. */
static void client_handle(struct http_conn *client)
{
    char *line = client->request;
    size_t len = strcspn(line, "\r\n");
    line[len] = '\0';
    char *target = strchr(line, ' ');
    char *version = target ? strchr(target + 1, ' ') : NULL;
    if (!version || strncmp(version + 1, "HTTP/1.", 7) != 0) {
        client_respond_error(client, 400, true, NULL);
        return;
    }
    *target++ = '\0';
    *version = '\0';
    client_serve(client, line, target);
}

static bool request_complete(const struct http_conn *client)
{
    return memmem(client->request, client->request_len, "\r\n\r\n", 4) ||
           memmem(client->request, client->request_len, "\n\n", 2);
}

static void on_client_readable(struct loop *loop, int fd, unsigned events, void *data)
{
    (void)loop;
    (void)events;
    struct http_conn *client = data;
    for (;;) {
        size_t room = HTTP_MAX_REQUEST - client->request_len;
        if (room == 0) {
            client_respond_error(client, 431, true, NULL);
            return;
        }
        ssize_t n = read(fd, client->request + client->request_len, room);
        if (n > 0) {
            client->request_len += (size_t)n;
            /* The array has room for this terminator: the head is parsed as a string. */
            client->request[client->request_len] = '\0';
            if (request_complete(client)) {
                client_handle(client);
                return;
            }
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        } else if (n == 0 || errno != EINTR) {
            client_close(client);
            return;
        }
    }
}

/* Whether `peer` is a loopback address, IPv4, IPv6 or IPv4-mapped. */
static bool is_loopback(const struct sockaddr_storage *peer)
{
    if (peer->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)peer;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (peer->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)peer)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

static void client_open(struct http_server *server, int fd, bool from_loopback)
{
    struct http_conn *client = xcalloc(1, sizeof *client);
    client->server = server;
    client->fd = fd;
    client->from_loopback = from_loopback;
    if (loop_watch_fd(server->loop, fd, LOOP_READABLE, on_client_readable, client) < 0) {
        close(fd);
        free(client);
        return;
    }
    client->timeout =
        loop_add_timer(server->loop, HTTP_CLIENT_TIMEOUT_MS, 0, on_client_timeout, client);
    client->next = server->clients;
    if (server->clients)
        server->clients->prev = client;
    server->clients = client;
    server->clients_len++;
}

/* ---- accepting ---- */

static void on_accept_retry(struct loop *loop, struct loop_timer *timer, void *data)
{
    (void)timer;
    struct http_server *server = data;
    server->accept_retry = NULL;
    if (loop_watch_fd(loop, server->listen_fd, LOOP_READABLE, on_listener_readable, server) < 0)
        log_error("http", "cannot resume accepting: %s", strerror(errno));
}

/* Out of fds or memory, the pending connection stays queued and the listener
 * stays readable: stop watching for a while instead of spinning. */
static void accept_pause(struct http_server *server, int error)
{
    log_warn("http", "accept: %s (retrying in %ds)", strerror(error), HTTP_ACCEPT_RETRY_MS / 1000);
    loop_unwatch_fd(server->loop, server->listen_fd);
    server->accept_retry =
        loop_add_timer(server->loop, HTTP_ACCEPT_RETRY_MS, 0, on_accept_retry, server);
}

static void on_listener_readable(struct loop *loop, int fd, unsigned events, void *data)
{
    (void)loop;
    (void)events;
    struct http_server *server = data;
    for (;;) {
        struct sockaddr_storage peer;
        socklen_t peer_len = sizeof peer;
        int client_fd =
            accept4(fd, (struct sockaddr *)&peer, &peer_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (client_fd >= 0) {
            if (server->clients_len < HTTP_MAX_CLIENTS)
                client_open(server, client_fd, is_loopback(&peer));
            else
                close(client_fd);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            accept_pause(server, errno);
        else if (errno != EAGAIN && errno != EWOULDBLOCK)
            log_warn("http", "accept: %s", strerror(errno));
        return;
    }
}

void http_server_stop(struct http_server *server)
{
    if (!server)
        return;
    while (server->clients)
        client_close(server->clients);
    listener_close(server);
    for (size_t i = 0; i < server->routes_len; i++)
        free(server->routes[i].path);
    free(server->routes);
    free(server);
}
