/* The request headers of the `elasticsearch` output: skiff's own
 * (Content-Type, Content-Encoding, and with compatible_with the matching
 * Accept), the user's `headers` and `headers_file` (values read from files),
 * which replace skiff's of the same name (in any case) rather than adding a
 * second one, and Authorization last, built from user/password (or a URL's
 * user:password@) or an API key. What comes from files is read at start and
 * again after a 401. */
#include "es_output.h"

#include "log.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

static char *basic_auth(const char *user, const char *secret)
{
    struct buf header = BUF_INIT;
    char *pair = xasprintf("%s:%s", user, secret);
    buf_append_str(&header, "Authorization: Basic ");
    base64_append(&header, pair, strlen(pair));
    memset(pair, 0, strlen(pair));
    free(pair);
    return (char *)buf_cstr(&header);
}

/* The Authorization header, or NULL without credentials (or with *error). */
static char *auth_header(const struct es_output *es, char **error)
{
    const struct es_options *opts = es->opts;
    char *secret = NULL;
    char *header = NULL;
    if (opts->api_key || opts->api_key_file) {
        secret =
            opts->api_key ? xstrdup(opts->api_key) : secret_read_file(opts->api_key_file, error);
        if (secret)
            header = xasprintf("Authorization: ApiKey %s", secret);
    } else if (opts->user) {
        if (opts->password)
            secret = xstrdup(opts->password);
        else if (opts->password_file)
            secret = secret_read_file(opts->password_file, error);
        else
            secret = xstrdup("");
        if (secret)
            header = basic_auth(opts->user, secret);
    } else if (es->url_user) {
        header = basic_auth(es->url_user, es->url_password);
    }
    if (secret) {
        secret_register(secret);
        secret_free(secret);
    }
    if (header) /* what follows "Authorization: Basic " or "ApiKey " */
        secret_register(strrchr(header, ' ') + 1);
    return header;
}

/* A header of the user's that may carry a credential: Authorization,
 * Proxy-Authorization, Cookie, or a name with token, key, secret, auth or
 * pass in it (X-Api-Key, X-Auth-Token...). */
static bool header_is_secret(const char *name)
{
    static const char *const words[] = {"auth", "token", "key", "secret", "pass", "cookie"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strcasestr(name, words[i]))
            return true;
    return false;
}

/* Its value, and the credential after a scheme ("Bearer xyz"), are masked
 * wherever skiff prints. */
static void register_header_secret(const char *value)
{
    secret_register(value);
    const char *space = strrchr(value, ' ');
    if (space)
        secret_register(space + 1);
}

bool es_header_named(const char *header, const char *name, size_t name_len)
{
    return strncasecmp(header, name, name_len) == 0 && header[name_len] == ':';
}

/* Adds `header`, or replaces the one of the same name. Returns its index. */
static size_t headers_set(struct es_output *es, char *header)
{
    size_t name_len = strcspn(header, ":");
    for (size_t i = 0; i < es->header_count; i++) {
        if (es_header_named(es->headers[i], header, name_len)) {
            free(es->headers[i]);
            es->headers[i] = header;
            return i;
        }
    }
    es->headers = xrealloc(es->headers, (es->header_count + 1) * sizeof *es->headers);
    es->headers[es->header_count] = header;
    return es->header_count++;
}

/* compatible_with asks Elasticsearch 8 and 9 for version N's REST API:
 * Accept and Content-Type must name the same version (ES 9 answers 400
 * otherwise), so both are set together. */
static void default_headers(struct es_output *es)
{
    const struct es_options *opts = es->opts;
    const char *compat = opts->compatible_with;
    if (compat) {
        headers_set(es, xasprintf("Content-Type: application/vnd.elasticsearch+x-ndjson; "
                                  "compatible-with=%s",
                                  compat));
        headers_set(es, xasprintf("Accept: application/vnd.elasticsearch+json; compatible-with=%s",
                                  compat));
    } else {
        headers_set(es, xstrdup("Content-Type: application/x-ndjson"));
    }
    if (strcmp(opts->compress, "gzip") == 0)
        headers_set(es, xstrdup("Content-Encoding: gzip"));
}

/* "Name: value" of a headers_file entry, its value read from the file and
 * masked wherever skiff prints (whatever the header's name); NULL with
 * *error. */
static char *file_header(const struct map_entry *entry, char **error)
{
    char *detail = NULL;
    char *value = secret_read_file(entry->value.as.string.ptr, &detail);
    if (!value) {
        *error = xasprintf("option 'headers_file': header '%s': %s", entry->key.ptr, detail);
        free(detail);
        return NULL;
    }
    register_header_secret(value);
    char *header = xasprintf("%s: %s", entry->key.ptr, value);
    secret_free(value);
    return header;
}

static int file_headers_init(struct es_output *es, char **error)
{
    const struct value *files = &es->opts->headers_file;
    if (files->type != VALUE_MAP || files->as.map.count == 0)
        return 0;
    es->file_headers = xcalloc(files->as.map.count, sizeof *es->file_headers);
    for (uint32_t i = 0; i < files->as.map.count; i++) {
        char *header = file_header(&files->as.map.entries[i], error);
        if (!header)
            return -1;
        es->file_headers[i] = headers_set(es, header);
    }
    return 0;
}

/* Reads the headers_file values again; one that cannot be read keeps its
 * old value, said in the log. */
static void file_headers_reload(struct es_output *es)
{
    const struct value *files = &es->opts->headers_file;
    for (uint32_t i = 0; es->file_headers && i < files->as.map.count; i++) {
        if (es->file_headers[i] == SIZE_MAX)
            continue;
        char *error = NULL;
        char *header = file_header(&files->as.map.entries[i], &error);
        if (!header) {
            log_error(es->out->alias, "cannot read a header again: %s (keeping the old value)",
                      error);
            free(error);
            continue;
        }
        free(es->headers[es->file_headers[i]]);
        es->headers[es->file_headers[i]] = header;
    }
}

int es_headers_init(struct es_output *es, char **error)
{
    const struct es_options *opts = es->opts;
    *error = NULL;
    es->auth_header = SIZE_MAX;
    default_headers(es);
    const struct value_map *user = &opts->headers.as.map;
    for (uint32_t i = 0; opts->headers.type == VALUE_MAP && i < user->count; i++) {
        const struct map_entry *e = &user->entries[i];
        headers_set(es, xasprintf("%s: %s", e->key.ptr, e->value.as.string.ptr));
        if (header_is_secret(e->key.ptr))
            register_header_secret(e->value.as.string.ptr);
    }
    if (file_headers_init(es, error) < 0)
        return -1;
    char *auth = auth_header(es, error);
    if (*error)
        return -1;
    if (auth)
        es->auth_header = headers_set(es, auth);
    /* an Authorization of headers_file gives way to the credentials, as
     * one in `headers` does */
    for (uint32_t i = 0; es->file_headers && i < es->opts->headers_file.as.map.count; i++)
        if (es->file_headers[i] == es->auth_header)
            es->file_headers[i] = SIZE_MAX;
    return 0;
}

void es_headers_reload(struct es_output *es)
{
    const struct es_options *opts = es->opts;
    file_headers_reload(es);
    if (es->auth_header == SIZE_MAX || !(opts->password_file || opts->api_key_file))
        return;
    char *error = NULL;
    char *auth = auth_header(es, &error);
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
    free(es->file_headers);
    es->headers = NULL;
    es->file_headers = NULL;
    es->header_count = 0;
}
