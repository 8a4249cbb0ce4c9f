/* Unit tests for the HTTP client against a tiny keep-alive HTTP/1.1 server in
 * a thread, on 127.0.0.1 only (http_test_server.c; the path picks the
 * answer). Each loop run is bounded by a safety timer. */
#include "suites.h"

#include "http_test_server.h"

#include "http_client.h"
#include "http_tls.h"
#include "log.h"
#include "loop.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { SAFETY_MS = 5000, CONCURRENT = 20 };

static struct loop *loop;
static struct http_client *client;
static int pending; /* requests whose on_done has not come */
static bool in_start;

static void setup(void)
{
    log_set_level(LOG_ERROR);
    pending = 0;
    http_test_server_start();
    loop = loop_create();
    client = http_client_create(loop);
    ck_assert_ptr_nonnull(client);
}

static void teardown(void)
{
    http_client_destroy(client);
    loop_destroy(loop);
    http_test_server_stop();
}

/* ---- helpers: one result per request, the loop stops when all are done ---- */

struct result {
    bool done;
    long status;
    char error[256];
    bool timed_out;
    char body[4096];
    size_t body_len;
    int64_t retry_after_ms;
    int64_t elapsed_ms;
    char content_type[64];
    char streamed[64];
    size_t streamed_len;
    int abort_after; /* on_data returns -1 after this many bytes, if > 0 */
};

static void on_safety(struct loop *l, struct loop_timer *timer, void *data)
{
    (void)timer;
    *(bool *)data = true;
    loop_stop(l);
}

static void run_until_done(void)
{
    bool expired = false;
    struct loop_timer *safety = loop_add_timer(loop, SAFETY_MS, 0, on_safety, &expired);
    if (pending > 0)
        loop_run(loop);
    ck_assert_msg(!expired, "requests still pending after %d ms", SAFETY_MS);
    loop_cancel_timer(loop, safety);
}

static void on_done(void *data, const struct http_response *response)
{
    struct result *r = data;
    ck_assert_msg(!in_start, "on_done called from inside http_client_start");
    ck_assert(!r->done);
    r->done = true;
    r->status = response->status;
    snprintf(r->error, sizeof r->error, "%s", response->error ? response->error : "");
    r->timed_out = response->timed_out;
    r->body_len = response->body_len;
    snprintf(r->body, sizeof r->body, "%s", response->body);
    r->retry_after_ms = response->retry_after_ms;
    r->elapsed_ms = response->elapsed_ms;
    snprintf(r->content_type, sizeof r->content_type, "%s",
             response->content_type ? response->content_type : "");
    if (--pending == 0)
        loop_stop(loop);
}

static int on_data(void *data, const char *bytes, size_t len)
{
    struct result *r = data;
    if (r->streamed_len + len < sizeof r->streamed) {
        memcpy(r->streamed + r->streamed_len, bytes, len);
        r->streamed_len += len;
    }
    if (r->abort_after > 0 && r->streamed_len >= (size_t)r->abort_after)
        return -1;
    return 0;
}

static struct http_call *start(struct http_request *request, const char *path, struct result *r)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", http_test_server_port(), path);
    request->url = url;
    request->on_done = on_done;
    request->data = r;
    if (!request->method)
        request->method = "GET";
    in_start = true;
    struct http_call *call = http_client_start(client, request);
    in_start = false;
    ck_assert_ptr_nonnull(call);
    pending++;
    return call;
}

static void get(const char *path, struct result *r)
{
    struct http_request request = {.timeout_ms = 3000};
    start(&request, path, r);
    run_until_done();
}

/* ---- tests ---- */

START_TEST(status_and_collected_body)
{
    struct result r = {0};
    get("/body/1000", &r);
    ck_assert(r.done);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.error, "");
    ck_assert_uint_eq(r.body_len, 1000);
    ck_assert_uint_eq(strspn(r.body, "x"), 1000);
    ck_assert_str_eq(r.content_type, "text/plain");
    ck_assert_int_eq(r.retry_after_ms, -1);
    ck_assert_uint_eq(http_client_active(client), 0);

    struct result s = {0};
    get("/status/404", &s);
    ck_assert_int_eq(s.status, 404);
    ck_assert_str_eq(s.error, "");
    ck_assert_str_eq(s.body, "status");
}
END_TEST

START_TEST(post_sends_body_and_headers)
{
    struct result r = {0};
    const char *headers[] = {"X-Test: abc", "Content-Type: application/x-ndjson"};
    struct http_request request = {.method = "POST",
                                   .headers = headers,
                                   .header_count = 2,
                                   .body = "hello",
                                   .body_len = 5,
                                   .timeout_ms = 3000};
    start(&request, "/echo", &r);
    run_until_done();
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "POST 5 abc hello");

    struct result p = {0};
    struct http_request put = {.method = "PUT", .body = "xy", .body_len = 2, .timeout_ms = 3000};
    start(&put, "/echo", &p);
    run_until_done();
    ck_assert_str_eq(p.body, "PUT 2  xy");
}
END_TEST

/* A body given by a callback, a few bytes at a time. */
struct reader {
    const char *text;
    size_t at;
    size_t step;
    int rewinds;
};

static size_t read_text(void *data, char *dst, size_t room)
{
    struct result *r = data;
    struct reader *reader = (struct reader *)r->streamed;
    size_t n = strlen(reader->text) - reader->at;
    if (n > reader->step)
        n = reader->step;
    if (n > room)
        n = room;
    memcpy(dst, reader->text + reader->at, n);
    reader->at += n;
    return n;
}

static void rewind_text(void *data)
{
    struct reader *reader = (struct reader *)((struct result *)data)->streamed;
    reader->at = 0;
    reader->rewinds++;
}

/* Sent chunked, read while it goes: the server gets the bytes whole. */
START_TEST(post_reads_its_body_from_a_callback)
{
    struct result r = {0};
    _Static_assert(sizeof r.streamed >= sizeof(struct reader), "room for the reader");
    struct reader *reader = (struct reader *)r.streamed;
    *reader = (struct reader){.text = "{\"create\":{}}\n{\"log\":\"line\"}\n", .step = 3};
    const char *headers[] = {"X-Test: streamed"};
    struct http_request request = {.method = "POST",
                                   .headers = headers,
                                   .header_count = 1,
                                   .body_read = read_text,
                                   .body_rewind = rewind_text,
                                   .timeout_ms = 3000};
    start(&request, "/echo", &r);
    run_until_done();
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "POST 29 streamed {\"create\":{}}\n{\"log\":\"line\"}\n");
    ck_assert_int_eq(http_test_server_expects(), 0);

    /* With Expect: 100-continue a refusal comes before the body is read. */
    struct result q = {0};
    reader = (struct reader *)q.streamed;
    *reader = (struct reader){.text = "body", .step = 3};
    request.expect_continue = true;
    start(&request, "/too-large", &q);
    run_until_done();
    ck_assert_int_eq(q.status, 413);
    ck_assert_int_eq(http_test_server_expects(), 1);
    ck_assert_uint_eq(reader->at, 0);
}
END_TEST

START_TEST(collected_body_over_the_bound_fails)
{
    struct result r = {0};
    struct http_request request = {.max_response_bytes = 1000, .timeout_ms = 3000};
    start(&request, "/body/100000", &r);
    run_until_done();
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.error, "response body over 1000 bytes");
}
END_TEST

/* With Expect: 100-continue the 413 comes before the upload and is
 * reported as such; without it no Expect goes out, whatever libcurl's own
 * default for the size. */
START_TEST(expect_continue_gets_an_early_413_cleanly)
{
    size_t len = (size_t)4 << 20;
    char *body = calloc(1, len);
    struct result r = {0};
    struct http_request request = {.method = "POST",
                                   .body = body,
                                   .body_len = len,
                                   .timeout_ms = 5000,
                                   .expect_continue = true};
    start(&request, "/too-large", &r);
    run_until_done();
    ck_assert_int_eq(r.status, 413);
    ck_assert_str_eq(r.error, "");
    ck_assert_int_eq(http_test_server_expects(), 1);

    struct result q = {0};
    request.expect_continue = false;
    start(&request, "/too-large", &q);
    run_until_done();
    ck_assert_int_eq(http_test_server_expects(), 1);
    /* The server closed while the body was going out: a reset may come
     * first, but a 413 that was read is reported with it. */
    ck_assert_msg(q.status == 413 || (q.status == 0 && q.error[0]), "status %ld error '%s'",
                  q.status, q.error);
    free(body);
}
END_TEST

/* The client's budget bounds the bodies held by all its requests together,
 * and is given back when a request ends. */
START_TEST(response_budget_bounds_bodies_held)
{
    http_client_set_response_budget(client, 1000);
    struct result r = {0};
    get("/body/2000", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.error, "responses held at once over 1000 bytes (the client's budget)");
    struct result s = {0};
    get("/body/900", &s);
    ck_assert_str_eq(s.error, "");
    ck_assert_uint_eq(s.body_len, 900);
    struct result t = {0};
    get("/body/900", &t);
    ck_assert_str_eq(t.error, "");
}
END_TEST

START_TEST(streamed_body_arrives_in_pieces)
{
    struct result r = {0};
    struct http_request request = {.on_data = on_data, .timeout_ms = 3000};
    start(&request, "/stream", &r);
    run_until_done();
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.error, "");
    ck_assert_str_eq(r.streamed, "onetwothree");
    ck_assert_uint_eq(r.body_len, 0);
    ck_assert_str_eq(r.body, "");

    struct result a = {.abort_after = 3};
    start(&request, "/stream", &a);
    run_until_done();
    ck_assert_int_eq(a.status, 200);
    ck_assert_str_eq(a.error, "aborted by the receiver");
    ck_assert(strncmp(a.streamed, "one", 3) == 0);
}
END_TEST

START_TEST(retry_after_in_seconds_and_as_a_date)
{
    struct result r = {0};
    get("/retry-seconds", &r);
    ck_assert_int_eq(r.status, 429);
    ck_assert_int_eq(r.retry_after_ms, 7000);

    struct result d = {0};
    get("/retry-date", &d);
    ck_assert_int_eq(d.status, 503);
    ck_assert_int_ge(d.retry_after_ms, 28000);
    ck_assert_int_le(d.retry_after_ms, 30000);
}
END_TEST

START_TEST(timeout_reports_no_status)
{
    struct result r = {0};
    struct http_request request = {.timeout_ms = 200};
    start(&request, "/silent", &r);
    run_until_done();
    ck_assert_int_eq(r.status, 0);
    ck_assert(r.timed_out);
    ck_assert_str_ne(r.error, "");
    ck_assert_int_ge(r.elapsed_ms, 150);
}
END_TEST

START_TEST(idle_timeout_stops_a_silent_stream)
{
    struct result r = {0};
    struct http_request request = {.on_data = on_data, .idle_timeout_ms = 1000};
    start(&request, "/silent", &r);
    run_until_done();
    ck_assert(r.timed_out);
    ck_assert_int_eq(r.status, 0);
}
END_TEST

START_TEST(refused_and_closed_connections_are_errors)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    bind(fd, (struct sockaddr *)&addr, sizeof addr);
    getsockname(fd, (struct sockaddr *)&addr, &len);
    close(fd); /* nothing listens on that port now */
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", ntohs(addr.sin_port));

    struct result r = {0};
    struct http_request request = {.url = url, .on_done = on_done, .data = &r, .timeout_ms = 3000};
    in_start = true;
    ck_assert_ptr_nonnull(http_client_start(client, &request));
    in_start = false;
    pending++;
    run_until_done();
    ck_assert_int_eq(r.status, 0);
    ck_assert(!r.timed_out);
    ck_assert_str_ne(r.error, "");

    struct result c = {0};
    get("/close", &c);
    ck_assert_int_eq(c.status, 0);
    ck_assert_str_ne(c.error, "");
}
END_TEST

START_TEST(cancelled_call_never_reports)
{
    struct result silent = {0}, ok = {0};
    struct http_request request = {.timeout_ms = 3000};
    struct http_call *call = start(&request, "/silent", &silent);
    start(&request, "/body/10", &ok);
    http_call_cancel(client, call);
    pending--;
    ck_assert_uint_eq(http_client_active(client), 1);
    run_until_done();
    ck_assert(ok.done);
    ck_assert(!silent.done);
    ck_assert_uint_eq(http_client_active(client), 0);
}
END_TEST

START_TEST(destroy_cancels_running_calls)
{
    struct result r = {0};
    struct http_request request = {.timeout_ms = 3000};
    start(&request, "/silent", &r);
    pending = 0;
    http_client_destroy(client);
    client = http_client_create(loop);
    ck_assert(!r.done);
}
END_TEST

/* on_done may destroy the client, even with other calls still running. */
static void on_done_destroy(void *data, const struct http_response *response)
{
    (void)response;
    *(bool *)data = true;
    http_client_destroy(client);
    client = NULL;
    loop_stop(loop);
}

START_TEST(destroy_from_on_done)
{
    bool destroyed = false;
    struct result silent = {0};
    struct http_request request = {.timeout_ms = 3000};
    start(&request, "/silent", &silent);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/body/10", http_test_server_port());
    struct http_request quick = {
        .url = url, .timeout_ms = 3000, .on_done = on_done_destroy, .data = &destroyed};
    ck_assert_ptr_nonnull(http_client_start(client, &quick));
    pending = 2;
    run_until_done();
    ck_assert(destroyed);
    ck_assert(!silent.done);
    client = http_client_create(loop);
}
END_TEST

START_TEST(concurrent_requests_reuse_connections)
{
    static struct result results[2][CONCURRENT];
    memset(results, 0, sizeof results);
    for (int round = 0; round < 2; round++) {
        struct http_request request = {.timeout_ms = 3000};
        for (int i = 0; i < CONCURRENT; i++)
            start(&request, "/body/100", &results[round][i]);
        ck_assert_uint_eq(http_client_active(client), CONCURRENT);
        run_until_done();
        for (int i = 0; i < CONCURRENT; i++) {
            ck_assert_int_eq(results[round][i].status, 200);
            ck_assert_uint_eq(results[round][i].body_len, 100);
        }
    }
    /* The second round went over the first round's connections. */
    ck_assert_int_eq(http_test_server_accepted(), CONCURRENT);
}
END_TEST

/* A server's demand for a client certificate is counted for its origin
 * only: a failure of a request to another server must not be blamed on it. */
START_TEST(certificate_demands_are_counted_per_origin)
{
    struct http_tls_origins origins = {0};
    uint64_t *a = http_tls_origin_counter(&origins, "https://es-0:9200/_bulk");
    uint64_t *b = http_tls_origin_counter(&origins, "https://es-1:9200/_bulk");
    ck_assert_ptr_ne(a, b);
    ck_assert_ptr_eq(http_tls_origin_counter(&origins, "https://es-0:9200/other?x=1"), a);
    ck_assert_ptr_eq(http_tls_origin_counter(&origins, "https://es-0:9200"), a);
    ck_assert_ptr_ne(http_tls_origin_counter(&origins, "https://es-0:9201/_bulk"), a);
    ck_assert_ptr_ne(http_tls_origin_counter(&origins, "http://es-0:9200/_bulk"), a);
    /* "es-0:9200" must not match a longer name that starts the same way. */
    ck_assert_ptr_ne(http_tls_origin_counter(&origins, "https://es-0:92001/"), a);
    (*a)++;
    ck_assert_uint_eq(*b, 0);
    /* Past the limit, origins share one counter instead of growing memory. */
    char url[64];
    for (int i = 0; i < 2 * HTTP_TLS_MAX_ORIGINS; i++) {
        snprintf(url, sizeof url, "https://host-%d:9200/", i);
        ck_assert_ptr_nonnull(http_tls_origin_counter(&origins, url));
    }
    ck_assert_uint_eq(origins.count, HTTP_TLS_MAX_ORIGINS);
    ck_assert_ptr_eq(http_tls_origin_counter(&origins, "https://late:1/"), &origins.shared);
    ck_assert_ptr_eq(http_tls_origin_counter(&origins, "https://es-0:9200/_bulk"), a);
    http_tls_origins_free(&origins);
    ck_assert_uint_eq(origins.count, 0);
}
END_TEST

Suite *http_client_suite(void)
{
    Suite *s = suite_create("http_client");
    TCase *tc = tcase_create("requests");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, status_and_collected_body);
    tcase_add_test(tc, post_sends_body_and_headers);
    tcase_add_test(tc, post_reads_its_body_from_a_callback);
    tcase_add_test(tc, collected_body_over_the_bound_fails);
    tcase_add_test(tc, expect_continue_gets_an_early_413_cleanly);
    tcase_add_test(tc, response_budget_bounds_bodies_held);
    tcase_add_test(tc, streamed_body_arrives_in_pieces);
    tcase_add_test(tc, retry_after_in_seconds_and_as_a_date);
    tcase_add_test(tc, timeout_reports_no_status);
    tcase_add_test(tc, idle_timeout_stops_a_silent_stream);
    tcase_add_test(tc, refused_and_closed_connections_are_errors);
    tcase_add_test(tc, cancelled_call_never_reports);
    tcase_add_test(tc, destroy_cancels_running_calls);
    tcase_add_test(tc, destroy_from_on_done);
    tcase_add_test(tc, concurrent_requests_reuse_connections);
    suite_add_tcase(s, tc);
    TCase *origins = tcase_create("origins");
    tcase_add_test(origins, certificate_demands_are_counted_per_origin);
    suite_add_tcase(s, origins);
    return s;
}
