/* TLS options of an HTTP request (http_tls.h). */
#include "http_tls.h"

#include "xalloc.h"

#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>

struct http_tls_origin {
    struct http_tls_origin *next;
    uint64_t count;
    char name[]; /* scheme://host:port */
};

/* The length of the origin part of `url`: up to the path, query or
 * fragment after "scheme://". */
static size_t origin_length(const char *url)
{
    const char *authority = strstr(url, "://");
    authority = authority ? authority + 3 : url;
    return (size_t)(authority - url) + strcspn(authority, "/?#");
}

uint64_t *http_tls_origin_counter(struct http_tls_origins *origins, const char *url)
{
    size_t len = origin_length(url);
    for (struct http_tls_origin *o = origins->list; o; o = o->next) {
        if (strncmp(o->name, url, len) == 0 && o->name[len] == '\0')
            return &o->count;
    }
    if (origins->count == HTTP_TLS_MAX_ORIGINS)
        return &origins->shared;
    struct http_tls_origin *o = xcalloc(1, sizeof *o + len + 1);
    memcpy(o->name, url, len);
    o->next = origins->list;
    origins->list = o;
    origins->count++;
    return &o->count;
}

void http_tls_origins_free(struct http_tls_origins *origins)
{
    while (origins->list) {
        struct http_tls_origin *o = origins->list;
        origins->list = o->next;
        free(o);
    }
    origins->count = 0;
}

/* OpenSSL calls this while it builds its answer to the server's
 * CertificateRequest when the context holds no certificate. Answering none
 * goes on with the handshake; a server that requires one then refuses it. */
static int on_certificate_request(SSL *ssl, X509 **cert, EVP_PKEY **key)
{
    uint64_t *requests = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    (void)cert;
    (void)key;
    if (requests)
        (*requests)++;
    return 0;
}

/* libcurl builds one SSL_CTX per connection and shows it here first. */
static CURLcode on_ssl_context(CURL *easy, void *ssl_ctx, void *data)
{
    (void)easy;
    SSL_CTX_set_app_data(ssl_ctx, data);
    SSL_CTX_set_client_cert_cb(ssl_ctx, on_certificate_request);
    return CURLE_OK;
}

CURLcode http_tls_apply(CURL *easy, const struct http_tls *tls, uint64_t *cert_requests)
{
    CURLcode rc = CURLE_OK;
    const char *cert_file = tls ? tls->cert_file : NULL;
    if (tls) {
        rc = curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, tls->verify ? 1L : 0L);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, tls->verify ? 2L : 0L);
        if (rc == CURLE_OK && tls->ca_file)
            rc = curl_easy_setopt(easy, CURLOPT_CAINFO, tls->ca_file);
        if (rc == CURLE_OK && tls->cert_file)
            rc = curl_easy_setopt(easy, CURLOPT_SSLCERT, tls->cert_file);
        if (rc == CURLE_OK && tls->key_file)
            rc = curl_easy_setopt(easy, CURLOPT_SSLKEY, tls->key_file);
    }
    if (rc != CURLE_OK || cert_file)
        return rc;
    /* A libcurl built on another TLS library has no SSL_CTX to show: then
     * the error stays libcurl's own. */
    if (curl_easy_setopt(easy, CURLOPT_SSL_CTX_FUNCTION, on_ssl_context) == CURLE_OK)
        curl_easy_setopt(easy, CURLOPT_SSL_CTX_DATA, cert_requests);
    return CURLE_OK;
}
