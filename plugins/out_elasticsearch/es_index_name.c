/* Index names made valid for Elasticsearch (see es_index.h): its rules are
 * those of MetadataCreateIndexService.validateIndexOrAliasName and
 * validateIndexName. Lower-casing follows Java's toLowerCase(Locale.ROOT),
 * which Elasticsearch compares against, for the capitals of Latin-1, Latin
 * Extended-A, Greek and Cyrillic; capitals of other scripts are left as they
 * are (Elasticsearch then refuses the item, which is dead-lettered). */
#include "es_index.h"

#include <stdint.h>
#include <string.h>

static const bool index_forbidden[256] = {
    ['\\'] = true, ['/'] = true, ['*'] = true, ['?'] = true, ['"'] = true, ['<'] = true,
    ['>'] = true,  ['|'] = true, [' '] = true, [','] = true, ['#'] = true, [':'] = true,
};

/* Pairs where the capital is the even code point and its small letter the odd one after it. */
static bool even_capital(uint32_t c)
{
    return (c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177) || (c >= 0x460 && c <= 0x481) ||
           (c >= 0x48A && c <= 0x4BF) || (c >= 0x4D0 && c <= 0x52F);
}

/* Pairs where the capital is odd. */
static bool odd_capital(uint32_t c)
{
    return (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E) || (c >= 0x4C1 && c <= 0x4CE);
}

/* The small letter of a code point below U+0800 (two bytes in UTF-8). */
static uint32_t small_letter(uint32_t c)
{
    if ((c >= 0xC0 && c <= 0xDE && c != 0xD7) || (c >= 0x391 && c <= 0x3AB && c != 0x3A2) ||
        (c >= 0x410 && c <= 0x42F))
        return c + 0x20;
    if (even_capital(c))
        return c | 1;
    if (odd_capital(c))
        return c & 1 ? c + 1 : c;
    if (c >= 0x400 && c <= 0x40F)
        return c + 0x50;
    if (c >= 0x388 && c <= 0x38A)
        return c + 0x25;
    if (c == 0x38E || c == 0x38F)
        return c + 0x3F;
    switch (c) {
    case 0x178:
        return 0xFF;
    case 0x386:
        return 0x3AC;
    case 0x38C:
        return 0x3CC;
    case 0x4C0:
        return 0x4CF;
    default:
        return c;
    }
}

static void append_two_byte(struct buf *out, uint32_t c)
{
    buf_append_byte(out, (char)(0xC0 | c >> 6));
    buf_append_byte(out, (char)(0x80 | (c & 0x3F)));
}

/* Appends the byte or sequence at name[*i] lower-cased or replaced, and moves
 * *i past it. Returns the fixes made. */
static unsigned fix_char(const char *name, size_t len, size_t *i, struct buf *out)
{
    unsigned char c = (unsigned char)name[*i];
    if (c >= 'A' && c <= 'Z') {
        buf_append_byte(out, (char)(c - 'A' + 'a'));
        (*i)++;
        return 1u << ES_INDEX_FIX_UPPERCASE;
    }
    if (index_forbidden[c]) {
        buf_append_byte(out, '_');
        (*i)++;
        return 1u << ES_INDEX_FIX_FORBIDDEN;
    }
    unsigned char next = *i + 1 < len ? (unsigned char)name[*i + 1] : 0;
    if (c < 0xC2 || c > 0xDF || (next & 0xC0) != 0x80) {
        buf_append_byte(out, (char)c); /* ASCII, longer sequences, invalid bytes */
        (*i)++;
        return 0;
    }
    uint32_t cp = (uint32_t)(c & 0x1F) << 6 | (next & 0x3F);
    uint32_t small = small_letter(cp);
    *i += 2;
    if (cp == 0x130) { /* capital I with dot: Java gives i and a combining dot */
        buf_append(out, "i\xCC\x87", 3);
        return 1u << ES_INDEX_FIX_UPPERCASE;
    }
    append_two_byte(out, small);
    return small != cp ? 1u << ES_INDEX_FIX_UPPERCASE : 0;
}

/* The longest prefix of at most `max` bytes that does not cut a UTF-8 sequence. */
static size_t utf8_prefix(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

unsigned es_index_name_fix(const char *name, size_t len, struct buf *out)
{
    size_t start = out->len;
    unsigned fixes = 0;
    size_t i = 0;
    while (i < len && name[i] && strchr("_-+", name[i])) {
        fixes |= 1u << ES_INDEX_FIX_LEADING;
        i++;
    }
    while (i < len)
        fixes |= fix_char(name, len, &i, out);
    /* A forbidden byte replaced at the start gives a leading '_'. */
    size_t lead = start;
    while (lead < out->len && out->data[lead] && strchr("_-+", out->data[lead])) {
        fixes |= 1u << ES_INDEX_FIX_LEADING;
        lead++;
    }
    if (lead > start) {
        memmove(out->data + start, out->data + lead, out->len - lead);
        out->len -= lead - start;
    }
    size_t fixed_len = out->len - start;
    if (fixed_len > ES_INDEX_NAME_MAX) {
        out->len = start + utf8_prefix(out->data + start, fixed_len, ES_INDEX_NAME_MAX);
        fixes |= 1u << ES_INDEX_FIX_TOO_LONG;
    }
    const char *fixed = out->data + start;
    fixed_len = out->len - start;
    bool dots = (fixed_len == 1 && fixed[0] == '.') ||
                (fixed_len == 2 && fixed[0] == '.' && fixed[1] == '.');
    if (dots || fixed_len == 0) {
        out->len = start;
        buf_append(out, ES_INDEX_FALLBACK, sizeof ES_INDEX_FALLBACK - 1);
        fixes |= 1u << (dots ? ES_INDEX_FIX_DOTS : ES_INDEX_FIX_EMPTY);
    }
    return fixes;
}

const char *es_index_fix_name(enum es_index_fix fix)
{
    static const char *const names[ES_INDEX_FIX_COUNT] = {
        "uppercase", "forbidden_character", "leading_character", "dot_name", "too_long", "empty",
    };
    return names[fix];
}
