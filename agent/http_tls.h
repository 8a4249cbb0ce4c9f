/* TLS settings of one HTTP request on its libcurl handle (http_client.c):
 * verification, the CA bundle and the client certificate, read by libcurl
 * for each new connection, so files replaced on disk (a rotated certificate,
 * an updated Secret) are used without a restart. Also notes when a server
 * asks for a client certificate that was not configured, so that the error
 * can say so instead of the socket error that follows. */
#ifndef SKIFF_HTTP_TLS_H
#define SKIFF_HTTP_TLS_H

#include "http_client.h"

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

/* Times servers asked for a client certificate none was configured for,
 * counted per origin (scheme://host:port of the URL), since libcurl keeps a
 * pool of connections per origin: a request to one server must not blame
 * another server's demand for its own failure. A client talks to the few
 * origins of its configuration; past HTTP_TLS_MAX_ORIGINS they share one
 * counter (the message may then name the certificate for a neighbour's
 * demand, never miss it). Counters live as long as the client: a
 * connection outlives the request that opened it (keep-alive, and OpenSSL
 * may be asked again after the handshake). */
#define HTTP_TLS_MAX_ORIGINS 64

struct http_tls_origin;

struct http_tls_origins {
    struct http_tls_origin *list;
    size_t count;
    uint64_t shared; /* the counter of origins past the limit */
};

/* The counter of `url`'s origin, created on first use. */
uint64_t *http_tls_origin_counter(struct http_tls_origins *origins, const char *url);
void http_tls_origins_free(struct http_tls_origins *origins);

/* Sets tls on `easy`. When no client certificate is set, *cert_requests
 * (the counter of the request's origin) is incremented each time the server
 * asks for one on a connection this request opens. */
CURLcode http_tls_apply(CURL *easy, const struct http_tls *tls, uint64_t *cert_requests);

#endif
