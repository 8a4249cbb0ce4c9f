/* A small HTTP/1.1 server on the pipeline loop for /metrics, /healthz,
 * /readyz and /reload. GET and HEAD, or POST for the routes that take it (no
 * request body is read), one request per connection, bounded request size,
 * bounded number of clients, idle clients dropped after a timeout. Not a
 * general web server. */
#ifndef SKIFF_HTTP_SERVER_H
#define SKIFF_HTTP_SERVER_H

#include "buf.h"

#include <stdbool.h>

struct loop;
struct http_server;

struct http_reply {
    int status;               /* default 200 */
    const char *content_type; /* default text/plain; charset=utf-8 */
    struct buf body;
    /* Set by the server: the request came from this host (127.0.0.0/8, ::1,
     * or ::ffff:127.0.0.0/104), for handlers only local callers may use. */
    bool from_loopback;
};

/* Fills `response`; `path` excludes the query string. */
typedef void http_handler(const char *path, struct http_reply *response, void *data);

/* Listens on `listen` ("host:port", "[::1]:port" or ":port" for all addresses;
 * port 0 picks a free one). Returns NULL with a malloc'ed message in *error. */
struct http_server *http_server_start(struct loop *loop, const char *listen, char **error);
/* Checks `listen` without resolving or binding, for the config loader: the
 * form, a port of 0..65535, and a host that is empty, an IPv4 literal, a
 * bracketed IPv6 literal or a host name. Returns 0, or -1 with a malloc'ed
 * message in *error that says what is wrong. */
int http_listen_check(const char *listen, char **error);
/* A server that does not listen yet (see http_server_relisten). */
struct http_server *http_server_create(struct loop *loop);
/* Binds `listen` and returns the listening socket (non-blocking), or -1 with
 * a malloc'ed message in *error. http_server_start does it; a reload does it
 * before it commits to a new address. */
int http_listener_open(const char *listen, char **error);
/* The port a listening socket is bound to, or -1. */
int http_listener_port(int fd);
/* Makes `fd` (from http_listener_open, or -1 to stop listening) the server's
 * listener, closing the one it had; clients already connected are answered
 * as before. Returns 0, or -1 with a message (then `fd` is closed and the
 * old listener kept). */
int http_server_relisten(struct http_server *server, int fd, const char *listen, char **error);
/* Adds a handler for an exact path, for GET and HEAD; other methods answer
 * 405 with `Allow: GET, HEAD`. Other paths answer 404. */
void http_server_route(struct http_server *server, const char *path, http_handler *handler,
                       void *data);
/* The same for POST only: other methods answer 405 with `Allow: POST`. */
void http_server_route_post(struct http_server *server, const char *path, http_handler *handler,
                            void *data);
/* The port actually bound (useful with port 0); 0 while not listening. */
int http_server_port(const struct http_server *server);
/* Closes the listener and every client. */
void http_server_stop(struct http_server *server);

#endif
