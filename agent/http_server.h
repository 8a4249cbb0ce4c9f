/* A small HTTP/1.1 server on the pipeline loop for /metrics, /healthz and
 * /readyz. GET and HEAD only, one request per connection, bounded request size,
 * bounded number of clients, idle clients dropped after a timeout. Not a
 * general web server. */
#ifndef SKIFF_HTTP_SERVER_H
#define SKIFF_HTTP_SERVER_H

#include "buf.h"

struct loop;
struct http_server;

struct http_reply {
    int status;               /* default 200 */
    const char *content_type; /* default text/plain; charset=utf-8 */
    struct buf body;
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
/* Adds a handler for an exact path. Other paths answer 404. */
void http_server_route(struct http_server *server, const char *path, http_handler *handler,
                       void *data);
/* The port actually bound (useful with port 0). */
int http_server_port(const struct http_server *server);
/* Closes the listener and every client. */
void http_server_stop(struct http_server *server);

#endif
