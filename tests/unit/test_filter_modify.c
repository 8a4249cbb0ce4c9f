/* Unit tests for the modify filter's program (plugins/filter_modify): each
 * rule and condition with Fluent Bit's semantics, the load-time errors, and
 * attachments changed only through the record API. */
#include "suites.h"

#include "plugins/filter_modify/modify_rules.h"
#include "record.h"
#include "value.h"

#include <stdlib.h>
#include <string.h>

/* A program from condition lines and rule lines (each list NULL-terminated). */
static struct modify_program program(const char *const *conditions, const char *const *rules)
{
    struct modify_program prog = {0};
    char *error = NULL;
    for (size_t i = 0; conditions && conditions[i]; i++)
        ck_assert_msg(modify_add_line(&prog, true, conditions[i], &error) == 0, "%s: %s",
                      conditions[i], error);
    for (size_t i = 0; rules && rules[i]; i++)
        ck_assert_msg(modify_add_line(&prog, false, rules[i], &error) == 0, "%s: %s", rules[i],
                      error);
    return prog;
}

static void put_str(struct record *rec, const char *key, const char *s)
{
    struct value v = value_cstring(s);
    record_set_key(rec, key, &v);
}

static void put_int(struct record *rec, const char *key, int64_t i)
{
    struct value v = value_int(i);
    record_set_key(rec, key, &v);
}

static const char *str(const struct record *rec, const char *key)
{
    const struct value *v = record_get_key(rec, key);
    if (!v)
        return NULL;
    ck_assert_int_eq(v->type, VALUE_STRING);
    return v->as.string.ptr;
}

static const struct value *get(const struct record *rec, const char *text)
{
    struct field_path p;
    char *error = NULL;
    ck_assert_int_eq(field_path_parse(text, &p, &error), 0);
    const struct value *v = record_get(rec, &p);
    field_path_free(&p);
    return v;
}

/* Runs `rules` under `conditions` on `rec`; returns whether it changed. */
static bool run(struct record *rec, const char *const *conditions, const char *const *rules)
{
    struct modify_program prog = program(conditions, rules);
    bool changed = modify_apply(&prog, rec);
    modify_program_free(&prog);
    return changed;
}

/* The store that lends base()'s records their strings, as tail's records
 * have them: the rules must work on borrowed strings. One record at a time. */
static struct record_text base_text;

/* A record {log: "hello", stream: "stderr", n: 3}. */
static void base(struct record *rec)
{
    if (!base_text.data)
        record_text_init(&base_text);
    record_init(rec);
    record_reuse_now(rec, &base_text);
    record_set_text(rec, "log", 3, "hello", 5);
    record_set_text(rec, "stream", 6, "stderr", 6);
    put_int(rec, "n", 3);
}

/* An attachment `kubernetes` {pod_name: p1, labels: {app: web}}. */
static struct attachment *kube(void)
{
    struct value meta = value_map_new();
    struct value labels = value_map_new();
    struct value s = value_cstring("web");
    value_map_set(&labels.as.map, "app", 3, &s);
    s = value_cstring("p1");
    value_map_set(&meta.as.map, "pod_name", 8, &s);
    value_map_set(&meta.as.map, "labels", 6, &labels);
    return attachment_new("kubernetes", &meta);
}

START_TEST(test_set_and_add)
{
    struct record rec;
    base(&rec);
    const char *rules[] = {"set level error",      "set log replaced",     "add log ignored",
                           "add host \"my host\"", "set labels.team core", NULL};
    ck_assert(run(&rec, NULL, rules));
    ck_assert_str_eq(str(&rec, "level"), "error");
    ck_assert_str_eq(str(&rec, "log"), "replaced");
    ck_assert_str_eq(str(&rec, "host"), "my host");
    ck_assert_str_eq(get(&rec, "labels.team")->as.string.ptr, "core");
    record_free(&rec);
}
END_TEST

START_TEST(test_remove_forms)
{
    struct record rec;
    base(&rec);
    put_int(&rec, "tmp_a", 1);
    put_str(&rec, "tmp_b", "x");
    put_str(&rec, "drop_me", "x");
    const char *rules[] = {"remove missing", "remove n", "remove_wildcard tmp_*",
                           "remove_regex ^drop_", NULL};
    ck_assert(run(&rec, NULL, rules));
    ck_assert_ptr_null(record_get_key(&rec, "n"));
    ck_assert_ptr_null(record_get_key(&rec, "tmp_a"));
    ck_assert_ptr_null(record_get_key(&rec, "tmp_b"));
    ck_assert_ptr_null(record_get_key(&rec, "drop_me"));
    ck_assert_uint_eq(rec.fields.count, 2);
    const char *nothing[] = {"remove missing", "remove_wildcard zz*", NULL};
    ck_assert(!run(&rec, NULL, nothing));
    record_free(&rec);
}
END_TEST

START_TEST(test_rename_and_copy)
{
    struct record rec;
    base(&rec);
    const char *soft[] = {"rename log stream", "copy log stream", "rename missing x", NULL};
    ck_assert(!run(&rec, NULL, soft));
    ck_assert_str_eq(str(&rec, "stream"), "stderr");
    ck_assert_str_eq(str(&rec, "log"), "hello");
    const char *rules[] = {"copy log message", "hard_copy n stream", "rename message msg",
                           "hard_rename msg log", NULL};
    ck_assert(run(&rec, NULL, rules));
    ck_assert_int_eq(record_get_key(&rec, "stream")->as.integer, 3);
    ck_assert_int_eq(record_get_key(&rec, "n")->as.integer, 3);
    ck_assert_str_eq(str(&rec, "log"), "hello");
    ck_assert_ptr_null(record_get_key(&rec, "msg"));
    ck_assert_ptr_null(record_get_key(&rec, "message"));
    record_free(&rec);
}
END_TEST

START_TEST(test_key_conditions)
{
    struct record rec;
    base(&rec);
    const char *rules[] = {"set hit yes", NULL};
    const char *exists[] = {"key_exists log", "key_does_not_exist level", NULL};
    ck_assert(run(&rec, exists, rules));
    const char *missing[] = {"key_exists level", NULL};
    ck_assert(!run(&rec, missing, rules));
    const char *present[] = {"key_does_not_exist log", NULL};
    ck_assert(!run(&rec, present, rules));
    const char *any[] = {"a_key_matches ^str", NULL};
    const char *none[] = {"no_key_matches ^str", NULL};
    const char *set2[] = {"set hit2 yes", NULL};
    ck_assert(run(&rec, any, set2));
    ck_assert(!run(&rec, none, set2));
    record_free(&rec);
}
END_TEST

START_TEST(test_value_conditions)
{
    struct record rec;
    base(&rec);
    struct value b = value_bool(true);
    record_set_key(&rec, "flag", &b);
    const char *rules[] = {"set hit yes", NULL};
    const char *equals[] = {"key_value_equals stream stderr", NULL};
    ck_assert(run(&rec, equals, rules));
    const char *not_string[] = {"key_value_equals n 3", NULL};
    ck_assert(!run(&rec, not_string, rules));
    const char *missing[] = {"key_value_equals nope x", NULL};
    ck_assert(!run(&rec, missing, rules));
    const char *not_equal_missing[] = {"key_value_does_not_equal nope x", NULL};
    ck_assert(!run(&rec, not_equal_missing, rules));
    const char *not_equal[] = {"key_value_does_not_equal stream stdout", NULL};
    ck_assert(run(&rec, not_equal, rules));
    const char *matches[] = {"key_value_matches log ^hel+o$", "key_value_matches flag ^true$",
                             NULL};
    ck_assert(run(&rec, matches, rules));
    const char *int_never[] = {"key_value_matches n 3", NULL};
    ck_assert(!run(&rec, int_never, rules));
    const char *no_match[] = {"key_value_does_not_match log ^x", NULL};
    ck_assert(run(&rec, no_match, rules));
    record_free(&rec);
}
END_TEST

START_TEST(test_matching_keys_values)
{
    struct record rec;
    base(&rec);
    put_str(&rec, "s_a", "ok-1");
    put_str(&rec, "s_b", "ok-2");
    const char *rules[] = {"set hit yes", NULL};
    const char *all_ok[] = {"matching_keys_have_matching_values ^s_ ^ok-", NULL};
    ck_assert(run(&rec, all_ok, rules));
    const char *none_match[] = {"matching_keys_have_matching_values ^zz x", NULL};
    ck_assert(run(&rec, none_match, rules));
    put_str(&rec, "s_c", "bad");
    ck_assert(!run(&rec, all_ok, rules));
    const char *negated[] = {"matching_keys_do_not_have_matching_values ^s_ ^ok-", NULL};
    const char *set2[] = {"set hit2 yes", NULL};
    ck_assert(run(&rec, negated, set2));
    record_free(&rec);
}
END_TEST

START_TEST(test_attachments)
{
    struct record rec;
    base(&rec);
    struct attachment *a = kube();
    ck_assert_int_eq(record_attach(&rec, a), 0);
    const char *conds[] = {"key_value_equals kubernetes.labels.app web", NULL};
    const char *rules[] = {"copy kubernetes.pod_name pod", "remove kubernetes.labels.app",
                           "rename kubernetes k8s", NULL};
    ck_assert(run(&rec, conds, rules));
    ck_assert_str_eq(str(&rec, "pod"), "p1");
    ck_assert_ptr_null(record_get_key(&rec, "kubernetes"));
    ck_assert_ptr_null(get(&rec, "k8s.labels.app"));
    ck_assert_str_eq(get(&rec, "k8s.pod_name")->as.string.ptr, "p1");
    /* The shared value is unchanged. */
    ck_assert_ptr_nonnull(value_map_get(&a->value.as.map, "labels", 6));
    ck_assert_ptr_nonnull(
        value_map_get(&value_map_get(&a->value.as.map, "labels", 6)->as.map, "app", 3));
    record_free(&rec);

    base(&rec);
    ck_assert_int_eq(record_attach(&rec, a), 0);
    const char *wild[] = {"remove_wildcard kube*", NULL};
    ck_assert(run(&rec, NULL, wild));
    ck_assert_ptr_null(record_get_key(&rec, "kubernetes"));
    ck_assert_uint_eq(rec.attachment_count, 0);
    record_free(&rec);
    attachment_unref(a);
}
END_TEST

/* encode_json turns a subtree into one string of its JSON (here inside an
 * attachment, which stays shared and unchanged); scalars and missing keys
 * are left alone. */
START_TEST(test_encode_json)
{
    struct record rec;
    base(&rec);
    struct attachment *a = kube();
    ck_assert_int_eq(record_attach(&rec, a), 0);
    const char *rules[] = {"encode_json kubernetes.labels", "encode_json log",
                           "encode_json missing", NULL};
    ck_assert(run(&rec, NULL, rules));
    ck_assert_str_eq(get(&rec, "kubernetes.labels")->as.string.ptr, "{\"app\":\"web\"}");
    ck_assert_str_eq(str(&rec, "log"), "hello");
    ck_assert_ptr_null(record_get_key(&rec, "missing"));
    ck_assert_int_eq(value_map_get(&a->value.as.map, "labels", 6)->type, VALUE_MAP);
    record_free(&rec);
    attachment_unref(a);
}
END_TEST

/* Past encode_max_bytes the JSON is cut at a character boundary, marked with
 * the bytes cut, and counted. */
START_TEST(test_encode_json_cut)
{
    struct record rec;
    record_init(&rec);
    struct value obj = value_map_new();
    struct value s = value_cstring("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"); /* 4 x U+00E9 */
    value_map_set(&obj.as.map, "k", 1, &s);
    record_set_key(&rec, "o", &obj);
    struct modify_program prog = program(NULL, (const char *[]){"encode_json o", NULL});
    struct metric cut = {0};
    prog.encode_cut = &cut;
    prog.encode_max_bytes = 9; /* byte 9 is inside the second é: cut before it */
    ck_assert(modify_apply(&prog, &rec));
    ck_assert_str_eq(str(&rec, "o"), "{\"k\":\"\xc3\xa9...[cut 8 bytes]");
    ck_assert_int_eq(cut.value, 1);
    prog.encode_max_bytes = 0; /* the default: a short value is whole */
    struct value again = value_map_new();
    record_set_key(&rec, "o", &again);
    ck_assert(modify_apply(&prog, &rec));
    ck_assert_str_eq(str(&rec, "o"), "{}");
    ck_assert_int_eq(cut.value, 1);
    modify_program_free(&prog);
    record_free(&rec);
}
END_TEST

/* Each bad line's message names the problem. */
static void bad(bool condition, const char *line, const char *expect)
{
    struct modify_program prog = {0};
    char *error = NULL;
    ck_assert_int_eq(modify_add_line(&prog, condition, line, &error), -1);
    ck_assert_msg(error && strstr(error, expect), "%s: got '%s', want '%s'", line,
                  error ? error : "", expect);
    free(error);
    ck_assert_uint_eq(prog.rule_count + prog.condition_count, 0);
    modify_program_free(&prog);
}

START_TEST(test_compile_errors)
{
    bad(false, "sett a b", "unknown rule 'sett'");
    bad(false, "", "empty rule");
    bad(false, "set a", "set: takes 2 arguments");
    bad(false, "remove a b", "remove: takes 1 argument");
    bad(false, "set a b c d e", "set: takes 2 arguments");
    bad(false, "key_exists a", "unknown rule 'key_exists'");
    bad(true, "set a b", "unknown condition 'set'");
    bad(false, "remove_regex (", "remove_regex: regex '('");
    bad(true, "matching_keys_have_matching_values ^a (", "regex '('");
    bad(false, "rename a.. b", "rename: key 'a..'");
    bad(false, "encode_json", "encode_json: takes 1 argument");
    struct modify_program prog = {0};
    char *error = NULL;
    ck_assert_int_eq(modify_add_line(&prog, false, "SET a b", &error), 0);
    ck_assert_uint_eq(prog.rule_count, 1);
    modify_program_free(&prog);
}
END_TEST

Suite *filter_modify_suite(void)
{
    Suite *s = suite_create("filter_modify");
    TCase *tc = tcase_create("modify");
    tcase_add_test(tc, test_set_and_add);
    tcase_add_test(tc, test_remove_forms);
    tcase_add_test(tc, test_rename_and_copy);
    tcase_add_test(tc, test_key_conditions);
    tcase_add_test(tc, test_value_conditions);
    tcase_add_test(tc, test_matching_keys_values);
    tcase_add_test(tc, test_attachments);
    tcase_add_test(tc, test_compile_errors);
    tcase_add_test(tc, test_encode_json);
    tcase_add_test(tc, test_encode_json_cut);
    suite_add_tcase(s, tc);
    return s;
}
