/* The HTTP server's listen address: its form checked for the config loader,
 * then resolved and bound to a listening socket (see http_server.h). */
#include "http_server.h"

#include "xalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { HTTP_BACKLOG = 64 };

static bool port_parse(const char *text, char *port, size_t size)
{
    size_t len = strlen(text);
    if (len == 0 || len >= size || strspn(text, "0123456789") != len || atol(text) > 65535)
        return false;
    memcpy(port, text, len + 1);
    return true;
}

/* Splits "host:port", "[v6]:port" or ":port" into a malloc'ed host ("" for
 * all addresses) and the port digits. Unbracketed IPv6 is refused because its
 * last colon is ambiguous. */
static bool listen_split(const char *listen, char **host, char *port, size_t port_size,
                         bool *bracketed)
{
    const char *start = listen, *end, *colon;
    *bracketed = listen[0] == '[';
    if (*bracketed) {
        start = listen + 1;
        end = strchr(start, ']');
        if (!end || end == start || end[1] != ':')
            return false;
        colon = end + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon || memchr(listen, ':', (size_t)(colon - listen)))
            return false;
        end = colon;
    }
    if (!port_parse(colon + 1, port, port_size))
        return false;
    *host = xstrndup(start, (size_t)(end - start));
    return true;
}

static bool host_name_ok(const char *host)
{
    size_t len = strlen(host);
    if (len > 253 || host[0] == '-' || host[0] == '.')
        return false;
    for (const char *c = host; *c; c++) {
        bool alnum =
            (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9');
        if (!alnum && *c != '-' && *c != '.')
            return false;
    }
    return true;
}

/* Digits and dots are an IPv4 address, never a name: "999.1.1.1" is refused. */
static const char *listen_host_problem(const char *host, bool bracketed)
{
    unsigned char address[sizeof(struct in6_addr)];
    if (bracketed)
        return inet_pton(AF_INET6, host, address) == 1 ? NULL : "not an IPv6 address";
    if (host[0] == '\0')
        return NULL;
    if (strspn(host, "0123456789.") == strlen(host))
        return inet_pton(AF_INET, host, address) == 1 ? NULL : "not an IPv4 address";
    return host_name_ok(host) ? NULL : "not a host name";
}

int http_listen_check(const char *listen, char **error)
{
    char *host;
    char port[6];
    bool bracketed;
    if (!listen_split(listen, &host, port, sizeof port, &bracketed)) {
        *error = xasprintf("'%s' is not host:port, [ipv6]:port or :port with a port of 0 to "
                           "65535 (e.g. 0.0.0.0:2020, 127.0.0.1:2020, [::1]:2020)",
                           listen);
        return -1;
    }
    const char *problem = listen_host_problem(host, bracketed);
    if (problem)
        *error = xasprintf("'%s': the host '%s' is %s", listen, host, problem);
    free(host);
    return problem ? -1 : 0;
}

/* No host means all IPv4 addresses; brackets mean an IPv6 literal. */
static int listen_family(const char *host, bool bracketed)
{
    if (host[0] == '\0')
        return AF_INET;
    return bracketed ? AF_INET6 : AF_UNSPEC;
}

static int listen_resolve(const char *listen, struct addrinfo **result, char **error)
{
    char *host;
    char port[6];
    bool bracketed;
    if (!listen_split(listen, &host, port, sizeof port, &bracketed)) {
        *error = xasprintf("http: listen on %s: expected host:port, [ipv6]:port or :port", listen);
        return -1;
    }
    struct addrinfo hints = {
        .ai_flags = AI_PASSIVE | AI_NUMERICSERV | (bracketed ? AI_NUMERICHOST : 0),
        .ai_family = listen_family(host, bracketed),
        .ai_socktype = SOCK_STREAM,
    };
    int rc = getaddrinfo(host[0] == '\0' ? NULL : host, port, &hints, result);
    free(host);
    if (rc != 0) {
        *error = xasprintf("http: listen on %s: %s", listen, gai_strerror(rc));
        return -1;
    }
    return 0;
}

static int listener_open(const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return -1;
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, HTTP_BACKLOG) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int http_listener_port(int fd)
{
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    if (getsockname(fd, (struct sockaddr *)&addr, &len) < 0)
        return -1;
    if (addr.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
    return ntohs(((struct sockaddr_in *)&addr)->sin_port);
}

int http_listener_open(const char *listen, char **error)
{
    struct addrinfo *ai;
    if (listen_resolve(listen, &ai, error) < 0)
        return -1;
    int fd = listener_open(ai);
    freeaddrinfo(ai);
    if (fd < 0)
        *error = xasprintf("http: listen on %s: %s", listen, strerror(errno));
    return fd;
}
