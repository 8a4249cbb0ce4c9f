/* The secrets skiff holds (passwords, API keys, tokens, shared keys, as
 * plugins register them with secret_register, plugin_api.h) and their
 * masking: every log line, /readyz reason and dead-letter reason passes
 * through secret_mask, so a secret a server echoes back (a proxy that quotes
 * the Authorization header in its error page) is printed as "***". The
 * first line of defence is not printing them at all; this is the second. */
#ifndef SKIFF_SECRET_H
#define SKIFF_SECRET_H

#include <stddef.h>

#define SECRET_MASK "***"

/* Registered values are kept until secrets_free; at most SECRET_MAX_COUNT,
 * the oldest forgotten first (a rotated token's earlier values). */
enum { SECRET_MAX_COUNT = 64 };

/* `text` with every registered secret replaced by SECRET_MASK, as a new
 * string; NULL when it holds none (the common case: no copy). Any thread. */
char *secret_mask(const char *text);
/* The same, in place, for a NUL-terminated `text` in a buffer of `size`
 * bytes (the result cut to fit). */
void secret_mask_in_place(char *text, size_t size);
/* Forgets (and zeroes) every registered secret. */
void secrets_free(void);

#endif
