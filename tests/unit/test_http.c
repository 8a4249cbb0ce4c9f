/* Unit tests for the HTTP server. The test's client sockets are watched by the
 * same loop as the server, so each exchange runs in one thread; every run is
 * bounded by a safety timer. The server listens on 127.0.0.1 only. */
#include "suites.h"

#include "buf.h"
#include "http_server.h"
#include "log.h"
#include "loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { BIG_BODY_LEN = 1 << 20, MAX_CLIENTS = 64 };

static struct loop *loop;
static struct http_server *server;
static char last_path[64];

static void on_hello(const char *path, struct http_reply *response, void *data)
{
    (void)data;
    snprintf(last_path, sizeof last_path, "%s", path);
    buf_append_str(&response->body, "hello\n");
}

static void on_not_ready(const char *path, struct http_reply *response, void *data)
{
    (void)path;
    (void)data;
    response->status = 503;
    response->content_type = "application/json";
    buf_append_str(&response->body, "{\"ready\":false}");
}

static void on_big(const char *path, struct http_reply *response, void *data)
{
    (void)path;
    (void)data;
    buf_reserve(&response->body, BIG_BODY_LEN);
    for (int i = 0; i < BIG_BODY_LEN; i++)
        buf_append_byte(&response->body, (char)('a' + i % 26));
}

static void setup(void)
{
    char *error = NULL;
    log_set_level(LOG_WARN);
    loop = loop_create();
    ck_assert_ptr_nonnull(loop);
    server = http_server_start(loop, "127.0.0.1:0", &error);
    ck_assert_msg(server != NULL, "start failed: %s", error);
    http_server_route(server, "/hello", on_hello, NULL);
    http_server_route(server, "/readyz", on_not_ready, NULL);
    http_server_route(server, "/big", on_big, NULL);
    http_server_route_post(server, "/post", on_hello, NULL);
    last_path[0] = '\0';
}

static void teardown(void)
{
    http_server_stop(server);
    loop_destroy(loop);
}

static void on_safety_deadline(struct loop *l, struct loop_timer *timer, void *data)
{
    (void)timer;
    *(bool *)data = true;
    loop_stop(l);
}

/* Runs the loop until a callback stops it; fails if that takes too long. */
static void run_bounded(int64_t limit_ms)
{
    bool expired = false;
    struct loop_timer *deadline = loop_add_timer(loop, limit_ms, 0, on_safety_deadline, &expired);
    ck_assert_int_eq(loop_run(loop), 0);
    ck_assert_msg(!expired, "the loop did not stop within %lld ms", (long long)limit_ms);
    loop_cancel_timer(loop, deadline);
}

static void on_stop(struct loop *l, struct loop_timer *timer, void *data)
{
    (void)timer;
    (void)data;
    loop_stop(l);
}

/* Lets the server work for `ms` with nothing expected to stop the loop. */
static void run_for(int64_t ms)
{
    loop_add_timer(loop, ms, 0, on_stop, NULL);
    run_bounded(ms + 2000);
}

static int client_connect(void)
{
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)http_server_port(server)),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    return fd;
}

static void client_send(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        ck_assert_int_gt(n, 0);
        data += n;
        len -= (size_t)n;
    }
}

/* What a test client received up to the server's close. */
struct reply {
    struct buf bytes;
    bool closed;
};

static void on_reply_readable(struct loop *l, int fd, unsigned events, void *data)
{
    (void)events;
    struct reply *reply = data;
    char chunk[16384];
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n > 0) {
        buf_append(&reply->bytes, chunk, (size_t)n);
        return;
    }
    reply->closed = true;
    loop_unwatch_fd(l, fd);
    loop_stop(l);
}

/* Reads on `fd` until the server closes it; returns what arrived (malloc'ed). */
static char *client_read_until_close(int fd, int64_t limit_ms)
{
    struct reply reply = {.bytes = BUF_INIT};
    ck_assert_int_eq(loop_watch_fd(loop, fd, LOOP_READABLE, on_reply_readable, &reply), 0);
    run_bounded(limit_ms);
    ck_assert(reply.closed);
    buf_cstr(&reply.bytes);
    return reply.bytes.data;
}

static char *exchange(const char *request, size_t len)
{
    int fd = client_connect();
    client_send(fd, request, len);
    char *response = client_read_until_close(fd, 2000);
    close(fd);
    return response;
}

static char *exchange_str(const char *request)
{
    return exchange(request, strlen(request));
}

#define assert_response(request, expected)                                                         \
    do {                                                                                           \
        char *response_ = exchange_str(request);                                                   \
        ck_assert_str_eq(response_, expected);                                                     \
        free(response_);                                                                           \
    } while (0)

/* ---- requests ---- */

START_TEST(get_route)
{
    assert_response("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
                    "HTTP/1.1 200 OK\r\n"
                    "Content-Type: text/plain; charset=utf-8\r\n"
                    "Content-Length: 6\r\n"
                    "Connection: close\r\n"
                    "\r\n"
                    "hello\n");
    ck_assert_str_eq(last_path, "/hello");
}
END_TEST

START_TEST(query_string_is_not_part_of_the_path)
{
    char *response = exchange_str("GET /hello?verbose=1&x=2 HTTP/1.1\r\n\r\n");
    ck_assert_ptr_nonnull(strstr(response, "HTTP/1.1 200 OK\r\n"));
    ck_assert_str_eq(last_path, "/hello");
    free(response);
}
END_TEST

START_TEST(bare_newlines_end_the_head)
{
    char *response = exchange_str("GET /hello HTTP/1.0\nHost: x\n\n");
    ck_assert_ptr_nonnull(strstr(response, "HTTP/1.1 200 OK\r\n"));
    free(response);
}
END_TEST

START_TEST(handler_sets_status_and_content_type)
{
    assert_response("GET /readyz HTTP/1.1\r\n\r\n", "HTTP/1.1 503 Service Unavailable\r\n"
                                                    "Content-Type: application/json\r\n"
                                                    "Content-Length: 15\r\n"
                                                    "Connection: close\r\n"
                                                    "\r\n"
                                                    "{\"ready\":false}");
}
END_TEST

START_TEST(unknown_path_is_404)
{
    assert_response("GET /nope HTTP/1.1\r\n\r\n", "HTTP/1.1 404 Not Found\r\n"
                                                  "Content-Type: text/plain; charset=utf-8\r\n"
                                                  "Content-Length: 10\r\n"
                                                  "Connection: close\r\n"
                                                  "\r\n"
                                                  "Not Found\n");
}
END_TEST

START_TEST(post_is_405_with_allow)
{
    assert_response("POST /hello HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
                    "HTTP/1.1 405 Method Not Allowed\r\n"
                    "Content-Type: text/plain; charset=utf-8\r\n"
                    "Content-Length: 19\r\n"
                    "Allow: GET, HEAD\r\n"
                    "Connection: close\r\n"
                    "\r\n"
                    "Method Not Allowed\n");
    ck_assert_str_eq(last_path, "");
}
END_TEST

START_TEST(post_route_takes_only_post)
{
    char *response = exchange_str("POST /post HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    ck_assert_ptr_nonnull(strstr(response, "HTTP/1.1 200 OK\r\n"));
    ck_assert_str_eq(last_path, "/post");
    free(response);
    last_path[0] = '\0';
    assert_response("GET /post HTTP/1.1\r\n\r\n", "HTTP/1.1 405 Method Not Allowed\r\n"
                                                  "Content-Type: text/plain; charset=utf-8\r\n"
                                                  "Content-Length: 19\r\n"
                                                  "Allow: POST\r\n"
                                                  "Connection: close\r\n"
                                                  "\r\n"
                                                  "Method Not Allowed\n");
    response = exchange_str("HEAD /post HTTP/1.1\r\n\r\n");
    ck_assert_ptr_nonnull(strstr(response, "HTTP/1.1 405 Method Not Allowed\r\n"));
    ck_assert_ptr_nonnull(strstr(response, "\r\nAllow: POST\r\n"));
    ck_assert_ptr_null(strstr(response, "Method Not Allowed\n"));
    free(response);
    ck_assert_str_eq(last_path, "");
}
END_TEST

START_TEST(head_sends_headers_only)
{
    assert_response("HEAD /hello HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK\r\n"
                                                    "Content-Type: text/plain; charset=utf-8\r\n"
                                                    "Content-Length: 6\r\n"
                                                    "Connection: close\r\n"
                                                    "\r\n");
}
END_TEST

START_TEST(malformed_request_line_is_400)
{
    char *response = exchange_str("garbage\r\n\r\n");
    ck_assert_ptr_nonnull(strstr(response, "HTTP/1.1 400 Bad Request\r\n"));
    free(response);
}
END_TEST

/* A request of exactly `len` bytes: a request line and one padding header. */
static char *exchange_padded(size_t len)
{
    static const char head[] = "GET /hello HTTP/1.1\r\nX-Padding: ";
    struct buf request = BUF_INIT;
    buf_append_str(&request, head);
    while (request.len < len - 4)
        buf_append_byte(&request, 'a');
    buf_append_str(&request, "\r\n\r\n");
    ck_assert_uint_eq(request.len, len);
    char *response = exchange(request.data, request.len);
    buf_free(&request);
    return response;
}

START_TEST(request_of_8_kib_is_accepted)
{
    char *response = exchange_padded(8192);
    ck_assert_ptr_nonnull(strstr(response, "HTTP/1.1 200 OK\r\n"));
    free(response);
}
END_TEST

START_TEST(oversized_request_is_431)
{
    static const size_t sizes[] = {8193, 20000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char *response = exchange_padded(sizes[i]);
        ck_assert_str_eq(response, "HTTP/1.1 431 Request Header Fields Too Large\r\n"
                                   "Content-Type: text/plain; charset=utf-8\r\n"
                                   "Content-Length: 32\r\n"
                                   "Connection: close\r\n"
                                   "\r\n"
                                   "Request Header Fields Too Large\n");
        free(response);
    }
    ck_assert_str_eq(last_path, "");
}
END_TEST

START_TEST(request_split_across_reads)
{
    int fd = client_connect();
    client_send(fd, "GET /hel", 8);
    run_for(30);
    client_send(fd, "lo HTTP/1.1\r\n", 13);
    run_for(30);
    client_send(fd, "\r\n", 2);
    char *response = client_read_until_close(fd, 2000);
    ck_assert_ptr_nonnull(strstr(response, "\r\n\r\nhello\n"));
    free(response);
    close(fd);
}
END_TEST

START_TEST(large_body_is_written_in_full)
{
    char *response = exchange_str("GET /big HTTP/1.1\r\n\r\n");
    char *body = strstr(response, "\r\n\r\n");
    ck_assert_ptr_nonnull(strstr(response, "Content-Length: 1048576\r\n"));
    ck_assert_ptr_nonnull(body);
    body += 4;
    ck_assert_uint_eq(strlen(body), BIG_BODY_LEN);
    for (int i = 0; i < BIG_BODY_LEN; i++) {
        if (body[i] != 'a' + i % 26)
            ck_abort_msg("body differs at byte %d", i);
    }
    free(response);
}
END_TEST

/* ---- connections ---- */

START_TEST(clients_beyond_the_limit_are_closed)
{
    int idle[MAX_CLIENTS];
    for (int i = 0; i < MAX_CLIENTS; i++)
        idle[i] = client_connect();
    run_for(50);

    int extra = client_connect();
    char *nothing = client_read_until_close(extra, 2000);
    ck_assert_str_eq(nothing, "");
    free(nothing);
    close(extra);

    char byte;
    ck_assert_int_eq(recv(idle[0], &byte, 1, MSG_DONTWAIT), -1);
    ck_assert_int_eq(errno, EAGAIN);
    for (int i = 0; i < MAX_CLIENTS; i++)
        close(idle[i]);
}
END_TEST

START_TEST(stop_closes_clients)
{
    int fd = client_connect();
    client_send(fd, "GET /he", 7);
    run_for(30);
    http_server_stop(server);
    server = NULL;
    char byte;
    ck_assert_int_eq(recv(fd, &byte, 1, 0), 0);
    close(fd);
}
END_TEST

START_TEST(idle_client_is_dropped_after_5s)
{
    int fd = client_connect();
    client_send(fd, "GET /hello HTTP/1.1\r\n", 21);
    int64_t start = monotonic_ms();
    char *response = client_read_until_close(fd, 8000);
    int64_t elapsed = monotonic_ms() - start;
    ck_assert_str_eq(response, "");
    ck_assert_int_ge(elapsed, 4900);
    ck_assert_int_le(elapsed, 6500);
    free(response);
    close(fd);
}
END_TEST

/* A client connected before the listener moves is still answered; new ones
 * reach the new address only. */
START_TEST(relisten_moves_the_listener)
{
    int old_port = http_server_port(server);
    int early = client_connect();
    client_send(early, "GET /he", 7);
    run_for(30);
    char *error = NULL;
    int fd = http_listener_open("127.0.0.1:0", &error);
    ck_assert_msg(fd >= 0, "%s", error);
    ck_assert_int_eq(http_server_relisten(server, fd, "127.0.0.1:0", &error), 0);
    ck_assert_int_ne(http_server_port(server), old_port);
    client_send(early, "llo HTTP/1.1\r\n\r\n", 17);
    char *response = client_read_until_close(early, 2000);
    ck_assert_ptr_nonnull(strstr(response, "HTTP/1.1 200 OK\r\n"));
    free(response);
    close(early);
    assert_response("GET /nope HTTP/1.1\r\n\r\n", "HTTP/1.1 404 Not Found\r\n"
                                                  "Content-Type: text/plain; charset=utf-8\r\n"
                                                  "Content-Length: 10\r\n"
                                                  "Connection: close\r\n"
                                                  "\r\n"
                                                  "Not Found\n");
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)old_port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int late = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_eq(connect(late, (struct sockaddr *)&addr, sizeof addr), -1);
    ck_assert_int_eq(errno, ECONNREFUSED);
    close(late);
    ck_assert_int_eq(http_server_relisten(server, -1, NULL, &error), 0);
    ck_assert_int_eq(http_server_port(server), 0);
}
END_TEST

/* ---- listening ---- */

START_TEST(port_zero_binds_a_free_port)
{
    ck_assert_int_gt(http_server_port(server), 0);
    ck_assert_int_le(http_server_port(server), 65535);
}
END_TEST

static void assert_listen_error(const char *listen, const char *expected)
{
    char *error = NULL;
    struct http_server *other = http_server_start(loop, listen, &error);
    ck_assert_ptr_null(other);
    ck_assert_ptr_nonnull(error);
    ck_assert_str_eq(error, expected);
    free(error);
}

START_TEST(bad_listen_strings_are_errors)
{
    static const char *const bad[] = {
        "nonsense", "127.0.0.1", "127.0.0.1:", "127.0.0.1:99999", "127.0.0.1:80x",
        "::1:80",   "[::1:80",   "[]:80",      "[::1]80",         "127.0.0.1:123456",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char expected[128];
        snprintf(expected, sizeof expected,
                 "http: listen on %s: expected host:port, [ipv6]:port or :port", bad[i]);
        assert_listen_error(bad[i], expected);
    }
}
END_TEST

START_TEST(non_numeric_bracketed_host_is_an_error)
{
    char *error = NULL;
    ck_assert_ptr_null(http_server_start(loop, "[localhost]:80", &error));
    ck_assert_ptr_nonnull(error);
    ck_assert_msg(strncmp(error, "http: listen on [localhost]:80: ", 32) == 0, "got: %s", error);
    free(error);
}
END_TEST

START_TEST(port_in_use_is_an_error)
{
    char listen[32], expected[96];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", http_server_port(server));
    snprintf(expected, sizeof expected, "http: listen on %s: Address already in use", listen);
    assert_listen_error(listen, expected);
}
END_TEST

START_TEST(ipv6_loopback_in_brackets)
{
    char *error = NULL;
    struct http_server *v6 = http_server_start(loop, "[::1]:0", &error);
    if (!v6) {
        /* Hosts without IPv6 cannot bind ::1; the address itself parsed. */
        ck_assert_msg(strstr(error, "expected host:port") == NULL, "got: %s", error);
        free(error);
        return;
    }
    ck_assert_int_gt(http_server_port(v6), 0);
    http_server_stop(v6);
}
END_TEST

Suite *http_suite(void)
{
    Suite *suite = suite_create("http");

    TCase *requests = tcase_create("requests");
    tcase_add_checked_fixture(requests, setup, teardown);
    tcase_add_test(requests, get_route);
    tcase_add_test(requests, query_string_is_not_part_of_the_path);
    tcase_add_test(requests, bare_newlines_end_the_head);
    tcase_add_test(requests, handler_sets_status_and_content_type);
    tcase_add_test(requests, unknown_path_is_404);
    tcase_add_test(requests, post_is_405_with_allow);
    tcase_add_test(requests, post_route_takes_only_post);
    tcase_add_test(requests, head_sends_headers_only);
    tcase_add_test(requests, malformed_request_line_is_400);
    tcase_add_test(requests, request_of_8_kib_is_accepted);
    tcase_add_test(requests, oversized_request_is_431);
    tcase_add_test(requests, request_split_across_reads);
    tcase_add_test(requests, large_body_is_written_in_full);
    suite_add_tcase(suite, requests);

    TCase *connections = tcase_create("connections");
    tcase_add_checked_fixture(connections, setup, teardown);
    tcase_set_timeout(connections, 15);
    tcase_add_test(connections, clients_beyond_the_limit_are_closed);
    tcase_add_test(connections, stop_closes_clients);
    tcase_add_test(connections, relisten_moves_the_listener);
    tcase_add_test(connections, idle_client_is_dropped_after_5s);
    suite_add_tcase(suite, connections);

    TCase *listening = tcase_create("listening");
    tcase_add_checked_fixture(listening, setup, teardown);
    tcase_add_test(listening, port_zero_binds_a_free_port);
    tcase_add_test(listening, bad_listen_strings_are_errors);
    tcase_add_test(listening, non_numeric_bracketed_host_is_an_error);
    tcase_add_test(listening, port_in_use_is_an_error);
    tcase_add_test(listening, ipv6_loopback_in_brackets);
    suite_add_tcase(suite, listening);

    return suite;
}
