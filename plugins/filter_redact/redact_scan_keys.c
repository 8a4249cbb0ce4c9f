/* The redact scanner's labelled secrets: a value after a key that names a
 * secret (`password=...`, `"token": "..."`, `api-key: ...`, an AWS secret
 * access key), the password of a URL (`scheme://user:password@host`), and
 * the credentials after `Bearer` (and after `Basic` under an Authorization
 * label). Only the value is replaced; the key stays, so a reader sees what
 * was there. */
#include "redact_scan.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

/* A bearer token without an Authorization label before it must be this long
 * to count ("the bearer of the letter" is prose). */
#define BEARER_BARE_MIN 16

/* Keys, lower case without '_', '-' and '.', whose values are secrets: the
 * key is one of these or ends with one (`db_password`, `X-Api-Key`,
 * `clientSecret`, `access_token`, `aws_secret_access_key`). */
static const struct key_suffix {
    const char *text;
    uint8_t len;
    uint8_t detector;
    bool field_only; /* a field's name, not a key in text */
} key_suffixes[] = {
    {"password", 8, REDACT_PASSWORD, false},
    {"passwd", 6, REDACT_PASSWORD, false},
    {"pwd", 3, REDACT_PASSWORD, false},
    {"passphrase", 10, REDACT_PASSWORD, false},
    {"secret", 6, REDACT_PASSWORD, false},
    {"token", 5, REDACT_PASSWORD, false},
    {"apikey", 6, REDACT_PASSWORD, false},
    {"secretaccesskey", 15, REDACT_AWS, false},
    {"awssecretkey", 12, REDACT_AWS, false},
    /* In text, "Authorization: Bearer x" is the bearer detector's; a field
     * named so holds credentials whatever their scheme. */
    {"authorization", 13, REDACT_BEARER, true},
};

static bool is_key_char(unsigned char c)
{
    return redact_is_alnum(c) || c == '_' || c == '-' || c == '.';
}

static bool is_blank(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* Whether key[0..k) ends with the suffix, in any case, '_', '-' and '.'
 * left out. */
static bool key_ends_with(const char *key, size_t k, const struct key_suffix *suffix)
{
    for (size_t j = suffix->len; j > 0;) {
        if (k == 0)
            return false;
        char c = key[--k];
        if (c == '_' || c == '-' || c == '.')
            continue;
        if ((char)(c | 0x20) != suffix->text[--j])
            return false;
    }
    return true;
}

/* The suffixes by their last letter: every one ends in d, e, n, t or y, so
 * most keys are ruled out by one look. Indexes into key_suffixes, 0xff
 * ending each list. */
static const uint8_t *suffixes_ending_in(char last)
{
    static const uint8_t d[] = {0, 1, 2, 0xff}, e[] = {3, 0xff}, t[] = {4, 0xff},
                         n[] = {5, 9, 0xff}, y[] = {6, 7, 8, 0xff};
    switch (last) {
    case 'd':
        return d;
    case 'e':
        return e;
    case 't':
        return t;
    case 'n':
        return n;
    case 'y':
        return y;
    default:
        return NULL;
    }
}

/* The detector whose key name s[..end) ends with, or -1. Looks back only as
 * far as the suffixes are long. */
static int suffix_match(uint32_t enabled, const char *s, size_t end, bool whole_value)
{
    size_t k = end;
    while (k > 0 && (s[k - 1] == '_' || s[k - 1] == '-' || s[k - 1] == '.'))
        k--;
    const uint8_t *candidates = k > 0 ? suffixes_ending_in((char)(s[k - 1] | 0x20)) : NULL;
    for (; candidates && *candidates != 0xff; candidates++) {
        const struct key_suffix *suffix = &key_suffixes[*candidates];
        if ((enabled & (1u << suffix->detector)) && (whole_value || !suffix->field_only) &&
            key_ends_with(s, k, suffix))
            return suffix->detector;
    }
    return -1;
}

/* PWD and OLDPWD are the shell's working directories, not passwords. */
static bool is_shell_directory(const char *key, size_t len)
{
    return (len == 3 && memcmp(key, "PWD", 3) == 0) || (len == 6 && memcmp(key, "OLDPWD", 6) == 0);
}

int redact_key_detector(uint32_t enabled, const char *key, size_t len, bool whole_value)
{
    if (len == 0 || is_shell_directory(key, len))
        return -1;
    return suffix_match(enabled, key, len, whole_value);
}

/* Whether the key that ends at `end` is `name`, whole. Only the key's end
 * is looked at, however long the key: what comes before it may be replaced
 * on a first pass, and a second pass must see the same key. */
static bool key_is(const struct redact_scan_ctx *ctx, size_t end, const char *name)
{
    size_t n = strlen(name);
    return end >= n && memcmp(ctx->s + end - n, name, n) == 0 &&
           (end == n || !is_key_char((unsigned char)ctx->s[end - n - 1]));
}

/* The detector of the key before the separator at `sep`, past blanks and a
 * closing quote (", ' or \" inside JSON text; *quoted tells whether there
 * was one), or -1. The key's end is checked first: most keys end in a
 * letter that rules them out. */
static int key_before(const struct redact_scan_ctx *ctx, size_t sep, bool *quoted)
{
    const char *s = ctx->s;
    size_t k = sep;
    while (k > 0 && sep - k < 8 && is_blank((unsigned char)s[k - 1]))
        k--;
    *quoted = k > 0 && (s[k - 1] == '"' || s[k - 1] == '\'');
    if (*quoted) {
        k--;
        if (k > 0 && s[k - 1] == '\\')
            k--;
    }
    int detector = suffix_match(ctx->scanner->enabled, s, k, false);
    if (detector < 0 || key_is(ctx, k, "PWD") || key_is(ctx, k, "OLDPWD"))
        return -1;
    return detector;
}

static bool is_literal(const char *s, size_t len)
{
    return (len == 4 && (memcmp(s, "null", 4) == 0 || memcmp(s, "true", 4) == 0)) ||
           (len == 5 && memcmp(s, "false", 5) == 0);
}

/* Where an unquoted value ends: at a blank, '&' (URL queries), a quote, and
 * in JSON text also at ',', '}' or ']'. Anything else belongs to it: a
 * password may hold ';' or ')', and cutting it there would leak the rest. */
static bool ends_value(unsigned char c, bool json)
{
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '&' || c == '"' || c == '\'')
        return true;
    return json && (c == ',' || c == '}' || c == ']');
}

/* Index of the closing `quote` at or after `p`, past backslash escapes. */
static size_t closing_quote(const struct redact_scan_ctx *ctx, size_t p, char quote)
{
    while (p < ctx->len && ctx->s[p] != quote)
        p += ctx->s[p] == '\\' && quote == '"' && p + 1 < ctx->len ? 2 : 1;
    return p < ctx->len ? p : ctx->len;
}

struct secret_value {
    size_t start;
    size_t end;
    size_t resume; /* past the closing quote */
};

/* The value that starts at `v`: quoted ("...", '...', \"...\" inside JSON
 * text: up to the closing quote, or the end when there is none) or not. A
 * JSON object, array or literal is not a secret. */
static bool value_at(const struct redact_scan_ctx *ctx, size_t v, bool json,
                     struct secret_value *out)
{
    const char *s = ctx->s;
    if (v >= ctx->len)
        return false;
    if (s[v] == '\\' && v + 1 < ctx->len && s[v + 1] == '"') {
        const char *close = memmem(s + v + 2, ctx->len - v - 2, "\\\"", 2);
        out->start = v + 2;
        out->end = close ? (size_t)(close - s) : ctx->len;
        out->resume = close ? out->end + 2 : ctx->len;
    } else if (s[v] == '"' || s[v] == '\'') {
        out->start = v + 1;
        out->end = closing_quote(ctx, v + 1, s[v]);
        out->resume = out->end < ctx->len ? out->end + 1 : ctx->len;
    } else {
        if (json && (s[v] == '{' || s[v] == '['))
            return false;
        size_t e = v;
        while (e < ctx->len && !ends_value((unsigned char)s[e], json))
            e++;
        if (is_literal(s + v, e - v))
            return false;
        *out = (struct secret_value){.start = v, .end = e, .resume = e};
    }
    return out->end > out->start;
}

/* Adds the value unless it is empty or a replacement already. */
static size_t add_secret(struct redact_scan_ctx *ctx, const struct secret_value *v, int detector)
{
    size_t marker_end;
    if (redact_scan_marker(ctx, v->start, &marker_end))
        return marker_end;
    redact_spans_add(ctx->spans, v->start, v->end, (uint32_t)detector, false);
    return v->resume;
}

/* The bytes of a URL's authority (RFC 3986: unreserved, sub-delims but the
 * quote, ':', '@', '%'), and UTF-8. Anything else ends it: '/', '?', '#',
 * quotes, blanks, and the '[' of a replacement already there, which may
 * stand for text that ended it on a first pass. */
static bool url_authority_char(unsigned char c)
{
    return redact_is_alnum(c) || c >= 0x80 || (c && strchr("-._~!$&()*+,;=:@%", c));
}

/* The first ':' in s[from..to) outside the replacements already there (a
 * hash `[card:...]` holds one), or 0. */
static size_t first_colon(const struct redact_scan_ctx *ctx, size_t from, size_t to)
{
    const struct redact_markers *markers = ctx->scanner->markers;
    unsigned char first = ctx->scanner->anchors.marker_byte;
    for (size_t p = from; p < to;) {
        size_t n = markers && (unsigned char)ctx->s[p] == first
                       ? redact_marker_at(markers, ctx->s, to, p)
                       : 0;
        if (n == 0 && ctx->s[p] == ':')
            return p;
        p += n ? n : 1;
    }
    return 0;
}

/* Whether a replacement starts at `pos` (without adding it); *end past it. */
static bool marker_at(const struct redact_scan_ctx *ctx, size_t pos, size_t *end)
{
    const struct redact_markers *markers = ctx->scanner->markers;
    size_t n = markers && pos < ctx->len ? redact_marker_at(markers, ctx->s, ctx->len, pos) : 0;
    *end = pos + n;
    return n > 0;
}

/* scheme://user:password@host: the password, up to the last '@' of the
 * authority (an unencoded '@' in a password is common enough). */
static bool scan_url_password(struct redact_scan_ctx *ctx, size_t i, size_t *resume)
{
    const char *s = ctx->s;
    if (i + 2 >= ctx->len || s[i + 1] != '/' || s[i + 2] != '/' || i == 0 ||
        !redact_is_alnum((unsigned char)s[i - 1]))
        return false;
    size_t a = i + 3, p = a, at = 0;
    while (p < ctx->len && url_authority_char((unsigned char)s[p])) {
        if (s[p] == '@')
            at = p;
        p++;
    }
    size_t colon = first_colon(ctx, a, p), end;
    /* user:[replacement]@: a password replaced on an earlier pass, taken as
     * that pass took it (the replacement ended the authority above) */
    if (colon && colon + 1 == p && marker_at(ctx, p, &end) && end < ctx->len && s[end] == '@') {
        redact_scan_range(ctx, a, colon);
        redact_spans_add(ctx->spans, p, end, 0, true);
        *resume = end;
        return true;
    }
    if (at)
        colon = first_colon(ctx, a, at);
    if (!at || !colon || colon + 1 == at)
        return false;
    /* the user part is looked at as any text (it cannot hold another URL:
     * no '/' in an authority), then the password is replaced */
    redact_scan_range(ctx, a, colon);
    struct secret_value v = {.start = colon + 1, .end = at, .resume = at};
    *resume = add_secret(ctx, &v, REDACT_PASSWORD);
    return true;
}

size_t redact_scan_separator(struct redact_scan_ctx *ctx, size_t i)
{
    const char *s = ctx->s;
    size_t resume;
    /* `scheme://`: a URL, never a key and its value */
    if (s[i] == ':' && i + 2 < ctx->len && s[i + 1] == '/' && s[i + 2] == '/') {
        bool found =
            (ctx->scanner->enabled & (1u << REDACT_PASSWORD)) && scan_url_password(ctx, i, &resume);
        return found ? resume : i + 3;
    }
    /* `==`, `::`: comparisons and scopes, not a key and its value */
    if (i + 1 < ctx->len && s[i + 1] == s[i])
        return i + 2;
    bool quoted;
    int detector = key_before(ctx, i, &quoted);
    if (detector < 0)
        return i + 1;
    size_t v = i + 1;
    if (s[i] == '=' && v < ctx->len && s[v] == '>') /* Ruby's "password" => "..." */
        v++;
    while (v < ctx->len && is_blank((unsigned char)s[v]))
        v++;
    struct secret_value value;
    if (!value_at(ctx, v, quoted, &value))
        return i + 1;
    return add_secret(ctx, &value, detector);
}

static bool is_token_char(unsigned char c)
{
    return redact_is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' ||
           c == '/';
}

/* "Authorization" (or Proxy-Authorization) just before `at`, past a few of
 * the characters headers and their dumps put between: `: `, `": "`, `=`, `[`. */
static bool authorization_before(const struct redact_scan_ctx *ctx, size_t at)
{
    static const char between[] = " \t\"':=[\\";
    size_t k = at, skipped = 0;
    while (k > 0 && skipped < 6 && strchr(between, ctx->s[k - 1])) {
        k--;
        skipped++;
    }
    return k >= 13 && strncasecmp(ctx->s + k - 13, "authorization", 13) == 0;
}

bool redact_scan_bearer(struct redact_scan_ctx *ctx, size_t i, size_t *end)
{
    const char *s = ctx->s;
    if (i > 0 && redact_is_alnum((unsigned char)s[i - 1]))
        return false;
    size_t word;
    if (i + 6 < ctx->len && strncasecmp(s + i, "bearer", 6) == 0)
        word = 6;
    else if (i + 5 < ctx->len && strncasecmp(s + i, "basic", 5) == 0)
        word = 5;
    else
        return false;
    size_t t = i + word;
    while (t < ctx->len && is_blank((unsigned char)s[t]))
        t++;
    if (t == i + word)
        return false;
    bool labelled = authorization_before(ctx, i);
    if (word == 5 && !labelled)
        return false;
    size_t e = t;
    while (e < ctx->len && is_token_char((unsigned char)s[e]))
        e++;
    while (e < ctx->len && s[e] == '=')
        e++;
    if (e == t || (!labelled && e - t < BEARER_BARE_MIN))
        return false;
    struct secret_value v = {.start = t, .end = e, .resume = e};
    *end = add_secret(ctx, &v, REDACT_BEARER);
    return true;
}
