/* The checks of the `elasticsearch` output's options, at load and by
 * --dry-run, each naming the file and line of the option: URLs (and the
 * credentials some carry), index patterns, ids, credentials, headers, TLS
 * files, and the combinations Elasticsearch would refuse item by item. */
#include "es_output.h"

#include "cfg_node.h"
#include "diag.h"

#include "xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

size_t es_url_userinfo(const char *url, size_t *at)
{
    const char *scheme_end = strstr(url, "://");
    const char *start = scheme_end ? scheme_end + 3 : url;
    size_t authority = strcspn(start, "/?#");
    /* The last '@' of the authority ends the userinfo. */
    size_t sign = authority;
    for (size_t i = 0; i < authority; i++)
        if (start[i] == '@')
            sign = i;
    if (sign == authority)
        return 0;
    *at = (size_t)(start - url);
    return sign;
}

/* The URL without its userinfo, for messages. */
static char *url_for_messages(const char *url)
{
    size_t at = 0;
    size_t userinfo = es_url_userinfo(url, &at);
    if (!userinfo)
        return xstrdup(url);
    return xasprintf("%.*s%s", (int)at, url, url + at + userinfo + 1);
}

static bool url_ok(const char *url)
{
    const char *rest = NULL;
    size_t at = 0;
    size_t userinfo = es_url_userinfo(url, &at);
    if (strncmp(url, "http://", 7) == 0)
        rest = url + 7;
    else if (strncmp(url, "https://", 8) == 0)
        rest = url + 8;
    if (rest && userinfo)
        rest += userinfo + 1;
    return rest && rest[0] && rest[0] != '/' && rest[0] != ':' && !strpbrk(rest, " ?#");
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

/* user:password@ in URLs is the output's basic auth: the same in every URL
 * that has one, and not given a second way. The messages never show it. */
static int check_url_credentials(const struct es_options *opts, const struct cfg_node *node,
                                 const char *context, struct diag_list *diags)
{
    const char *first = NULL;
    size_t first_len = 0;
    for (size_t i = 0; i < opts->hosts.count; i++) {
        const char *url = opts->hosts.items[i];
        size_t at = 0;
        size_t len = es_url_userinfo(url, &at);
        if (!len)
            continue;
        if (opts->user || opts->api_key || opts->api_key_file) {
            diag_add(diags, host_node(node, i),
                     "%s: option 'hosts': URL %zu carries credentials (user:password@) and "
                     "`user` or an API key is set too: give them one way (prefer `user` with "
                     "`password_file`)",
                     context, i + 1);
            return 1;
        }
        if (first && (len != first_len || memcmp(first, url + at, len) != 0)) {
            diag_add(diags, host_node(node, i),
                     "%s: option 'hosts': URL %zu carries other credentials than an earlier "
                     "one; an output has one user",
                     context, i + 1);
            return 1;
        }
        first = url + at;
        first_len = len;
    }
    return 0;
}

static int check_hosts(const struct es_options *opts, const struct cfg_node *node,
                       const char *context, struct diag_list *diags)
{
    int problems = 0;
    if (opts->hosts.count == 0) {
        diag_add(diags, option_node(node, "hosts"), "%s: option 'hosts': give at least one URL",
                 context);
        return 1;
    }
    for (size_t i = 0; i < opts->hosts.count; i++) {
        if (url_ok(opts->hosts.items[i]))
            continue;
        char *shown = url_for_messages(opts->hosts.items[i]);
        diag_add(diags, host_node(node, i),
                 "%s: option 'hosts': '%s' is not an http:// or https:// URL with a host "
                 "(e.g. https://elasticsearch:9200)",
                 context, shown);
        free(shown);
        problems++;
    }
    return problems + check_url_credentials(opts, node, context, diags);
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

static int check_pattern(const char *option, const char *text, const struct cfg_node *node,
                         const char *context, struct diag_list *diags)
{
    char *error = NULL;
    struct es_index_pattern *pattern = es_index_pattern_compile(text, &error);
    if (pattern) {
        int rc = es_index_pattern_check(pattern, text, &error);
        es_index_pattern_free(pattern);
        if (rc == 0)
            return 0;
    }
    diag_add(diags, option_node(node, option), "%s: option '%s': %s", context, option, error);
    free(error);
    return 1;
}

static int check_id(const char *id, const struct cfg_node *node, const char *context,
                    struct diag_list *diags)
{
    struct es_id_spec spec;
    char *error = NULL;
    if (es_id_spec_parse(id, &spec, &error) == 0) {
        es_id_spec_free(&spec);
        return 0;
    }
    diag_add(diags, option_node(node, "id"), "%s: option 'id': %s", context, error);
    free(error);
    return 1;
}

static int check_credentials(const struct es_options *opts, const struct cfg_node *node,
                             const char *context, struct diag_list *diags)
{
    int problems = 0;
    if (opts->password && opts->password_file) {
        diag_add(diags, option_node(node, "password_file"),
                 "%s: set either password or password_file, not both", context);
        problems++;
    }
    if (opts->api_key && opts->api_key_file) {
        diag_add(diags, option_node(node, "api_key_file"),
                 "%s: set either api_key or api_key_file, not both", context);
        problems++;
    }
    if ((opts->password || opts->password_file) && !opts->user) {
        diag_add(diags, option_node(node, opts->password ? "password" : "password_file"),
                 "%s: a password needs `user`", context);
        problems++;
    }
    if (opts->user && (opts->api_key || opts->api_key_file)) {
        diag_add(diags, option_node(node, "user"),
                 "%s: use either user/password or an API key, not both", context);
        problems++;
    }
    problems += check_file("password_file", opts->password_file, node, context, diags);
    problems += check_file("api_key_file", opts->api_key_file, node, context, diags);
    return problems;
}

static bool header_name_ok(const char *name)
{
    return name[0] && !strpbrk(name, ": \r\n");
}

static int check_headers(const struct es_options *opts, const struct cfg_node *node,
                         const char *context, struct diag_list *diags)
{
    const struct value_map *map = &opts->headers.as.map;
    int problems = 0;
    for (uint32_t i = 0; opts->headers.type == VALUE_MAP && i < map->count; i++) {
        const struct map_entry *e = &map->entries[i];
        if (e->value.type == VALUE_STRING && header_name_ok(e->key.ptr) &&
            !strpbrk(e->value.as.string.ptr, "\r\n"))
            continue;
        diag_add(diags, option_node(node, "headers"),
                 "%s: option 'headers': '%s' needs a header name and a one-line text value "
                 "(quote numbers)",
                 context, e->key.ptr);
        problems++;
    }
    return problems;
}

/* Whether `headers` has a header named `name` (in any case). */
static bool in_headers(const struct es_options *opts, const char *name)
{
    const struct value_map *map = &opts->headers.as.map;
    for (uint32_t i = 0; opts->headers.type == VALUE_MAP && i < map->count; i++)
        if (strcasecmp(map->entries[i].key.ptr, name) == 0)
            return true;
    return false;
}

/* One header of headers_file: a name, a file whose first line can be read
 * (the value is read and forgotten: never shown), and not in `headers` too. */
static int check_header_file(const struct es_options *opts, const struct map_entry *e,
                             const struct cfg_node *at, const char *context,
                             struct diag_list *diags)
{
    if (e->value.type != VALUE_STRING || !header_name_ok(e->key.ptr)) {
        diag_add(diags, at,
                 "%s: option 'headers_file': '%s' needs a header name and the path of a file "
                 "holding its value",
                 context, e->key.ptr);
        return 1;
    }
    if (in_headers(opts, e->key.ptr)) {
        diag_add(diags, at,
                 "%s: option 'headers_file': header '%s' is also in 'headers': give it one way",
                 context, e->key.ptr);
        return 1;
    }
    char *error = NULL;
    char *value = secret_read_file(e->value.as.string.ptr, &error);
    bool readable = value != NULL;
    secret_free(value);
    if (!readable) {
        diag_add(diags, at, "%s: option 'headers_file': header '%s': cannot use %s", context,
                 e->key.ptr, error);
        free(error);
        return 1;
    }
    return 0;
}

static int check_headers_file(const struct es_options *opts, const struct cfg_node *node,
                              const char *context, struct diag_list *diags)
{
    const struct value_map *map = &opts->headers_file.as.map;
    const struct cfg_node *option = option_node(node, "headers_file");
    int problems = 0;
    for (uint32_t i = 0; opts->headers_file.type == VALUE_MAP && i < map->count; i++)
        problems += check_header_file(opts, &map->entries[i],
                                      option_node(option, map->entries[i].key.ptr), context, diags);
    return problems;
}

/* A data stream takes only `create`, and needs @timestamp in every
 * document: Elasticsearch would refuse each item otherwise. */
static int check_data_stream(const struct es_options *opts, const struct cfg_node *node,
                             const char *context, struct diag_list *diags)
{
    int problems = 0;
    if (!opts->data_stream)
        return 0;
    if (cfg_map_get(node, "index")) {
        diag_add(diags, option_node(node, "data_stream"),
                 "%s: set either index or data_stream, not both", context);
        problems++;
    }
    if (strcmp(opts->write_operation, "create") != 0) {
        diag_add(diags, option_node(node, "write_operation"),
                 "%s: option 'write_operation': a data stream accepts only create", context);
        problems++;
    }
    if (strcmp(opts->time_key, "@timestamp") != 0) {
        diag_add(diags, option_node(node, "time_key"),
                 "%s: option 'time_key': a data stream needs the time in @timestamp, not '%s'",
                 context, opts->time_key);
        problems++;
    }
    return problems;
}

int es_validate(const void *options, const struct cfg_node *node, const char *context,
                struct diag_list *diags)
{
    const struct es_options *opts = options;
    int problems = check_hosts(opts, node, context, diags);
    problems += check_data_stream(opts, node, context, diags);
    problems +=
        check_pattern(opts->data_stream ? "data_stream" : "index",
                      opts->data_stream ? opts->data_stream : opts->index, node, context, diags);
    problems += check_id(opts->id, node, context, diags);
    problems += check_credentials(opts, node, context, diags);
    problems += check_headers(opts, node, context, diags);
    problems += check_headers_file(opts, node, context, diags);
    const struct es_tls_options *tls = &opts->tls;
    problems += check_file("ca_file", tls->ca_file, option_node(node, "tls"), context, diags);
    problems += check_file("cert_file", tls->cert_file, option_node(node, "tls"), context, diags);
    problems += check_file("key_file", tls->key_file, option_node(node, "tls"), context, diags);
    if (!tls->cert_file != !tls->key_file) {
        diag_add(diags, option_node(node, "tls"),
                 "%s: option 'tls': cert_file and key_file go together", context);
        problems++;
    }
    return problems ? -1 : 0;
}
