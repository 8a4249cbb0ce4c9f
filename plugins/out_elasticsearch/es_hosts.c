/* Hosts of the `elasticsearch` output: round-robin over the configured URLs,
 * skipping a host that failed (connection error, 5xx) for a backoff that
 * doubles per failure in a row. Credentials in a URL (user:password@) are
 * taken out here, so that no URL that is logged carries them; es_headers.c
 * turns them into the Authorization header. */
#include "es_output.h"

#include "log.h"
#include "xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { HOST_BACKOFF_MIN_MS = 500, HOST_BACKOFF_MAX_MS = 30000 };

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

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* RFC 3986 percent-decoding; a '%' not followed by two hex digits stays. */
static char *percent_decode(const char *s, size_t len)
{
    char *out = xmalloc(len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int hi = s[i] == '%' && i + 2 < len ? hex_digit(s[i + 1]) : -1;
        int lo = hi >= 0 ? hex_digit(s[i + 2]) : -1;
        if (hi >= 0 && lo >= 0) {
            out[n++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[n++] = s[i];
        }
    }
    out[n] = '\0';
    return out;
}

/* user:password@ of the first URL that has one (es_validate saw to it that
 * they all agree) becomes the output's basic auth. */
static void take_userinfo(struct es_output *es, const char *userinfo, size_t len)
{
    if (es->url_user)
        return;
    const char *colon = memchr(userinfo, ':', len);
    size_t user_len = colon ? (size_t)(colon - userinfo) : len;
    es->url_user = percent_decode(userinfo, user_len);
    es->url_password = colon ? percent_decode(colon + 1, len - user_len - 1) : xstrdup("");
    if (colon) { /* as written in the URL, and decoded */
        char *written = xstrndup(colon + 1, len - user_len - 1);
        secret_register(written);
        free(written);
        secret_register(es->url_password);
    }
}

void es_hosts_init(struct es_output *es)
{
    const struct es_options *opts = es->opts;
    es->host_count = opts->hosts.count;
    es->hosts = xcalloc(es->host_count, sizeof *es->hosts);
    for (size_t i = 0; i < es->host_count; i++) {
        const char *url = opts->hosts.items[i];
        size_t at = 0;
        size_t userinfo = es_url_userinfo(url, &at);
        struct buf base = BUF_INIT;
        if (userinfo) {
            take_userinfo(es, url + at, userinfo);
            buf_append(&base, url, at);
            buf_append_str(&base, url + at + userinfo + 1);
        } else {
            buf_append_str(&base, url);
        }
        while (base.len > 0 && base.data[base.len - 1] == '/')
            base.len--;
        struct es_host *host = &es->hosts[i];
        host->base_url = (char *)buf_cstr(&base);
        host->bulk_url = bulk_url(host->base_url, opts->pipeline);
    }
}

void es_hosts_free(struct es_output *es)
{
    free(es->url_user);
    if (es->url_password) {
        memset(es->url_password, 0, strlen(es->url_password));
        free(es->url_password);
    }
    es->url_user = es->url_password = NULL;
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
