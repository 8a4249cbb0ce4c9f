/* The checks of the `forward` output's options, at load and by --dry-run,
 * each naming the file and line of the option: the hosts, the handshake's
 * secrets (never shown), TLS files, and the combinations the protocol
 * cannot carry out. Also the host:port parser. */
#include "fw_output.h"

#include "cfg_node.h"
#include "diag.h"
#include "xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool parse_port(const char *text, int64_t *port)
{
    if (!text[0] || strlen(text) > 5 || strspn(text, "0123456789") != strlen(text))
        return false;
    *port = strtol(text, NULL, 10);
    return *port >= 1 && *port <= 65535;
}

int fw_host_parse(const char *text, int64_t default_port, char **name, char **port, char **error)
{
    const char *host = text;
    size_t host_len;
    const char *port_text = NULL;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close == text + 1 || (close[1] && close[1] != ':')) {
            *error = xasprintf("'%s' is not [IPv6 address] or [IPv6 address]:port", text);
            return -1;
        }
        host = text + 1;
        host_len = (size_t)(close - host);
        port_text = close[1] ? close + 2 : NULL;
    } else {
        const char *colon = strchr(text, ':');
        if (colon && strchr(colon + 1, ':')) {
            *error = xasprintf("'%s': write an IPv6 address in brackets, [%s]:port", text, text);
            return -1;
        }
        host_len = colon ? (size_t)(colon - text) : strlen(text);
        port_text = colon ? colon + 1 : NULL;
    }
    int64_t number = default_port;
    if (host_len == 0 || memchr(host, ' ', host_len) || memchr(host, '/', host_len) ||
        (port_text && !parse_port(port_text, &number))) {
        *error = xasprintf("'%s' is not host:port (e.g. fluentd.logging:24224; the port "
                           "1..65535)",
                           text);
        return -1;
    }
    *name = xstrndup(host, host_len);
    *port = xasprintf("%lld", (long long)number);
    return 0;
}

char *fw_host_text(const char *host)
{
    size_t colons = 0;
    for (const char *p = host; *p; p++)
        colons += *p == ':';
    return colons > 1 && host[0] != '[' ? xasprintf("[%s]", host) : xstrdup(host);
}

static const struct cfg_node *option_node(const struct cfg_node *node, const char *name)
{
    const struct cfg_node *at = cfg_map_get(node, name);
    return at ? at : node;
}

static const struct cfg_node *host_node(const struct cfg_node *node, size_t i)
{
    const struct cfg_node *list = cfg_map_get(node, "hosts");
    return list && list->type == CFG_SEQ && i < list->count ? list->items[i]
                                                            : option_node(node, "hosts");
}

static int check_one_host(const char *text, int64_t port, const struct cfg_node *at,
                          const char *option, const char *context, struct diag_list *diags)
{
    char *name = NULL, *port_text = NULL, *error = NULL;
    if (fw_host_parse(text, port, &name, &port_text, &error) == 0) {
        free(name);
        free(port_text);
        return 0;
    }
    diag_add(diags, at, "%s: option '%s': %s", context, option, error);
    free(error);
    return 1;
}

static int check_hosts(const struct fw_options *opts, const struct cfg_node *node,
                       const char *context, struct diag_list *diags)
{
    if (opts->host && opts->hosts.count) {
        diag_add(diags, option_node(node, "host"),
                 "%s: set either hosts (a list of host:port) or host and port, not both", context);
        return 1;
    }
    if (!opts->host && !opts->hosts.count) {
        diag_add(diags, node,
                 "%s: no server: set hosts: [host:port, ...] or host (and port, default %d)",
                 context, FW_DEFAULT_PORT);
        return 1;
    }
    if (opts->host) {
        const char *colon = strchr(opts->host, ':');
        if (colon && !strchr(colon + 1, ':')) {
            diag_add(diags, option_node(node, "host"),
                     "%s: option 'host': '%s' has a port: give it in `port`, or use hosts: "
                     "[host:port]",
                     context, opts->host);
            return 1;
        }
        char *text = fw_host_text(opts->host);
        int rc =
            check_one_host(text, opts->port, option_node(node, "host"), "host", context, diags);
        free(text);
        return rc;
    }
    int problems = 0;
    for (size_t i = 0; i < opts->hosts.count; i++)
        problems += check_one_host(opts->hosts.items[i], opts->port, host_node(node, i), "hosts",
                                   context, diags);
    return problems;
}

static int check_file(const char *option, const char *path, const struct cfg_node *node,
                      const char *context, struct diag_list *diags)
{
    if (!path || access(path, R_OK) == 0)
        return 0;
    diag_add(diags, option_node(node, option), "%s: option '%s': cannot read '%s': %s", context,
             option, path, strerror(errno));
    return 1;
}

static int either_not_both(const char *a, const char *a_value, const char *b, const char *b_value,
                           const struct cfg_node *node, const char *context,
                           struct diag_list *diags)
{
    if (!a_value || !b_value)
        return 0;
    diag_add(diags, option_node(node, b), "%s: set either %s or %s, not both", context, a, b);
    return 1;
}

static int check_secrets(const struct fw_options *opts, const struct cfg_node *node,
                         const char *context, struct diag_list *diags)
{
    int problems = either_not_both("shared_key", opts->shared_key, "shared_key_file",
                                   opts->shared_key_file, node, context, diags);
    problems += either_not_both("password", opts->password, "password_file", opts->password_file,
                                node, context, diags);
    if (opts->shared_key && !opts->shared_key[0]) {
        diag_add(diags, option_node(node, "shared_key"),
                 "%s: option 'shared_key' is empty: an empty key authenticates nothing", context);
        problems++;
    }
    bool has_key = opts->shared_key || opts->shared_key_file;
    bool has_password = opts->password || opts->password_file;
    if (!has_key && (opts->username || has_password)) {
        diag_add(diags, option_node(node, opts->username ? "username" : "password"),
                 "%s: username and password are checked in the shared_key handshake: set "
                 "shared_key (or shared_key_file) too",
                 context);
        problems++;
    }
    if (opts->username && !has_password) {
        diag_add(diags, option_node(node, "username"),
                 "%s: a username needs password or password_file", context);
        problems++;
    }
    if (has_password && !opts->username) {
        diag_add(diags, option_node(node, opts->password ? "password" : "password_file"),
                 "%s: a password needs username", context);
        problems++;
    }
    problems += check_file("shared_key_file", opts->shared_key_file, node, context, diags);
    problems += check_file("password_file", opts->password_file, node, context, diags);
    return problems;
}

static int check_tls(const struct fw_tls_options *tls, const struct cfg_node *node,
                     const char *context, struct diag_list *diags)
{
    const struct cfg_node *at = option_node(node, "tls");
    int problems = check_file("ca_file", tls->ca_file, at, context, diags);
    problems += check_file("cert_file", tls->cert_file, at, context, diags);
    problems += check_file("key_file", tls->key_file, at, context, diags);
    if (!tls->cert_file != !tls->key_file) {
        diag_add(diags, at, "%s: option 'tls': cert_file and key_file go together", context);
        problems++;
    }
    if (!tls->enabled && (tls->ca_file || tls->cert_file || tls->key_file || tls->server_name)) {
        diag_add(diags, at,
                 "%s: option 'tls': files or server_name are set but TLS is off: add "
                 "enabled: true",
                 context);
        problems++;
    }
    return problems;
}

int fw_validate(const void *options, const struct cfg_node *node, const char *context,
                struct diag_list *diags)
{
    const struct fw_options *opts = options;
    int problems = check_hosts(opts, node, context, diags);
    problems += check_secrets(opts, node, context, diags);
    problems += check_tls(&opts->tls, node, context, diags);
    if (opts->tag && !opts->tag[0]) {
        diag_add(diags, option_node(node, "tag"), "%s: option 'tag' is empty", context);
        problems++;
    }
    if (opts->self_hostname && !opts->self_hostname[0]) {
        diag_add(diags, option_node(node, "self_hostname"), "%s: option 'self_hostname' is empty",
                 context);
        problems++;
    }
    return problems ? -1 : 0;
}
