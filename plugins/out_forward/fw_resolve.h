/* Host name lookups that do not block the output thread: glibc's
 * getaddrinfo_a runs the lookup on a thread of its own and signals an
 * eventfd the output loop watches. A lookup given up on (its connection
 * closed first) finishes in the background and frees itself. Internal to
 * the plugin. */
#ifndef SKIFF_FW_RESOLVE_H
#define SKIFF_FW_RESOLVE_H

#include <netdb.h>

struct loop;
struct fw_lookup;

/* `addrs` is the list to try in turn (the caller frees it with
 * freeaddrinfo), or NULL with `error` (gai_strerror's text). */
typedef void fw_lookup_cb(void *data, struct addrinfo *addrs, const char *error);

/* host:port when host is an IP address (nothing to look up), else NULL. */
struct addrinfo *fw_resolve_numeric(const char *host, const char *port);
/* Starts looking up host:port (TCP); `cb` is called from the loop. NULL
 * with *error (gai_strerror's text) if the lookup could not start. */
struct fw_lookup *fw_lookup_start(struct loop *loop, const char *host, const char *port,
                                  fw_lookup_cb *cb, void *data, const char **error);
/* Gives up on a lookup that has not answered: `cb` will not be called. */
void fw_lookup_cancel(struct fw_lookup *lookup);

#endif
