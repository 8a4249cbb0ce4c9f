/* Lookups off the output thread (fw_resolve.h). The request lives until
 * both glibc's notification and its owner are done with it, whichever
 * comes last: each side sets its bit once and the one that finds the
 * other's bit set frees it, so the owner never waits for a lookup. */
#include "fw_resolve.h"

#include "log.h"
#include "loop.h"
#include "xalloc.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

enum {
    LOOKUP_NOTIFIED = 1u << 0, /* glibc's notification ran */
    LOOKUP_RELEASED = 1u << 1, /* the owner took the answer or gave up */
};

struct fw_lookup {
    struct loop *loop;
    int efd;
    fw_lookup_cb *cb;
    void *data;
    struct gaicb request;
    struct addrinfo hints;
    char *host;
    char *port;
    _Atomic unsigned state;
};

static void lookup_free(struct fw_lookup *lookup)
{
    if (lookup->request.ar_result)
        freeaddrinfo(lookup->request.ar_result);
    close(lookup->efd);
    free(lookup->host);
    free(lookup->port);
    free(lookup);
}

/* Runs on a thread glibc starts when the lookup ends: the eventfd is
 * written before the bit is set, so the lookup is still there for it. */
static void lookup_notify(union sigval value)
{
    struct fw_lookup *lookup = value.sival_ptr;
    uint64_t one = 1;
    while (write(lookup->efd, &one, sizeof one) < 0 && errno == EINTR)
        ;
    if (atomic_fetch_or(&lookup->state, LOOKUP_NOTIFIED) & LOOKUP_RELEASED)
        lookup_free(lookup);
}

static void lookup_release(struct fw_lookup *lookup)
{
    loop_unwatch_fd(lookup->loop, lookup->efd);
    if (atomic_fetch_or(&lookup->state, LOOKUP_RELEASED) & LOOKUP_NOTIFIED)
        lookup_free(lookup);
}

static void lookup_answered(struct loop *loop, int fd, unsigned events, void *data)
{
    struct fw_lookup *lookup = data;
    uint64_t value;
    while (read(fd, &value, sizeof value) < 0 && errno == EINTR)
        ;
    int rc = gai_error(&lookup->request);
    if (rc == EAI_INPROGRESS)
        return;
    struct addrinfo *addrs = rc == 0 ? lookup->request.ar_result : NULL;
    lookup->request.ar_result = NULL;
    fw_lookup_cb *cb = lookup->cb;
    void *cb_data = lookup->data;
    lookup_release(lookup);
    cb(cb_data, addrs, rc == 0 ? NULL : gai_strerror(rc));
}

struct addrinfo *fw_resolve_numeric(const char *host, const char *port)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC,
        .ai_socktype = SOCK_STREAM,
        .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
    };
    struct addrinfo *addrs = NULL;
    return getaddrinfo(host, port, &hints, &addrs) == 0 ? addrs : NULL;
}

struct fw_lookup *fw_lookup_start(struct loop *loop, const char *host, const char *port,
                                  fw_lookup_cb *cb, void *data, const char **error)
{
    struct fw_lookup *lookup = xcalloc(1, sizeof *lookup);
    lookup->loop = loop;
    lookup->cb = cb;
    lookup->data = data;
    lookup->host = xstrdup(host);
    lookup->port = xstrdup(port);
    lookup->hints.ai_family = AF_UNSPEC;
    lookup->hints.ai_socktype = SOCK_STREAM;
    lookup->hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
    lookup->request.ar_name = lookup->host;
    lookup->request.ar_service = lookup->port;
    lookup->request.ar_request = &lookup->hints;
    lookup->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (lookup->efd < 0 ||
        loop_watch_fd(loop, lookup->efd, LOOP_READABLE, lookup_answered, lookup) < 0) {
        *error = strerror(errno);
        if (lookup->efd >= 0)
            close(lookup->efd);
        free(lookup->host);
        free(lookup->port);
        free(lookup);
        return NULL;
    }
    struct sigevent notify = {
        .sigev_notify = SIGEV_THREAD,
        .sigev_value.sival_ptr = lookup,
        .sigev_notify_function = lookup_notify,
    };
    struct gaicb *list[1] = {&lookup->request};
    int rc = getaddrinfo_a(GAI_NOWAIT, list, 1, &notify);
    if (rc != 0) {
        *error = gai_strerror(rc);
        loop_unwatch_fd(loop, lookup->efd);
        lookup_free(lookup);
        return NULL;
    }
    return lookup;
}

void fw_lookup_cancel(struct fw_lookup *lookup)
{
    lookup_release(lookup);
}
