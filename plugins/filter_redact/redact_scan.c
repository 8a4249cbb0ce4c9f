/* The one-pass scan of the built-in detectors (see redact_scan.h): the main
 * loop, and the detectors of card numbers, IBANs, AWS access key ids, JWTs
 * and PEM private keys. The key=value forms and bearer tokens are in
 * redact_scan_keys.c. */
#include "redact_scan.h"

#include "redact_anchor.h"
#include "redact_checks.h"
#include "redact_marker.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

static const char *const detector_names[] = {
    [REDACT_CARD] = "card", [REDACT_BEARER] = "bearer",
    [REDACT_JWT] = "jwt",   [REDACT_PASSWORD] = "password",
    [REDACT_AWS] = "aws",   [REDACT_PRIVATE_KEY] = "private_key",
    [REDACT_IBAN] = "iban",
};

const char *redact_detector_name(unsigned detector)
{
    return detector < REDACT_DETECTOR_COUNT ? detector_names[detector] : NULL;
}

int redact_detector_find(const char *name)
{
    for (unsigned i = 0; i < REDACT_DETECTOR_COUNT; i++)
        if (strcmp(detector_names[i], name) == 0)
            return (int)i;
    return -1;
}

void redact_spans_add(struct redact_spans *spans, size_t start, size_t end, uint32_t label,
                      bool marker)
{
    spans->items = xgrow(spans->items, &spans->cap, spans->count + 1, sizeof *spans->items);
    spans->items[spans->count++] =
        (struct redact_span){.start = start, .end = end, .label = label, .marker = marker};
}

void redact_spans_free(struct redact_spans *spans)
{
    free(spans->items);
    *spans = (struct redact_spans){0};
}

static uint64_t wanted(uint32_t enabled, enum redact_detector d)
{
    return (enabled & (1u << d)) ? ~0ull : 0;
}

void redact_scanner_init(struct redact_scanner *scanner, uint32_t enabled,
                         const struct redact_markers *markers)
{
    memset(scanner, 0, sizeof *scanner);
    scanner->enabled = enabled;
    scanner->markers = markers;
    scanner->anchors = (struct redact_anchor_set){
        .card = wanted(enabled, REDACT_CARD),
        .iban = wanted(enabled, REDACT_IBAN),
        .aws = wanted(enabled, REDACT_AWS),
        .jwt = wanted(enabled, REDACT_JWT),
        .pem = wanted(enabled, REDACT_PRIVATE_KEY),
        .bearer = wanted(enabled, REDACT_BEARER),
        .keys = wanted(enabled, REDACT_PASSWORD) | wanted(enabled, REDACT_AWS),
        .marker = markers ? ~0ull : 0,
        .marker_byte = markers ? redact_markers_first_byte(markers) : 0,
    };
    redact_anchor_set_impl(&scanner->anchors);
}

static bool enabled(const struct redact_scan_ctx *ctx, enum redact_detector d)
{
    return ctx->scanner->enabled & (1u << d);
}

bool redact_scan_marker(struct redact_scan_ctx *ctx, size_t pos, size_t *end)
{
    size_t n =
        ctx->scanner->markers ? redact_marker_at(ctx->scanner->markers, ctx->s, ctx->len, pos) : 0;
    if (n == 0)
        return false;
    redact_spans_add(ctx->spans, pos, pos + n, 0, true);
    *end = pos + n;
    return true;
}

/* Card numbers. A run is digit groups joined by single spaces or dashes;
 * a card is one group of 13-19 digits, or groups printed as cards are
 * (4-4-4-4, 4-4-4-1..4, 4-4-4-4-1..3, 4-6-4, 4-6-5). */

#define CARD_WINDOW 5

struct card_group {
    size_t start;
    size_t end;
};

/* Reads the group of digits at *pos. True when another group follows after
 * one separator (*pos is then its start), else *pos is the group's end. */
static bool card_next_group(const struct redact_scan_ctx *ctx, size_t *pos, struct card_group *g)
{
    const char *s = ctx->s;
    size_t p = *pos;
    g->start = p;
    while (p < ctx->len && redact_is_digit((unsigned char)s[p]))
        p++;
    g->end = p;
    if (p + 1 < ctx->len && (s[p] == ' ' || s[p] == '-') &&
        redact_is_digit((unsigned char)s[p + 1])) {
        *pos = p + 1;
        return true;
    }
    *pos = p;
    return false;
}

/* Not inside a word or a longer number: no letter or digit before, no
 * '.' ("0.4111...", a version, a host), no '+' (a phone number). Only the
 * byte before is looked at: what precedes it may be replaced on a first
 * pass, and a second must decide the same. */
static bool card_may_start(const struct redact_scan_ctx *ctx, size_t at)
{
    if (at == 0)
        return true;
    unsigned char c = (unsigned char)ctx->s[at - 1];
    return !redact_is_alnum(c) && c != '+' && c != '.';
}

static bool card_may_end(const struct redact_scan_ctx *ctx, size_t at)
{
    if (at == ctx->len)
        return true;
    unsigned char c = (unsigned char)ctx->s[at];
    if (redact_is_alnum(c))
        return false;
    return !(c == '.' && at + 1 < ctx->len && redact_is_digit((unsigned char)ctx->s[at + 1]));
}

static bool card_shape(const struct card_group *g, size_t m)
{
    size_t total = 0, len[CARD_WINDOW];
    for (size_t i = 0; i < m; i++) {
        len[i] = g[i].end - g[i].start;
        total += len[i];
    }
    if (total < REDACT_CARD_MIN_DIGITS || total > REDACT_CARD_MAX_DIGITS)
        return false;
    if (m == 1)
        return true;
    if (len[0] != 4)
        return false;
    if (m == 3 && len[1] == 6)
        return len[2] == 4 || len[2] == 5;
    for (size_t i = 1; i + 1 < m; i++)
        if (len[i] != 4)
            return false;
    return len[m - 1] >= 1 && len[m - 1] <= 4;
}

static bool card_digits_valid(const struct redact_scan_ctx *ctx, const struct card_group *g,
                              size_t m)
{
    char digits[REDACT_CARD_MAX_DIGITS];
    size_t n = 0;
    for (size_t i = 0; i < m; i++) {
        size_t len = g[i].end - g[i].start;
        memcpy(digits + n, ctx->s + g[i].start, len);
        n += len;
    }
    return redact_card_valid(digits, n);
}

/* The longest card starting at g[0], as a count of groups (0: none).
 * `first`: g[0] starts the run; `ends_run`: g[n - 1] ends it. */
static size_t card_at(struct redact_scan_ctx *ctx, const struct card_group *g, size_t n, bool first,
                      bool ends_run)
{
    if (first && !card_may_start(ctx, g[0].start))
        return 0;
    for (size_t m = n; m >= 1; m--) {
        if (!card_shape(g, m))
            continue;
        if (m == n && ends_run && !card_may_end(ctx, g[m - 1].end))
            continue;
        if (card_digits_valid(ctx, g, m)) {
            redact_spans_add(ctx->spans, g[0].start, g[m - 1].end, REDACT_CARD, false);
            return m;
        }
    }
    return 0;
}

/* The run of digit groups at `i`, tried as cards from each group on. */
static size_t scan_card_run(struct redact_scan_ctx *ctx, size_t i)
{
    struct card_group window[CARD_WINDOW];
    size_t n = 0, pos = i;
    bool more = true, first = true;
    for (;;) {
        while (more && n < CARD_WINDOW)
            more = card_next_group(ctx, &pos, &window[n++]);
        if (n == 0)
            break;
        size_t used = card_at(ctx, window, n, first, !more);
        size_t drop = used ? used : 1;
        memmove(window, window + drop, (n - drop) * sizeof window[0]);
        n -= drop;
        first = false;
    }
    return pos;
}

/* Where to go on after the run of digits at `i`: past the last card found
 * in it, so that what follows the card is looked at as it will be once the
 * card is replaced (a URL's scheme, `12 37://`); without a card, past the
 * run, but for its last digit when ':' or '=' follows (a scheme or a key:
 * `2024://`). */
static size_t digits_resume(const struct redact_scan_ctx *ctx, size_t run_end, size_t cards_before)
{
    if (ctx->spans->count > cards_before)
        return ctx->spans->items[ctx->spans->count - 1].end;
    bool separator = run_end < ctx->len && (ctx->s[run_end] == ':' || ctx->s[run_end] == '=');
    return separator ? run_end - 1 : run_end;
}

/* The run of digit groups at `i`: cards are looked for in it when it has
 * enough digits. Returns where to go on. */
static size_t scan_digits(struct redact_scan_ctx *ctx, size_t i)
{
    /* Most runs (times, addresses, counts) are too short: one quick look. */
    const char *s = ctx->s;
    size_t p = i, digits = 0, cards_before = ctx->spans->count;
    for (;;) {
        while (p < ctx->len && redact_is_digit((unsigned char)s[p])) {
            p++;
            digits++;
        }
        if (p + 1 < ctx->len && (s[p] == ' ' || s[p] == '-') &&
            redact_is_digit((unsigned char)s[p + 1]))
            p++;
        else
            break;
    }
    if (digits >= REDACT_CARD_MIN_DIGITS)
        p = scan_card_run(ctx, i);
    return digits_resume(ctx, p, cards_before);
}

/* AWS access key ids: AKIA (long-term) or ASIA (temporary) and 16 upper-case
 * letters or digits, as a word of its own. */
static bool scan_aws_id(struct redact_scan_ctx *ctx, size_t i, size_t *end)
{
    const char *s = ctx->s;
    if (i + 20 > ctx->len || (i > 0 && redact_is_alnum((unsigned char)s[i - 1])))
        return false;
    if (memcmp(s + i, "AKIA", 4) != 0 && memcmp(s + i, "ASIA", 4) != 0)
        return false;
    for (size_t p = i + 4; p < i + 20; p++)
        if (!redact_is_upper((unsigned char)s[p]) && !redact_is_digit((unsigned char)s[p]))
            return false;
    if (i + 20 < ctx->len && redact_is_alnum((unsigned char)s[i + 20]))
        return false;
    redact_spans_add(ctx->spans, i, i + 20, REDACT_AWS, false);
    *end = i + 20;
    return true;
}

/* IBANs: country code, two check digits, then the country's length in all,
 * either compact or in groups of four separated by single spaces. */
static bool scan_iban(struct redact_scan_ctx *ctx, size_t i, size_t *end)
{
    const char *s = ctx->s;
    if (i + 4 > ctx->len || (i > 0 && redact_is_alnum((unsigned char)s[i - 1])) ||
        !redact_is_upper((unsigned char)s[i + 1]) || !redact_is_digit((unsigned char)s[i + 2]) ||
        !redact_is_digit((unsigned char)s[i + 3]))
        return false;
    unsigned want = redact_iban_length(s + i);
    if (want == 0)
        return false;
    char iban[34];
    memcpy(iban, s + i, 4);
    size_t p = i + 4, n = 4, group = 0;
    bool spaced = p < ctx->len && s[p] == ' ';
    if (spaced)
        group = 4;
    while (n < want) {
        if (spaced && group == 4) {
            if (p >= ctx->len || s[p] != ' ')
                return false;
            p++;
            group = 0;
        }
        if (p >= ctx->len ||
            (!redact_is_upper((unsigned char)s[p]) && !redact_is_digit((unsigned char)s[p])))
            return false;
        iban[n++] = s[p++];
        group++;
    }
    if (p < ctx->len && redact_is_alnum((unsigned char)s[p]))
        return false;
    if (!redact_iban_valid(iban, n))
        return false;
    redact_spans_add(ctx->spans, i, p, REDACT_IBAN, false);
    *end = p;
    return true;
}

static bool is_base64url(unsigned char c)
{
    return redact_is_alnum(c) || c == '-' || c == '_';
}

static size_t base64url_run(const struct redact_scan_ctx *ctx, size_t p)
{
    while (p < ctx->len && is_base64url((unsigned char)ctx->s[p]))
        p++;
    return p;
}

/* JWTs (JWS, three parts) and JWEs (five) whose text starts at `i`:
 * dot-separated base64url parts, the first a JOSE header ('{"' is "eyJ" in
 * base64url, '{ ' "eyA"). */
static bool scan_jwt(struct redact_scan_ctx *ctx, size_t i, size_t *end)
{
    const char *s = ctx->s;
    /* not inside a longer token ('-' allowed: the end of a PEM block) */
    if (i > 0 && (redact_is_alnum((unsigned char)s[i - 1]) || s[i - 1] == '_'))
        return false;
    size_t ends[6];
    size_t parts = 1;
    ends[0] = base64url_run(ctx, i);
    while (parts < 6 && ends[parts - 1] < ctx->len && s[ends[parts - 1]] == '.') {
        ends[parts] = base64url_run(ctx, ends[parts - 1] + 1);
        parts++;
    }
    /* exactly three parts or five: dotted text with more is something else,
     * and one with a part left over would leave it beside the replacement */
    if (parts != 3 && parts != 5)
        return false;
    size_t token_end = ends[parts - 1];
    if (!redact_jwt_header_valid(s + i, ends[0] - i))
        return false;
    redact_spans_add(ctx->spans, i, token_end, REDACT_JWT, false);
    *end = token_end;
    return true;
}

#define PEM_BEGIN "-----BEGIN "
#define PEM_LABEL_MAX 64

/* PEM private keys: from "-----BEGIN <label>-----" (a label with "PRIVATE
 * KEY") to the matching END line, or to the end of the text when the text
 * holds only the start of the block. */
static bool scan_pem(struct redact_scan_ctx *ctx, size_t i, size_t *end)
{
    const char *s = ctx->s;
    size_t begin_len = sizeof PEM_BEGIN - 1;
    if (i + begin_len > ctx->len || s[i + 1] != '-' || memcmp(s + i, PEM_BEGIN, begin_len) != 0)
        return false;
    size_t label = i + begin_len, p = label;
    while (p < ctx->len && p - label <= PEM_LABEL_MAX &&
           (redact_is_upper((unsigned char)s[p]) || redact_is_digit((unsigned char)s[p]) ||
            s[p] == ' '))
        p++;
    size_t label_len = p - label;
    if (label_len > PEM_LABEL_MAX || p + 5 > ctx->len || memcmp(s + p, "-----", 5) != 0 ||
        !memmem(s + label, label_len, "PRIVATE KEY", 11))
        return false;
    char closing[9 + PEM_LABEL_MAX + 5];
    memcpy(closing, "-----END ", 9);
    memcpy(closing + 9, s + label, label_len);
    memcpy(closing + 9 + label_len, "-----", 5);
    size_t closing_len = 9 + label_len + 5, after = p + 5;
    const char *found = memmem(s + after, ctx->len - after, closing, closing_len);
    *end = found ? (size_t)(found - s) + closing_len : ctx->len;
    redact_spans_add(ctx->spans, i, *end, REDACT_PRIVATE_KEY, false);
    return true;
}

/* Whether `c` may end a key that names a secret, or come between such a
 * key and its separator: every secret key name ends in d, e, n, t or y, and
 * a quote, a blank, '_', '-' or '.' may follow it. */
static bool may_end_key(unsigned char c)
{
    switch (c | 0x20) {
    case 'd':
    case 'e':
    case 'n':
    case 't':
    case 'y':
        return redact_is_alnum(c);
    default:
        return c == '"' || c == '\'' || c == ' ' || c == '\t' || c == '_' || c == '-' || c == '.';
    }
}

/* A separator after s[i]: most keys are ruled out by their last byte here,
 * without a call. */
static size_t scan_separator_at(struct redact_scan_ctx *ctx, size_t i)
{
    const char *s = ctx->s;
    bool url = s[i + 1] == ':' && i + 2 < ctx->len && s[i + 2] == '/';
    if (!ctx->scanner->anchors.keys || (!url && !may_end_key((unsigned char)s[i])))
        return i + 2;
    return redact_scan_separator(ctx, i + 1);
}

/* What starts at anchor `i` (redact_anchor.h), if anything; returns where
 * to go on. A key and its value first: the anchor is the byte before the
 * separator, which no other anchor has there. A digit run is consumed up to
 * its last card (scan_digits); the other tests fall through to the next. */
static size_t scan_at(struct redact_scan_ctx *ctx, size_t i)
{
    const char *s = ctx->s;
    unsigned char c = (unsigned char)s[i];
    size_t end;
    /* a replacement already there is kept whole, and not looked into: a
     * hash reads `[password:4f2a...]`, a key and a value */
    if (c == ctx->scanner->anchors.marker_byte && redact_scan_marker(ctx, i, &end))
        return end;
    if (i + 1 < ctx->len && (s[i + 1] == '=' || s[i + 1] == ':'))
        return scan_separator_at(ctx, i);
    if (redact_is_digit(c) && enabled(ctx, REDACT_CARD))
        return scan_digits(ctx, i);
    if (c == 'A' && enabled(ctx, REDACT_AWS) && scan_aws_id(ctx, i, &end))
        return end;
    if (redact_is_upper(c) && enabled(ctx, REDACT_IBAN) && scan_iban(ctx, i, &end))
        return end;
    if (c == 'e' && enabled(ctx, REDACT_JWT) && scan_jwt(ctx, i, &end))
        return end;
    if ((c | 0x20) == 'b' && enabled(ctx, REDACT_BEARER) && redact_scan_bearer(ctx, i, &end))
        return end;
    if (c == '-' && enabled(ctx, REDACT_PRIVATE_KEY) && scan_pem(ctx, i, &end))
        return end;
    return i + 1;
}

/* The anchors of text[base..) (bit k: base + k), of its first
 * REDACT_ANCHOR_STEP bytes or of all up to the text's end. Past the end
 * the text reads as NULs, which start nothing. The end of a text of 64
 * bytes or more is read as its last 64 bytes, shifted, rather than copied. */
static uint64_t anchors_at(const struct redact_scan_ctx *ctx, size_t base)
{
    const struct redact_anchor_set *set = &ctx->scanner->anchors;
    if (base + REDACT_ANCHOR_SPAN <= ctx->len) {
        uint64_t anchors = redact_anchor_find(set, ctx->s + base);
        return base + REDACT_ANCHOR_SPAN == ctx->len ? anchors : anchors & REDACT_ANCHOR_STEP_MASK;
    }
    if (ctx->len >= REDACT_ANCHOR_SPAN) {
        size_t from = ctx->len - REDACT_ANCHOR_SPAN;
        return redact_anchor_find(set, ctx->s + from) >> (base - from);
    }
    char tail[REDACT_ANCHOR_SPAN] = {0};
    memcpy(tail, ctx->s + base, ctx->len - base);
    return redact_anchor_find(set, tail);
}

/* The shortest text a detector finds anything in: `pwd=x`. */
#define SHORTEST_SECRET 5
/* In shorter texts only a key and its value, a URL's password or a
 * replacement can be (every other secret is longer: a card has 13 digits,
 * a bearer token 16 bytes or an Authorization label before it). */
#define SHORT_TEXT 13

void redact_scan_range(const struct redact_scan_ctx *outer, size_t from, size_t to)
{
    struct redact_scan_ctx ctx = *outer;
    size_t done = from; /* what is before is done with */
    ctx.len = to;
    for (size_t base = from; base < to;) {
        uint64_t anchors = anchors_at(&ctx, base);
        while (anchors) {
            size_t i = base + (size_t)__builtin_ctzll(anchors);
            anchors &= anchors - 1;
            if (i >= done && i < to)
                done = scan_at(&ctx, i);
        }
        /* past what a detector took whole (a PEM block, a long value) */
        base = done > base + REDACT_ANCHOR_STEP ? done : base + REDACT_ANCHOR_STEP;
    }
}

/* Whether a short text holds a separator or a replacement's first byte:
 * else nothing can be found in it. */
static bool short_text_may_hold(const struct redact_scanner *scanner, const char *text, size_t len)
{
    unsigned char marker = scanner->anchors.marker_byte;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '=' || c == ':' || (c == marker && scanner->markers))
            return true;
    }
    return false;
}

void redact_scan(const struct redact_scanner *scanner, const char *text, size_t len,
                 struct redact_spans *spans)
{
    struct redact_scan_ctx ctx = {.scanner = scanner, .s = text, .len = len, .spans = spans};
    if (scanner->enabled == 0 || len < SHORTEST_SECRET ||
        (len < SHORT_TEXT && !short_text_may_hold(scanner, text, len)))
        return;
    redact_scan_range(&ctx, 0, len);
}
