/* The HTTP client: libcurl's multi interface on our event loop. curl tells us
 * which sockets to watch (socket callback) and when to wake it (timer
 * callback); the loop calls curl_multi_socket_action back. Easy handles are
 * per request; keep-alive comes from the multi handle's connection cache.
 * Not an HTTP implementation: framing, TLS and pooling are curl's. */
#include "http_client.h"

#include "http_tls.h"

#include "buf.h"
#include "log.h"
#include "loop.h"
#include "xalloc.h"

#include <curl/curl.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Idle keep-alive connections kept per client. curl's default (4 per request
 * in flight at the moment one ends) shrinks as a burst drains and closed
 * connections the next burst needed. */
enum { DEFAULT_CONNECT_TIMEOUT_MS = 10000, MAX_IDLE_CONNECTIONS = 64 };
#define DEFAULT_MAX_RESPONSE_BYTES ((size_t)64 << 20)

struct http_call {
    struct http_client *client;
    struct http_call *prev, *next;
    CURL *easy;
    struct curl_slist *headers;
    struct curl_slist *connect_to;
    char *url; /* rewritten for server_name, or NULL */
    struct buf body;
    size_t max_response_bytes;
    http_data_cb *on_data;
    http_done_cb *on_done;
    http_body_read_cb *body_read;
    http_body_rewind_cb *body_rewind;
    void *data;
    int64_t start_ms;
    int64_t retry_after_ms;
    char *content_type;
    bool over_limit;  /* collected body exceeded max_response_bytes or the budget */
    bool over_budget; /* ... the client's budget */
    bool aborted;     /* on_data asked to stop */
    /* No client certificate is configured; the counter of the request's
     * origin and its value when the request started (a change means the
     * server asked for one). */
    bool without_cert;
    uint64_t *cert_requests;
    uint64_t cert_requests_seen;
    char errbuf[CURL_ERROR_SIZE];
};

struct http_client {
    struct loop *loop;
    CURLM *multi;
    struct loop_timer *timer; /* curl's wake-up, or NULL */
    struct http_call *calls;
    size_t active;
    size_t response_bytes;  /* collected bodies held by the calls */
    size_t response_budget; /* bound on response_bytes */
    int dispatching;        /* inside check_done: destroy is deferred */
    /* Times servers asked for a client certificate none was configured
     * for, per origin (http_tls.c); connections, which outlive requests,
     * point here. */
    struct http_tls_origins cert_requests;
    bool destroy_pending; /* http_client_destroy called from an on_done */
};

int http_client_global_init(void)
{
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
        log_error("http", "libcurl initialisation failed: %s", curl_easy_strerror(rc));
        return -1;
    }
    return 0;
}

void http_client_global_cleanup(void)
{
    curl_global_cleanup();
}

static void call_unlink(struct http_call *call)
{
    struct http_client *client = call->client;
    if (call->prev)
        call->prev->next = call->next;
    else
        client->calls = call->next;
    if (call->next)
        call->next->prev = call->prev;
    client->active--;
}

static void call_discard(struct http_call *call)
{
    if (call->client)
        call->client->response_bytes -= call->body.len;
    if (call->easy)
        curl_easy_cleanup(call->easy);
    curl_slist_free_all(call->headers);
    curl_slist_free_all(call->connect_to);
    free(call->url);
    free(call->content_type);
    buf_free(&call->body);
    free(call);
}

/* Removes the call from curl and frees it; on_done is not called. */
static void call_free(struct http_call *call)
{
    call_unlink(call);
    curl_multi_remove_handle(call->client->multi, call->easy);
    call_discard(call);
}

static const char *call_error(struct http_call *call, CURLcode result)
{
    if (result == CURLE_OK)
        return NULL;
    if (call->aborted)
        return "aborted by the receiver";
    if (call->over_budget) {
        snprintf(call->errbuf, sizeof call->errbuf,
                 "responses held at once over %zu bytes (the client's budget)",
                 call->client->response_budget);
        return call->errbuf;
    }
    if (call->over_limit) {
        snprintf(call->errbuf, sizeof call->errbuf, "response body over %zu bytes",
                 call->max_response_bytes);
        return call->errbuf;
    }
    const char *detail = call->errbuf[0] ? call->errbuf : curl_easy_strerror(result);
    if (call->without_cert && *call->cert_requests != call->cert_requests_seen) {
        /* What follows a refused client is a reset or an alert the socket
         * layer reports its own way ("getpeername() failed..."). */
        char text[CURL_ERROR_SIZE];
        snprintf(text, sizeof text,
                 "the server requires a client certificate, and none is configured (%.180s)",
                 detail);
        snprintf(call->errbuf, sizeof call->errbuf, "%s", text);
        return call->errbuf;
    }
    return detail;
}

static void call_finish(struct http_call *call, CURLcode result)
{
    struct http_client *client = call->client;
    struct http_response response = {0};
    curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &response.status);
    response.error = call_error(call, result);
    response.timed_out = result == CURLE_OPERATION_TIMEDOUT;
    response.over_limit = call->over_limit;
    response.over_budget = call->over_budget;
    response.body = call->on_data ? "" : buf_cstr(&call->body);
    response.body_len = call->on_data ? 0 : call->body.len;
    response.retry_after_ms = call->retry_after_ms;
    response.elapsed_ms = monotonic_ms() - call->start_ms;
    response.content_type = call->content_type;
    /* Unlinked first, so on_done may start requests or destroy the client. */
    call_unlink(call);
    curl_multi_remove_handle(client->multi, call->easy);
    call->on_done(call->data, &response);
    call_discard(call);
}

static void client_free(struct http_client *client)
{
    while (client->calls)
        call_free(client->calls);
    /* Closing cached connections may call the socket and timer callbacks,
     * which still need the loop and the client. */
    curl_multi_cleanup(client->multi);
    if (client->timer)
        loop_cancel_timer(client->loop, client->timer);
    http_tls_origins_free(&client->cert_requests);
    free(client);
}

static void check_done(struct http_client *client)
{
    CURLMsg *msg;
    int pending;
    client->dispatching++;
    while (!client->destroy_pending && (msg = curl_multi_info_read(client->multi, &pending))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct http_call *call = NULL;
        CURLcode result = msg->data.result;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&call);
        call_finish(call, result);
    }
    client->dispatching--;
    if (client->destroy_pending && client->dispatching == 0)
        client_free(client);
}

static void on_socket_event(struct loop *loop, int fd, unsigned events, void *data)
{
    struct http_client *client = data;
    int flags = 0, running;
    (void)loop;
    if (events & LOOP_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & LOOP_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(client->multi, fd, flags, &running);
    check_done(client);
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct http_client *client = userp;
    (void)easy;
    (void)socketp;
    if (what == CURL_POLL_REMOVE) {
        loop_unwatch_fd(client->loop, fd);
        return 0;
    }
    unsigned events = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        events |= LOOP_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        events |= LOOP_WRITABLE;
    if (loop_watch_fd(client->loop, fd, events, on_socket_event, client) < 0) {
        log_error("http", "cannot watch socket %d: %s", fd, strerror(errno));
        return -1;
    }
    return 0;
}

static void on_timer(struct loop *loop, struct loop_timer *timer, void *data)
{
    struct http_client *client = data;
    int running;
    (void)loop;
    (void)timer;
    client->timer = NULL; /* one-shot: freed by the loop after this returns */
    curl_multi_socket_action(client->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(client);
}

/* curl asks to be woken after timeout_ms (-1: never). Acting on it from the
 * loop, not from here, is what curl requires. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct http_client *client = userp;
    (void)multi;
    if (client->timer) {
        loop_cancel_timer(client->loop, client->timer);
        client->timer = NULL;
    }
    if (timeout_ms >= 0)
        client->timer = loop_add_timer(client->loop, timeout_ms, 0, on_timer, client);
    return 0;
}

struct http_client *http_client_create(struct loop *loop)
{
    struct http_client *client = xcalloc(1, sizeof *client);
    client->loop = loop;
    client->response_budget = SIZE_MAX;
    client->multi = curl_multi_init();
    if (!client->multi) {
        log_error("http", "curl_multi_init failed");
        free(client);
        return NULL;
    }
    curl_multi_setopt(client->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(client->multi, CURLMOPT_SOCKETDATA, client);
    curl_multi_setopt(client->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(client->multi, CURLMOPT_TIMERDATA, client);
    curl_multi_setopt(client->multi, CURLMOPT_MAXCONNECTS, (long)MAX_IDLE_CONNECTIONS);
    return client;
}

void http_client_destroy(struct http_client *client)
{
    if (!client)
        return;
    if (client->dispatching) {
        client->destroy_pending = true;
        return;
    }
    client_free(client);
}

void http_client_set_response_budget(struct http_client *client, size_t bytes)
{
    client->response_budget = bytes;
}

size_t http_client_active(const struct http_client *client)
{
    return client->active;
}

void http_call_cancel(struct http_client *client, struct http_call *call)
{
    (void)client;
    call_free(call);
}

static size_t on_body(char *bytes, size_t size, size_t count, void *userp)
{
    struct http_call *call = userp;
    size_t len = size * count;
    if (call->on_data) {
        if (call->on_data(call->data, bytes, len) < 0) {
            call->aborted = true;
            return 0;
        }
        return len;
    }
    if (call->body.len + len > call->max_response_bytes) {
        call->over_limit = true;
        return 0;
    }
    struct http_client *client = call->client;
    if (client->response_bytes + len > client->response_budget) {
        call->over_limit = call->over_budget = true;
        return 0;
    }
    buf_append(&call->body, bytes, len);
    client->response_bytes += len;
    return len;
}

/* Retry-After is either delta-seconds or an HTTP-date (RFC 9110 10.2.3). */
static int64_t parse_retry_after(const char *value, time_t now)
{
    while (*value == ' ' || *value == '\t')
        value++;
    if (isdigit((unsigned char)*value)) {
        char *end;
        long long seconds = strtoll(value, &end, 10);
        while (*end == ' ' || *end == '\t')
            end++;
        if (*end != '\0' || seconds < 0)
            return -1;
        if (seconds > INT64_MAX / 1000)
            seconds = INT64_MAX / 1000;
        return (int64_t)seconds * 1000;
    }
    time_t when = curl_getdate(value, NULL);
    if (when == (time_t)-1)
        return -1;
    return when > now ? (int64_t)(when - now) * 1000 : 0;
}

/* Returns the header's trimmed value if `line` is header `name`, else NULL;
 * writes into `out`. */
static const char *header_value(const char *line, size_t len, const char *name, char *out,
                                size_t out_size)
{
    size_t name_len = strlen(name);
    if (len <= name_len || line[name_len] != ':' || strncasecmp(line, name, name_len) != 0)
        return NULL;
    const char *start = line + name_len + 1;
    const char *end = line + len;
    while (start < end && (*start == ' ' || *start == '\t'))
        start++;
    while (end > start && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    size_t n = (size_t)(end - start) < out_size - 1 ? (size_t)(end - start) : out_size - 1;
    memcpy(out, start, n);
    out[n] = '\0';
    return out;
}

static size_t on_header(char *line, size_t size, size_t count, void *userp)
{
    struct http_call *call = userp;
    size_t len = size * count;
    char value[256];
    /* A new status line (after 100 Continue) starts a new set of headers. */
    if (len > 5 && memcmp(line, "HTTP/", 5) == 0) {
        call->retry_after_ms = -1;
        free(call->content_type);
        call->content_type = NULL;
    } else if (header_value(line, len, "Retry-After", value, sizeof value)) {
        call->retry_after_ms = parse_retry_after(value, time(NULL));
    } else if (header_value(line, len, "Content-Type", value, sizeof value)) {
        free(call->content_type);
        call->content_type = xstrdup(value);
    }
    return len;
}

/* With server_name, the URL's host is replaced by that name, so curl sends it
 * as SNI and checks the certificate against it, and CURLOPT_CONNECT_TO sends
 * the connection to the original host and port. (CURLOPT_RESOLVE would need an
 * address, and the hosts are names.) The Host header then carries server_name
 * too, which is what a client reaching that name directly would send. */
static int call_set_server_name(struct http_call *call, const char *url, const char *server_name)
{
    CURLU *parsed = curl_url();
    char *host = NULL, *port = NULL;
    int rc = -1;
    if (!parsed || curl_url_set(parsed, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(parsed, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(parsed, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
        curl_url_set(parsed, CURLUPART_HOST, server_name, 0) != CURLUE_OK ||
        curl_url_get(parsed, CURLUPART_URL, &call->url, 0) != CURLUE_OK) {
        log_error("http", "%s: cannot use server name '%s' with this URL", url, server_name);
        goto out;
    }
    char *rule = xasprintf("::%s:%s", host, port);
    call->connect_to = curl_slist_append(NULL, rule);
    free(rule);
    rc = 0;
out:
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(parsed);
    return rc;
}

static size_t on_body_read(char *dst, size_t size, size_t count, void *userp)
{
    struct http_call *call = userp;
    return call->body_read(call->data, dst, size * count);
}

/* libcurl rewinds an upload to send it again on the same request (a
 * redirect, an authentication challenge); it asks for offset 0 only. */
static int on_body_seek(void *userp, curl_off_t offset, int origin)
{
    struct http_call *call = userp;
    if (offset != 0 || origin != SEEK_SET)
        return CURL_SEEKFUNC_CANTSEEK;
    call->body_rewind(call->data);
    return CURL_SEEKFUNC_OK;
}

/* A body read while sent: POST (or the custom method) with a length not
 * known up front, which HTTP/1.1 sends chunked. */
static CURLcode call_set_body_reader(struct http_call *call)
{
    CURL *easy = call->easy;
    CURLcode rc = curl_easy_setopt(easy, CURLOPT_POST, 1L);
    rc = rc ? rc : curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
    rc = rc ? rc : curl_easy_setopt(easy, CURLOPT_READFUNCTION, on_body_read);
    rc = rc ? rc : curl_easy_setopt(easy, CURLOPT_READDATA, call);
    rc = rc ? rc : curl_easy_setopt(easy, CURLOPT_SEEKFUNCTION, on_body_seek);
    return rc ? rc : curl_easy_setopt(easy, CURLOPT_SEEKDATA, call);
}

static CURLcode call_set_method(struct http_call *call, const struct http_request *request)
{
    CURL *easy = call->easy;
    CURLcode rc = CURLE_OK;
    const char *method = request->method ? request->method : "GET";
    if (strcmp(method, "HEAD") == 0)
        return curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    if (strcmp(method, "GET") == 0 && !request->body && !request->body_read)
        return curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    if (strcmp(method, "POST") != 0)
        rc = curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
    if (rc == CURLE_OK && request->body_read)
        return call_set_body_reader(call);
    if (rc == CURLE_OK && (request->body || strcmp(method, "GET") != 0)) {
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)request->body_len);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request->body ? request->body : "");
    }
    return rc;
}

static CURLcode call_set_timeouts(CURL *easy, const struct http_request *request)
{
    int64_t connect_ms =
        request->connect_timeout_ms > 0 ? request->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    CURLcode rc = curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms);
    if (rc == CURLE_OK && request->timeout_ms > 0)
        rc = curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)request->timeout_ms);
    if (rc == CURLE_OK && request->idle_timeout_ms > 0) {
        /* curl counts low speed in whole seconds. */
        long seconds = (long)((request->idle_timeout_ms + 999) / 1000);
        rc = curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, seconds);
    }
    return rc;
}

static CURLcode call_set_options(struct http_call *call, const struct http_request *request)
{
    CURL *easy = call->easy;
    const char *url = call->url ? call->url : request->url;
    CURLcode rc = curl_easy_setopt(easy, CURLOPT_URL, url);
#define SET(option, value)                                                                         \
    do {                                                                                           \
        if (rc == CURLE_OK)                                                                        \
            rc = curl_easy_setopt(easy, option, value);                                            \
    } while (0)
    SET(CURLOPT_PRIVATE, call);
    SET(CURLOPT_ERRORBUFFER, call->errbuf);
    SET(CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for resolver timeouts */
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, call);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, call);
    SET(CURLOPT_HTTPHEADER, call->headers);
    SET(CURLOPT_ACCEPT_ENCODING, ""); /* whatever this libcurl decodes */
    if (call->connect_to)
        SET(CURLOPT_CONNECT_TO, call->connect_to);
#undef SET
    if (rc == CURLE_OK)
        rc = call_set_method(call, request);
    if (rc == CURLE_OK)
        rc = http_tls_apply(easy, request->tls, call->cert_requests);
    if (rc == CURLE_OK)
        rc = call_set_timeouts(easy, request);
    return rc;
}

static void call_link(struct http_call *call)
{
    struct http_client *client = call->client;
    call->next = client->calls;
    if (client->calls)
        client->calls->prev = call;
    client->calls = call;
    client->active++;
}

static struct http_call *call_create(struct http_client *client, const struct http_request *request)
{
    struct http_call *call = xcalloc(1, sizeof *call);
    call->client = client;
    call->max_response_bytes =
        request->max_response_bytes ? request->max_response_bytes : DEFAULT_MAX_RESPONSE_BYTES;
    call->on_data = request->on_data;
    call->on_done = request->on_done;
    call->body_read = request->body_read;
    call->body_rewind = request->body_rewind;
    call->data = request->data;
    call->retry_after_ms = -1;
    call->start_ms = monotonic_ms();
    call->without_cert = !request->tls || !request->tls->cert_file;
    call->cert_requests = http_tls_origin_counter(&client->cert_requests, request->url);
    call->cert_requests_seen = *call->cert_requests;
    for (size_t i = 0; i < request->header_count; i++)
        call->headers = curl_slist_append(call->headers, request->headers[i]);
    /* libcurl adds "Expect: 100-continue" on its own above a size that
     * depends on its version (1 KiB, 1 MiB since 8.x): the caller decides. */
    bool has_body = request->body || request->body_read;
    if (has_body && request->expect_continue)
        call->headers = curl_slist_append(call->headers, "Expect: 100-continue");
    else if (has_body)
        call->headers = curl_slist_append(call->headers, "Expect:");
    return call;
}

struct http_call *http_client_start(struct http_client *client, const struct http_request *request)
{
    struct http_call *call = call_create(client, request);
    const struct http_tls *tls = request->tls;
    if (tls && tls->server_name && call_set_server_name(call, request->url, tls->server_name) < 0) {
        call_discard(call);
        return NULL;
    }
    call->easy = curl_easy_init();
    CURLcode rc = call->easy ? call_set_options(call, request) : CURLE_OUT_OF_MEMORY;
    if (rc != CURLE_OK) {
        log_error("http", "%s: libcurl refused the request's options: %s", request->url,
                  curl_easy_strerror(rc));
        call_discard(call);
        return NULL;
    }
    /* Adding only registers the handle and asks for a 0 ms timer; the work,
     * and so on_done, happens from the loop. */
    CURLMcode mrc = curl_multi_add_handle(client->multi, call->easy);
    if (mrc != CURLM_OK) {
        log_error("http", "%s: cannot add the request: %s", request->url, curl_multi_strerror(mrc));
        call_discard(call);
        return NULL;
    }
    call_link(call);
    return call;
}
