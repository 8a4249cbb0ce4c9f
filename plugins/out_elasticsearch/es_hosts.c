/* Hosts and credentials of the `elasticsearch` output: round-robin over the
 * configured URLs, skipping a host that failed (connection error, 5xx) for a
 * backoff that doubles per failure in a row; and the request headers, with
 * the Authorization header built from user/password or an API key, possibly
 * read from files (read at start, and again after a 401). */
#include "es_output.h"

#include "log.h"
#include "xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { HOST_BACKOFF_MIN_MS = 500, HOST_BACKOFF_MAX_MS = 30000, SECRET_MAX = 4096 };

/* Appends `text` percent-encoded for a query string value. */
static void append_query_value(struct buf *out, const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (isalnum(*p) || strchr("-._~", *p))
            buf_append_byte(out, (char)*p);
        else
            buf_printf(out, "%%%02X", *p);
    }
}

/* filter_path keeps of each item only its status and error: the response
 * shrinks from about 200 bytes per document to about 30, and so does the
 * time spent reading it. */
static char *bulk_url(const char *base_url, const char *pipeline)
{
    struct buf url = BUF_INIT;
    buf_printf(&url, "%s/_bulk?filter_path=errors,items.*.status,items.*.error", base_url);
    if (pipeline && pipeline[0]) {
        buf_append_str(&url, "&pipeline=");
        append_query_value(&url, pipeline);
    }
    return (char *)buf_cstr(&url);
}

void es_hosts_init(struct es_output *es)
{
    const struct es_options *opts = es->opts;
    es->host_count = opts->hosts.count;
    es->hosts = xcalloc(es->host_count, sizeof *es->hosts);
    for (size_t i = 0; i < es->host_count; i++) {
        const char *url = opts->hosts.items[i];
        size_t len = strlen(url);
        while (len > 0 && url[len - 1] == '/')
            len--;
        struct es_host *host = &es->hosts[i];
        host->base_url = xstrndup(url, len);
        host->bulk_url = bulk_url(host->base_url, opts->pipeline);
    }
}

void es_hosts_free(struct es_output *es)
{
    for (size_t i = 0; i < es->host_count; i++) {
        free(es->hosts[i].base_url);
        free(es->hosts[i].bulk_url);
    }
    free(es->hosts);
    es->hosts = NULL;
}

size_t es_hosts_pick(struct es_output *es, int64_t now_ms)
{
    size_t best = es->next_host % es->host_count;
    for (size_t k = 0; k < es->host_count; k++) {
        size_t i = (es->next_host + k) % es->host_count;
        if (es->hosts[i].down_until_ms <= now_ms) {
            es->next_host = i + 1;
            return i;
        }
        if (es->hosts[i].down_until_ms < es->hosts[best].down_until_ms)
            best = i;
    }
    es->next_host = best + 1;
    return best;
}

bool es_hosts_any_up(const struct es_output *es, int64_t now_ms)
{
    for (size_t i = 0; i < es->host_count; i++)
        if (es->hosts[i].down_until_ms <= now_ms)
            return true;
    return false;
}

void es_hosts_failed(struct es_output *es, size_t i, int64_t now_ms, const char *why)
{
    struct es_host *host = &es->hosts[i];
    unsigned shift = host->failures < 6 ? host->failures : 6;
    int64_t backoff = (int64_t)HOST_BACKOFF_MIN_MS << shift;
    if (backoff > HOST_BACKOFF_MAX_MS)
        backoff = HOST_BACKOFF_MAX_MS;
    host->down_until_ms = now_ms + backoff;
    if (host->failures++ == 0 && es->host_count > 1)
        log_warn(es->out->alias, "%s: %s; using the other hosts until it recovers", host->base_url,
                 why);
}

void es_hosts_ok(struct es_output *es, size_t i)
{
    struct es_host *host = &es->hosts[i];
    if (host->failures > 0 && es->host_count > 1)
        log_info(es->out->alias, "%s: answering again", host->base_url);
    host->failures = 0;
    host->down_until_ms = 0;
}

char *es_read_secret(const char *path, char **error)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        *error = xasprintf("%s: %s", path, strerror(errno));
        return NULL;
    }
    char line[SECRET_MAX];
    if (!fgets(line, sizeof line, f))
        line[0] = '\0';
    fclose(f);
    size_t len = strcspn(line, "\r\n");
    while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    if (len == 0) {
        *error = xasprintf("%s: the file is empty (expected the secret on its first line)", path);
        return NULL;
    }
    return xstrndup(line, len);
}

static const char base64_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64_append(struct buf *out, const char *data, size_t len)
{
    const unsigned char *in = (const unsigned char *)data;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < len)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        buf_append_byte(out, base64_chars[v >> 18 & 63]);
        buf_append_byte(out, base64_chars[v >> 12 & 63]);
        buf_append_byte(out, i + 1 < len ? base64_chars[v >> 6 & 63] : '=');
        buf_append_byte(out, i + 2 < len ? base64_chars[v & 63] : '=');
    }
}

/* The Authorization header, or NULL without credentials. */
static char *auth_header(const struct es_options *opts, char **error)
{
    char *secret = NULL;
    struct buf header = BUF_INIT;
    if (opts->api_key || opts->api_key_file) {
        secret = opts->api_key ? xstrdup(opts->api_key) : es_read_secret(opts->api_key_file, error);
        if (!secret)
            return NULL;
        buf_printf(&header, "Authorization: ApiKey %s", secret);
    } else if (opts->user) {
        if (opts->password)
            secret = xstrdup(opts->password);
        else if (opts->password_file)
            secret = es_read_secret(opts->password_file, error);
        else
            secret = xstrdup("");
        if (!secret)
            return NULL;
        char *pair = xasprintf("%s:%s", opts->user, secret);
        buf_append_str(&header, "Authorization: Basic ");
        base64_append(&header, pair, strlen(pair));
        memset(pair, 0, strlen(pair));
        free(pair);
    }
    if (secret) {
        memset(secret, 0, strlen(secret));
        free(secret);
    }
    return header.data ? (char *)buf_cstr(&header) : NULL;
}

static void headers_push(struct es_output *es, char *header)
{
    es->headers = xrealloc(es->headers, (es->header_count + 1) * sizeof *es->headers);
    es->headers[es->header_count++] = header;
}

int es_headers_init(struct es_output *es, char **error)
{
    const struct es_options *opts = es->opts;
    *error = NULL;
    es->auth_header = SIZE_MAX;
    headers_push(es, xstrdup("Content-Type: application/x-ndjson"));
    if (strcmp(opts->compress, "gzip") == 0)
        headers_push(es, xstrdup("Content-Encoding: gzip"));
    const struct value_map *user = &opts->headers.as.map;
    for (uint32_t i = 0; opts->headers.type == VALUE_MAP && i < user->count; i++) {
        const struct map_entry *e = &user->entries[i];
        headers_push(es, xasprintf("%s: %s", e->key.ptr, e->value.as.string.ptr));
    }
    char *auth = auth_header(opts, error);
    if (*error)
        return -1;
    if (auth) {
        es->auth_header = es->header_count;
        headers_push(es, auth);
    }
    return 0;
}

void es_headers_reload(struct es_output *es)
{
    const struct es_options *opts = es->opts;
    if (es->auth_header == SIZE_MAX || !(opts->password_file || opts->api_key_file))
        return;
    char *error = NULL;
    char *auth = auth_header(opts, &error);
    if (!auth) {
        log_error(es->out->alias, "cannot read the credentials again: %s (keeping the old ones)",
                  error);
        free(error);
        return;
    }
    free(es->headers[es->auth_header]);
    es->headers[es->auth_header] = auth;
}

void es_headers_free(struct es_output *es)
{
    for (size_t i = 0; i < es->header_count; i++)
        free(es->headers[i]);
    free(es->headers);
    es->headers = NULL;
    es->header_count = 0;
}
