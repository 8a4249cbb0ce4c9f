/* Benchmark: what the redact filter costs per record on container logs. The
 * records are what tail -> cri -> kubernetes makes of a ~300-byte CRI line:
 * stream, logtag and a ~250-byte log text (access log, JSON, logfmt and Java
 * lines with timestamps, IPs, ids and numbers), the pod's metadata shared by
 * the pod's records (40 pods) and the file's path. Most lines hold nothing
 * to redact; a given share holds one secret (a card, a password, a bearer
 * token, a JWT, an AWS key id, an IBAN, in turn). Times only the filter
 * calls (thread CPU time), on fresh records, and prints the best of PASSES
 * in ns per record: `bench_redact [PASSES [CASE [ANCHORS]]]` (default 7,
 * every case, the best implementation of the scanner's anchors the CPU
 * runs; CASE: the start of a case's name, "" for all; ANCHORS: avx2, ssse3,
 * sse2, neon or portable, redact_anchor.h). A standalone program built by hand
 * (tests/bench/README.md). */
#include "cfg_node.h"
#include "diag.h"
#include "options.h"
#include "plugin_api.h"
#include "plugins/filter_redact/redact_anchor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 19968 /* records per pass, a multiple of GROUP */
#define GROUP 64
#define PODS 40

static const char *const clean_lines[] = {
    "10.244.3.17 - - [01/May/2024:10:15:00 +0000] \"GET /api/v1/orders/884213?customer=1234"
    "&page=2 HTTP/1.1\" 200 5123 \"-\" \"Mozilla/5.0 (X11; Linux x86_64)\" rt=0.012 "
    "uct=0.001 request_id=4f2a9c01-d3e5-4b7a-8c11-0e2a7f3b9d42",
    "{\"@timestamp\":\"2024-05-01T10:15:00.123Z\",\"level\":\"INFO\",\"logger\":\"com.example."
    "OrderService\",\"thread\":\"http-nio-8080-exec-7\",\"msg\":\"order 1234567812345678 placed "
    "by user 8842 total=129.90 EUR\",\"traceId\":\"4f2a9c01d3e54b7a\",\"spanId\":\"9d42\"}",
    "time=2024-05-01T10:15:00.123456Z level=info msg=\"request done\" method=GET "
    "path=/healthz status=200 duration=1.2ms remote=10.244.1.9:52344 bytes=312 "
    "trace=3b18e512dba79e4c8300dd08aeb37f8e728b8dad user_agent=kube-probe/1.29",
    "2024-05-01 10:15:00.123 WARN 1 --- [nio-8080-exec-3] c.e.p.PaymentClient : retrying "
    "call to payments-api (attempt 2 of 5) after 503 Service Unavailable; backoff=400ms "
    "pool=HikariPool-1 active=7 idle=3 waiting=0 uptime=86400s",
};

static const char *const secrets[] = {
    " card=4111 1111 1111 1111",
    " password=hunter2-Pa55",
    " Authorization: Bearer s3cr3t-b34r3r-t0k3n",
    " jwt=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    " key=AKIAIOSFODNN7EXAMPLE",
    " iban=GB82 WEST 1234 5698 7654 32",
};

#define COUNT(a) (sizeof a / sizeof a[0])

struct corpus {
    struct value *fields; /* one VALUE_MAP per record */
    struct attachment **pods;
    struct attachment *path;
    size_t count;
};

static struct value pod_metadata(unsigned i)
{
    char text[128];
    struct value meta = value_map_new(), labels = value_map_new();
    snprintf(text, sizeof text, "orders-api-7d9f8c6b5-%05u", i);
    struct value v = value_cstring(text);
    value_map_set(&meta.as.map, "pod_name", 8, &v);
    v = value_cstring("payments");
    value_map_set(&meta.as.map, "namespace_name", 14, &v);
    snprintf(text, sizeof text, "1b2c3d4e-5f60-4718-9a0b-%012u", i);
    v = value_cstring(text);
    value_map_set(&meta.as.map, "pod_id", 6, &v);
    v = value_cstring("orders-api");
    value_map_set(&labels.as.map, "app", 3, &v);
    v = value_cstring("7d9f8c6b5");
    value_map_set(&labels.as.map, "pod-template-hash", 17, &v);
    value_map_set(&meta.as.map, "labels", 6, &labels);
    v = value_cstring("ip-10-0-12-34.eu-west-1.compute.internal");
    value_map_set(&meta.as.map, "host", 4, &v);
    v = value_cstring("orders-api");
    value_map_set(&meta.as.map, "container_name", 14, &v);
    v = value_cstring("registry.example.com/payments/orders-api:2.14.3");
    value_map_set(&meta.as.map, "container_image", 15, &v);
    return meta;
}

static struct value record_fields(size_t i, unsigned secret_every)
{
    char text[512];
    const char *line = clean_lines[i % COUNT(clean_lines)];
    const char *secret =
        secret_every && i % secret_every == 0 ? secrets[(i / secret_every) % COUNT(secrets)] : "";
    snprintf(text, sizeof text, "%s%s", line, secret);
    struct value fields = value_map_new();
    struct value v = value_cstring(i % 5 ? "stdout" : "stderr");
    value_map_set(&fields.as.map, "stream", 6, &v);
    v = value_cstring("F");
    value_map_set(&fields.as.map, "logtag", 6, &v);
    v = value_cstring(text);
    value_map_set(&fields.as.map, "log", 3, &v);
    return fields;
}

static struct corpus corpus_make(unsigned secret_every)
{
    struct corpus c = {.count = BATCH};
    c.fields = calloc(BATCH, sizeof *c.fields);
    c.pods = calloc(PODS, sizeof *c.pods);
    for (unsigned i = 0; i < PODS; i++) {
        struct value meta = pod_metadata(i);
        c.pods[i] = attachment_new("kubernetes", &meta);
    }
    struct value path = value_cstring("/var/log/containers/orders-api_payments_orders-api-"
                                      "0123456789abcdef.log");
    c.path = attachment_new("path", &path);
    for (size_t i = 0; i < BATCH; i++)
        c.fields[i] = record_fields(i, secret_every);
    return c;
}

static void corpus_free(struct corpus *c)
{
    for (size_t i = 0; i < c->count; i++)
        value_free(&c->fields[i]);
    for (unsigned i = 0; i < PODS; i++)
        attachment_unref(c->pods[i]);
    attachment_unref(c->path);
    free(c->fields);
    free(c->pods);
}

static struct instance *filter_open(const char *yaml)
{
    const struct plugin *plugin = plugin_find("redact", PLUGIN_FILTER);
    struct diag_list diags = {0};
    struct cfg_node *root = cfg_parse_string("bench.yaml", yaml, strlen(yaml), &diags);
    struct instance *f = calloc(1, sizeof *f);
    f->plugin = plugin;
    f->alias = "redact.0";
    f->options = calloc(1, plugin->options_size);
    struct option_target target = {plugin->options, f->options};
    if (!root || options_apply(&target, 1, root, "redact", NULL, &diags) != 0 ||
        plugin->validate(f->options, root, "redact", &diags) != 0 || plugin->init(f) != 0) {
        diag_print(&diags, stderr);
        exit(1);
    }
    cfg_node_free(root);
    diag_free(&diags);
    return f;
}

static void filter_close(struct instance *f)
{
    f->plugin->destroy(f);
    options_free(f->plugin->options, f->options);
    free(f->options);
    free(f);
}

/* CPU time of this thread: on a shared machine, time spent waiting for a
 * core does not count. */
static double cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Fresh records for [first, first + n), as tail -> cri -> kubernetes hands
 * them on: their own fields, the pod's and the file's attachments. */
static void make_records(const struct corpus *c, size_t first, size_t n, struct record *out)
{
    for (size_t i = 0; i < n; i++) {
        record_init(&out[i]);
        struct value fields = value_clone(&c->fields[first + i]);
        out[i].fields = fields.as.map;
        record_attach(&out[i], c->pods[(first + i) % PODS]);
        record_attach(&out[i], c->path);
    }
}

/* The best pass's filter time per record, in ns of CPU. Records are made in
 * small groups just before the filter sees them, so they are in the cache as
 * they are in the pipeline, right after the parser made them. */
static int passes = 7;

static double measure(struct instance *f, const struct corpus *c)
{
    struct record records[GROUP];
    double best = 0;
    for (int pass = 0; pass < passes; pass++) {
        double spent = 0;
        for (size_t first = 0; first < c->count; first += GROUP) {
            make_records(c, first, GROUP, records);
            double start = cpu_ns();
            for (size_t i = 0; i < GROUP; i++)
                f->plugin->filter(f, NULL, "kube.var.log.containers.orders-api", &records[i]);
            spent += cpu_ns() - start;
            for (size_t i = 0; i < GROUP; i++)
                record_free(&records[i]);
        }
        double per_record = spent / (double)c->count;
        if (pass == 0 || per_record < best)
            best = per_record;
    }
    return best;
}

static const char *only; /* run only the case whose name starts so */

static void run_case(const char *name, const char *yaml, unsigned secret_every)
{
    if (only && strncmp(name, only, strlen(only)) != 0)
        return;
    struct corpus c = corpus_make(secret_every);
    struct instance *f = filter_open(yaml);
    printf("%-46s %8.0f ns/record\n", name, measure(f, &c));
    filter_close(f);
    corpus_free(&c);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        passes = atoi(argv[1]) > 0 ? atoi(argv[1]) : passes;
    if (argc > 2 && argv[2][0])
        only = argv[2];
    enum redact_anchor_impl impl = redact_anchor_impl_best();
    for (int i = 0; argc > 3 && i < REDACT_ANCHOR_IMPL_COUNT; i++)
        if (strcmp(argv[3], redact_anchor_impl_name((enum redact_anchor_impl)i)) == 0)
            impl = (enum redact_anchor_impl)i;
    if (redact_anchor_impl_force(impl) < 0) {
        fprintf(stderr, "the anchors' %s implementation does not run here\n",
                redact_anchor_impl_name(impl));
        return 1;
    }
    printf("anchors: %s\n", redact_anchor_impl_name(impl));
    const char *key_path = "/tmp/skiff-bench-redact.key";
    FILE *key = fopen(key_path, "w");
    if (!key || fputs("0123456789abcdef0123456789abcdef\n", key) < 0 || fclose(key) != 0) {
        perror(key_path);
        return 1;
    }
    char hash_yaml[256];
    snprintf(hash_yaml, sizeof hash_yaml, "replace: hash\nhash_key_file: %s\n", key_path);
    const char *rules = "rules:\n  internal_token: '\\bitk_[0-9a-f]{32}\\b'\n"
                        "  employee: 'EMP-(?<value>\\d{6})'\n";
    run_case("all detectors, no secrets", "{}", 0);
    run_case("all detectors, 1 line in 20 with a secret", "{}", 20);
    run_case("all detectors, every line with a secret", "{}", 1);
    run_case("fields: [log], 1 in 20", "fields: [log]\n", 20);
    run_case("+ 2 rules (PCRE2 JIT), 1 in 20", rules, 20);
    run_case("replace: hash, 1 in 20", hash_yaml, 20);
    run_case("detectors: [] (walking the record only)", "detectors: []\n", 20);
    remove(key_path);
    return 0;
}
