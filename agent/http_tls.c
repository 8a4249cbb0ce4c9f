/* TLS options of an HTTP request (http_tls.h). */
#include "http_tls.h"

#include <openssl/ssl.h>

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
