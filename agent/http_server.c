/* The monitoring HTTP server (see http_server.h): accepts on the loop, reads one
 * request head, answers from a route table and closes. No keep-alive, no
 * request bodies, no chunked encoding: scrapers and probes need none of them. */
#include "http_server.h"

#include "log.h"
#include "loop.h"
#include "xalloc.h"

#include <errno.h>
#include <netdb.h>
#include <arpa/inet.h>
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
    HTTP_BACKLOG = 64,
    HTTP_ACCEPT_RETRY_MS = 1000,
};

struct http_route {
    char *path;
    http_handler *handler;
    void *data;
};

struct http_conn {
    struct http_server *server;
    struct http_conn *prev;
    struct http_conn *next;
    int fd;
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

/* ---- listening ---- */

static bool port_parse(const char *text, char *port, size_t size)
{
    size_t len = strlen(text);
    if (len == 0 || len >= size || strspn(text, "0123456789") != len || atol(text) > 65535)
        return false;
    memcpy(port, text, len + 1);
    return true;
}

/* Splits "host:port", "[v6]:port" or ":port" into a malloc'ed host ("" for
 * all addresses) and the port digits. Unbracketed IPv6 is refused because its
 * last colon is ambiguous. */
static bool listen_split(const char *listen, char **host, char *port, size_t port_size,
                         bool *bracketed)
{
    const char *start = listen, *end, *colon;
    *bracketed = listen[0] == '[';
    if (*bracketed) {
        start = listen + 1;
        end = strchr(start, ']');
        if (!end || end == start || end[1] != ':')
            return false;
        colon = end + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon || memchr(listen, ':', (size_t)(colon - listen)))
            return false;
        end = colon;
    }
    if (!port_parse(colon + 1, port, port_size))
        return false;
    *host = xstrndup(start, (size_t)(end - start));
    return true;
}

static bool host_name_ok(const char *host)
{
    size_t len = strlen(host);
    if (len > 253 || host[0] == '-' || host[0] == '.')
        return false;
    for (const char *c = host; *c; c++) {
        bool alnum =
            (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9');
        if (!alnum && *c != '-' && *c != '.')
            return false;
    }
    return true;
}

/* Digits and dots are an IPv4 address, never a name: "999.1.1.1" is refused. */
static const char *listen_host_problem(const char *host, bool bracketed)
{
    unsigned char address[sizeof(struct in6_addr)];
    if (bracketed)
        return inet_pton(AF_INET6, host, address) == 1 ? NULL : "not an IPv6 address";
    if (host[0] == '\0')
        return NULL;
    if (strspn(host, "0123456789.") == strlen(host))
        return inet_pton(AF_INET, host, address) == 1 ? NULL : "not an IPv4 address";
    return host_name_ok(host) ? NULL : "not a host name";
}

int http_listen_check(const char *listen, char **error)
{
    char *host;
    char port[6];
    bool bracketed;
    if (!listen_split(listen, &host, port, sizeof port, &bracketed)) {
        *error = xasprintf("'%s' is not host:port, [ipv6]:port or :port with a port of 0 to "
                           "65535 (e.g. 0.0.0.0:2020, 127.0.0.1:2020, [::1]:2020)",
                           listen);
        return -1;
    }
    const char *problem = listen_host_problem(host, bracketed);
    if (problem)
        *error = xasprintf("'%s': the host '%s' is %s", listen, host, problem);
    free(host);
    return problem ? -1 : 0;
}

/* No host means all IPv4 addresses; brackets mean an IPv6 literal. */
static int listen_family(const char *host, bool bracketed)
{
    if (host[0] == '\0')
        return AF_INET;
    return bracketed ? AF_INET6 : AF_UNSPEC;
}

static int listen_resolve(const char *listen, struct addrinfo **result, char **error)
{
    char *host;
    char port[6];
    bool bracketed;
    if (!listen_split(listen, &host, port, sizeof port, &bracketed)) {
        *error = xasprintf("http: listen on %s: expected host:port, [ipv6]:port or :port", listen);
        return -1;
    }
    struct addrinfo hints = {
        .ai_flags = AI_PASSIVE | AI_NUMERICSERV | (bracketed ? AI_NUMERICHOST : 0),
        .ai_family = listen_family(host, bracketed),
        .ai_socktype = SOCK_STREAM,
    };
    int rc = getaddrinfo(host[0] == '\0' ? NULL : host, port, &hints, result);
    free(host);
    if (rc != 0) {
        *error = xasprintf("http: listen on %s: %s", listen, gai_strerror(rc));
        return -1;
    }
    return 0;
}

static int listener_open(const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return -1;
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, HTTP_BACKLOG) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static int listener_port(int fd)
{
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    if (getsockname(fd, (struct sockaddr *)&addr, &len) < 0)
        return -1;
    if (addr.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
    return ntohs(((struct sockaddr_in *)&addr)->sin_port);
}

static int listener_bind(const char *listen, char **error)
{
    struct addrinfo *ai;
    if (listen_resolve(listen, &ai, error) < 0)
        return -1;
    int fd = listener_open(ai);
    freeaddrinfo(ai);
    if (fd < 0)
        *error = xasprintf("http: listen on %s: %s", listen, strerror(errno));
    return fd;
}

struct http_server *http_server_start(struct loop *loop, const char *listen, char **error)
{
    int fd = listener_bind(listen, error);
    if (fd < 0)
        return NULL;
    struct http_server *server = xcalloc(1, sizeof *server);
    server->loop = loop;
    server->listen_fd = fd;
    server->port = listener_port(fd);
    if (server->port < 0 ||
        loop_watch_fd(loop, fd, LOOP_READABLE, on_listener_readable, server) < 0) {
        *error = xasprintf("http: listen on %s: %s", listen, strerror(errno));
        close(fd);
        free(server);
        return NULL;
    }
    log_info("http", "listening on %s (port %d)", listen, server->port);
    return server;
}

void http_server_route(struct http_server *server, const char *path, http_handler *handler,
                       void *data)
{
    server->routes =
        xgrow(server->routes, &server->routes_cap, server->routes_len + 1, sizeof *server->routes);
    server->routes[server->routes_len++] =
        (struct http_route){.path = xstrdup(path), .handler = handler, .data = data};
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

static void client_respond(struct http_conn *client, const struct http_reply *response,
                           bool with_body)
{
    struct buf *out = &client->response;
    const char *type =
        response->content_type ? response->content_type : "text/plain; charset=utf-8";
    buf_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n",
               response->status, reason_phrase(response->status), type, response->body.len);
    if (response->status == 405)
        buf_append_str(out, "Allow: GET, HEAD\r\n");
    buf_append_str(out, "Connection: close\r\n\r\n");
    if (with_body)
        buf_append(out, response->body.data, response->body.len);
    client_flush(client);
}

static void client_respond_error(struct http_conn *client, int status, bool with_body)
{
    struct http_reply response = {.status = status, .body = BUF_INIT};
    buf_printf(&response.body, "%s\n", reason_phrase(status));
    client_respond(client, &response, with_body);
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
    if (!head && strcmp(method, "GET") != 0) {
        client_respond_error(client, 405, true);
        return;
    }
    target[strcspn(target, "?")] = '\0';
    const struct http_route *route = route_find(client->server, target);
    if (!route) {
        client_respond_error(client, 404, !head);
        return;
    }
    struct http_reply response = {.status = 200, .body = BUF_INIT};
    route->handler(target, &response, route->data);
    client_respond(client, &response, !head);
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
        client_respond_error(client, 400, true);
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
            client_respond_error(client, 431, true);
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

static void client_open(struct http_server *server, int fd)
{
    struct http_conn *client = xcalloc(1, sizeof *client);
    client->server = server;
    client->fd = fd;
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
        int client_fd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (client_fd >= 0) {
            if (server->clients_len < HTTP_MAX_CLIENTS)
                client_open(server, client_fd);
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
    loop_cancel_timer(server->loop, server->accept_retry);
    loop_unwatch_fd(server->loop, server->listen_fd);
    close(server->listen_fd);
    for (size_t i = 0; i < server->routes_len; i++)
        free(server->routes[i].path);
    free(server->routes);
    free(server);
}
