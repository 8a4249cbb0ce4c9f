/* HMAC-SHA256 for the redact filter's keyed hashes, from OpenSSL's libcrypto
 * (already in the process through libcurl), and the key file it is keyed
 * with. The key never leaves this module's memory but as the HMAC state; it
 * is wiped when freed and never written to a message. */
#ifndef SKIFF_REDACT_HMAC_H
#define SKIFF_REDACT_HMAC_H

#include <stddef.h>

#define REDACT_KEY_MIN 32   /* bytes: as long as the hash (RFC 2104, section 3) */
#define REDACT_KEY_MAX 4096 /* a key file larger than this is not a key */
#define REDACT_DIGEST_SIZE 32

struct redact_hmac;

/* Reads the key from `path`: the file's bytes, less one trailing newline (so
 * `openssl rand -hex 32 > key` works as well as 32 raw bytes). Returns 0 and
 * a malloc'ed key, or -1 with a message (path and what is wrong, never the
 * key) in *error. Free the key with redact_key_free. */
int redact_key_read(const char *path, unsigned char **key, size_t *len, char **error);
void redact_key_free(unsigned char *key, size_t len);

/* A keyed HMAC-SHA256; NULL with *error when libcrypto cannot provide it. */
struct redact_hmac *redact_hmac_new(const unsigned char *key, size_t len, char **error);
void redact_hmac_free(struct redact_hmac *hmac);
/* The HMAC of `len` bytes into `digest` (REDACT_DIGEST_SIZE); 0 or -1. */
int redact_hmac_sha256(struct redact_hmac *hmac, const void *data, size_t len,
                       unsigned char *digest);

#endif
