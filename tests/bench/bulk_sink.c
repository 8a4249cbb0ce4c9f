/* A bulk sink for the benchmarks: answers Elasticsearch's _bulk API as fast
 * as the machine allows, so that it measures skiff, not the sink.
 *
 *   bulk_sink [--threads N]           listen on 127.0.0.1 (a free port, printed
 *                                     as the first line of stdout)
 *   bulk_sink --selftest SECONDS      measure the sink's own capacity with
 *                                     local clients, print it, exit
 *
 * POST /_bulk (plain or Content-Encoding: gzip) is read whole, inflated,
 * counted (documents = action/source line pairs) and answered with one
 * successful item per document. For every document with an "@timestamp"
 * (RFC 3339, UTC), now - @timestamp goes into a latency histogram.
 * GET /_stats answers the counters as JSON; POST /_stats/reset zeroes them;
 * GET / answers a version, like Elasticsearch.
 *
 * Threads share one port through SO_REUSEPORT, each with its own epoll.
 * Benchmark tool only: 127.0.0.1, HTTP/1.1 with Content-Length or chunked,
 * no TLS. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define LATENCY_BUCKETS 100000 /* 1 ms each: up to 100 s */
#define MAX_BODY (256u << 20)

static _Atomic uint64_t stat_requests, stat_docs, stat_wire_bytes, stat_body_bytes;
static _Atomic uint64_t latency[LATENCY_BUCKETS + 1];
static int listen_port;

struct buffer {
    char *data;
    size_t len, cap;
};

static void buffer_reserve(struct buffer *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 65536;
    while (cap < b->len + extra)
        cap *= 2;
    b->data = realloc(b->data, cap);
    if (!b->data) {
        perror("realloc");
        exit(1);
    }
    b->cap = cap;
}

static void buffer_append(struct buffer *b, const char *data, size_t len)
{
    buffer_reserve(b, len);
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

struct conn {
    int fd;
    struct buffer in;   /* request bytes not yet handled */
    struct buffer body; /* inflated body */
    struct buffer out;  /* response */
    bool continued;     /* "100 Continue" sent for the request being read */
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* "2024-05-01T10:15:00.123456789Z" -> ns since the epoch, or -1. Hand-rolled:
 * timegm is far too slow for every document. */
static int64_t parse_rfc3339(const char *s, const char *end)
{
    if (end - s < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
        return -1;
    int year = digits(s, 4), month = digits(s + 5, 2), day = digits(s + 8, 2);
    int hour = digits(s + 11, 2), minute = digits(s + 14, 2), second = digits(s + 17, 2);
    if (year < 0 || month < 1 || day < 0 || hour < 0 || minute < 0 || second < 0)
        return -1;
    int64_t ns = (days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second) *
                 1000000000;
    const char *p = s + 19;
    if (p < end && *p == '.') {
        int64_t scale = 100000000;
        for (p++; p < end && *p >= '0' && *p <= '9'; p++, scale /= 10)
            ns += (*p - '0') * scale;
    }
    return ns;
}

static void note_latency(const char *line, const char *end, int64_t now)
{
    static const char key[] = "\"@timestamp\":\"";
    const char *at = memmem(line, (size_t)(end - line), key, sizeof key - 1);
    if (!at)
        return;
    int64_t t = parse_rfc3339(at + sizeof key - 1, end);
    if (t < 0)
        return;
    int64_t ms = (now - t) / 1000000;
    if (ms < 0)
        ms = 0;
    atomic_fetch_add(&latency[ms < LATENCY_BUCKETS ? ms : LATENCY_BUCKETS], 1);
}

static int inflate_body(const char *data, size_t len, struct buffer *out)
{
    z_stream z = {0};
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        return -1;
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)len;
    int rc;
    do {
        buffer_reserve(out, len * 4 + 65536);
        z.next_out = (Bytef *)out->data + out->len;
        z.avail_out = (uInt)(out->cap - out->len);
        rc = inflate(&z, Z_NO_FLUSH);
        out->len = out->cap - z.avail_out;
    } while (rc == Z_OK && out->len < MAX_BODY);
    inflateEnd(&z);
    return rc == Z_STREAM_END ? 0 : -1;
}

/* Counts the documents of an NDJSON body and notes their latencies. */
static uint64_t count_docs(const char *body, size_t len, const char **op)
{
    int64_t now = now_ns();
    uint64_t lines = 0;
    const char *p = body, *end = body + len;
    *op = "index";
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl : end;
        if (line_end > p) {
            if (lines % 2 == 1)
                note_latency(p, line_end, now);
            else if (lines == 0 && line_end - p > 10 && memcmp(p, "{\"create\"", 9) == 0)
                *op = "create";
            lines++;
        }
        p = line_end + 1;
    }
    return lines / 2;
}

static void respond(struct conn *c, int status, const char *body, size_t len)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     status, status == 200 ? "OK" : "Error", len);
    buffer_append(&c->out, head, (size_t)n);
    buffer_append(&c->out, body, len);
}

static void answer_bulk(struct conn *c, const char *body, size_t len, bool gzip)
{
    const char *data = body;
    size_t data_len = len;
    if (gzip) {
        c->body.len = 0;
        if (inflate_body(body, len, &c->body) < 0) {
            respond(c, 400, "{\"error\":\"bad gzip\"}", 20);
            return;
        }
        data = c->body.data;
        data_len = c->body.len;
    }
    const char *op;
    uint64_t docs = count_docs(data, data_len, &op);
    atomic_fetch_add(&stat_docs, docs);
    atomic_fetch_add(&stat_body_bytes, data_len);

    static _Thread_local struct buffer reply;
    reply.len = 0;
    char item[64];
    int item_len =
        snprintf(item, sizeof item, "{\"%s\":{\"status\":201,\"result\":\"created\"}}", op);
    buffer_append(&reply, "{\"took\":1,\"errors\":false,\"items\":[", 34);
    for (uint64_t i = 0; i < docs; i++) {
        if (i)
            buffer_append(&reply, ",", 1);
        buffer_append(&reply, item, (size_t)item_len);
    }
    buffer_append(&reply, "]}", 2);
    respond(c, 200, reply.data, reply.len);
}

static void answer_stats(struct conn *c)
{
    uint64_t total = 0, counts[LATENCY_BUCKETS + 1];
    for (size_t i = 0; i <= LATENCY_BUCKETS; i++)
        total += counts[i] = atomic_load(&latency[i]);
    int64_t p50 = -1, p99 = -1, max = -1;
    uint64_t seen = 0;
    for (size_t i = 0; i <= LATENCY_BUCKETS; i++) {
        seen += counts[i];
        if (p50 < 0 && total && seen * 2 >= total)
            p50 = (int64_t)i;
        if (p99 < 0 && total && seen * 100 >= total * 99)
            p99 = (int64_t)i;
        if (counts[i])
            max = (int64_t)i;
    }
    char body[512];
    int n = snprintf(body, sizeof body,
                     "{\"requests\":%llu,\"docs\":%llu,\"wire_bytes\":%llu,\"body_bytes\":%llu,"
                     "\"latency_samples\":%llu,\"latency_ms\":{\"p50\":%lld,\"p99\":%lld,"
                     "\"max\":%lld}}",
                     (unsigned long long)stat_requests, (unsigned long long)stat_docs,
                     (unsigned long long)stat_wire_bytes, (unsigned long long)stat_body_bytes,
                     (unsigned long long)total, (long long)p50, (long long)p99, (long long)max);
    respond(c, 200, body, (size_t)n);
}

static void reset_stats(void)
{
    stat_requests = stat_docs = stat_wire_bytes = stat_body_bytes = 0;
    for (size_t i = 0; i <= LATENCY_BUCKETS; i++)
        latency[i] = 0;
}

static const char *header_value(const char *head, size_t len, const char *name)
{
    size_t name_len = strlen(name);
    for (const char *p = head; p && p < head + len;) {
        const char *line = p;
        p = memmem(p, (size_t)(head + len - p), "\r\n", 2);
        if (p)
            p += 2;
        if (strncasecmp(line, name, name_len) == 0 && line[name_len] == ':') {
            line += name_len + 1;
            while (*line == ' ')
                line++;
            return line;
        }
    }
    return NULL;
}

static int write_out(struct conn *c);

/* A client that sent "Expect: 100-continue" waits for "100 Continue" before
 * the body (curl: up to 1 s). Elasticsearch answers it at once: its HTTP
 * server aggregates requests with Netty's HttpObjectAggregator, which sends
 * 100 Continue unless the body is over http.max_content_length
 * (modules/transport-netty4/.../Netty4HttpServerTransport.java; RFC 9110
 * section 10.1.1). Returns 0, or -1 to close. */
static int answer_expect(struct conn *c, size_t head_len)
{
    const char *expect = header_value(c->in.data, head_len, "Expect");
    if (c->continued || !expect || strncasecmp(expect, "100-continue", 12) != 0)
        return 0;
    c->continued = true;
    static const char reply[] = "HTTP/1.1 100 Continue\r\n\r\n";
    buffer_append(&c->out, reply, sizeof reply - 1); /* after any earlier answers */
    return write_out(c);
}

/* A chunked body (RFC 9112 section 7.1, as libcurl sends a body of unknown
 * length) from `at` in c->in: 1 when complete, with its data length and the
 * bytes it takes; 0 while more must come; -1 if malformed. With `decode`,
 * its data is moved together to `at`. */
static int walk_chunks(struct conn *c, size_t at, bool decode, size_t *data_len, size_t *used)
{
    size_t in = at, out = at;
    for (;;) {
        char *eol = memmem(c->in.data + in, c->in.len - in, "\r\n", 2);
        if (!eol)
            return c->in.len - in > 64 ? -1 : 0;
        char *end;
        size_t size = strtoull(c->in.data + in, &end, 16);
        if (end == c->in.data + in || size > MAX_BODY)
            return -1;
        size_t data = (size_t)(eol - c->in.data) + 2;
        if (c->in.len < data + size + 2)
            return 0;
        if (decode)
            memmove(c->in.data + out, c->in.data + data, size);
        out += size;
        in = data + size + 2;
        if (out - at > MAX_BODY)
            return -1;
        if (size == 0) {
            *data_len = out - at;
            *used = in - at;
            return 1;
        }
    }
}

/* Handles every complete request in c->in. Returns -1 to close. */
static int handle_requests(struct conn *c)
{
    for (;;) {
        char *end = memmem(c->in.data, c->in.len, "\r\n\r\n", 4);
        if (!end)
            return c->in.len > 65536 ? -1 : 0;
        size_t head_len = (size_t)(end - c->in.data) + 4;
        const char *cl = header_value(c->in.data, head_len, "Content-Length");
        const char *te = header_value(c->in.data, head_len, "Transfer-Encoding");
        size_t body_len = cl ? strtoull(cl, NULL, 10) : 0;
        size_t used = body_len;
        if (body_len > MAX_BODY)
            return -1;
        if (te && strncasecmp(te, "chunked", 7) == 0) {
            int rc = walk_chunks(c, head_len, false, &body_len, &used);
            if (rc <= 0)
                return rc < 0 ? -1 : answer_expect(c, head_len);
            walk_chunks(c, head_len, true, &body_len, &used);
        }
        if (c->in.len < head_len + used)
            return answer_expect(c, head_len);
        c->continued = false;
        const char *ce = header_value(c->in.data, head_len, "Content-Encoding");
        bool gzip = ce && strncasecmp(ce, "gzip", 4) == 0;
        const char *body = c->in.data + head_len;
        atomic_fetch_add(&stat_requests, 1);
        atomic_fetch_add(&stat_wire_bytes, head_len + used);
        const char *line_end = memchr(c->in.data, '\r', head_len);
        bool bulk = strncmp(c->in.data, "POST ", 5) == 0 &&
                    memmem(c->in.data, (size_t)(line_end - c->in.data), "/_bulk", 6);
        if (bulk)
            answer_bulk(c, body, body_len, gzip);
        else if (strncmp(c->in.data, "GET /_stats ", 12) == 0)
            answer_stats(c);
        else if (strncmp(c->in.data, "POST /_stats/reset ", 19) == 0) {
            reset_stats();
            respond(c, 200, "{}", 2);
        } else
            respond(c, 200, "{\"version\":{\"number\":\"8.11.0\"},\"tagline\":\"bulk_sink\"}", 53);
        memmove(c->in.data, c->in.data + head_len + used, c->in.len - head_len - used);
        c->in.len -= head_len + used;
    }
}

static int write_out(struct conn *c)
{
    size_t done = 0;
    while (done < c->out.len) {
        ssize_t n = write(c->fd, c->out.data + done, c->out.len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1; /* blocking socket: only real errors */
        done += (size_t)n;
    }
    c->out.len = 0;
    return 0;
}

static void conn_close(int epfd, struct conn *c)
{
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->in.data);
    free(c->body.data);
    free(c->out.data);
    free(c);
}

static int make_listener(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 128) < 0) {
        perror("bind/listen");
        exit(1);
    }
    socklen_t len = sizeof addr;
    getsockname(fd, (struct sockaddr *)&addr, &len);
    listen_port = ntohs(addr.sin_port);
    return fd;
}

static void *serve(void *arg)
{
    int listener = (int)(intptr_t)arg;
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epfd, EPOLL_CTL_ADD, listener, &ev);
    struct epoll_event events[64];
    char block[1 << 16];
    for (;;) {
        int n = epoll_wait(epfd, events, 64, -1);
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            if (!c) {
                int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0)
                    continue;
                int one = 1;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                c = calloc(1, sizeof *c);
                c->fd = fd;
                struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
                epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &cev);
                continue;
            }
            ssize_t got = read(c->fd, block, sizeof block);
            if (got <= 0) {
                conn_close(epfd, c);
                continue;
            }
            buffer_append(&c->in, block, (size_t)got);
            if (handle_requests(c) < 0 || write_out(c) < 0)
                conn_close(epfd, c);
        }
    }
    return NULL;
}

/* ---- self test: local clients posting a prepared body ---- */

struct client_args {
    const char *request;
    size_t len;
    double seconds;
    uint64_t requests;
};

static void *client(void *arg)
{
    struct client_args *a = arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)listen_port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        perror("connect");
        exit(1);
    }
    char reply[1 << 16];
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        for (size_t done = 0; done < a->len;)
            done += (size_t)write(fd, a->request + done, a->len - done);
        /* the reply ends with "]}" */
        size_t tail = 0;
        for (;;) {
            ssize_t n = read(fd, reply, sizeof reply);
            if (n <= 0)
                exit(1);
            tail = (size_t)n;
            if (tail >= 2 && reply[tail - 2] == ']' && reply[tail - 1] == '}')
                break;
        }
        a->requests++;
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((double)(now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9 <
             a->seconds);
    close(fd);
    return NULL;
}

static void selftest_case(double seconds, bool gzip)
{
    struct buffer body = {0};
    uint64_t docs = 0;
    while (body.len < (5u << 20)) {
        char doc[512];
        int n = snprintf(doc, sizeof doc,
                         "{\"create\":{\"_index\":\"logs\",\"_id\":\"%llu\"}}\n"
                         "{\"@timestamp\":\"2026-11-23T10:00:00.000000000Z\",\"log\":\"GET "
                         "/api/v1/orders/%llu 200 12ms user=42 trace=4bf92f3577b34da6\","
                         "\"kubernetes\":{\"pod_name\":\"shop-7d9f8b6c5d-x2x4z\"}}\n",
                         (unsigned long long)docs, (unsigned long long)docs);
        buffer_append(&body, doc, (size_t)n);
        docs++;
    }
    struct buffer wire = {0};
    if (gzip) {
        uLongf cap = compressBound(body.len) + 64;
        buffer_reserve(&wire, cap);
        z_stream z = {0};
        deflateInit2(&z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
        z.next_in = (Bytef *)body.data;
        z.avail_in = (uInt)body.len;
        z.next_out = (Bytef *)wire.data;
        z.avail_out = (uInt)cap;
        deflate(&z, Z_FINISH);
        wire.len = z.total_out;
        deflateEnd(&z);
    } else {
        buffer_append(&wire, body.data, body.len);
    }
    struct buffer request = {0};
    char head[256];
    int n = snprintf(head, sizeof head,
                     "POST /_bulk HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n"
                     "%sContent-Length: %zu\r\n\r\n",
                     gzip ? "Content-Encoding: gzip\r\n" : "", wire.len);
    buffer_append(&request, head, (size_t)n);
    buffer_append(&request, wire.data, wire.len);

    enum { CLIENTS = 2 };
    pthread_t threads[CLIENTS];
    struct client_args args[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        args[i] = (struct client_args){request.data, request.len, seconds, 0};
        pthread_create(&threads[i], NULL, client, &args[i]);
    }
    uint64_t requests = 0;
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(threads[i], NULL);
        requests += args[i].requests;
    }
    double mib = (double)requests * (double)body.len / (1 << 20);
    printf("{\"case\":\"%s\",\"docs_per_s\":%.0f,\"mib_per_s\":%.1f}\n", gzip ? "gzip" : "plain",
           (double)(requests * docs) / seconds, mib / seconds);
    free(body.data);
    free(wire.data);
    free(request.data);
}

int main(int argc, char **argv)
{
    int threads = 2;
    double selftest = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--selftest") == 0 && i + 1 < argc)
            selftest = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--threads N] [--selftest SECONDS]\n", argv[0]);
            return 2;
        }
    }
    int first = make_listener(0);
    pthread_t thread;
    pthread_create(&thread, NULL, serve, (void *)(intptr_t)first);
    for (int i = 1; i < threads; i++)
        pthread_create(&thread, NULL, serve, (void *)(intptr_t)make_listener(listen_port));
    if (selftest > 0) {
        selftest_case(selftest, false);
        selftest_case(selftest, true);
        return 0;
    }
    printf("%d\n", listen_port);
    fflush(stdout);
    pause();
    return 0;
}
