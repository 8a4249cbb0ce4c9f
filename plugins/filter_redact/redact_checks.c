/* Checksums and shapes of the redact filter's detectors: see redact_checks.h.
 * The card ranges follow the networks' published IIN ranges; the IBAN lengths
 * are those of the ISO 13616 registry kept by SWIFT. */
#include "redact_checks.h"

#include "json_parse.h"
#include "value.h"

#include <stdint.h>
#include <string.h>

#define LEN(n) (1u << (n))
#define LENS(lo, hi) ((LEN((hi) + 1) - 1) & ~(LEN(lo) - 1))

/* The first `n` digits as a number. */
static unsigned prefix(const char *digits, unsigned n)
{
    unsigned v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v * 10 + (unsigned)(digits[i] - '0');
    return v;
}

static uint32_t lengths_2(const char *d)
{
    unsigned p4 = prefix(d, 4);
    if (p4 >= 2200 && p4 <= 2204) /* Mir */
        return LENS(16, 19);
    if (p4 >= 2221 && p4 <= 2720) /* Mastercard 2-series */
        return LEN(16);
    return 0;
}

static uint32_t lengths_3(const char *d)
{
    unsigned p2 = prefix(d, 2), p3 = prefix(d, 3), p4 = prefix(d, 4);
    if (p2 == 34 || p2 == 37) /* American Express */
        return LEN(15);
    if (p4 >= 3528 && p4 <= 3589) /* JCB */
        return LENS(16, 19);
    if ((p3 >= 300 && p3 <= 305) || p4 == 3095 || p2 == 36 || p2 == 38 || p2 == 39)
        return LENS(14, 19); /* Diners Club */
    return 0;
}

static uint32_t lengths_5(const char *d)
{
    unsigned p2 = prefix(d, 2);
    if (p2 >= 51 && p2 <= 55) /* Mastercard */
        return LEN(16);
    if (p2 == 50 || (p2 >= 56 && p2 <= 58)) /* Maestro */
        return LENS(13, 19);
    return 0;
}

static uint32_t lengths_6(const char *d)
{
    unsigned p2 = prefix(d, 2), p3 = prefix(d, 3);
    /* Discover (6011, 644-649, 65), UnionPay (62), RuPay (60, 65) */
    if (p2 == 60 || p2 == 62 || p2 == 65 || (p3 >= 644 && p3 <= 649))
        return LENS(16, 19);
    if (p2 == 63 || p2 == 67) /* Maestro */
        return LENS(13, 19);
    return 0;
}

/* The lengths the networks issue for the number's prefix, one bit each. */
static uint32_t card_lengths(const char *d)
{
    switch (d[0]) {
    case '2':
        return lengths_2(d);
    case '3':
        return lengths_3(d);
    case '4': /* Visa */
        return LEN(13) | LEN(16) | LEN(19);
    case '5':
        return lengths_5(d);
    case '6':
        return lengths_6(d);
    case '9': /* Troy */
        return prefix(d, 4) == 9792 ? LEN(16) : 0;
    default:
        return 0;
    }
}

bool redact_luhn_valid(const char *digits, size_t len)
{
    unsigned sum = 0;
    bool twice = false;
    for (size_t i = len; i-- > 0;) {
        unsigned d = (unsigned)(digits[i] - '0');
        if (twice)
            d = d * 2 > 9 ? d * 2 - 9 : d * 2;
        sum += d;
        twice = !twice;
    }
    return len > 0 && sum % 10 == 0;
}

bool redact_card_valid(const char *digits, size_t len)
{
    if (len < REDACT_CARD_MIN_DIGITS || len > REDACT_CARD_MAX_DIGITS)
        return false;
    return (card_lengths(digits) & LEN(len)) && redact_luhn_valid(digits, len);
}

/* The ISO 13616 registry: country code and IBAN length. */
static const struct {
    char cc[3];
    unsigned char length;
} iban_countries[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
    {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24},
    {"DE", 22}, {"DJ", 27}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18},
    {"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27},
    {"GT", 28}, {"HN", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26},
    {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20},
    {"LU", 20}, {"LV", 21}, {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MN", 20},
    {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23}, {"PK", 24},
    {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33}, {"SA", 24},
    {"SC", 31}, {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"SO", 23}, {"ST", 25},
    {"SV", 28}, {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20},
    {"YE", 30},
};

unsigned redact_iban_length(const char *cc)
{
    /* The table is sorted: a binary search over 89 entries. */
    size_t lo = 0, hi = sizeof iban_countries / sizeof iban_countries[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int cmp = memcmp(cc, iban_countries[mid].cc, 2);
        if (cmp == 0)
            return iban_countries[mid].length;
        if (cmp < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}

/* Adds character `c` to the running remainder: a digit as itself, a letter
 * as 10..35 (two digits). */
static unsigned mod97_add(unsigned r, char c)
{
    if (c >= '0' && c <= '9')
        return (r * 10 + (unsigned)(c - '0')) % 97;
    return (r * 100 + (unsigned)(c - 'A' + 10)) % 97;
}

bool redact_iban_valid(const char *iban, size_t len)
{
    if (len < 5 || redact_iban_length(iban) != len)
        return false;
    unsigned check = prefix(iban + 2, 2);
    if (check < 2 || check > 98)
        return false;
    unsigned r = 0;
    for (size_t i = 4; i < len + 4; i++) {
        char c = iban[i % len];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')))
            return false;
        r = mod97_add(r, c);
    }
    return r == 1;
}

/* A JOSE header is short; a longer first part is not one we look into. */
#define JWT_HEADER_MAX 1024

static int base64url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Decodes unpadded base64url into `out` (at most `cap` bytes); -1 when the
 * text is not base64url or would not fit. */
static long base64url_decode(const char *text, size_t len, unsigned char *out, size_t cap)
{
    if (len % 4 == 1 || len / 4 * 3 + 2 > cap)
        return -1;
    uint32_t bits = 0;
    unsigned held = 0;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int v = base64url_value(text[i]);
        if (v < 0)
            return -1;
        bits = bits << 6 | (uint32_t)v;
        held += 6;
        if (held >= 8) {
            held -= 8;
            out[n++] = (unsigned char)(bits >> held);
        }
    }
    return (long)n;
}

bool redact_jwt_header_valid(const char *header, size_t len)
{
    unsigned char decoded[JWT_HEADER_MAX];
    long n = base64url_decode(header, len, decoded, sizeof decoded);
    if (n < 2 || !memmem(decoded, (size_t)n, "\"alg\"", 5))
        return false;
    struct value v;
    if (json_parse((const char *)decoded, (size_t)n, &v, NULL) < 0)
        return false;
    const struct value *alg = v.type == VALUE_MAP ? value_map_get(&v.as.map, "alg", 3) : NULL;
    bool valid = alg && alg->type == VALUE_STRING;
    value_free(&v);
    return valid;
}
