/* A tiny keep-alive HTTP/1.1 server in a thread, on 127.0.0.1 only, for the
 * HTTP client's unit tests (test_http_client.c). The path picks the answer:
 * /body/N, /echo, /status/N, /stream, /retry-seconds, /retry-date, /silent
 * (never answers), /close (hangs up), /too-large (413 and a close as soon as
 * the headers are in, as Elasticsearch's Netty does). One server at a time. */
#ifndef SKIFF_HTTP_TEST_SERVER_H
#define SKIFF_HTTP_TEST_SERVER_H

void http_test_server_start(void);
void http_test_server_stop(void);
int http_test_server_port(void);
/* Connections accepted since start. */
int http_test_server_accepted(void);
/* Requests that came with Expect: 100-continue since start. */
int http_test_server_expects(void);

#endif
