/* TLS for the `forward` output, with OpenSSL directly (libcurl's TLS is
 * for HTTP only): one client context per output (TLS 1.2 or later, the
 * system's CAs or ca_file, an optional client certificate), and a session
 * per connection that checks the server's certificate against the host's
 * name or address (or tls.server_name) and sends that name as SNI. */
#include "fw_output.h"

#include "xalloc.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <errno.h>
#include <string.h>

/* OpenSSL's queued error as text, emptying the queue. */
static char *queued_error(const char *what)
{
    unsigned long code = ERR_get_error();
    char text[256] = "";
    if (code)
        ERR_error_string_n(code, text, sizeof text);
    ERR_clear_error();
    return code ? xasprintf("%s: %s", what, text) : xasprintf("%s failed", what);
}

SSL_CTX *fw_tls_context(const struct fw_tls_options *opts, char **error)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        *error = queued_error("TLS: cannot create a context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_verify(ctx, opts->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    int ok = opts->ca_file ? SSL_CTX_load_verify_locations(ctx, opts->ca_file, NULL)
                           : SSL_CTX_set_default_verify_paths(ctx);
    if (ok != 1) {
        char *why = queued_error("cannot load the CA certificates");
        *error = xasprintf("tls.ca_file %s: %s", opts->ca_file ? opts->ca_file : "(system)", why);
        free(why);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (opts->cert_file &&
        (SSL_CTX_use_certificate_chain_file(ctx, opts->cert_file) != 1 ||
         SSL_CTX_use_PrivateKey_file(ctx, opts->key_file, SSL_FILETYPE_PEM) != 1 ||
         SSL_CTX_check_private_key(ctx) != 1)) {
        char *why = queued_error("cannot use the client certificate");
        *error = xasprintf("tls.cert_file %s, tls.key_file %s: %s", opts->cert_file, opts->key_file,
                           why);
        free(why);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

void fw_tls_context_free(SSL_CTX *ctx)
{
    if (ctx)
        SSL_CTX_free(ctx);
}

static bool is_address(const char *name)
{
    unsigned char addr[16];
    return inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1;
}

SSL *fw_tls_session(SSL_CTX *ctx, int fd, const char *name, bool verify, char **error)
{
    SSL *ssl = SSL_new(ctx);
    if (!ssl || SSL_set_fd(ssl, fd) != 1) {
        *error = queued_error("TLS: cannot start a session");
        SSL_free(ssl);
        return NULL;
    }
    bool address = is_address(name);
    /* SNI carries names only (RFC 6066, section 3). */
    if (!address)
        SSL_set_tlsext_host_name(ssl, name);
    if (verify) {
        X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
        int ok = address ? X509_VERIFY_PARAM_set1_ip_asc(param, name)
                         : X509_VERIFY_PARAM_set1_host(param, name, 0);
        if (ok != 1) {
            *error = queued_error("TLS: cannot set the name to verify");
            SSL_free(ssl);
            return NULL;
        }
    }
    SSL_set_connect_state(ssl);
    return ssl;
}

char *fw_tls_error(SSL *ssl, int rc)
{
    int kind = SSL_get_error(ssl, rc);
    long verify = SSL_get_verify_result(ssl);
    if (SSL_get_verify_mode(ssl) != SSL_VERIFY_NONE && verify != X509_V_OK) {
        ERR_clear_error();
        return xasprintf("TLS: the server's certificate is refused: %s",
                         X509_verify_cert_error_string(verify));
    }
    if (kind == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
        return rc == 0 ? xstrdup("TLS: the server closed the connection")
                       : xasprintf("TLS: %s", strerror(errno));
    return queued_error("TLS");
}
