/* Compression of `_bulk` bodies: zlib deflate level 1 (gzip wrapper, one
 * deflate call over the whole body), libdeflate's whole-buffer gzip at
 * levels 1 and 6, and ISA-L's one-shot igzip at levels 0-2 (level 1 as
 * agent/gzip.c runs it, without a level buffer, and with its default one),
 * on a 5 MiB body built by es_bulk_build from generated Kubernetes
 * container log records. Prints MiB/s of input and the ratio. Not part of
 * the build; run by hand:
 *
 *   meson compile -C build
 *   gcc -O2 -std=gnu11 -I. -Iagent -Ibuild tests/bench/bench_gzip.c build/libskiff_core.a \
 *       -lz -ldeflate -lisal -lyaml -lcurl -lssl -lcrypto -lpcre2-8 -lpthread -lm \
 *       -o build/bench_gzip
 *   ./build/bench_gzip
 */
#include "chunk.h"
#include "plugins/out_elasticsearch/es_bulk.h"
#include "plugins/out_elasticsearch/es_index.h"

#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#define BODY_BYTES (5u << 20)
#define MIN_SECONDS 2.0

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rng(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 33);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void set_str(struct value_map *map, const char *key, const char *s)
{
    struct value v = value_cstring(s);
    value_map_set(map, key, strlen(key), &v);
}

/* The kubernetes metadata of one of 40 pods, as filter_kubernetes attaches it. */
static struct attachment *make_pod(int i)
{
    static const char *const apps[] = {"checkout", "cart", "search", "payments", "frontend"};
    char text[96];
    struct value labels = value_map_new();
    set_str(&labels.as.map, "app", apps[i % 5]);
    snprintf(text, sizeof text, "%08x", rng());
    set_str(&labels.as.map, "pod-template-hash", text);
    struct value meta = value_map_new();
    snprintf(text, sizeof text, "%s-%s-%05x", apps[i % 5], "7d9f8c6b5", rng() & 0xfffff);
    set_str(&meta.as.map, "pod_name", text);
    set_str(&meta.as.map, "namespace_name", i % 2 ? "shop" : "platform");
    set_str(&meta.as.map, "container_name", apps[i % 5]);
    snprintf(text, sizeof text, "ip-10-0-%d-%d.eu-west-1.compute.internal", i % 8, 10 + i);
    set_str(&meta.as.map, "host", text);
    value_map_set(&meta.as.map, "labels", 6, &labels);
    return attachment_new("kubernetes", &meta);
}

/* An access-log line with varying address, path, status, size and latency. */
static void make_line(char *line, size_t size, int64_t sec)
{
    static const char *const paths[] = {"/api/v1/cart",   "/api/v1/items?page=", "/healthz",
                                        "/static/app.js", "/api/v1/checkout",    "/login"};
    static const int statuses[] = {200, 200, 200, 200, 201, 304, 404, 500};
    unsigned p = rng() % 6;
    snprintf(line, size,
             "10.%u.%u.%u - - [%lld] \"GET %s%u HTTP/1.1\" %d %u \"-\" \"Mozilla/5.0 (X11; "
             "Linux x86_64)\" rt=%u.%03u uid=%08x",
             rng() % 256, rng() % 256, rng() % 256, (long long)sec, paths[p],
             p == 1 ? rng() % 50 : 0, statuses[rng() % 8], rng() % 40000, rng() % 2, rng() % 1000,
             rng());
}

static struct chunk *make_chunk(size_t records)
{
    struct attachment *pods[40];
    for (int i = 0; i < 40; i++)
        pods[i] = make_pod(i);
    struct chunk *chunk = chunk_new(1, 0, "kube.var.log.containers", 1, 0);
    for (size_t i = 0; i < records; i++) {
        struct record rec;
        char line[512];
        record_init(&rec);
        rec.time = (struct record_time){1714558500 + (int64_t)i / 1000, rng() % 1000000000};
        rec.origin = (struct record_origin){1 + i % 40, 1000 + i * 180};
        make_line(line, sizeof line, rec.time.sec);
        set_str(&rec.fields, "log", line);
        set_str(&rec.fields, "stream", i % 10 ? "stdout" : "stderr");
        record_attach(&rec, pods[i % 40]);
        chunk_append(chunk, &rec);
        record_free(&rec);
    }
    for (int i = 0; i < 40; i++)
        attachment_unref(pods[i]);
    return chunk;
}

static void build_body(struct buf *body)
{
    char *error;
    struct es_index_pattern *index =
        es_index_pattern_compile("logs-${kubernetes.namespace_name}-%Y.%m.%d", &error);
    struct chunk *chunk = make_chunk(BODY_BYTES / 400);
    struct es_record_list list = {0};
    es_record_list_from_chunk(&list, chunk);
    struct es_id_spec id = {.mode = ES_ID_ORIGIN};
    struct es_bulk_options opts = {
        .index = index,
        .id = &id,
        .node_name = "ip-10-0-1-10",
        .time_key = "@timestamp",
        .batch_max_bytes = BODY_BYTES,
    };
    struct es_bulk_result result;
    double start = now_seconds();
    es_bulk_build(&list, 0, &opts, body, &result);
    double elapsed = now_seconds() - start;
    printf("body: %zu bytes, %zu records, built in %.1f ms (%.0f MiB/s)\n", body->len,
           result.records, elapsed * 1e3, (double)body->len / (1 << 20) / elapsed);
    es_record_list_free(&list);
    chunk_free(chunk);
    es_index_pattern_free(index);
}

static size_t zlib_gzip(const struct buf *in, uint8_t *out, size_t cap, int level)
{
    z_stream zs = {0};
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    zs.next_in = (Bytef *)in->data;
    zs.avail_in = (uInt)in->len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        abort();
    size_t n = zs.total_out;
    deflateEnd(&zs);
    return n;
}

static size_t libdeflate_gzip(const struct buf *in, uint8_t *out, size_t cap, int level)
{
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(level);
    size_t n = libdeflate_gzip_compress(c, in->data, in->len, out, cap);
    libdeflate_free_compressor(c);
    if (n == 0)
        abort();
    return n;
}

/* Level 1 takes a level buffer optionally (agent/gzip.c runs without);
 * level 2 needs one. `buffered` gives level 1 its default (282 KiB). */
static size_t isal_run(const struct buf *in, uint8_t *out, size_t cap, int level, bool buffered)
{
    static uint8_t level_buf[ISAL_DEF_LVL2_DEFAULT];
    struct isal_zstream s;
    isal_deflate_stateless_init(&s);
    s.level = (uint32_t)level;
    s.level_buf = buffered || level == 2 ? level_buf : NULL;
    s.level_buf_size = level == 2 ? ISAL_DEF_LVL2_DEFAULT : buffered ? ISAL_DEF_LVL1_DEFAULT : 0;
    s.gzip_flag = IGZIP_GZIP;
    s.end_of_stream = 1;
    s.flush = NO_FLUSH;
    s.next_in = (uint8_t *)in->data;
    s.avail_in = (uint32_t)in->len;
    s.next_out = out;
    s.avail_out = (uint32_t)cap;
    if (isal_deflate_stateless(&s) != COMP_OK)
        abort();
    return s.total_out;
}

static size_t isal_gzip(const struct buf *in, uint8_t *out, size_t cap, int level)
{
    return isal_run(in, out, cap, level, false);
}

static size_t isal_gzip_buffered(const struct buf *in, uint8_t *out, size_t cap, int level)
{
    return isal_run(in, out, cap, level, true);
}

/* Checks that the output decompresses to the body (libdeflate reads gzip). */
static void check_round_trip(const struct buf *in, const uint8_t *gz, size_t gz_len)
{
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    char *back = malloc(in->len);
    size_t back_len;
    if (libdeflate_gzip_decompress(d, gz, gz_len, back, in->len, &back_len) != LIBDEFLATE_SUCCESS ||
        back_len != in->len || memcmp(back, in->data, in->len) != 0)
        abort();
    free(back);
    libdeflate_free_decompressor(d);
}

static void run(const char *name, size_t (*gzip)(const struct buf *, uint8_t *, size_t, int),
                int level, const struct buf *body, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int rounds = 0;
    double start = now_seconds(), elapsed;
    do {
        n = gzip(body, out, cap, level);
        rounds++;
        elapsed = now_seconds() - start;
    } while (elapsed < MIN_SECONDS);
    check_round_trip(body, out, n);
    double mib = (double)body->len * rounds / (1 << 20);
    printf("%-14s level %d: %7.1f MiB/s  ratio %5.2f  (%zu -> %zu bytes)\n", name, level,
           mib / elapsed, (double)body->len / (double)n, body->len, n);
}

int main(void)
{
    struct buf body = BUF_INIT;
    build_body(&body);
    size_t cap = compressBound((uLong)body.len) + 64;
    uint8_t *out = malloc(cap);
    run("zlib", zlib_gzip, 1, &body, out, cap);
    run("zlib", zlib_gzip, 6, &body, out, cap);
    run("libdeflate", libdeflate_gzip, 1, &body, out, cap);
    run("libdeflate", libdeflate_gzip, 6, &body, out, cap);
    run("isal", isal_gzip, 0, &body, out, cap);
    run("isal", isal_gzip, 1, &body, out, cap);
    run("isal+buffer", isal_gzip_buffered, 1, &body, out, cap);
    run("isal", isal_gzip, 2, &body, out, cap);
    free(out);
    buf_free(&body);
    return 0;
}
