/* Benchmark: skiff's JSON parser against jansson (json_loadb plus the
 * conversion of json_t into struct value that skiff would need), on generated
 * log lines. A standalone program built by hand (see README.md); not part of
 * the meson build, and jansson is not a dependency of skiff. */
#include "bench_rng.h"
#include "buf.h"
#include "json_parse.h"
#include "value.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LINE_MIN 200
#define LINE_MAX 1000
/* put_message() may pass its size by one word and a space. */
#define MESSAGE_OVERSHOOT 16

struct corpus {
    struct buf text; /* the lines, back to back without newlines */
    size_t *offsets; /* line i is [offsets[i], offsets[i + 1]) */
    size_t count;
};

static const char *pick(const char *const *items, size_t count)
{
    return items[rng((uint32_t)count)];
}

#define PICK(items) pick(items, sizeof items / sizeof items[0])

static const char *const words[] = {
    "request",        "completed", "user",   "order",    "failed",      "retrying",
    "connection",     "timeout",   "cache",  "miss",     "GET",         "POST",
    "/api/v1/orders", "status",    "200",    "503",      "caf\xc3\xa9", "\xe2\x9c\x93",
    "id=42",          "took",      "12.5ms", "upstream",
};

/* Pieces that need escaping, as they appear in JSON text. */
static const char *const escapes[] = {
    "\\n", "\\t", "\\\"quoted\\\"", "C:\\\\logs", "\\u00e9", "\\ud83d\\ude00", "\\/"};

/* Appends a message body of about `size` bytes of JSON string text. */
static void put_message(struct buf *b, size_t size)
{
    size_t end = b->len + size;
    while (b->len < end) {
        buf_append_str(b, rng(8) == 0 ? PICK(escapes) : PICK(words));
        buf_append_byte(b, ' ');
    }
}

static void put_time(struct buf *b)
{
    buf_printf(b, "2024-05-01T10:%02u:%02u.%09uZ", rng(60), rng(60), rng(1000000000));
}

static void docker_line(struct buf *b, size_t size)
{
    buf_append_str(b, "{\"log\":\"");
    put_message(b, size);
    buf_append_str(b, "\\n\",\"stream\":\"");
    buf_append_str(b, rng(4) ? "stdout" : "stderr");
    buf_append_str(b, "\",\"time\":\"");
    put_time(b);
    buf_append_str(b, "\"}");
}

static void java_line(struct buf *b, size_t size)
{
    static const char *const levels[] = {"INFO", "WARN", "ERROR", "DEBUG"};
    buf_append_str(b, "{\"@timestamp\":\"");
    put_time(b);
    buf_printf(b,
               "\",\"@version\":\"1\",\"level\":\"%s\",\"level_value\":%u,"
               "\"logger_name\":\"com.example.orders.OrderController\","
               "\"thread_name\":\"http-nio-8080-exec-%u\",\"message\":\"",
               PICK(levels), 10000 * (1 + rng(4)), rng(200));
    put_message(b, size);
    buf_printf(b,
               "\",\"mdc\":{\"traceId\":\"%016llx%016llx\",\"spanId\":\"%016llx\","
               "\"user\":{\"id\":%u,\"roles\":[\"admin\",\"ops\"],\"active\":true,"
               "\"quota\":%u.%02u,\"manager\":null}},\"duration_ms\":%u.%u}",
               (unsigned long long)rng_state, (unsigned long long)~rng_state,
               (unsigned long long)(rng_state >> 3), rng(1000000), rng(10), rng(100), rng(5000),
               rng(10));
}

static void access_line(struct buf *b, size_t size)
{
    buf_printf(b,
               "{\"remote_addr\":\"10.%u.%u.%u\",\"method\":\"GET\",\"status\":%u,"
               "\"bytes\":%u,\"request_time\":0.%03u,\"request\":\"/search?q=",
               rng(256), rng(256), rng(256), rng(2) ? 200 : 404, rng(100000), rng(1000));
    put_message(b, size);
    buf_append_str(b, "\",\"headers\":{\"user_agent\":\"Mozilla/5.0 (X11; Linux x86_64)\","
                      "\"x_forwarded_for\":[\"203.0.113.7\",\"10.0.0.1\"]},\"time\":\"");
    put_time(b);
    buf_append_str(b, "\"}");
}

typedef void line_fn(struct buf *b, size_t message_size);

/* A line of LINE_MIN to LINE_MAX bytes, of one of three shapes: the message
 * fills what the shape's other fields leave. */
static void generate_line(struct buf *b)
{
    static line_fn *const shapes[] = {docker_line, java_line, access_line};
    line_fn *shape = shapes[rng(3)];
    size_t target = LINE_MIN + rng(LINE_MAX - MESSAGE_OVERSHOOT - LINE_MIN + 1);
    size_t start = b->len;
    shape(b, 0);
    size_t skeleton = b->len - start;
    b->len = start;
    shape(b, target > skeleton ? target - skeleton : 0);
}

static struct corpus corpus_generate(size_t count)
{
    struct corpus c = {.offsets = malloc((count + 1) * sizeof(size_t)), .count = count};
    for (size_t i = 0; i < count; i++) {
        c.offsets[i] = c.text.len;
        generate_line(&c.text);
    }
    c.offsets[count] = c.text.len;
    return c;
}

static struct value from_jansson(json_t *j);

static struct value map_from_jansson(json_t *object)
{
    struct value map = value_map_new();
    const char *key;
    json_t *member;
    json_object_foreach(object, key, member)
    {
        struct value v = from_jansson(member);
        value_map_set(&map.as.map, key, strlen(key), &v);
    }
    return map;
}

static struct value array_from_jansson(json_t *array)
{
    struct value list = value_array_new();
    size_t i;
    json_t *item;
    json_array_foreach(array, i, item)
    {
        struct value v = from_jansson(item);
        value_array_push(&list.as.array, &v);
    }
    return list;
}

/* What skiff would do with jansson's tree: records are struct values. */
static struct value from_jansson(json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return map_from_jansson(j);
    case JSON_ARRAY:
        return array_from_jansson(j);
    case JSON_STRING:
        return value_string(json_string_value(j), json_string_length(j));
    case JSON_INTEGER:
        return value_int(json_integer_value(j));
    case JSON_REAL:
        return value_float(json_real_value(j));
    case JSON_TRUE:
        return value_bool(true);
    case JSON_FALSE:
        return value_bool(false);
    case JSON_NULL:
        break;
    }
    return value_null();
}

static int parse_skiff(const char *line, size_t len, struct value *out)
{
    return json_parse(line, len, out, NULL);
}

static int parse_jansson(const char *line, size_t len, struct value *out)
{
    json_error_t error;
    json_t *j = json_loadb(line, len, 0, &error);
    if (!j)
        return -1;
    *out = from_jansson(j);
    json_decref(j);
    return 0;
}

/* jansson alone, for reference: the tree it builds is not a record yet. */
static int parse_jansson_only(const char *line, size_t len, struct value *out)
{
    json_error_t error;
    json_t *j = json_loadb(line, len, 0, &error);
    if (!j)
        return -1;
    json_decref(j);
    *out = value_null();
    return 0;
}

typedef int parse_fn(const char *line, size_t len, struct value *out);

static const char *line_at(const struct corpus *c, size_t i, size_t *len)
{
    *len = c->offsets[i + 1] - c->offsets[i];
    return c->text.data + c->offsets[i];
}

/* Both parsers must agree on every line before their speed means anything. */
static size_t count_disagreements(const struct corpus *c)
{
    size_t bad = 0;
    for (size_t i = 0; i < c->count; i++) {
        size_t len;
        const char *line = line_at(c, i, &len);
        struct value a, b;
        if (parse_skiff(line, len, &a) < 0 || parse_jansson(line, len, &b) < 0 ||
            !value_equal(&a, &b))
            bad++;
        value_free(&a);
        value_free(&b);
    }
    return bad;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The fastest of `rounds` passes over the corpus, in seconds. */
static double best_pass(const struct corpus *c, parse_fn *parse, int rounds)
{
    double best = 0;
    for (int r = 0; r < rounds; r++) {
        double start = now();
        for (size_t i = 0; i < c->count; i++) {
            size_t len;
            const char *line = line_at(c, i, &len);
            struct value v;
            if (parse(line, len, &v) < 0) {
                fprintf(stderr, "line %zu rejected\n", i);
                exit(1);
            }
            value_free(&v);
        }
        double elapsed = now() - start;
        if (r == 0 || elapsed < best)
            best = elapsed;
    }
    return best;
}

static void report(const char *name, const struct corpus *c, double seconds)
{
    printf("%-32s %8.1f MiB/s %10.0f lines/s\n", name, (double)c->text.len / seconds / 1048576.0,
           (double)c->count / seconds);
}

int main(int argc, char **argv)
{
    size_t lines = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000;
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    struct corpus c = corpus_generate(lines);
    size_t shortest = SIZE_MAX, longest = 0;
    for (size_t i = 0; i < c.count; i++) {
        size_t len = c.offsets[i + 1] - c.offsets[i];
        shortest = len < shortest ? len : shortest;
        longest = len > longest ? len : longest;
    }
    printf("%zu lines of %zu to %zu bytes, %.1f MiB; best of %d passes\n", c.count, shortest,
           longest, (double)c.text.len / 1048576.0, rounds);
    size_t bad = count_disagreements(&c);
    if (bad) {
        fprintf(stderr, "%zu lines parsed differently\n", bad);
        return 1;
    }
    report("json_parse", &c, best_pass(&c, parse_skiff, rounds));
    report("jansson json_loadb + convert", &c, best_pass(&c, parse_jansson, rounds));
    report("jansson json_loadb alone", &c, best_pass(&c, parse_jansson_only, rounds));
    buf_free(&c.text);
    free(c.offsets);
    return 0;
}
