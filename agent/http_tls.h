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
#include <stdint.h>

/* Sets tls on `easy`. When no client certificate is set, *cert_requests is
 * incremented each time a server asks for one on a connection this request
 * opens. The connection may outlive the request (keep-alive, and OpenSSL
 * may be asked again after the handshake), so `cert_requests` must live as
 * long as the connections: the client's, not the request's. */
CURLcode http_tls_apply(CURL *easy, const struct http_tls *tls, uint64_t *cert_requests);

#endif
