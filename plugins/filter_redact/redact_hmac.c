/* HMAC-SHA256 through libcrypto's EVP_MAC interface, keyed once; and the key
 * file. See redact_hmac.h. */
#include "redact_hmac.h"

#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct redact_hmac {
    EVP_MAC *mac;
    EVP_MAC_CTX *ctx;
};

static char *openssl_error(const char *what)
{
    char detail[256];
    unsigned long code = ERR_get_error();
    ERR_error_string_n(code, detail, sizeof detail);
    ERR_clear_error();
    return xasprintf("%s: %s", what, code ? detail : "failed");
}

struct redact_hmac *redact_hmac_new(const unsigned char *key, size_t len, char **error)
{
    struct redact_hmac *h = xcalloc(1, sizeof *h);
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    h->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    h->ctx = h->mac ? EVP_MAC_CTX_new(h->mac) : NULL;
    if (!h->ctx || !EVP_MAC_init(h->ctx, key, len, params)) {
        *error = openssl_error("libcrypto: HMAC-SHA256");
        redact_hmac_free(h);
        return NULL;
    }
    return h;
}

void redact_hmac_free(struct redact_hmac *h)
{
    if (!h)
        return;
    EVP_MAC_CTX_free(h->ctx); /* clears the key schedule */
    EVP_MAC_free(h->mac);
    free(h);
}

int redact_hmac_sha256(struct redact_hmac *h, const void *data, size_t len, unsigned char *digest)
{
    size_t out_len = 0;
    /* A NULL key starts a new message with the key given at creation. */
    if (!EVP_MAC_init(h->ctx, NULL, 0, NULL) || !EVP_MAC_update(h->ctx, data, len) ||
        !EVP_MAC_final(h->ctx, digest, &out_len, REDACT_DIGEST_SIZE) ||
        out_len != REDACT_DIGEST_SIZE) {
        ERR_clear_error();
        return -1;
    }
    return 0;
}

void redact_key_free(unsigned char *key, size_t len)
{
    if (!key)
        return;
    OPENSSL_cleanse(key, len);
    free(key);
}

/* Reads at most REDACT_KEY_MAX + 1 bytes of the regular file at `fd`. */
static ssize_t read_key_bytes(int fd, unsigned char *buf)
{
    size_t n = 0;
    while (n < REDACT_KEY_MAX + 1) {
        ssize_t r = read(fd, buf + n, REDACT_KEY_MAX + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        n += (size_t)r;
    }
    return (ssize_t)n;
}

static int key_check_length(const char *path, size_t n, char **error)
{
    if (n > REDACT_KEY_MAX) {
        *error = xasprintf("%s: larger than %d bytes: not a key file", path, REDACT_KEY_MAX);
        return -1;
    }
    if (n < REDACT_KEY_MIN) {
        *error = xasprintf("%s: the key is %zu bytes, at least %d are needed (make one with "
                           "`openssl rand -hex 32 > %s`)",
                           path, n, REDACT_KEY_MIN, path);
        return -1;
    }
    return 0;
}

int redact_key_read(const char *path, unsigned char **key, size_t *len, char **error)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        *error = xasprintf("%s: open: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        *error = xasprintf("%s: not a regular file", path);
        close(fd);
        return -1;
    }
    unsigned char *buf = xmalloc(REDACT_KEY_MAX + 1);
    ssize_t got = read_key_bytes(fd, buf);
    int saved = errno;
    close(fd);
    if (got < 0) {
        *error = xasprintf("%s: read: %s", path, strerror(saved));
        redact_key_free(buf, REDACT_KEY_MAX + 1);
        return -1;
    }
    size_t n = (size_t)got;
    if (n > 0 && buf[n - 1] == '\n') {
        n--;
        if (n > 0 && buf[n - 1] == '\r')
            n--;
    }
    if (key_check_length(path, n, error) < 0) {
        redact_key_free(buf, REDACT_KEY_MAX + 1);
        return -1;
    }
    *key = buf;
    *len = n;
    return 0;
}
