/* The forward protocol's handshake and ack messages (fw_proto.h). Each
 * reader takes one whole MessagePack value (the connection frames them
 * with fw_mp_measure) and checks every type the specification gives; the
 * server's own text (a PONG's reason) is made printable before it reaches
 * a log line. */
#include "fw_proto.h"

#include "fw_msgpack.h"
#include "xalloc.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* A server's reason is logged up to this many bytes. */
#define FW_REASON_MAX 200

static const char hex_digits[] = "0123456789abcdef";

void fw_sha512_hex(const struct fw_bytes *parts, size_t count, char hex[FW_HEX_DIGEST_SIZE])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha512(), NULL) != 1)
        abort(); /* out of memory: as xmalloc does */
    for (size_t i = 0; i < count; i++)
        EVP_DigestUpdate(ctx, parts[i].data, parts[i].len);
    EVP_DigestFinal_ex(ctx, digest, &digest_len);
    EVP_MD_CTX_free(ctx);
    for (unsigned i = 0; i < 64; i++) {
        hex[2 * i] = hex_digits[digest[i] >> 4];
        hex[2 * i + 1] = hex_digits[digest[i] & 15];
    }
    hex[128] = '\0';
}

void fw_chunk_id(const uint8_t bytes[16], char id[FW_CHUNK_ID_SIZE])
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = 0;
    for (size_t i = 0; i < 16; i += 3) {
        uint32_t v = (uint32_t)bytes[i] << 16;
        if (i + 1 < 16)
            v |= (uint32_t)bytes[i + 1] << 8;
        if (i + 2 < 16)
            v |= bytes[i + 2];
        id[n++] = alphabet[v >> 18 & 63];
        id[n++] = alphabet[v >> 12 & 63];
        id[n++] = i + 1 < 16 ? alphabet[v >> 6 & 63] : '=';
        id[n++] = i + 2 < 16 ? alphabet[v & 63] : '=';
    }
    id[n] = '\0';
}

void fw_salt(const uint8_t bytes[16], char salt[FW_SALT_SIZE])
{
    for (unsigned i = 0; i < 16; i++) {
        salt[2 * i] = hex_digits[bytes[i] >> 4];
        salt[2 * i + 1] = hex_digits[bytes[i] & 15];
    }
    salt[32] = '\0';
}

int fw_random(uint8_t *out, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(out + got, len - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

/* Reads the header of a message that must be an array of `count`
 * elements starting with the string `type`. */
static bool read_message_head(const uint8_t *data, size_t len, size_t *pos, const char *type,
                              uint32_t count)
{
    struct fw_mp_item item;
    if (fw_mp_read(data, len, pos, &item) != FW_MP_OK || item.type != FW_MP_ARRAY ||
        item.count != count)
        return false;
    return fw_mp_read(data, len, pos, &item) == FW_MP_OK && item.type == FW_MP_STR &&
           fw_mp_item_is(&item, type);
}

bool fw_is_helo(const uint8_t *data, size_t len)
{
    size_t pos = 0;
    return read_message_head(data, len, &pos, "HELO", 2);
}

static bool is_bytes(const struct fw_mp_item *item)
{
    return item->type == FW_MP_STR || item->type == FW_MP_BIN;
}

/* One member of the HELO's options; unknown ones are skipped. */
static int read_helo_option(const uint8_t *data, size_t len, size_t *pos, struct fw_helo *helo,
                            bool *has_nonce, char **error)
{
    struct fw_mp_item key, value;
    if (fw_mp_read(data, len, pos, &key) != FW_MP_OK) {
        *error = xstrdup("malformed HELO options");
        return -1;
    }
    size_t value_at = *pos;
    if (fw_mp_read(data, len, pos, &value) != FW_MP_OK ||
        fw_mp_skip(data, len, &value_at) != FW_MP_OK) {
        *error = xstrdup("malformed HELO options");
        return -1;
    }
    *pos = value_at;
    bool nonce = fw_mp_item_is(&key, "nonce");
    if (nonce || fw_mp_item_is(&key, "auth")) {
        if (!is_bytes(&value) || value.len > FW_NONCE_MAX) {
            *error = xasprintf("HELO's %s is not a string of at most %d bytes",
                               nonce ? "nonce" : "auth", FW_NONCE_MAX);
            return -1;
        }
        memcpy(nonce ? helo->nonce : helo->auth, value.bytes, value.len);
        *(nonce ? &helo->nonce_len : &helo->auth_len) = value.len;
        *has_nonce = *has_nonce || nonce;
    } else if (fw_mp_item_is(&key, "keepalive")) {
        if (value.type != FW_MP_BOOL) {
            *error = xstrdup("HELO's keepalive is not a boolean");
            return -1;
        }
        helo->keepalive = value.boolean;
    }
    return 0;
}

int fw_helo_parse(const uint8_t *data, size_t len, struct fw_helo *helo, char **error)
{
    size_t pos = 0;
    struct fw_mp_item options;
    memset(helo, 0, sizeof *helo);
    helo->keepalive = true; /* the specification's default */
    if (!read_message_head(data, len, &pos, "HELO", 2) ||
        fw_mp_read(data, len, &pos, &options) != FW_MP_OK || options.type != FW_MP_MAP) {
        *error = xstrdup("expected a HELO message ([\"HELO\", {options}])");
        return -1;
    }
    bool has_nonce = false;
    for (uint32_t i = 0; i < options.count; i++)
        if (read_helo_option(data, len, &pos, helo, &has_nonce, error) < 0)
            return -1;
    if (!has_nonce) {
        *error = xstrdup("the HELO message has no nonce");
        return -1;
    }
    return 0;
}

static void hex_digest_of(const char *salt, const char *hostname, size_t hostname_len,
                          const struct fw_helo *helo, const char *shared_key,
                          char hex[FW_HEX_DIGEST_SIZE])
{
    const struct fw_bytes parts[] = {
        {salt, strlen(salt)},
        {hostname, hostname_len},
        {helo->nonce, helo->nonce_len},
        {shared_key, strlen(shared_key)},
    };
    fw_sha512_hex(parts, 4, hex);
}

void fw_ping_write(struct buf *out, const struct fw_credentials *cred, const char *salt,
                   const struct fw_helo *helo)
{
    char key_digest[FW_HEX_DIGEST_SIZE];
    hex_digest_of(salt, cred->self_hostname, strlen(cred->self_hostname), helo, cred->shared_key,
                  key_digest);
    fw_mp_write_array_header(out, 6);
    fw_mp_write_str(out, "PING", 4);
    fw_mp_write_str(out, cred->self_hostname, strlen(cred->self_hostname));
    fw_mp_write_str(out, salt, strlen(salt));
    fw_mp_write_str(out, key_digest, 128);
    if (helo->auth_len == 0) {
        fw_mp_write_str(out, "", 0);
        fw_mp_write_str(out, "", 0);
        return;
    }
    char password_digest[FW_HEX_DIGEST_SIZE];
    const struct fw_bytes parts[] = {
        {helo->auth, helo->auth_len},
        {cred->username, strlen(cred->username)},
        {cred->password, strlen(cred->password)},
    };
    fw_sha512_hex(parts, 3, password_digest);
    fw_mp_write_str(out, cred->username, strlen(cred->username));
    fw_mp_write_str(out, password_digest, 128);
    OPENSSL_cleanse(password_digest, sizeof password_digest);
}

/* The server's text, printable ASCII only and cut short, for a log line. */
static char *printable(const uint8_t *s, size_t len)
{
    size_t n = len < FW_REASON_MAX ? len : FW_REASON_MAX;
    char *out = xmalloc(n + 4);
    for (size_t i = 0; i < n; i++)
        out[i] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
    strcpy(out + n, len > n ? "..." : "");
    return out;
}

/* Masks every copy of `secret` in `text`: a server may echo anything. */
static void mask_secret(uint8_t *text, size_t len, const char *secret)
{
    size_t n = strlen(secret);
    if (n == 0)
        return;
    uint8_t *at = text;
    while ((at = memmem(at, len - (size_t)(at - text), secret, n)) != NULL) {
        memset(at, '*', n);
        at += n;
    }
}

/* The server's text for a message, without the secrets, printable. */
static char *server_text(const struct fw_mp_item *item, const struct fw_credentials *cred)
{
    uint8_t *copy = xmalloc(item->len + 1);
    memcpy(copy, item->bytes, item->len);
    mask_secret(copy, item->len, cred->shared_key);
    mask_secret(copy, item->len, cred->password);
    char *text = printable(copy, item->len);
    free(copy);
    return text;
}

static enum fw_pong_result pong_malformed(char **error)
{
    *error = xstrdup("expected a PONG message ([\"PONG\", auth_result, reason, hostname, "
                     "digest])");
    return FW_PONG_MALFORMED;
}

enum fw_pong_result fw_pong_check(const uint8_t *data, size_t len,
                                  const struct fw_credentials *cred, const char *salt,
                                  const struct fw_helo *helo, char **error)
{
    size_t pos = 0;
    struct fw_mp_item result, reason, hostname, digest;
    if (!read_message_head(data, len, &pos, "PONG", 5) ||
        fw_mp_read(data, len, &pos, &result) != FW_MP_OK || result.type != FW_MP_BOOL ||
        fw_mp_read(data, len, &pos, &reason) != FW_MP_OK || !is_bytes(&reason))
        return pong_malformed(error);
    if (!result.boolean) {
        char *text = server_text(&reason, cred);
        *error = xasprintf("the server refused the handshake: '%s'", text);
        free(text);
        return FW_PONG_REFUSED;
    }
    if (fw_mp_read(data, len, &pos, &hostname) != FW_MP_OK || !is_bytes(&hostname) ||
        fw_mp_read(data, len, &pos, &digest) != FW_MP_OK || !is_bytes(&digest))
        return pong_malformed(error);
    char expected[FW_HEX_DIGEST_SIZE];
    hex_digest_of(salt, (const char *)hostname.bytes, hostname.len, helo, cred->shared_key,
                  expected);
    if (digest.len != 128 || CRYPTO_memcmp(expected, digest.bytes, 128) != 0) {
        char *name = server_text(&hostname, cred);
        *error = xasprintf("the server ('%s') answered with a wrong shared key digest: it does "
                           "not hold the same shared_key",
                           name);
        free(name);
        return FW_PONG_MISMATCH;
    }
    return FW_PONG_OK;
}

int fw_ack_check(const uint8_t *data, size_t len, const char *chunk_id, char **error)
{
    size_t pos = 0;
    struct fw_mp_item map;
    if (fw_mp_read(data, len, &pos, &map) != FW_MP_OK || map.type != FW_MP_MAP) {
        *error = xstrdup(fw_is_helo(data, len)
                             ? "the server began a handshake (HELO): it needs shared_key"
                             : "expected an ack ({\"ack\": chunk id})");
        return -1;
    }
    for (uint32_t i = 0; i < map.count; i++) {
        struct fw_mp_item key, value;
        if (fw_mp_read(data, len, &pos, &key) != FW_MP_OK)
            break;
        size_t value_at = pos;
        if (fw_mp_read(data, len, &pos, &value) != FW_MP_OK ||
            fw_mp_skip(data, len, &value_at) != FW_MP_OK)
            break;
        pos = value_at;
        if (!fw_mp_item_is(&key, "ack"))
            continue;
        if (fw_mp_item_is(&value, chunk_id))
            return 0;
        *error = xasprintf("the ack names another chunk than '%s'", chunk_id);
        return -1;
    }
    *error = xstrdup("the answer has no ack");
    return -1;
}
