/* An HTTP(S) client on an event loop: libcurl's multi interface driven by the
 * loop's fd events and timers, so one thread keeps many requests in flight and
 * reuses keep-alive connections. One client per loop (the output thread's for
 * outputs, the pipeline thread's for filters). Not thread-safe, like the loop.
 *
 * Requests either collect the response body (bounded by max_response_bytes per
 * request, and by the client's response budget for all of them together) or
 * stream it to on_data (long-running watches). on_done is called exactly once
 * per started request, from the loop, never from inside http_client_start. */
#ifndef SKIFF_HTTP_CLIENT_H
#define SKIFF_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct http_client;
struct http_call;

/* Once per process, before any thread starts (curl_global_init). Returns 0, or
 * -1 after logging. */
int http_client_global_init(void);
void http_client_global_cleanup(void);

struct http_tls {
    bool verify;             /* verify the peer's certificate and host name */
    const char *ca_file;     /* PEM bundle to verify with; NULL: the system's */
    const char *cert_file;   /* client certificate (PEM) for mutual TLS, or NULL */
    const char *key_file;    /* its private key (PEM), or NULL */
    const char *server_name; /* name to verify the certificate against and send
                                as SNI instead of the URL's host, or NULL */
};

struct http_response {
    /* HTTP status; 0 when no response came. A server may answer before it
     * has read the whole body (an early 413) and close the connection: then
     * status is set and error too, for the send that failed after it. */
    long status;
    const char *error; /* transport error (timeout, refused, TLS...), or NULL */
    bool over_limit;   /* the body was over max_response_bytes or the budget */
    bool over_budget;  /* ... the client's budget (other responses held it) */
    bool timed_out;    /* the error was a timeout */
    const char *body;  /* collected body (NUL-terminated), "" when streamed */
    size_t body_len;
    int64_t retry_after_ms;   /* Retry-After in ms (seconds or HTTP date), -1 if absent */
    int64_t elapsed_ms;       /* from start to done */
    const char *content_type; /* the Content-Type header's value, or NULL */
};

/* Returns 0 to go on, -1 to abort the request (on_done then reports status as
 * received and error "aborted by the receiver"). */
typedef int http_data_cb(void *data, const char *bytes, size_t len);
/* The response is valid only during the call. */
typedef void http_done_cb(void *data, const struct http_response *response);
/* A request body produced while it is sent: writes up to `room` bytes of
 * it to `dst` and returns how many, 0 at its end (never fewer than `room`
 * before the end). */
typedef size_t http_body_read_cb(void *data, char *dst, size_t room);
/* Starts the body over from its first byte, for a resend on the same
 * request (a redirect, an authentication challenge): the same bytes must
 * follow. */
typedef void http_body_rewind_cb(void *data);

struct http_request {
    const char *method; /* "GET", "POST", "PUT", "HEAD" */
    const char *url;    /* copied: may be freed once http_client_start returns */
    /* "Name: value" strings; the client copies them. May be NULL. */
    const char *const *headers;
    size_t header_count;
    /* Not copied: must stay valid until on_done. */
    const void *body;
    size_t body_len;
    /* Instead of body: read while sent, in HTTP/1.1 with "Transfer-Encoding:
     * chunked" (the length is not known before), so that the caller never
     * holds it whole; body_rewind is required with it. */
    http_body_read_cb *body_read;
    http_body_rewind_cb *body_rewind;
    int64_t timeout_ms;         /* whole request; 0: none (watches) */
    int64_t connect_timeout_ms; /* 0: 10 s */
    /* Abort when fewer than 1 byte/s arrives for this long; 0: no limit. For
     * streams that must show signs of life. */
    int64_t idle_timeout_ms;
    /* Collected bodies beyond this fail the request (error "response body
     * over N bytes", over_limit); 0: 64 MiB. Ignored when streaming. */
    size_t max_response_bytes;
    /* Sends "Expect: 100-continue" and the body only once the server
     * answered 100, so that a refusal (413, 401) comes before the upload
     * (libcurl sends it anyway after a second without an answer). Without
     * it, no Expect is sent, whatever libcurl's own default for the size. */
    bool expect_continue;
    const struct http_tls *tls; /* NULL: verify with the system's CAs */
    http_data_cb *on_data;      /* NULL: collect the body */
    http_done_cb *on_done;      /* required */
    void *data;
};

struct http_client *http_client_create(struct loop *loop);
/* Bounds the bytes of collected response bodies held by all of the client's
 * requests together (default: no bound beyond each request's own): a
 * response that would go over it fails as over_limit and over_budget. */
void http_client_set_response_budget(struct http_client *client, size_t bytes);
/* Cancels every request still running (their on_done is not called). */
void http_client_destroy(struct http_client *client);

/* Starts a request. Returns its handle, valid until on_done returns or the
 * call is cancelled; NULL (logged) only if libcurl refuses the options. */
struct http_call *http_client_start(struct http_client *client, const struct http_request *request);
/* Stops a running request; its on_done is not called. */
void http_call_cancel(struct http_client *client, struct http_call *call);
/* Requests in flight. */
size_t http_client_active(const struct http_client *client);

#endif
