/* Unit tests for the redact filter's built-in detectors on texts
 * (plugins/filter_redact/redact_engine.h): the networks' published test card
 * numbers and the same with one digit changed, order ids, timestamps, phone
 * numbers, UUIDs, git hashes and IPs that must survive, JWTs built here,
 * Bearer headers, AWS's example keys, a PEM private key, IBANs, password
 * values in URLs, JSON and YAML text, and UTF-8 around what is replaced;
 * once per implementation of the scanner's anchors. */
#include "suites.h"

#include "buf.h"
#include "plugins/filter_redact/redact_anchor.h"
#include "plugins/filter_redact/redact_engine.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALL ((1u << REDACT_DETECTOR_COUNT) - 1)

static struct redact_engine *engine(uint32_t detectors)
{
    struct redact_engine_config config = {.detectors = detectors, .mask = "<{detector}>"};
    char *error = NULL;
    struct redact_engine *e = redact_engine_new(&config, &error);
    ck_assert_msg(e != NULL, "%s", error ? error : "");
    return e;
}

/* `text` through the engine, malloc'ed; *count: the replacements. */
static char *run(struct redact_engine *e, const char *text, size_t *count)
{
    struct buf out = BUF_INIT;
    size_t n = redact_engine_find(e, text, strlen(text), false);
    redact_engine_write(e, text, strlen(text), &out, NULL);
    if (count)
        *count = n;
    char *result = xstrdup(buf_cstr(&out));
    buf_free(&out);
    return result;
}

/* With the detectors in `detectors`: `text` becomes `expected`, and a second
 * pass changes nothing. */
static void expect_with(uint32_t detectors, const char *text, const char *expected)
{
    struct redact_engine *e = engine(detectors);
    char *got = run(e, text, NULL);
    ck_assert_msg(strcmp(got, expected) == 0, "in:  %s\nout: %s\nwant: %s", text, got, expected);
    size_t again_count;
    char *again = run(e, got, &again_count);
    ck_assert_str_eq(again, got);
    ck_assert_uint_eq(again_count, 0);
    free(again);
    free(got);
    redact_engine_free(e);
}

static void expect(const char *text, const char *expected)
{
    expect_with(ALL, text, expected);
}

static void survives(const char *text)
{
    expect(text, text);
}

/* Published test numbers of the networks, each Luhn-valid. */
static const char *const test_cards[] = {
    "4111111111111111", "4012888888881881", "4222222222222",    "5555555555554444",
    "5105105105105100", "2223003122003222", "378282246310005",  "371449635398431",
    "6011111111111117", "6011000990139424", "30569309025904",   "38520000023237",
    "3530111333300000", "3566002020360505", "6200000000000005", "6759649826438453",
    "2200000000000004",
};
#define TEST_CARD_COUNT (sizeof test_cards / sizeof test_cards[0])

START_TEST(test_card_numbers_of_each_network)
{
    for (size_t i = 0; i < TEST_CARD_COUNT; i++) {
        char text[64];
        snprintf(text, sizeof text, "paid with %s today", test_cards[i]);
        expect(text, "paid with <card> today");
    }
    expect("4111 1111 1111 1111", "<card>");
    expect("card=5555-5555-5555-4444;", "card=<card>;");
    expect("amex 3782 822463 10005.", "amex <card>.");
    expect("diners 3056 930902 5904", "diners <card>");
    expect("visa19 4111111111111111110 end", "visa19 <card> end");
    expect("two 4111 1111 1111 1111 and 5555555555554444", "two <card> and <card>");
    expect("\"pan\":\"4012888888881881\"", "\"pan\":\"<card>\"");
    /* the card among other numbers: the groups before it are not part of it */
    expect("12 4111 1111 1111 1111", "12 <card>");
    expect("4111 1111 1111 1111 12/25", "<card> 12/25");
    /* a run of digits through the card up to a URL's scheme: the card and the
     * URL's password both go, as a second pass (the run cut) would find */
    expect("12 4111 1111 1111 1111 12 37://u:pw@host", "12 <card> 12 37://u:<password>@host");
    expect("1234 5678://u:pw@host", "1234 5678://u:<password>@host");
    /* a card right before "://" is no URL's scheme (nor after, replaced) */
    expect("4111 1111 1111 1111://u:pw@host", "<card>://u:pw@host");
}
END_TEST

START_TEST(test_card_with_one_digit_changed_survives)
{
    for (size_t i = 0; i < TEST_CARD_COUNT; i++) {
        char text[64];
        snprintf(text, sizeof text, "paid with %s today", test_cards[i]);
        char *last = text + strlen("paid with ") + strlen(test_cards[i]) - 1;
        *last = *last == '9' ? '0' : (char)(*last + 1);
        survives(text);
    }
    survives("4111 1111 1111 1112");
}
END_TEST

START_TEST(test_order_ids_and_numbers_survive)
{
    survives("order 1234567812345678 shipped");
    survives("order_id=1234567812345678");
    survives("invoice 9999888877776666");
    /* a valid card inside a longer run of digits, a word, a decimal, a phone */
    survives("id 99994111111111111111");
    survives("ref 41111111111111119999");
    survives("ab4111111111111111");
    survives("4111111111111111cd");
    survives("pi 0.4111111111111111");
    survives("version v2.4111111111111111");
    survives("4111111111111111.25");
    survives("call +4111111111111111");
    /* ranges the networks do not issue, Luhn-valid all the same */
    survives("1111111111111117");
    survives("7111111111111114");
}
END_TEST

START_TEST(test_common_identifiers_survive)
{
    survives("2024-05-01T10:15:00.123456789Z stdout F started");
    survives("ts=1714558500123456789 epoch_ms=1714558500123");
    survives("call +1 555 123 4567 or +44 20 7946 0958 or 555-123-4567 555-987-6543");
    survives("uid 123e4567-e89b-12d3-a456-426614174000");
    survives("uid 12345678-1234-1234-1234-123456789012");
    survives("commit 3b18e512dba79e4c8300dd08aeb37f8e728b8dad");
    survives("commit a41111111111111111b0c9e2d7f6a5b4c3d2e1f0a9");
    survives("from 10.244.1.17:8080 to 192.168.100.200 via fe80::1");
    survives("duration 3.1415926535897932 s");
    survives("GET /api/v1/orders/1234567812345678 200 12ms");
    survives("kubernetes.io/service-account-token mounted");
    survives("k8s secret name default-token-abcde");
}
END_TEST

/* base64url without padding */
static void base64url(struct buf *out, const char *data)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t len = strlen(data);
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)data[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)(unsigned char)data[i + 1] << 8;
        if (i + 2 < len)
            v |= (unsigned char)data[i + 2];
        size_t chars = len - i >= 3 ? 4 : len - i + 1;
        for (size_t c = 0; c < chars; c++)
            buf_append_byte(out, alphabet[(v >> (18 - 6 * c)) & 63]);
    }
}

static char *jwt(const char *header, const char *payload, const char *signature)
{
    struct buf b = BUF_INIT;
    base64url(&b, header);
    buf_append_byte(&b, '.');
    base64url(&b, payload);
    buf_append_byte(&b, '.');
    buf_append_str(&b, signature);
    char *token = xstrdup(buf_cstr(&b));
    buf_free(&b);
    return token;
}

static void expect_jwt(const char *header, bool replaced)
{
    char *token = jwt(header, "{\"sub\":\"1234567890\",\"name\":\"Jane\",\"iat\":1516239022}",
                      "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c");
    char text[512];
    snprintf(text, sizeof text, "token=%s&x=1 header x-jwt: %s end", token, token);
    if (replaced)
        expect_with(1u << REDACT_JWT, text, "token=<jwt>&x=1 header x-jwt: <jwt> end");
    else
        expect_with(1u << REDACT_JWT, text, text);
    free(token);
}

START_TEST(test_jwts)
{
    expect_jwt("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", true);
    expect_jwt("{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"k1\"}", true);
    expect_jwt("{ \"alg\" : \"none\" }", true);
    /* a header without "alg", "alg" not a string, a header that is not JSON */
    expect_jwt("{\"typ\":\"JWT\"}", false);
    expect_jwt("{\"alg\":256}", false);
    expect_jwt("{\"alg\":\"HS256\"", false);
    /* four parts, or six: neither a JWS nor a JWE */
    char *four = jwt("{\"alg\":\"HS256\"}", "{\"sub\":\"1\"}", "c2ln.ZXh0cmE");
    survives(four);
    free(four);
    /* random dotted text starting like one */
    survives("eyJhbGciOi.foo.bar");
    survives("see eyJ.x.y and eyJzdWIi.eyJzdWIi.sig");
    /* a JWE has five parts */
    char *header = jwt("{\"alg\":\"RSA-OAEP\",\"enc\":\"A256GCM\"}", "x", "y");
    char *dot = strchr(header, '.');
    *dot = '\0';
    char text[256];
    snprintf(text, sizeof text,
             "jwe %s.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiM"
             ".48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX"
             ".XFBoMYUZodetZdvTiFvSkQ done",
             header);
    expect(text, "jwe <jwt> done");
    free(header);
}
END_TEST

START_TEST(test_bearer_tokens)
{
    expect("Authorization: Bearer abc123", "Authorization: Bearer <bearer>");
    expect("{\"authorization\":\"Bearer x\"}", "{\"authorization\":\"Bearer <bearer>\"}");
    expect("headers=map[Authorization:[Bearer ya29.a0AfH6SMB]]",
           "headers=map[Authorization:[Bearer <bearer>]]");
    expect("Proxy-Authorization: bearer tok", "Proxy-Authorization: bearer <bearer>");
    expect("calling with bearer 0123456789abcdefXYZ_-.~+/== ok", "calling with bearer <bearer> ok");
    expect("Authorization: Basic dXNlcjpwYXNzd29yZA==", "Authorization: Basic <bearer>");
    /* a JWT after Bearer is the bearer token */
    char *token = jwt("{\"alg\":\"HS256\"}", "{\"sub\":\"1\"}", "c2ln");
    char text[256];
    snprintf(text, sizeof text, "Authorization: Bearer %s", token);
    expect(text, "Authorization: Bearer <bearer>");
    free(token);
    survives("the bearer of bad news");
    survives("bearer tokens expire after an hour");
    survives("basic dXNlcjpwYXNzd29yZA== is not labelled");
    survives("Authorization: Bearer");
}
END_TEST

START_TEST(test_aws_keys)
{
    expect("key AKIAIOSFODNN7EXAMPLE used", "key <aws> used");
    expect("\"AccessKeyId\": \"ASIAIOSFODNN7EXAMPLE\"", "\"AccessKeyId\": \"<aws>\"");
    expect("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
           "aws_secret_access_key = <aws>");
    expect("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
           "AWS_SECRET_ACCESS_KEY=<aws>");
    expect("{\"SecretAccessKey\":\"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"}",
           "{\"SecretAccessKey\":\"<aws>\"}");
    survives("xAKIAIOSFODNN7EXAMPLE");
    survives("AKIAIOSFODNN7EXAMPLEX");
    survives("AKIAiosfodnn7example");
    survives("AIDAIOSFODNN7EXAMPLE is a user id");
}
END_TEST

START_TEST(test_pem_private_keys)
{
    const char *block = "-----BEGIN RSA PRIVATE KEY-----\n"
                        "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi2kSLS5E8IvKc7Ci3Hx1oFqkYp\n"
                        "Kz6qE1kl2b0sC3tWnJuTn9BtL0Jw3Q==\n"
                        "-----END RSA PRIVATE KEY-----";
    char text[512];
    snprintf(text, sizeof text, "loaded key:\n%s\nand went on", block);
    expect(text, "loaded key:\n<private_key>\nand went on");
    expect("-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBg\\n-----END PRIVATE KEY-----\\n\"}",
           "<private_key>\\n\"}");
    expect("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA", "<private_key>");
    expect("-----BEGIN ENCRYPTED PRIVATE KEY-----", "<private_key>");
    /* an END of another label does not end the block */
    expect("-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END RSA PRIVATE KEY-----\nx",
           "<private_key>");
    survives("-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----");
    survives("-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----");
    survives("------------ separator ------------");
}
END_TEST

START_TEST(test_ibans)
{
    expect("pay to GB82 WEST 1234 5698 7654 32 now", "pay to <iban> now");
    expect("iban=GB82WEST12345698765432&x", "iban=<iban>&x");
    expect("DE89 3704 0044 0532 0130 00", "<iban>");
    expect("NL91ABNA0417164300, FR1420041010050500013M02606, NO9386011117947",
           "<iban>, <iban>, <iban>");
    survives("pay to GB82 WEST 1234 5698 7654 33 now");
    survives("GB82WEST12345698765433");
    survives("GB83WEST12345698765432");
    survives("XX82WEST12345698765432");
    survives("GB82WEST12345698765432X");
    survives("GB82WEST1234569876543");
    survives("gb82west12345698765432");
}
END_TEST

START_TEST(test_password_values)
{
    expect("GET /login?user=bob&password=hunter2&next=/home",
           "GET /login?user=bob&password=<password>&next=/home");
    expect("db_password=s3cret! port=5432", "db_password=<password> port=5432");
    expect("{\"password\": \"p@ss w0rd\", \"user\": \"bob\"}",
           "{\"password\": \"<password>\", \"user\": \"bob\"}");
    expect("{\"clientSecret\":\"a\\\"b\",\"n\":1}", "{\"clientSecret\":\"<password>\",\"n\":1}");
    expect("{\\\"password\\\":\\\"hunter2\\\",\\\"u\\\":1}",
           "{\\\"password\\\":\\\"<password>\\\",\\\"u\\\":1}");
    expect("secret: abc123\nnext: line", "secret: <password>\nnext: line");
    expect("X-Api-Key: 0f1e2d3c", "X-Api-Key: <password>");
    expect("Password = 'a b c' end", "Password = '<password>' end");
    expect("params={\"password\"=>\"hunter2\"}", "params={\"password\"=>\"<password>\"}");
    expect("access_token=ya29.abc;x", "access_token=<password>");
    expect("connecting to postgres://app:s3cr3t@db:5432/orders",
           "connecting to postgres://app:<password>@db:5432/orders");
    expect("redis://:p@ss@cache:6379", "redis://:<password>@cache:6379");
    /* the user part is text like any other */
    expect("https://4111111111111111:pw@pay.example", "https://<card>:<password>@pay.example");
    survives("{\"token\": null, \"secret\": {\"name\": \"db\"}, \"password\": true}");
    survives("password_policy=strong passwordless=true tokens=5");
    survives("PWD=/home/app OLDPWD=/");
    survives("if token == expected");
    survives("https://example.com:8443/path");
    survives("pwd://host/path password:// token://x");
    survives("password=");
}
END_TEST

START_TEST(test_utf8_around_matches)
{
    expect("カード 4111 1111 1111 1111 です", "カード <card> です");
    expect("café password=naïve€ fin", "café password=<password> fin");
    expect("\xc3\xa9"
           "4111111111111111"
           "\xc3\xa9",
           "\xc3\xa9<card>\xc3\xa9");
    expect("«Authorization: Bearer tok€n»", "«Authorization: Bearer <bearer>€n»");
    /* invalid UTF-8 is passed through */
    expect("\xff\xfe password=\xff\xfe x", "\xff\xfe password=<password> x");
}
END_TEST

START_TEST(test_detectors_switch_off)
{
    const char *text = "4111111111111111 password=x AKIAIOSFODNN7EXAMPLE";
    expect_with(1u << REDACT_CARD, text, "<card> password=x AKIAIOSFODNN7EXAMPLE");
    expect_with(1u << REDACT_PASSWORD, text,
                "4111111111111111 password=<password> AKIAIOSFODNN7EXAMPLE");
    expect_with(0, text, text);
}
END_TEST

START_TEST(test_masks_already_there_are_kept)
{
    struct redact_engine *e = engine(ALL);
    size_t n;
    char *got = run(e, "password=<password> <card> <nope>", &n);
    ck_assert_str_eq(got, "password=<password> <card> <nope>");
    ck_assert_uint_eq(n, 0);
    free(got);
    redact_engine_free(e);
}
END_TEST

/* The detection tests run once per implementation of the anchors
 * (redact_anchor.h) that this machine runs, each forced. */
static void use_portable(void)
{
    redact_anchor_impl_force(REDACT_ANCHOR_PORTABLE);
}

static void use_sse2(void)
{
    redact_anchor_impl_force(REDACT_ANCHOR_SSE2);
}

static void use_ssse3(void)
{
    redact_anchor_impl_force(REDACT_ANCHOR_SSSE3);
}

static void use_avx2(void)
{
    redact_anchor_impl_force(REDACT_ANCHOR_AVX2);
}

static void use_neon(void)
{
    redact_anchor_impl_force(REDACT_ANCHOR_NEON);
}

static void use_best(void)
{
    redact_anchor_impl_force(redact_anchor_impl_best());
}

Suite *redact_detect_suite(void)
{
    static void (*const setups[REDACT_ANCHOR_IMPL_COUNT])(void) = {
        [REDACT_ANCHOR_PORTABLE] = use_portable, [REDACT_ANCHOR_SSE2] = use_sse2,
        [REDACT_ANCHOR_SSSE3] = use_ssse3,       [REDACT_ANCHOR_AVX2] = use_avx2,
        [REDACT_ANCHOR_NEON] = use_neon,
    };
    Suite *s = suite_create("redact_detect");
    for (int impl = 0; impl < REDACT_ANCHOR_IMPL_COUNT; impl++) {
        if (!redact_anchor_impl_available((enum redact_anchor_impl)impl))
            continue;
        TCase *tc = tcase_create(redact_anchor_impl_name((enum redact_anchor_impl)impl));
        tcase_add_checked_fixture(tc, setups[impl], use_best);
        tcase_add_test(tc, test_card_numbers_of_each_network);
        tcase_add_test(tc, test_card_with_one_digit_changed_survives);
        tcase_add_test(tc, test_order_ids_and_numbers_survive);
        tcase_add_test(tc, test_common_identifiers_survive);
        tcase_add_test(tc, test_jwts);
        tcase_add_test(tc, test_bearer_tokens);
        tcase_add_test(tc, test_aws_keys);
        tcase_add_test(tc, test_pem_private_keys);
        tcase_add_test(tc, test_ibans);
        tcase_add_test(tc, test_password_values);
        tcase_add_test(tc, test_utf8_around_matches);
        tcase_add_test(tc, test_detectors_switch_off);
        tcase_add_test(tc, test_masks_already_there_are_kept);
        suite_add_tcase(s, tc);
    }
    return s;
}
