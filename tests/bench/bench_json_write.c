/* Benchmark: the JSON writer's hot calls on generated log data, in memory:
 * json_write_string on log lines (ASCII with quotes, as in bench_e2e's pool;
 * UTF-8-heavy text; short keys), json_write_time on the times of
 * consecutive records, timefmt_parse_rfc3339 on CRI timestamps, and
 * json_write_record on encoded records shaped like the CRI parser's with a
 * kubernetes attachment (what the Elasticsearch output writes); the
 * escaper's implementation may be forced (json_escape.h). A
 * standalone program built by hand against libskiff_core.a (see README.md),
 * to compare two builds of the same calls. */
#include "bench_rng.h"
#include "buf.h"
#include "codec.h"
#include "json.h"
#include "json_escape.h"
#include "record.h"
#include "timefmt.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Bytes of output before it starts over, as a new bulk body. */
#ifndef BODY_BYTES
#define BODY_BYTES (1u << 20)
#endif
#ifndef STRINGS
#define STRINGS 20000
#endif
#define TIMES 200000

struct corpus {
    struct buf text; /* the strings, back to back */
    size_t offsets[STRINGS + 1];
};

/* bench_tail.py's words: the e2e benchmark's log lines. */
static const char *const ascii_words[] = {
    "GET",
    "POST",
    "PUT",
    "/api/v1/orders",
    "/api/v1/users",
    "/healthz",
    "200",
    "201",
    "404",
    "500",
    "user_id",
    "order_id",
    "latency_ms=12",
    "trace=4bf92f3577b34da6a3ce929d0e0e4736",
    "level=info",
    "level=warn",
    "msg=\"request",
    "served\"",
    "service=checkout",
    "pod=checkout-7d9f8b6c5d-x2x4z",
    "{\"key\":\"value\",\"n\":42}",
    "connection",
    "reset",
    "by",
    "peer",
    "retrying",
};

/* Accented Latin, Cyrillic, CJK, an emoji, and some ASCII. */
static const char *const utf8_words[] = {
    "café", "naïve", "Größe", "überprüft", "ошибка", "соединение", "接続",     "エラー",
    "失败", "重试",  "😀",     "user_id",   "200",    "déjà-vu",    "Ελληνικά", "ok",
};

static const char *const keys[] = {"log",        "stream",   "time",           "@timestamp",
                                   "kubernetes", "pod_name", "namespace_name", "container_name",
                                   "logtag"};

static void corpus_add(struct corpus *c, size_t i, const char *const *words, size_t count,
                       size_t min, size_t max)
{
    size_t size = min + rng((uint32_t)(max - min + 1));
    size_t start = c->text.len;
    while (c->text.len - start < size) {
        if (c->text.len > start)
            buf_append_byte(&c->text, ' ');
        buf_append_str(&c->text, words[rng((uint32_t)count)]);
    }
    c->offsets[i + 1] = c->text.len;
}

static void corpus_make(struct corpus *c, const char *const *words, size_t count, size_t min,
                        size_t max)
{
    c->text = (struct buf)BUF_INIT;
    c->offsets[0] = 0;
    for (size_t i = 0; i < STRINGS; i++)
        corpus_add(c, i, words, count, min, max);
}

static void keys_make(struct corpus *c)
{
    c->text = (struct buf)BUF_INIT;
    c->offsets[0] = 0;
    for (size_t i = 0; i < STRINGS; i++) {
        buf_append_str(&c->text, keys[rng(sizeof keys / sizeof keys[0])]);
        c->offsets[i + 1] = c->text.len;
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Best of `passes`, in seconds, of writing every string once. */
static double time_strings(const struct corpus *c, int passes, struct buf *out)
{
    double best = 1e9;
    for (int pass = 0; pass < passes; pass++) {
        struct json_stats stats = {0};
        double t0 = now();
        for (size_t i = 0; i < STRINGS; i++) {
            if (out->len > BODY_BYTES)
                out->len = 0; /* a bulk body's worth, then start over */
            json_write_string(out, c->text.data + c->offsets[i], c->offsets[i + 1] - c->offsets[i],
                              &stats);
        }
        double t = now() - t0;
        best = t < best ? t : best;
    }
    return best;
}

static void report_strings(const char *name, const struct corpus *c, int passes, struct buf *out)
{
    double t = time_strings(c, passes, out);
    printf("%-34s %8.1f ns/string %8.0f MiB/s (%zu bytes on average)\n", name, t / STRINGS * 1e9,
           (double)c->text.len / t / (1 << 20), c->text.len / STRINGS);
}

/* Records a few microseconds apart: a new second every ~500 records. */
static void report_times(int passes, struct buf *out)
{
    static struct record_time times[TIMES];
    for (size_t i = 0; i < TIMES; i++) {
        uint64_t ns = 1714558500ull * 1000000000ull + i * 2000003ull;
        times[i] = (struct record_time){(int64_t)(ns / 1000000000u), (uint32_t)(ns % 1000000000u)};
    }
    double best = 1e9;
    for (int pass = 0; pass < passes; pass++) {
        double t0 = now();
        for (size_t i = 0; i < TIMES; i++) {
            if (out->len > BODY_BYTES)
                out->len = 0;
            json_write_time(out, times[i]);
        }
        double t = now() - t0;
        best = t < best ? t : best;
    }
    printf("%-34s %8.1f ns/time\n", "json_write_time", best / TIMES * 1e9);
}

/* CRI stamps: 30 bytes, the second changing every 500 lines. */
static void report_rfc3339(int passes)
{
    static char stamps[TIMES][32];
    struct buf text = BUF_INIT;
    for (size_t i = 0; i < TIMES; i++) {
        uint64_t ns = 1714558500ull * 1000000000ull + i * 2000003ull;
        buf_reset(&text);
        json_write_time(
            &text, (struct record_time){(int64_t)(ns / 1000000000u), (uint32_t)(ns % 1000000000u)});
        memcpy(stamps[i], text.data + 1, 30);
    }
    buf_free(&text);
    double best = 1e9;
    int64_t sum = 0;
    for (int pass = 0; pass < passes; pass++) {
        double t0 = now();
        for (size_t i = 0; i < TIMES; i++) {
            struct record_time t;
            if (timefmt_parse_rfc3339(stamps[i], 30, &t) == 0)
                sum += t.nsec;
        }
        double t = now() - t0;
        best = t < best ? t : best;
    }
    printf("%-34s %8.1f ns/time (checksum %lld)\n", "timefmt_parse_rfc3339", best / TIMES * 1e9,
           (long long)sum);
}

static void set_string(struct record *rec, const char *key, const char *text, size_t len)
{
    struct value v = value_string(text, len);
    record_set_key(rec, key, &v);
}

/* The log lines of `lines` as encoded records, one chunk's worth after
 * another in one buffer. */
static void encode_records(struct buf *data, const struct corpus *lines, struct attachment *k8s)
{
    static const uint16_t index[] = {0};
    for (size_t i = 0; i < STRINGS; i++) {
        struct record rec;
        record_init(&rec);
        uint64_t ns = 1714558500ull * 1000000000ull + i * 2000003ull;
        rec.time = (struct record_time){(int64_t)(ns / 1000000000u), (uint32_t)(ns % 1000000000u)};
        set_string(&rec, "time", "2024-05-01T10:15:00.123456789Z", 30);
        set_string(&rec, "stream", i % 5 ? "stdout" : "stderr", 6);
        set_string(&rec, "logtag", "F", 1);
        set_string(&rec, "log", lines->text.data + lines->offsets[i],
                   lines->offsets[i + 1] - lines->offsets[i]);
        record_attach(&rec, k8s);
        codec_encode_record(data, &rec, index);
        record_free(&rec);
    }
}

static void report_records(const struct corpus *lines, int passes, struct buf *out)
{
    struct value meta = value_map_new();
    struct value v = value_cstring("checkout-7d9f8b6c5d-x2x4z");
    value_map_set(&meta.as.map, "pod_name", 8, &v);
    v = value_cstring("bench");
    value_map_set(&meta.as.map, "namespace_name", 14, &v);
    struct attachment *table[] = {attachment_new("kubernetes", &meta)};
    struct buf data = BUF_INIT;
    encode_records(&data, lines, table[0]);
    double best = 1e9;
    for (int pass = 0; pass < passes; pass++) {
        struct json_stats stats = {0};
        struct record_view view;
        size_t pos = 0;
        double t0 = now();
        while (codec_next_record((const uint8_t *)data.data, data.len, &pos, &view) == 1) {
            if (out->len > BODY_BYTES)
                out->len = 0;
            json_write_record(out, &view, table, "@timestamp", &stats);
            buf_append_byte(out, '\n');
        }
        double t = now() - t0;
        best = t < best ? t : best;
    }
    printf("%-34s %8.1f ns/record\n", "codec_next_record + json_write_record",
           best / STRINGS * 1e9);
    buf_free(&data);
    attachment_unref(table[0]);
}

int main(int argc, char **argv)
{
    int passes = argc > 1 ? atoi(argv[1]) : 20;
    /* An implementation of the escaper's scan to force (json_escape.h). */
    for (int impl = 0; argc > 2 && impl < JSON_ESCAPE_IMPL_COUNT; impl++) {
        if (strcmp(argv[2], json_escape_impl_name((enum json_escape_impl)impl)) == 0 &&
            json_escape_impl_force((enum json_escape_impl)impl) < 0) {
            fprintf(stderr, "%s: not available here\n", argv[2]);
            return 2;
        }
    }
    printf("escaper: %s\n", json_escape_impl_name(json_escape_impl_current()));
    static struct corpus lines, utf8, short_keys;
    corpus_make(&lines, ascii_words, sizeof ascii_words / sizeof ascii_words[0], 60, 700);
    corpus_make(&utf8, utf8_words, sizeof utf8_words / sizeof utf8_words[0], 60, 700);
    keys_make(&short_keys);
    struct buf out = BUF_INIT;
    report_strings("json_write_string log lines", &lines, passes, &out);
    report_strings("json_write_string UTF-8 text", &utf8, passes, &out);
    report_strings("json_write_string keys", &short_keys, passes, &out);
    report_times(passes, &out);
    report_rfc3339(passes);
    report_records(&lines, passes, &out);
    buf_free(&out);
    buf_free(&lines.text);
    buf_free(&utf8.text);
    buf_free(&short_keys.text);
    return 0;
}
