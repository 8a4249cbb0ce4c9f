/* Unit tests for the redact scanner's anchors (plugins/filter_redact/
 * redact_anchor.h) in each implementation this machine runs (AVX2, SSSE3,
 * SSE2, NEON, portable), each forced in turn: every byte's classes against the
 * reference, secrets at every offset around the 64-byte windows, and the
 * same output from every implementation on generated log text. */
#include "suites.h"

#include "buf.h"
#include "plugins/filter_redact/redact_anchor.h"
#include "plugins/filter_redact/redact_engine.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALL ((1u << REDACT_DETECTOR_COUNT) - 1)

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

/* The classes of `block` by `impl` are those of the reference, byte by
 * byte. */
static void check_classes(enum redact_anchor_impl impl, const struct redact_anchor_set *set,
                          const unsigned char *block)
{
    struct redact_anchor_classes got;
    redact_anchor_classify(impl, set, (const char *)block, &got);
    for (int cls = 0; cls < RC_COUNT; cls++)
        for (int k = 0; k < REDACT_ANCHOR_SPAN; k++) {
            bool want = redact_class_has(set, (enum redact_class)cls, block[k]);
            ck_assert_msg(((got.m[cls] >> k) & 1) == want,
                          "%s: byte 0x%02x at %d: class %d is %d, want %d",
                          redact_anchor_impl_name(impl), block[k], k, cls,
                          (int)((got.m[cls] >> k) & 1), want);
        }
}

START_TEST(test_every_byte_in_its_classes)
{
    struct redact_anchor_set set = {.marker_byte = '['};
    unsigned char block[REDACT_ANCHOR_SPAN];
    int tested = 0;
    for (int impl = 0; impl < REDACT_ANCHOR_IMPL_COUNT; impl++) {
        if (!redact_anchor_impl_available((enum redact_anchor_impl)impl))
            continue;
        tested++;
        for (int b = 0; b < 256; b++) {
            memset(block, b, sizeof block);
            check_classes((enum redact_anchor_impl)impl, &set, block);
        }
        for (int round = 0; round < 200; round++) {
            for (size_t k = 0; k < sizeof block; k++)
                block[k] = (unsigned char)rng();
            set.marker_byte = block[rng() % sizeof block];
            check_classes((enum redact_anchor_impl)impl, &set, block);
        }
    }
    /* portable everywhere, the others where the CPU has them */
    ck_assert_int_ge(tested, 1);
    ck_assert(redact_anchor_impl_available(REDACT_ANCHOR_PORTABLE));
}
END_TEST

static struct redact_engine *engine_with(enum redact_anchor_impl impl)
{
    ck_assert_int_eq(redact_anchor_impl_force(impl), 0);
    struct redact_engine_config config = {.detectors = ALL, .mask = "<{detector}>"};
    char *error = NULL;
    struct redact_engine *e = redact_engine_new(&config, &error);
    ck_assert_msg(e != NULL, "%s", error ? error : "");
    return e;
}

static char *redact(struct redact_engine *e, const char *text, size_t len)
{
    struct buf out = BUF_INIT;
    redact_engine_find(e, text, len, false);
    redact_engine_write(e, text, len, &out, NULL);
    char *result = xstrdup(buf_cstr(&out));
    buf_free(&out);
    return result;
}

static const struct {
    const char *text, *expected;
} samples[] = {
    {"4111 1111 1111 1111", "<card>"},
    {"5555555555554444", "<card>"},
    {"3782 822463 10005", "<card>"},
    {"password=hunter2", "password=<password>"},
    {"\"apiKey\": \"k-123\"", "\"apiKey\": \"<password>\""},
    {"db_passwd = s3cr3t", "db_passwd = <password>"},
    {"passphrase: open", "passphrase: <password>"},
    {"https://user:pa55@host/", "https://user:<password>@host/"},
    {"Authorization: Bearer abc.def", "Authorization: Bearer <bearer>"},
    {"AKIAIOSFODNN7EXAMPLE", "<aws>"},
    {"GB82 WEST 1234 5698 7654 32", "<iban>"},
    {"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "<jwt>"},
    {"-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----", "<private_key>"},
    {"<card>", "<card>"},
};

/* Each secret after 0 to 140 spaces, so that it starts and ends at every
 * place of the 64-byte windows and their 8-byte overlap, and before a tail:
 * replaced by every implementation. */
START_TEST(test_secrets_at_every_offset)
{
    for (int impl = 0; impl < REDACT_ANCHOR_IMPL_COUNT; impl++) {
        if (!redact_anchor_impl_available((enum redact_anchor_impl)impl))
            continue;
        struct redact_engine *e = engine_with((enum redact_anchor_impl)impl);
        for (size_t s = 0; s < sizeof samples / sizeof samples[0]; s++)
            for (int pad = 0; pad <= 140; pad++) {
                char text[512], want[512];
                snprintf(text, sizeof text, "%*s%s ;%.*s", pad, "", samples[s].text, pad % 9,
                         " tail=ok.");
                snprintf(want, sizeof want, "%*s%s ;%.*s", pad, "", samples[s].expected, pad % 9,
                         " tail=ok.");
                char *got = redact(e, text, strlen(text));
                ck_assert_msg(strcmp(got, want) == 0, "%s, pad %d:\nin:   %s\nout:  %s\nwant: %s",
                              redact_anchor_impl_name((enum redact_anchor_impl)impl), pad, text,
                              got, want);
                free(got);
            }
        redact_engine_free(e);
    }
}
END_TEST

/* Pieces of log text, secrets and near misses. */
static const char *const pieces[] = {
    "2024-05-01T10:15:00.123Z",
    " ",
    "=",
    ":",
    "\"",
    "'",
    "_",
    "-",
    ".",
    "\\",
    "/",
    "\t",
    "[",
    "<",
    "level=info",
    "msg=\"ok\"",
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "apikey",
    "Authorization",
    "Bearer ",
    "basic ",
    "4111",
    "1111",
    "4111111111111111",
    "5555 5555 5555 4444",
    "1234567812345678",
    "AKIA",
    "IOSFODNN7EXAMPLE",
    "ASIA",
    "GB82",
    "WEST12345698765432",
    "eyJ",
    "hbGciOiJIUzI1NiJ9",
    "-----BEGIN ",
    "PRIVATE KEY",
    "-----",
    "://",
    "user:",
    "@host",
    "e",
    "y",
    "d",
    "rd",
    "se",
    "et",
    "en",
    "ey",
    "\xc3\xa9",
    "\xff",
    "0",
    "9",
    "A",
    "Z",
    "be",
    "ba",
};

/* Generated log text: every implementation gives the same output. */
START_TEST(test_implementations_agree)
{
    struct redact_engine *engines[REDACT_ANCHOR_IMPL_COUNT] = {0};
    for (int impl = 0; impl < REDACT_ANCHOR_IMPL_COUNT; impl++)
        if (redact_anchor_impl_available((enum redact_anchor_impl)impl))
            engines[impl] = engine_with((enum redact_anchor_impl)impl);
    size_t replaced = 0;
    for (int round = 0; round < 3000; round++) {
        struct buf text = BUF_INIT;
        size_t parts = rng() % 40;
        for (size_t p = 0; p < parts; p++)
            buf_append_str(&text, pieces[rng() % (sizeof pieces / sizeof pieces[0])]);
        char *reference = redact(engines[REDACT_ANCHOR_PORTABLE], buf_cstr(&text), text.len);
        replaced += strcmp(reference, buf_cstr(&text)) != 0;
        for (int impl = 1; impl < REDACT_ANCHOR_IMPL_COUNT; impl++) {
            if (!engines[impl])
                continue;
            char *got = redact(engines[impl], buf_cstr(&text), text.len);
            ck_assert_msg(strcmp(got, reference) == 0,
                          "%s:\nin:       %s\nout:      %s\nportable: %s",
                          redact_anchor_impl_name((enum redact_anchor_impl)impl), buf_cstr(&text),
                          got, reference);
            free(got);
        }
        free(reference);
        buf_free(&text);
    }
    /* the pieces make secrets often enough for the comparison to mean something */
    ck_assert_uint_gt(replaced, 300);
    for (int impl = 0; impl < REDACT_ANCHOR_IMPL_COUNT; impl++)
        redact_engine_free(engines[impl]);
}
END_TEST

Suite *redact_anchor_suite(void)
{
    Suite *s = suite_create("redact_anchor");
    TCase *tc = tcase_create("anchor");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_every_byte_in_its_classes);
    tcase_add_test(tc, test_secrets_at_every_offset);
    tcase_add_test(tc, test_implementations_agree);
    suite_add_tcase(s, tc);
    return s;
}
