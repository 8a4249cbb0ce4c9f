/* Fuzz target: the redact filter's scanner and replacement on any bytes.
 * The first byte picks masks or keyed hashes; the rest is the text. The
 * output is never longer than the text plus one replacement per span, and
 * redacting it again finds nothing and changes nothing (with the built-in
 * detectors; user rules are run too, for crashes and the bound). Every
 * implementation of the scanner's anchors this machine runs (AVX2, SSSE3,
 * SSE2, NEON, portable: redact_anchor.h) gives the same output. */
#include "fuzz.h"

#include "buf.h"
#include "plugins/filter_redact/redact_anchor.h"
#include "plugins/filter_redact/redact_engine.h"

#include <stdlib.h>
#include <string.h>

#define ALL ((1u << REDACT_DETECTOR_COUNT) - 1)

static const struct redact_rule_spec rules[] = {
    {"api_key", "\\bsk_(?:live|test)_[A-Za-z0-9]{8,}"},
    {"employee", "EMP-(?<value>\\d{4,8})"},
};

static struct redact_engine *make(bool hashed, bool with_rules)
{
    static const unsigned char key[] = "fuzz-key-fuzz-key-fuzz-key-fuzz-key!";
    struct redact_engine_config config = {
        .detectors = ALL,
        .mask = "[REDACTED:{detector}]",
        .rules = with_rules ? rules : NULL,
        .rule_count = with_rules ? sizeof rules / sizeof rules[0] : 0,
        .hash_key = hashed ? key : NULL,
        .hash_key_len = sizeof key - 1,
        .hash_length = 16,
    };
    char *error = NULL;
    struct redact_engine *e = redact_engine_new(&config, &error);
    if (!e)
        abort();
    return e;
}

/* Redacts text into out; checks the bound; returns the replacements. */
static size_t redact(struct redact_engine *e, const char *text, size_t len, struct buf *out)
{
    size_t n = redact_engine_find(e, text, len, false);
    buf_reset(out);
    redact_engine_write(e, text, len, out, NULL);
    if (n > len || out->len > len + n * redact_engine_max_replacement(e))
        abort();
    if (n == 0 && (out->len != len || (len && memcmp(out->data, text, len) != 0)))
        abort();
    return n;
}

static void check_idempotent(struct redact_engine *e, const char *text, size_t len)
{
    struct buf once = BUF_INIT, twice = BUF_INIT;
    redact(e, text, len, &once);
    if (redact(e, once.data ? once.data : "", once.len, &twice) != 0 || twice.len != once.len ||
        (once.len && memcmp(once.data, twice.data, once.len) != 0))
        abort();
    /* the same text as the value of a field named for a secret */
    size_t whole = redact_engine_find_whole(e, once.data ? once.data : "", once.len, 0);
    buf_reset(&twice);
    redact_engine_write(e, once.data ? once.data : "", once.len, &twice, NULL);
    if (redact_engine_find_whole(e, twice.data ? twice.data : "", twice.len, 0) != 0 || whole > 1)
        abort();
    buf_free(&once);
    buf_free(&twice);
}

/* The text through the engine of each implementation: the same output. */
static void check_implementations_agree(bool hashed, const char *text, size_t len)
{
    static struct redact_engine *engines[2][REDACT_ANCHOR_IMPL_COUNT];
    struct buf reference = BUF_INIT, out = BUF_INIT;
    bool first = true;
    for (int impl = 0; impl < REDACT_ANCHOR_IMPL_COUNT; impl++) {
        if (!redact_anchor_impl_available((enum redact_anchor_impl)impl))
            continue;
        if (!engines[hashed][impl]) {
            redact_anchor_impl_force((enum redact_anchor_impl)impl);
            engines[hashed][impl] = make(hashed, false);
            redact_anchor_impl_force(redact_anchor_impl_best());
        }
        redact(engines[hashed][impl], text, len, first ? &reference : &out);
        if (!first && (out.len != reference.len ||
                       (out.len && memcmp(out.data, reference.data, out.len) != 0)))
            abort();
        first = false;
    }
    buf_free(&reference);
    buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct redact_engine *engines[2][2];
    if (size == 0)
        return 0;
    bool hashed = data[0] & 1;
    for (int r = 0; r < 2; r++)
        if (!engines[hashed][r])
            engines[hashed][r] = make(hashed, r);
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    check_idempotent(engines[hashed][0], text, len);
    check_implementations_agree(hashed, text, len);
    struct buf out = BUF_INIT;
    redact(engines[hashed][1], text, len, &out);
    buf_free(&out);
    return 0;
}
