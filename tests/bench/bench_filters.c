/* Per-record cost of the record filters: modify, nest, record_modifier,
 * throttle and redact, each made from YAML options as the config loader makes them,
 * on container log records as they leave the cri parser and the kubernetes
 * filter (`log`, `stream`, `logtag`, and a shared `kubernetes` attachment
 * per pod, about 330 bytes as JSON). Every case copies a record, runs the
 * filter and appends what it kept to a chunk; the case without a filter is
 * that path alone. Prints ns/record and records/s of each case and the
 * filter's own share. Not part of the build; run by hand (README.md):
 *
 *   meson setup build-release --buildtype=release -Dtests=false
 *   meson compile -C build-release
 *   gcc -O2 -std=gnu11 -I. -Iagent -Ibuild-release tests/bench/bench_filters.c \
 *       build-release/libskiff_core.a -lz -ldeflate -lyaml -lcurl -lssl -lcrypto -lsystemd \
 *       -lpcre2-8 -lpthread -lm -o build-release/bench_filters
 *   ./build-release/bench_filters              # 200,000 records, best of 5 passes
 *   ./build-release/bench_filters 50000 3      # RECORDS PASSES
 */
#include "bench_rng.h"
#include "buf.h"
#include "cfg_node.h"
#include "chunk.h"
#include "diag.h"
#include "json.h"
#include "json_parse.h"
#include "log.h"
#include "loop.h"
#include "options.h"
#include "plugin_api.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PODS 40
#define TEMPLATES 1000
#define CHUNK_BYTES (2u << 20) /* sealed at 2 MiB, as the chunk store does */

struct filter_case {
    const char *title;
    const char *plugin; /* NULL: no filter */
    const char *yaml;
};

static const struct filter_case cases[] = {
    {"no filter (copy, chunk append, free)", NULL, NULL},
    {"modify: 1 condition, 4 rules", "modify",
     "condition: ['key_exists log']\n"
     "rules: ['set cluster prod', 'rename log message', 'copy kubernetes.pod_name pod', "
     "'remove logtag']\n"},
    {"nest: lift kubernetes, add_prefix", "nest",
     "operation: lift\nnested_under: kubernetes\nadd_prefix: kubernetes_\n"},
    {"record_modifier: record (2) + remove_key", "record_modifier",
     "record: { hostname: node-12, cluster: prod }\nremove_key: [logtag]\n"},
    {"throttle: one window", "throttle", "rate: 1000000000\n"},
    {"throttle: key kubernetes.pod_name (40 pods)", "throttle",
     "rate: 1000000000\nkey: kubernetes.pod_name\n"},
    {"redact: every detector (bench_redact.c: more cases)", "redact", "{}\n"},
};

/* CPU time, not wall time: on a shared machine the time the process waits
 * for a CPU is not the filters' cost. */
static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The kubernetes filter's metadata of pod `i`, as one attachment per pod. */
static struct attachment *pod_attachment(int i)
{
    struct buf json = BUF_INIT;
    buf_printf(&json,
               "{\"pod_name\":\"shop-web-7d9f8c5b4-%05d\",\"namespace_name\":\"shop\","
               "\"pod_id\":\"3f1c2a9e-8d4b-4c1e-9a7f-%012d\",\"labels\":{\"app\":\"web\","
               "\"pod-template-hash\":\"7d9f8c5b4\"},\"host\":\"node-12\","
               "\"container_name\":\"web\",\"docker_id\":\"%064d\","
               "\"container_image\":\"registry.example.com/shop/web:1.4.2\"}",
               i, i, i);
    struct value meta;
    if (json_parse(json.data, json.len, &meta, NULL) < 0)
        abort();
    buf_free(&json);
    return attachment_new("kubernetes", &meta);
}

/* A record as the cri parser leaves it: a message of 30 to 90 bytes. */
static void template_record(struct record *rec)
{
    static const char *const words[] = {"GET",    "/api/v1/orders", "200",       "took",
                                        "12.5ms", "user=42",        "upstream",  "cache",
                                        "miss",   "request",        "completed", "POST"};
    struct buf msg = BUF_INIT;
    size_t size = 30 + rng(61);
    while (msg.len < size) {
        buf_append_str(&msg, words[rng(sizeof words / sizeof words[0])]);
        buf_append_byte(&msg, ' ');
    }
    record_init(rec);
    rec->time = (struct record_time){.sec = 1714558500, .nsec = rng(1000000000)};
    struct value v = value_string(msg.data, msg.len);
    value_map_set(&rec->fields, "log", 3, &v);
    v = value_cstring(rng(4) ? "stdout" : "stderr");
    value_map_set(&rec->fields, "stream", 6, &v);
    v = value_cstring("F");
    value_map_set(&rec->fields, "logtag", 6, &v);
    buf_free(&msg);
}

/* A filter instance made from `yaml` as the config loader makes one. */
static void open_filter(struct instance *f, const struct filter_case *c)
{
    const struct plugin *plugin = plugin_find(c->plugin, PLUGIN_FILTER);
    struct diag_list diags = {0};
    struct cfg_node *root = cfg_parse_string("bench.yaml", c->yaml, strlen(c->yaml), &diags);
    if (!plugin || !root) {
        fprintf(stderr, "%s: no such filter, or bad YAML\n", c->plugin);
        exit(1);
    }
    memset(f, 0, sizeof *f);
    f->plugin = plugin;
    f->alias = c->plugin;
    f->options = xcalloc(1, plugin->options_size);
    f->loop = loop_create(); /* never run: throttle's clock stands still */
    struct option_target target = {plugin->options, f->options};
    if (options_apply(&target, 1, root, c->plugin, NULL, &diags) != 0 ||
        (plugin->validate && plugin->validate(f->options, root, c->plugin, &diags) != 0) ||
        (plugin->init && plugin->init(f) != 0)) {
        fprintf(stderr, "%s: %s\n", c->plugin, diags.count ? diags.messages[0] : "init failed");
        exit(1);
    }
    cfg_node_free(root);
    diag_free(&diags);
}

static void close_filter(struct instance *f)
{
    if (f->plugin->destroy)
        f->plugin->destroy(f);
    options_free(f->plugin->options, f->options);
    free(f->options);
    loop_destroy(f->loop);
}

struct corpus {
    struct record templates[TEMPLATES];
    struct attachment *pods[PODS];
};

/* The records' mean size as an output writes them (JSON, with the
 * attachment and the time). */
static double mean_json_bytes(const struct corpus *corpus)
{
    struct buf json = BUF_INIT;
    size_t total = 0;
    for (int i = 0; i < TEMPLATES; i++) {
        struct value all = value_map_new();
        struct value copy;
        for (uint32_t j = 0; j < corpus->templates[i].fields.count; j++) {
            copy = value_clone(&corpus->templates[i].fields.entries[j].value);
            const struct value_string *key = &corpus->templates[i].fields.entries[j].key;
            value_map_set(&all.as.map, key->ptr, key->len, &copy);
        }
        copy = value_clone(&corpus->pods[i % PODS]->value);
        value_map_set(&all.as.map, "kubernetes", 10, &copy);
        buf_reset(&json);
        json_write_value(&json, &all, NULL);
        json_write_time(&json, corpus->templates[i].time);
        total += json.len + strlen(",\"@timestamp\":");
        value_free(&all);
    }
    buf_free(&json);
    return (double)total / TEMPLATES;
}

/* One pass: `count` records through `f` (NULL: none) into chunks. */
static double run_pass(const struct corpus *corpus, struct instance *f, size_t count)
{
    struct chunk *chunk = chunk_new(1, 0, "kube.shop", 1, 0);
    double start = now_seconds();
    for (size_t i = 0; i < count; i++) {
        const struct record *t = &corpus->templates[i % TEMPLATES];
        struct record rec;
        record_init(&rec);
        rec.time = t->time;
        rec.origin = (struct record_origin){.source_id = 1, .offset = i + 1};
        for (uint32_t j = 0; j < t->fields.count; j++) {
            struct value copy = value_clone(&t->fields.entries[j].value);
            value_map_set(&rec.fields, t->fields.entries[j].key.ptr, t->fields.entries[j].key.len,
                          &copy);
        }
        record_attach(&rec, corpus->pods[(i / 7) % PODS]);
        if (!f || f->plugin->filter(f, NULL, "kube.shop", &rec) == FILTER_KEEP)
            chunk_append(chunk, &rec);
        record_free(&rec);
        if (chunk->data.len >= CHUNK_BYTES) {
            chunk_free(chunk);
            chunk = chunk_new(1, 0, "kube.shop", 1, 0);
        }
    }
    double elapsed = now_seconds() - start;
    chunk_free(chunk);
    return elapsed;
}

/* The best of `passes` rounds; each round runs every case once, so that
 * what else runs on the machine weighs on all cases alike. */
static void best_of(const struct corpus *corpus, size_t count, int passes, double *best)
{
    enum { CASES = sizeof cases / sizeof cases[0] };
    struct instance filters[CASES];
    for (size_t c = 0; c < CASES; c++)
        if (cases[c].plugin)
            open_filter(&filters[c], &cases[c]);
    for (int p = 0; p < passes; p++) {
        for (size_t c = 0; c < CASES; c++) {
            double t = run_pass(corpus, cases[c].plugin ? &filters[c] : NULL, count);
            if (p == 0 || t < best[c])
                best[c] = t;
        }
    }
    for (size_t c = 0; c < CASES; c++)
        if (cases[c].plugin)
            close_filter(&filters[c]);
}

int main(int argc, char **argv)
{
    size_t count = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000;
    int passes = argc > 2 ? atoi(argv[2]) : 5;
    static struct corpus corpus;
    if (count == 0 || passes < 1) {
        fprintf(stderr, "usage: bench_filters [RECORDS [PASSES]]\n");
        return 2;
    }
    log_set_level(LOG_ERROR);
    for (int i = 0; i < PODS; i++)
        corpus.pods[i] = pod_attachment(i);
    for (int i = 0; i < TEMPLATES; i++)
        template_record(&corpus.templates[i]);

    printf("%zu records per pass, best of %d passes (CPU time), %.0f bytes per record as JSON\n\n",
           count, passes, mean_json_bytes(&corpus));
    printf("| case | ns/record | records/s | filter's own ns/record |\n|---|---:|---:|---:|\n");
    double best[sizeof cases / sizeof cases[0]];
    best_of(&corpus, count, passes, best);
    double base_ns = best[0] * 1e9 / (double)count; /* cases[0] has no filter */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double ns = best[i] * 1e9 / (double)count;
        if (cases[i].plugin)
            printf("| %s | %.0f | %.2f M | %.0f |\n", cases[i].title, ns, 1e3 / ns, ns - base_ns);
        else
            printf("| %s | %.0f | %.2f M | - |\n", cases[i].title, ns, 1e3 / ns);
    }
    for (int i = 0; i < PODS; i++)
        attachment_unref(corpus.pods[i]);
    for (int i = 0; i < TEMPLATES; i++)
        record_free(&corpus.templates[i]);
    return 0;
}
