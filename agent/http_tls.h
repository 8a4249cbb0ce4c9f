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
#include <stdbool.h>

/* Sets tls on `easy`; *asked_for_cert becomes true if, during a handshake of
 * this request, the server asks for a client certificate and none is set.
 * `asked_for_cert` must live as long as the request. */
CURLcode http_tls_apply(CURL *easy, const struct http_tls *tls, bool *asked_for_cert);

#endif
