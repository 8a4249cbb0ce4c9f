/* Unit tests for the redact filter on records (plugins/filter_redact/): every
 * string at any depth, card numbers held as integers, chosen fields, shared
 * attachments (redacted once, then reused), user rules, keyed hashes against
 * values computed with Python's hmac, the counters, the configuration
 * errors, and HMAC-SHA256 against the RFC 4231 test vectors. */
#include "suites.h"

#include "buf.h"
#include "filter_harness.h"
#include "metrics.h"
#include "plugins/filter_redact/redact_hmac.h"
#include "temp_dir.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs the filter with `yaml` on the record `json`; checks the result. */
static void expect(const char *yaml, const char *json, const char *expected)
{
    struct filter_harness h;
    struct record rec;
    filter_harness_open(&h, "redact", yaml);
    filter_harness_record(&rec, json);
    char *got = filter_harness_run(&h, &rec);
    ck_assert_str_eq(got, expected);
    free(got);
    record_free(&rec);
    filter_harness_close(&h);
}

/* `yaml` is refused; its first message contains `message`. */
static void expect_error(const char *yaml, const char *message)
{
    struct filter_harness h;
    filter_harness_open(&h, "redact", yaml);
    ck_assert_int_eq(h.validated, -1);
    ck_assert_msg(strstr(filter_harness_diag(&h), message), "got: %s\nwant: %s",
                  filter_harness_diag(&h), message);
    filter_harness_close(&h);
}

START_TEST(test_every_string_at_any_depth)
{
    expect("{}",
           "{\"log\":\"pay 4111 1111 1111 1111\",\"req\":{\"headers\":{\"authorization\":"
           "\"Bearer abc\"},\"args\":[\"x\",[\"password=p\"],{\"iban\":\"GB82WEST12345698765432\"}"
           "]},\"n\":5,\"ok\":true}",
           "{\"log\":\"pay [REDACTED:card]\",\"req\":{\"headers\":{\"authorization\":"
           "\"[REDACTED:bearer]\"},\"args\":[\"x\",[\"password=[REDACTED:password]\"],{\"iban\":"
           "\"[REDACTED:iban]\"}]},\"n\":5,\"ok\":true}");
    /* keys are not values: a key that looks like a card stays */
    expect("{}", "{\"4111111111111111\":1}", "{\"4111111111111111\":1}");
}
END_TEST

START_TEST(test_fields_named_for_secrets)
{
    /* parsed JSON logs: the key is a field's name, not text before the value */
    expect("{}",
           "{\"password\":\"hunter2\",\"user\":{\"api_key\":\"k\",\"name\":\"bob\"},"
           "\"token\":[\"a\",\"b\"],\"secret\":{\"name\":\"db\"},\"db_password\":12345,"
           "\"pin\":1234,\"Proxy-Authorization\":\"token ghp_x\",\"AWS_SECRET_ACCESS_KEY\":\"w\","
           "\"passwords_set\":true,\"empty_secret\":\"\"}",
           "{\"password\":\"[REDACTED:password]\",\"user\":{\"api_key\":\"[REDACTED:password]\","
           "\"name\":\"bob\"},\"token\":[\"[REDACTED:password]\",\"[REDACTED:password]\"],"
           "\"secret\":{\"name\":\"db\"},\"db_password\":\"[REDACTED:password]\",\"pin\":1234,"
           "\"Proxy-Authorization\":\"[REDACTED:bearer]\",\"AWS_SECRET_ACCESS_KEY\":\"[REDACTED:"
           "aws]\",\"passwords_set\":true,\"empty_secret\":\"\"}");
    /* switched off with their detector */
    expect("detectors: [card]", "{\"password\":\"hunter2\"}", "{\"password\":\"hunter2\"}");
}
END_TEST

START_TEST(test_card_numbers_as_integers)
{
    expect("{}", "{\"pan\":4111111111111111,\"order\":1234567812345678,\"n\":42}",
           "{\"pan\":\"[REDACTED:card]\",\"order\":1234567812345678,\"n\":42}");
    /* rules look at strings only */
    expect("rules: {digits: '\\d{4}'}", "{\"n\":1234}", "{\"n\":1234}");
}
END_TEST

START_TEST(test_fields_only)
{
    expect("fields: [log, 'req.token']",
           "{\"log\":\"password=a\",\"other\":\"password=b\",\"req\":{\"token\":\"secret=c\"}}",
           "{\"log\":\"password=[REDACTED:password]\",\"other\":\"password=b\",\"req\":{\"token\":"
           "\"[REDACTED:password]\"}}");
    /* a path that is missing, or not a string, is left alone */
    expect("fields: [missing, n]", "{\"n\":4111111111111111}", "{\"n\":\"[REDACTED:card]\"}");
}
END_TEST

START_TEST(test_attachments_redacted_once_and_shared)
{
    struct filter_harness h;
    struct record a, b, clean;
    filter_harness_open(&h, "redact", "{}");
    filter_harness_record(&a, "{\"log\":\"one\"}");
    filter_harness_record(&b, "{\"log\":\"two\"}");
    filter_harness_attach(&a, "kubernetes",
                          "{\"pod_name\":\"web-1\",\"annotations\":{\"cfg\":\"api_key=k1\"}}");
    struct attachment *original = a.attachments[0];
    record_attach(&b, original);
    char *got = filter_harness_run(&h, &a);
    ck_assert_str_eq(got, "{\"log\":\"one\",\"kubernetes\":{\"pod_name\":\"web-1\",\"annotations\":"
                          "{\"cfg\":\"api_key=[REDACTED:password]\"}}}");
    free(got);
    got = filter_harness_run(&h, &b);
    free(got);
    /* one redacted copy, shared by both records; the original is untouched */
    ck_assert_ptr_eq(a.attachments[0], b.attachments[0]);
    ck_assert_ptr_ne(a.attachments[0], original);
    ck_assert_int_eq(a.attachment_count, 1);
    /* an attachment with nothing to redact stays as it is */
    filter_harness_record(&clean, "{}");
    filter_harness_attach(&clean, "path", "\"/var/log/containers/x.log\"");
    struct attachment *kept = clean.attachments[0];
    free(filter_harness_run(&h, &clean));
    ck_assert_ptr_eq(clean.attachments[0], kept);
    record_free(&a);
    record_free(&b);
    record_free(&clean);
    filter_harness_close(&h);
}
END_TEST

START_TEST(test_rules)
{
    expect("rules: {employee: 'EMP-\\d{6}', order_token: 'ord=(?<value>[a-z0-9]{8})'}",
           "{\"log\":\"EMP-123456 ord=ab12cd34 EMP-12\"}",
           "{\"log\":\"[REDACTED:employee] ord=[REDACTED:order_token] EMP-12\"}");
    /* a rule's match over a detector's span is left out: the card is
     * replaced once, by the card detector */
    expect("rules: {long_number: '\\d[\\d ]{12,}\\d'}",
           "{\"log\":\"4111 1111 1111 1111 and 1234 5678 9012 3456\"}",
           "{\"log\":\"[REDACTED:card] and [REDACTED:long_number]\"}");
    /* with no detectors, only the rules */
    expect("detectors: []\nrules: {x: 'abc'}", "{\"log\":\"abc password=abd\"}",
           "{\"log\":\"[REDACTED:x] password=abd\"}");
    expect("mask: '***'", "{\"log\":\"password=x\"}", "{\"log\":\"password=***\"}");
}
END_TEST

START_TEST(test_rule_that_cannot_finish_fails_closed)
{
    metrics_reset();
    char text[64];
    /* 'b' is in the text (else PCRE2 gives up at once), but not after the
     * a's: (a+)+ tries every way to split them */
    memset(text, 'a', 40);
    strcpy(text + 40, "cb");
    char json[128];
    snprintf(json, sizeof json, "{\"log\":\"%s\",\"other\":\"fine\"}", text);
    expect("rules: {slow: '(a+)+b'}", json, "{\"log\":\"[REDACTED:slow]\",\"other\":\"fine\"}");
    struct buf out = BUF_INIT;
    metrics_render(&out);
    ck_assert_ptr_nonnull(strstr(
        buf_cstr(&out), "skiff_redact_rule_errors_total{instance=\"redact\",rule=\"slow\"} 1"));
    buf_free(&out);
    metrics_reset();
}
END_TEST

START_TEST(test_counted_per_detector)
{
    metrics_reset();
    expect("rules: {emp: 'EMP-\\d+'}",
           "{\"a\":\"4111111111111111 5555555555554444\",\"b\":\"password=x EMP-1\"}",
           "{\"a\":\"[REDACTED:card] [REDACTED:card]\",\"b\":\"password=[REDACTED:password] "
           "[REDACTED:emp]\"}");
    struct buf out = BUF_INIT;
    metrics_render(&out);
    const char *text = buf_cstr(&out);
    ck_assert_ptr_nonnull(
        strstr(text, "skiff_redactions_total{instance=\"redact\",detector=\"card\"} 2"));
    ck_assert_ptr_nonnull(
        strstr(text, "skiff_redactions_total{instance=\"redact\",detector=\"password\"} 1"));
    ck_assert_ptr_nonnull(
        strstr(text, "skiff_redactions_total{instance=\"redact\",detector=\"emp\"} 1"));
    ck_assert_ptr_nonnull(
        strstr(text, "skiff_redactions_total{instance=\"redact\",detector=\"iban\"} 0"));
    buf_free(&out);
    metrics_reset();
}
END_TEST

/* A key file in a new folder; returns the folder (its path ends "/key"). */
static char *key_file(const char *content, size_t len)
{
    char *dir = temp_dir_make("redact-key");
    char path[512];
    snprintf(path, sizeof path, "%s/key", dir);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(content, 1, len, f), len);
    fclose(f);
    return dir;
}

static char *hash_yaml(const char *dir, const char *more)
{
    return xasprintf("replace: hash\nhash_key_file: %s/key\n%s", dir, more);
}

START_TEST(test_keyed_hashes)
{
    /* Python: hmac.new(b"0123456789abcdef0123456789abcdef", b"4111111111111111",
     * hashlib.sha256).hexdigest() = 7b7e6cb2715c7b1c37110f03...; the IBAN
     * is hashed without its spaces: 5a1f35756bc74b9e... */
    char *dir = key_file("0123456789abcdef0123456789abcdef\n", 33);
    char *yaml = hash_yaml(dir, "");
    expect(yaml,
           "{\"a\":\"4111 1111 1111 1111\",\"b\":\"4111-1111-1111-1111\",\"c\":4111111111111111,"
           "\"d\":\"5555555555554444\",\"e\":\"GB82 WEST 1234 5698 7654 32\"}",
           "{\"a\":\"[card:7b7e6cb2715c7b1c]\",\"b\":\"[card:7b7e6cb2715c7b1c]\",\"c\":\"[card:"
           "7b7e6cb2715c7b1c]\",\"d\":\"[card:75785ef84e25d88f]\",\"e\":\"[iban:5a1f35756bc74b9e]"
           "\"}");
    /* the hash already there is kept; a card in the same brackets is not a
     * hash (no letter) and is replaced */
    expect(yaml, "{\"a\":\"[card:7b7e6cb2715c7b1c] [card:4111111111111111]\"}",
           "{\"a\":\"[card:7b7e6cb2715c7b1c] [card:[card:7b7e6cb2715c7b1c]]\"}");
    /* a hash is not looked into: `[password:...]` reads as a key and a value */
    expect(yaml,
           "{\"a\":\"[password:0123456789abcdef] {\\\"pwd\\\":[password:0123456789abcdef]}\"}",
           "{\"a\":\"[password:0123456789abcdef] {\\\"pwd\\\":[password:0123456789abcdef]}\"}");
    free(yaml);
    yaml = hash_yaml(dir, "hash_length: 32\n");
    expect(yaml, "{\"a\":\"4111111111111111\"}",
           "{\"a\":\"[card:7b7e6cb2715c7b1c37110f035123abd3]\"}");
    free(yaml);
    temp_dir_remove(dir);
}
END_TEST

START_TEST(test_configuration_errors)
{
    expect_error("detectors: [card, jtw]",
                 "t.yaml:1:19: filter: option 'detectors': unknown detector 'jtw'; did you mean "
                 "'jwt'?");
    expect_error("rules:\n  bad: 'a(b'",
                 "t.yaml:2:8: filter: option 'rules': rule 'bad': invalid regular expression at "
                 "offset 3: missing closing parenthesis");
    expect_error("rules: {opt: 'x?'}", "rule 'opt': the regular expression can match empty text");
    expect_error("rules: {card: 'x'}", "rule 'card': that is a built-in detector's name");
    expect_error("rules: {'a b': 'x'}", "rule 'a b': a name is 1 to 64 letters");
    expect_error("rules: {n: 12}", "rule 'n': the regular expression must be a string");
    expect_error("fields: ['a..b']", "option 'fields'");
    expect_error("replace: hash", "`replace: hash` needs `hash_key_file`");
    expect_error("replace: hash\nhash_key_file: /nonexistent/key",
                 "t.yaml:2:16: filter: option 'hash_key_file': /nonexistent/key: open: No such "
                 "file or directory");
    expect_error("hash_key_file: /etc/hostname", "only read with `replace: hash`");
    expect_error("mask: '{detector} hidden'", "option 'mask': the mask must not start with");
    expect_error("mask: ''", "option 'mask': the mask is empty");
    expect_error("replace: sha1", "replace");
    expect_error("hash_length: 4", "hash_length");
    char *dir = key_file("short\n", 6);
    char *yaml = hash_yaml(dir, "");
    expect_error(yaml, "the key is 5 bytes, at least 32 are needed");
    free(yaml);
    temp_dir_remove(dir);
}
END_TEST

static void hex(const unsigned char *digest, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", digest[i]);
}

static void expect_hmac(const unsigned char *key, size_t key_len, const char *data, size_t data_len,
                        const char *expected)
{
    char *error = NULL;
    struct redact_hmac *h = redact_hmac_new(key, key_len, &error);
    ck_assert_msg(h != NULL, "%s", error ? error : "");
    unsigned char digest[REDACT_DIGEST_SIZE];
    char got[2 * REDACT_DIGEST_SIZE + 1];
    /* twice: the second message reuses the key */
    for (int round = 0; round < 2; round++) {
        ck_assert_int_eq(redact_hmac_sha256(h, data, data_len, digest), 0);
        hex(digest, REDACT_DIGEST_SIZE, got);
        got[strlen(expected)] = '\0';
        ck_assert_str_eq(got, expected);
    }
    redact_hmac_free(h);
}

START_TEST(test_hmac_rfc4231_vectors)
{
    unsigned char key[131];
    char data[160];
    memset(key, 0x0b, 20);
    expect_hmac(key, 20, "Hi There", 8,
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    expect_hmac((const unsigned char *)"Jefe", 4, "what do ya want for nothing?", 28,
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    memset(key, 0xaa, 20);
    memset(data, 0xdd, 50);
    expect_hmac(key, 20, data, 50,
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
    for (int i = 0; i < 25; i++)
        key[i] = (unsigned char)(i + 1);
    memset(data, 0xcd, 50);
    expect_hmac(key, 25, data, 50,
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
    memset(key, 0x0c, 20); /* test case 5: truncated to 128 bits */
    expect_hmac(key, 20, "Test With Truncation", 20, "a3b6167473100ee06e0c796c2955552b");
    memset(key, 0xaa, 131);
    const char *six = "Test Using Larger Than Block-Size Key - Hash Key First";
    expect_hmac(key, 131, six, strlen(six),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    const char *seven = "This is a test using a larger than block-size key and a larger than "
                        "block-size data. The key needs to be hashed before being used by the "
                        "HMAC algorithm.";
    expect_hmac(key, 131, seven, strlen(seven),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}
END_TEST

START_TEST(test_key_file_reading)
{
    unsigned char *key;
    size_t len;
    char *error = NULL;
    char *dir = key_file("0123456789abcdef0123456789abcdef\r\n", 34);
    char path[512];
    snprintf(path, sizeof path, "%s/key", dir);
    ck_assert_int_eq(redact_key_read(path, &key, &len, &error), 0);
    ck_assert_uint_eq(len, 32);
    ck_assert_int_eq(memcmp(key, "0123456789abcdef0123456789abcdef", 32), 0);
    redact_key_free(key, len);
    temp_dir_remove(dir);
    /* a message names the file, never the key's bytes */
    dir = key_file("TOPSECRETKEY\n", 13);
    snprintf(path, sizeof path, "%s/key", dir);
    ck_assert_int_eq(redact_key_read(path, &key, &len, &error), -1);
    ck_assert_ptr_null(strstr(error, "TOPSECRET"));
    ck_assert_ptr_nonnull(strstr(error, path));
    free(error);
    temp_dir_remove(dir);
    ck_assert_int_eq(redact_key_read("/", &key, &len, &error), -1);
    ck_assert_str_eq(error, "/: not a regular file");
    free(error);
}
END_TEST

Suite *filter_redact_suite(void)
{
    Suite *s = suite_create("filter_redact");
    TCase *tc = tcase_create("filter");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_every_string_at_any_depth);
    tcase_add_test(tc, test_fields_named_for_secrets);
    tcase_add_test(tc, test_card_numbers_as_integers);
    tcase_add_test(tc, test_fields_only);
    tcase_add_test(tc, test_attachments_redacted_once_and_shared);
    tcase_add_test(tc, test_rules);
    tcase_add_test(tc, test_rule_that_cannot_finish_fails_closed);
    tcase_add_test(tc, test_counted_per_detector);
    tcase_add_test(tc, test_keyed_hashes);
    tcase_add_test(tc, test_configuration_errors);
    tcase_add_test(tc, test_hmac_rfc4231_vectors);
    tcase_add_test(tc, test_key_file_reading);
    suite_add_tcase(s, tc);
    return s;
}
