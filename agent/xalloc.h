/* Allocation that cannot fail: on exhaustion skiff logs and aborts, like
 * Redis's zmalloc. Memory is bounded by configuration, so running out means the
 * limits are wrong for the machine; limping on would lose records silently. */
#ifndef SKIFF_XALLOC_H
#define SKIFF_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
/* Grows an array of `*cap` elements of `size` bytes so it holds `need`. */
void *xgrow(void *ptr, size_t *cap, size_t need, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t len);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
