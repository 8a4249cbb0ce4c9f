/* The forward protocol's messages other than events (Fluentd Forward
 * Protocol Specification v1, "Handshake Messages" and "Response"): reading
 * a server's HELO, PONG and ack, writing the client's PING, and the digests
 * and ids they carry. Pure functions of their inputs (randomness comes from
 * the caller), so tests and the fuzz target drive them directly. Internal
 * to the plugin. */
#ifndef SKIFF_FW_PROTO_H
#define SKIFF_FW_PROTO_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Fluentd sends 16-byte nonces and salts; longer ones are refused. */
#define FW_NONCE_MAX 256
/* A SHA-512 digest in lower-case hex, and its NUL. */
#define FW_HEX_DIGEST_SIZE 129
/* A chunk id: base64 of 16 bytes (24 characters) and its NUL. */
#define FW_CHUNK_ID_SIZE 25
/* The client's shared_key_salt: 16 random bytes in hex, and its NUL. */
#define FW_SALT_SIZE 33

struct fw_helo {
    uint8_t nonce[FW_NONCE_MAX];
    size_t nonce_len;
    uint8_t auth[FW_NONCE_MAX]; /* salt for the password digest; empty: none asked */
    size_t auth_len;
    bool keepalive; /* false: the server closes after each message */
};

/* What the client proves itself with. Empty strings, not NULL, for a
 * username and password that are not set. */
struct fw_credentials {
    const char *self_hostname;
    const char *shared_key;
    const char *username;
    const char *password;
};

enum fw_pong_result {
    FW_PONG_OK,
    FW_PONG_REFUSED,   /* auth_result false: the server refused the key or the user */
    FW_PONG_MISMATCH,  /* the server's digest is wrong: it does not hold the key */
    FW_PONG_MALFORMED, /* not a PONG */
};

/* ["HELO", {nonce, auth, keepalive}]: 0, or -1 with *error (malloc'ed). */
int fw_helo_parse(const uint8_t *data, size_t len, struct fw_helo *helo, char **error);
/* Whether the message is a HELO (a server that wants a handshake). */
bool fw_is_helo(const uint8_t *data, size_t len);
/* Appends ["PING", self_hostname, salt, sha512_hex(salt + self_hostname +
 * nonce + shared_key), username, sha512_hex(auth + username + password)];
 * the last two are empty strings when the HELO's auth is empty. */
void fw_ping_write(struct buf *out, const struct fw_credentials *cred, const char *salt,
                   const struct fw_helo *helo);
/* ["PONG", auth_result, reason, server_hostname, sha512_hex(salt +
 * server_hostname + nonce + shared_key)]: checks the result and the digest.
 * On anything but FW_PONG_OK, *error (malloc'ed) says why, with the
 * server's reason made printable and cut short. */
enum fw_pong_result fw_pong_check(const uint8_t *data, size_t len,
                                  const struct fw_credentials *cred, const char *salt,
                                  const struct fw_helo *helo, char **error);
/* {"ack": chunk_id}: 0 when it acknowledges `chunk_id`, else -1 with
 * *error (malloc'ed). */
int fw_ack_check(const uint8_t *data, size_t len, const char *chunk_id, char **error);

/* SHA-512 of the concatenated parts, in lower-case hex. */
struct fw_bytes {
    const void *data;
    size_t len;
};
void fw_sha512_hex(const struct fw_bytes *parts, size_t count, char hex[FW_HEX_DIGEST_SIZE]);
/* The `chunk` option: standard base64 of 16 bytes. */
void fw_chunk_id(const uint8_t bytes[16], char id[FW_CHUNK_ID_SIZE]);
/* The shared_key_salt: 16 bytes as 32 hex digits (Fluentd's client sends
 * hex too, so the salt is valid UTF-8 for any server). */
void fw_salt(const uint8_t bytes[16], char salt[FW_SALT_SIZE]);
/* `len` random bytes from the system (getrandom); 0, or -1. */
int fw_random(uint8_t *out, size_t len);

#endif
