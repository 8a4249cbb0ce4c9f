/* Index names expanded once per run of records with the same key
 * (es_index_key_of, used by es_bulk.c): every record of a batch still gets
 * the name, the fallback and the fixes that expanding it alone gives, across
 * minute, hour and day boundaries, times before 1970 and out of range, and
 * fields read through shared, equal or missing attachments or the record's
 * own fields. */
#include "suites.h"

#include "es_helpers.h"

#include "chunk.h"
#include "plugins/out_elasticsearch/es_bulk.h"
#include "plugins/out_elasticsearch/es_index.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Record times in runs: the same second, the same minute, the next minute,
 * hour and day, around the epoch and beyond the years 0000 and 9999. */
static const int64_t times[] = {
    T_2024_05_01,
    T_2024_05_01,
    T_2024_05_01 + 59,
    T_2024_05_01 + 60,
    T_2024_05_01 + 3600,
    1714607999,
    1714608000,
    1714608000 + 86400,
    -86401,
    -86400,
    -1,
    0,
    -70000000000LL,
    -62167219200LL,
    253402300799LL,
    300000000000LL,
    1735689599,
    1735689600,
    T_2024_05_01,
    T_2024_05_01 + 30,
};
#define TIME_COUNT (sizeof times / sizeof times[0])

static struct value kubernetes_meta(const char *namespace_name, const char *app)
{
    struct value meta = value_map_new();
    set_str(&meta.as.map, "namespace_name", namespace_name);
    if (app) {
        struct value labels = value_map_new();
        set_str(&labels.as.map, "app", app);
        value_map_set(&meta.as.map, "labels", 6, &labels);
    }
    return meta;
}

/* Records whose "kubernetes" is one of two shared attachments, a fresh
 * attachment equal to the first, the record's own field, or missing. */
static struct chunk *mixed_chunk(size_t records)
{
    struct value meta = kubernetes_meta("Kube-System", "web");
    struct attachment *shared = attachment_new("kubernetes", &meta);
    meta = kubernetes_meta("a b", NULL);
    struct attachment *other = attachment_new("kubernetes", &meta);
    struct chunk *chunk = chunk_new(1, 0, "kube.x", 1, 0);
    for (size_t i = 0; i < records; i++) {
        struct record rec;
        make_record(&rec, times[i / 2 % TIME_COUNT], 3, i + 1);
        set_str(&rec.fields, "stream", i / 4 % 2 ? "Err" : "stdout");
        struct attachment *fresh = NULL;
        switch (i / 3 % 5) {
        case 0:
            ck_assert_int_eq(record_attach(&rec, shared), 0);
            break;
        case 1:
            ck_assert_int_eq(record_attach(&rec, other), 0);
            break;
        case 2:
            meta = kubernetes_meta("Kube-System", "web");
            fresh = attachment_new("kubernetes", &meta);
            ck_assert_int_eq(record_attach(&rec, fresh), 0);
            attachment_unref(fresh);
            break;
        case 3:
            meta = kubernetes_meta("own", "mine");
            value_map_set(&rec.fields, "kubernetes", 10, &meta);
            break;
        default:
            break;
        }
        ck_assert_uint_gt(chunk_append(chunk, &rec), 0);
        record_free(&rec);
    }
    attachment_unref(shared);
    attachment_unref(other);
    return chunk;
}

/* What the batch's counts must be: each record's name expanded alone. */
struct expected {
    struct buf actions;
    size_t fallbacks;
    size_t fixes[ES_INDEX_FIX_COUNT];
};

static void expect_each_alone(const struct chunk *chunk, const struct es_index_pattern *index,
                              struct expected *want)
{
    size_t pos = 0;
    struct record_view view;
    while (chunk_next(chunk, &pos, &view) == 1) {
        struct buf raw = BUF_INIT, name = BUF_INIT;
        int fallback = es_index_expand(index, &view, chunk->attachments, &raw);
        ck_assert_int_ge(fallback, 0);
        want->fallbacks += (size_t)fallback;
        unsigned fixes = es_index_name_fix(raw.data, raw.len, &name);
        for (unsigned f = 0; f < ES_INDEX_FIX_COUNT; f++)
            want->fixes[f] += (fixes >> f) & 1;
        buf_printf(&want->actions, "{\"index\":{\"_index\":\"%s\"}}\n", buf_cstr(&name));
        buf_free(&raw);
        buf_free(&name);
    }
}

/* The action lines of a body, one after the other. */
static void actions_of(const char *body, struct buf *out)
{
    for (const char *line = body; *line;) {
        const char *end = strchr(line, '\n');
        ck_assert_ptr_nonnull(end);
        buf_append(out, line, (size_t)(end - line + 1));
        line = strchr(end + 1, '\n');
        ck_assert_ptr_nonnull(line);
        line++;
    }
}

START_TEST(test_names_in_runs_are_each_records_own)
{
    static const char *const patterns[] = {
        "logs-%Y.%m.%d",
        "logs-%Y.%m.%d.%H",
        "l-%H.%M",
        "l-%j-%Y",
        "${kubernetes.namespace_name}-%Y.%m.%d",
        "a-${kubernetes.labels.app}",
        "k-${kubernetes.namespace_name}-${stream}-%M",
        "n${kubernetes.namespace_name}${kubernetes.namespace_name}${kubernetes.labels.app}"
        "${kubernetes.namespace_name}${kubernetes.namespace_name}",
        "s-${stream}",
    };
    struct chunk *chunk = mixed_chunk(3 * 5 * 2 * TIME_COUNT);
    for (size_t p = 0; p < sizeof patterns / sizeof patterns[0]; p++) {
        struct es_index_pattern *index = compile_ok(patterns[p]);
        struct expected want = {BUF_INIT, 0, {0}};
        expect_each_alone(chunk, index, &want);
        struct es_bulk_options opts = default_options(index);
        struct es_bulk_result result;
        char *body = build_all(chunk, &opts, &result);
        struct buf got = BUF_INIT;
        actions_of(body, &got);
        ck_assert_msg(strcmp(buf_cstr(&got), buf_cstr(&want.actions)) == 0, "%s", patterns[p]);
        ck_assert_uint_eq(result.index_fallbacks, want.fallbacks);
        ck_assert_mem_eq(result.index_fixes, want.fixes, sizeof want.fixes);
        buf_free(&got);
        buf_free(&want.actions);
        free(body);
        es_index_pattern_free(index);
    }
    chunk_free(chunk);
}
END_TEST

/* The key of the record at `sec` with `pattern` and no attachments. */
static bool key_at(const char *pattern, int64_t sec, struct es_index_key *key)
{
    struct es_index_pattern *p = compile_ok(pattern);
    struct record rec;
    make_record(&rec, sec, 1, 1);
    set_str(&rec.fields, "stream", "stdout");
    struct chunk *chunk = chunk_of(&rec);
    size_t pos = 0;
    struct record_view view;
    ck_assert_int_eq(chunk_next(chunk, &pos, &view), 1);
    bool keyed = es_index_key_of(p, &view, chunk->attachments, key);
    chunk_free(chunk);
    es_index_pattern_free(p);
    return keyed;
}

static bool same_key(const char *pattern, int64_t a, int64_t b)
{
    struct es_index_key ka, kb;
    ck_assert(key_at(pattern, a, &ka));
    ck_assert(key_at(pattern, b, &kb));
    return es_index_key_equal(&ka, &kb);
}

START_TEST(test_key_periods)
{
    ck_assert(same_key("d-%Y.%m.%d", -86400, -1)); /* 1969-12-31 */
    ck_assert(!same_key("d-%Y.%m.%d", -1, 0));
    ck_assert(!same_key("d-%Y.%m.%d", 1714607999, 1714608000));
    ck_assert(same_key("d-%j", T_2024_05_01, T_2024_05_01 + 3600));
    ck_assert(!same_key("h-%H", T_2024_05_01, T_2024_05_01 + 3600));
    ck_assert(same_key("h-%H", 1714557600, 1714557600 + 3599)); /* 10:00:00, 10:59:59 */
    ck_assert(!same_key("m-%d%M", T_2024_05_01 + 59, T_2024_05_01 + 60));
    ck_assert(same_key("m-%d%M", -61, -120));
    /* Times out of 0000-9999 are clamped as the name is. */
    ck_assert(same_key("d-%Y", -70000000000LL, -62167219200LL));
    ck_assert(same_key("m-%M", 253402300799LL, 300000000000LL));
    ck_assert(same_key("constant", 0, 300000000000LL));

    struct es_index_key key;
    ck_assert(!key_at("s-${stream}", 0, &key));     /* the record's own field */
    ck_assert(!key_at("${kubernetes.x}", 0, &key)); /* no attachment: read from the record */
}
END_TEST

Suite *es_index_cache_suite(void)
{
    Suite *s = suite_create("es_index_cache");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_names_in_runs_are_each_records_own);
    tcase_add_test(tc, test_key_periods);
    suite_add_tcase(s, tc);
    return s;
}
