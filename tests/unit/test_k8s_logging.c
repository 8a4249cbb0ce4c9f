/* Unit tests for the pod annotations that steer logging (k8s_logging.c):
 * skiff.io/ and fluentbit.io/ names in every form Fluent Bit knows, which
 * one wins, truthy values, records of no known stream, and names that are
 * not annotations of ours. */
#include "suites.h"

#include "json_parse.h"
#include "plugins/filter_kubernetes/k8s_logging.h"

#include <stdio.h>
#include <string.h>

static struct value pod_with(const char *annotations_json)
{
    char json[2048];
    snprintf(json, sizeof json, "{\"metadata\":{\"name\":\"p\",\"annotations\":%s}}",
             annotations_json);
    struct value pod;
    ck_assert_int_eq(json_parse(json, strlen(json), &pod, NULL), 0);
    return pod;
}

/* Whether stdout, stderr and a record of no stream are excluded, as three
 * characters 'E' (excluded) or '-'. */
static void expect_exclude(const char *annotations, const char *container, const char *expected)
{
    struct value pod = pod_with(annotations);
    struct k8s_logging l;
    k8s_logging_read(&pod, container, &l);
    char got[4] = {
        k8s_logging_excluded(&l, K8S_STREAM_STDOUT) ? 'E' : '-',
        k8s_logging_excluded(&l, K8S_STREAM_STDERR) ? 'E' : '-',
        k8s_logging_excluded(&l, K8S_STREAM_OTHER) ? 'E' : '-',
        '\0',
    };
    ck_assert_msg(strcmp(got, expected) == 0, "%s for %s: got %s, expected %s", annotations,
                  container, got, expected);
    value_free(&pod);
}

START_TEST(test_exclude_forms)
{
    expect_exclude("{\"skiff.io/exclude\":\"true\"}", "web", "EEE");
    expect_exclude("{\"fluentbit.io/exclude\":\"true\"}", "web", "EEE");
    expect_exclude("{\"fluentbit.io/exclude\":\"false\"}", "web", "---");
    expect_exclude("{\"fluentbit.io/exclude_stdout\":\"true\"}", "web", "E--");
    expect_exclude("{\"fluentbit.io/exclude_stderr\":\"on\"}", "web", "-E-");
    expect_exclude("{\"fluentbit.io/exclude-web\":\"true\"}", "web", "EEE");
    expect_exclude("{\"fluentbit.io/exclude-web\":\"true\"}", "sidecar", "---");
    expect_exclude("{\"fluentbit.io/exclude_stderr-web\":\"true\"}", "web", "-E-");
    expect_exclude("{\"fluentbit.io/exclude_stderr-web\":\"true\"}", "webx", "---");
    expect_exclude("{\"fluentbit.io/exclude_stdout\":\"true\",\"fluentbit.io/exclude_stderr\":"
                   "\"true\"}",
                   "web", "EEE");
}
END_TEST

/* Fluent Bit's words for true (flb_utils_bool), in any case; "1" is not one
 * of them, so a pod it ships is shipped here too. */
START_TEST(test_exclude_truthy_values)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "on", "ON"};
    static const char *const no[] = {"false", "no", "off", "0", "1", "", "true ", "2", "yess"};
    char json[128];
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        snprintf(json, sizeof json, "{\"fluentbit.io/exclude\":\"%s\"}", yes[i]);
        expect_exclude(json, "web", "EEE");
    }
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
        snprintf(json, sizeof json, "{\"fluentbit.io/exclude\":\"%s\"}", no[i]);
        expect_exclude(json, "web", "---");
    }
    expect_exclude("{\"fluentbit.io/exclude\":true}", "web", "---"); /* not a string */
}
END_TEST

/* The more specific form wins, whatever the order of the annotations. */
START_TEST(test_exclude_precedence)
{
    expect_exclude("{\"fluentbit.io/exclude\":\"true\",\"fluentbit.io/exclude-web\":\"false\"}",
                   "web", "---");
    expect_exclude("{\"fluentbit.io/exclude-web\":\"false\",\"fluentbit.io/exclude\":\"true\"}",
                   "web", "---");
    expect_exclude("{\"fluentbit.io/exclude\":\"true\",\"fluentbit.io/exclude-web\":\"false\"}",
                   "sidecar", "EEE");
    expect_exclude("{\"fluentbit.io/exclude-web\":\"true\",\"fluentbit.io/exclude_stdout-web\":"
                   "\"no\"}",
                   "web", "-E-");
    expect_exclude("{\"fluentbit.io/exclude\":\"true\",\"fluentbit.io/exclude_stdout\":\"false\"}",
                   "web", "-E-");
    /* Same level: skiff.io/ before fluentbit.io/. */
    expect_exclude("{\"fluentbit.io/exclude\":\"true\",\"skiff.io/exclude\":\"false\"}", "web",
                   "---");
    expect_exclude("{\"skiff.io/exclude\":\"true\",\"fluentbit.io/exclude\":\"false\"}", "web",
                   "EEE");
}
END_TEST

/* The parsers for stdout, stderr and no stream, "-" for none. */
static void expect_parsers(const char *annotations, const char *container, const char *out,
                           const char *err, const char *other)
{
    struct value pod = pod_with(annotations);
    struct k8s_logging l;
    k8s_logging_read(&pod, container, &l);
    const char *got[3] = {k8s_logging_parser(&l, K8S_STREAM_STDOUT),
                          k8s_logging_parser(&l, K8S_STREAM_STDERR),
                          k8s_logging_parser(&l, K8S_STREAM_OTHER)};
    const char *want[3] = {out, err, other};
    for (int i = 0; i < 3; i++)
        ck_assert_msg(strcmp(got[i] ? got[i] : "-", want[i]) == 0, "%s for %s, stream %d: %s",
                      annotations, container, i, got[i] ? got[i] : "-");
    ck_assert_ptr_null(l.malformed);
    value_free(&pod);
}

START_TEST(test_parser_forms)
{
    expect_parsers("{\"skiff.io/parser\":\"json\"}", "web", "json", "json", "json");
    expect_parsers("{\"fluentbit.io/parser\":\"json\",\"fluentbit.io/parser-side\":\"logfmt\"}",
                   "side", "logfmt", "logfmt", "logfmt");
    expect_parsers("{\"fluentbit.io/parser\":\"json\",\"fluentbit.io/parser-side\":\"logfmt\"}",
                   "web", "json", "json", "json");
    expect_parsers("{\"fluentbit.io/parser_stdout\":\"json\"}", "web", "json", "-", "-");
    expect_parsers("{\"fluentbit.io/parser_stderr-web\":\"java\",\"fluentbit.io/parser\":"
                   "\"json\"}",
                   "web", "json", "java", "-");
    /* An empty or non-string value names no parser and overrides nothing. */
    expect_parsers("{\"skiff.io/parser\":\"json\",\"skiff.io/parser-web\":\"\"}", "web", "json",
                   "json", "json");
    expect_parsers("{\"skiff.io/parser\":3}", "web", "-", "-", "-");
}
END_TEST

START_TEST(test_malformed_and_foreign)
{
    static const char *const bad[] = {"fluentbit.io/exclude_stdin", "fluentbit.io/exclude-",
                                      "skiff.io/parserx", "fluentbit.io/unknown"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char json[128];
        snprintf(json, sizeof json, "{\"%s\":\"true\"}", bad[i]);
        struct value pod = pod_with(json);
        struct k8s_logging l;
        k8s_logging_read(&pod, "web", &l);
        ck_assert_ptr_nonnull(l.malformed);
        ck_assert_str_eq(l.malformed, bad[i]);
        ck_assert(!k8s_logging_excluded(&l, K8S_STREAM_STDOUT));
        value_free(&pod);
    }
    /* Other prefixes are not ours; pods without annotations or metadata. */
    expect_exclude("{\"example.com/exclude\":\"true\",\"fluentbit.iox/exclude\":\"true\"}", "web",
                   "---");
    static const char *const odd[] = {"{}", "[1]", "{\"metadata\":[]}",
                                      "{\"metadata\":{\"annotations\":\"x\"}}"};
    for (size_t i = 0; i < sizeof odd / sizeof *odd; i++) {
        struct value pod;
        ck_assert_int_eq(json_parse(odd[i], strlen(odd[i]), &pod, NULL), 0);
        struct k8s_logging l;
        k8s_logging_read(&pod, "web", &l);
        ck_assert(!k8s_logging_excluded(&l, K8S_STREAM_OTHER));
        ck_assert_ptr_null(l.malformed);
        value_free(&pod);
    }
}
END_TEST

START_TEST(test_stream_of_a_record)
{
    struct value out = value_cstring("stdout"), err = value_cstring("stderr"),
                 odd = value_cstring("stdin"), num = value_int(1);
    ck_assert_int_eq(k8s_logging_stream(&out), K8S_STREAM_STDOUT);
    ck_assert_int_eq(k8s_logging_stream(&err), K8S_STREAM_STDERR);
    ck_assert_int_eq(k8s_logging_stream(&odd), K8S_STREAM_OTHER);
    ck_assert_int_eq(k8s_logging_stream(&num), K8S_STREAM_OTHER);
    ck_assert_int_eq(k8s_logging_stream(NULL), K8S_STREAM_OTHER);
    value_free(&out);
    value_free(&err);
    value_free(&odd);
}
END_TEST

Suite *k8s_logging_suite(void)
{
    Suite *s = suite_create("k8s_logging");
    TCase *tc = tcase_create("annotations");
    tcase_add_test(tc, test_exclude_forms);
    tcase_add_test(tc, test_exclude_truthy_values);
    tcase_add_test(tc, test_exclude_precedence);
    tcase_add_test(tc, test_parser_forms);
    tcase_add_test(tc, test_malformed_and_foreign);
    tcase_add_test(tc, test_stream_of_a_record);
    suite_add_tcase(s, tc);
    return s;
}
