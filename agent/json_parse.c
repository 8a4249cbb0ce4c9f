/* JSON input (see json_parse.h): recursive descent, bounded by
 * CODEC_MAX_DEPTH, that builds values as it goes and copies a string without
 * escapes in one piece. Not a validator of UTF-8, not incremental. */
#include "json_parse.h"

#include "codec.h"
#include "json_map.h"
#include "xalloc.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Numbers shorter than this are copied to the stack for strtod, longer ones
 * (hundreds of digits: rare) to the heap. */
#define NUMBER_STACK_SIZE 64
/* uint64_t holds every number of up to 19 decimal digits. */
#define UINT64_SAFE_DIGITS 19

#define STRINGIFY(x) #x
#define TOO_DEEP(max) "maps and arrays nested deeper than " STRINGIFY(max)
/* Levels a subtree kept as text may have (parse_raw_container). */
#define JSON_RAW_MAX_DEPTH 8192

struct parser {
    const unsigned char *text;
    size_t len;
    size_t pos;
    char **error; /* where the message goes, or NULL */
};

static const bool json_space[256] = {[' '] = true, ['\t'] = true, ['\n'] = true, ['\r'] = true};

static int fail(struct parser *p, const char *what)
{
    if (!p->error)
        return -1;
    if (p->pos < p->len)
        *p->error = xasprintf("%s at byte %zu", what, p->pos);
    else
        *p->error = xasprintf("%s at end of input (byte %zu)", what, p->pos);
    return -1;
}

static void skip_space(struct parser *p)
{
    while (p->pos < p->len && json_space[p->text[p->pos]])
        p->pos++;
}

/* The next byte, or -1 at the end of the input. */
static int peek(const struct parser *p)
{
    return p->pos < p->len ? p->text[p->pos] : -1;
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int hex_value(unsigned char c)
{
    if (is_digit(c))
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The UTF-16 code unit of the "\uXXXX" at `s`, or -1 if there is none. */
static long u_escape(const unsigned char *s, const unsigned char *end)
{
    if (end - s < 6 || s[0] != '\\' || s[1] != 'u')
        return -1;
    long unit = 0;
    for (int i = 2; i < 6; i++) {
        int digit = hex_value(s[i]);
        if (digit < 0)
            return -1;
        unit = unit << 4 | digit;
    }
    return unit;
}

static unsigned char *put_utf8(unsigned char *out, uint32_t cp)
{
    if (cp < 0x80) {
        *out++ = (unsigned char)cp;
    } else if (cp < 0x800) {
        *out++ = (unsigned char)(0xc0 | cp >> 6);
        *out++ = (unsigned char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *out++ = (unsigned char)(0xe0 | cp >> 12);
        *out++ = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        *out++ = (unsigned char)(0x80 | (cp & 0x3f));
    } else {
        *out++ = (unsigned char)(0xf0 | cp >> 18);
        *out++ = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
        *out++ = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        *out++ = (unsigned char)(0x80 | (cp & 0x3f));
    }
    return out;
}

/* Decodes the \u escape at `*s` (joining a surrogate pair) into `*out`.
 * Returns -1 if the escape is malformed. */
static int decode_u_escape(const unsigned char **s, const unsigned char *end, unsigned char **out)
{
    long unit = u_escape(*s, end);
    if (unit < 0)
        return -1;
    *s += 6;
    uint32_t cp = (uint32_t)unit;
    if (unit >= 0xd800 && unit <= 0xdbff) {
        long low = u_escape(*s, end);
        if (low >= 0xdc00 && low <= 0xdfff) {
            cp = 0x10000 + ((uint32_t)(unit - 0xd800) << 10) + (uint32_t)(low - 0xdc00);
            *s += 6;
        } else {
            cp = 0xfffd;
        }
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
        cp = 0xfffd;
    }
    *out = put_utf8(*out, cp);
    return 0;
}

static int short_escape(unsigned char c)
{
    switch (c) {
    case '"':
    case '\\':
    case '/':
        return c;
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    }
    return -1;
}

/* Decodes the string body [s, end) into `out`, which has room for end - s
 * bytes: no escape is shorter than what it stands for. Returns the end of the
 * output, or NULL with *bad at a malformed escape. A backslash is never the
 * last byte of the body: `end` follows an even run of them. */
static unsigned char *decode_escapes(const unsigned char *s, const unsigned char *end,
                                     unsigned char *out, const unsigned char **bad)
{
    for (;;) {
        const unsigned char *backslash = memchr(s, '\\', (size_t)(end - s));
        size_t run = (size_t)((backslash ? backslash : end) - s);
        memcpy(out, s, run);
        out += run;
        if (!backslash)
            return out;
        s = backslash;
        int c = short_escape(s[1]);
        if (c >= 0) {
            *out++ = (unsigned char)c;
            s += 2;
        } else if (decode_u_escape(&s, end, &out) < 0) {
            *bad = s;
            return NULL;
        }
    }
}

/* The closing quote of a string body that holds a backslash: the first '"'
 * after an even run of backslashes. NULL if the input ends first. */
static const unsigned char *escaped_string_end(const unsigned char *body, const unsigned char *end)
{
    const unsigned char *s = body;
    for (;;) {
        const unsigned char *quote = memchr(s, '"', (size_t)(end - s));
        if (!quote)
            return NULL;
        const unsigned char *run = quote;
        while (run > body && run[-1] == '\\')
            run--;
        if ((quote - run) % 2 == 0)
            return quote;
        s = quote + 1;
    }
}

static int parse_escaped_string(struct parser *p, const unsigned char *body,
                                struct value_string *out)
{
    const unsigned char *quote = escaped_string_end(body, p->text + p->len);
    if (!quote)
        return fail(p, "unterminated string");
    unsigned char *decoded = xmalloc((size_t)(quote - body) + 1);
    const unsigned char *bad = NULL;
    unsigned char *decoded_end = decode_escapes(body, quote, decoded, &bad);
    if (!decoded_end) {
        free(decoded);
        p->pos = (size_t)(bad - p->text);
        return fail(p, bad[1] == 'u' ? "invalid \\u escape" : "invalid escape");
    }
    *decoded_end = '\0';
    *out = (struct value_string){.ptr = (char *)decoded, .len = (size_t)(decoded_end - decoded)};
    p->pos = (size_t)(quote + 1 - p->text);
    return 0;
}

/* Reads the string whose opening quote is at p->pos. */
static int parse_string(struct parser *p, struct value_string *out)
{
    const unsigned char *body = p->text + p->pos + 1;
    const unsigned char *quote = memchr(body, '"', p->len - p->pos - 1);
    if (!quote)
        return fail(p, "unterminated string");
    size_t n = (size_t)(quote - body);
    if (memchr(body, '\\', n))
        return parse_escaped_string(p, body, out);
    *out = value_string((const char *)body, n).as.string;
    p->pos += n + 2;
    return 0;
}

static int parse_string_value(struct parser *p, struct value *out)
{
    struct value_string s;
    if (parse_string(p, &s) < 0)
        return -1;
    *out = (struct value){.type = VALUE_STRING, .as.string = s};
    return 0;
}

static int64_t negate(uint64_t magnitude) /* magnitude <= 2^63 */
{
    return magnitude ? -(int64_t)(magnitude - 1) - 1 : 0;
}

/* Reads the validated number text [start, p->pos) with strtod (C locale). */
static int parse_double(struct parser *p, size_t start, struct value *out)
{
    char stack[NUMBER_STACK_SIZE];
    size_t n = p->pos - start;
    char *copy = n < sizeof stack ? stack : xmalloc(n + 1);
    memcpy(copy, p->text + start, n);
    copy[n] = '\0';
    double d = strtod(copy, NULL);
    if (copy != stack)
        free(copy);
    if (isinf(d)) {
        p->pos = start;
        return fail(p, "number out of range");
    }
    *out = value_float(d);
    return 0;
}

/* Skips the digits at p->pos; fails unless there is at least one. */
static int skip_digits(struct parser *p)
{
    size_t first = p->pos;
    while (p->pos < p->len && is_digit(p->text[p->pos]))
        p->pos++;
    return p->pos > first ? 0 : fail(p, "expected a digit");
}

/* Fraction and exponent, if any. Returns 1 if there was one, 0 if not. */
static int parse_fraction_exponent(struct parser *p)
{
    int found = 0;
    if (peek(p) == '.') {
        p->pos++;
        if (skip_digits(p) < 0)
            return -1;
        found = 1;
    }
    if (peek(p) == 'e' || peek(p) == 'E') {
        p->pos++;
        if (peek(p) == '+' || peek(p) == '-')
            p->pos++;
        if (skip_digits(p) < 0)
            return -1;
        found = 1;
    }
    return found;
}

static int parse_number(struct parser *p, struct value *out)
{
    size_t start = p->pos;
    bool negative = peek(p) == '-';
    p->pos += negative;
    size_t digits = p->pos;
    uint64_t magnitude = 0;
    if (peek(p) == '0') {
        p->pos++;
        if (p->pos < p->len && is_digit(p->text[p->pos]))
            return fail(p, "leading zero in number");
    } else {
        for (; p->pos < p->len && is_digit(p->text[p->pos]); p->pos++)
            magnitude = magnitude * 10 + (uint64_t)(p->text[p->pos] - '0');
        if (p->pos == digits)
            return fail(p, "expected a digit");
    }
    digits = p->pos - digits;
    int fraction = parse_fraction_exponent(p);
    if (fraction < 0)
        return -1;
    uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : INT64_MAX;
    if (fraction || digits > UINT64_SAFE_DIGITS || magnitude > limit)
        return parse_double(p, start, out);
    *out = value_int(negative ? negate(magnitude) : (int64_t)magnitude);
    return 0;
}

static int parse_literal(struct parser *p, const char *word, size_t n, struct value v,
                         struct value *out)
{
    if (p->len - p->pos < n || memcmp(p->text + p->pos, word, n) != 0)
        return fail(p, "invalid literal");
    p->pos += n;
    *out = v;
    return 0;
}

static int parse_value(struct parser *p, int depth, struct value *out);

static int parse_member(struct parser *p, int depth, struct value_map *map)
{
    if (peek(p) != '"')
        return fail(p, "expected a string key");
    struct value_string key;
    if (parse_string(p, &key) < 0)
        return -1;
    skip_space(p);
    if (peek(p) != ':') {
        free(key.ptr);
        return fail(p, "expected ':'");
    }
    p->pos++;
    skip_space(p);
    struct value v;
    if (parse_value(p, depth, &v) < 0) {
        free(key.ptr);
        return -1;
    }
    json_map_push(map, key, &v);
    return 0;
}

/* Reads the object at p->pos into `map`, which is at `depth`. On error the
 * members read so far stay in `map`, for the caller to free. */
static int parse_object(struct parser *p, int depth, struct value_map *map)
{
    p->pos++;
    skip_space(p);
    if (peek(p) == '}') {
        p->pos++;
        return 0;
    }
    for (;;) {
        if (parse_member(p, depth, map) < 0)
            return -1;
        skip_space(p);
        int c = peek(p);
        if (c != ',' && c != '}')
            return fail(p, "expected ',' or '}'");
        p->pos++;
        if (c == '}')
            break;
        skip_space(p);
    }
    json_map_dedup(map);
    return 0;
}

static int parse_array(struct parser *p, int depth, struct value_array *array)
{
    p->pos++;
    skip_space(p);
    if (peek(p) == ']') {
        p->pos++;
        return 0;
    }
    for (;;) {
        struct value item;
        if (parse_value(p, depth, &item) < 0)
            return -1;
        value_array_push(array, &item);
        skip_space(p);
        int c = peek(p);
        if (c != ',' && c != ']')
            return fail(p, "expected ',' or ']'");
        p->pos++;
        if (c == ']')
            return 0;
        skip_space(p);
    }
}

/* Moves p->pos past the string that starts there. */
static int skip_string(struct parser *p)
{
    for (size_t i = p->pos + 1; i < p->len; i++) {
        if (p->text[i] == '\\') {
            i++;
        } else if (p->text[i] == '"') {
            p->pos = i + 1;
            return 0;
        }
    }
    return fail(p, "unterminated string");
}

/* A map or array at CODEC_MAX_DEPTH: the string of its JSON text, so that
 * the levels above keep their fields. Its brackets must match (up to
 * JSON_RAW_MAX_DEPTH more levels, one bit each) and its strings end, but
 * nothing else inside is checked. */
static int parse_raw_container(struct parser *p, struct value *out)
{
    uint8_t is_object[JSON_RAW_MAX_DEPTH / 8];
    size_t depth = 0, start = p->pos;
    while (p->pos < p->len) {
        unsigned char c = p->text[p->pos];
        if (c == '"') {
            if (skip_string(p) < 0)
                return -1;
            continue;
        }
        if (c == '{' || c == '[') {
            if (depth == JSON_RAW_MAX_DEPTH)
                return fail(p, TOO_DEEP(JSON_RAW_MAX_DEPTH));
            uint8_t bit = (uint8_t)(1u << (depth % 8));
            is_object[depth / 8] =
                (uint8_t)(c == '{' ? is_object[depth / 8] | bit : is_object[depth / 8] & ~bit);
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
            bool object = is_object[depth / 8] & (1u << (depth % 8));
            if (object != (c == '}'))
                return fail(p, object ? "expected '}'" : "expected ']'");
            if (depth == 0) {
                p->pos++;
                *out = value_string((const char *)p->text + start, p->pos - start);
                return 0;
            }
        }
        p->pos++;
    }
    return fail(p, "unterminated map or array");
}

/* Reads the map or array at p->pos, inside `depth` others. */
static int parse_container(struct parser *p, int depth, struct value *out)
{
    if (depth >= CODEC_MAX_DEPTH)
        return parse_raw_container(p, out);
    int rc;
    if (peek(p) == '{') {
        *out = value_map_new();
        rc = parse_object(p, depth + 1, &out->as.map);
    } else {
        *out = value_array_new();
        rc = parse_array(p, depth + 1, &out->as.array);
    }
    if (rc < 0)
        value_free(out);
    return rc;
}

/* Reads the value at p->pos (not whitespace). On error *out owns nothing:
 * it is left as it was or VALUE_NULL. */
static int parse_value(struct parser *p, int depth, struct value *out)
{
    switch (peek(p)) {
    case '{':
    case '[':
        return parse_container(p, depth, out);
    case '"':
        return parse_string_value(p, out);
    case 't':
        return parse_literal(p, "true", 4, value_bool(true), out);
    case 'f':
        return parse_literal(p, "false", 5, value_bool(false), out);
    case 'n':
        return parse_literal(p, "null", 4, value_null(), out);
    case '-':
    case '0' ... '9':
        return parse_number(p, out);
    }
    return fail(p, "expected a value");
}

/* Only whitespace may follow the value. */
static int parse_end(struct parser *p)
{
    skip_space(p);
    return p->pos == p->len ? 0 : fail(p, "unexpected data after the value");
}

int json_parse(const char *text, size_t len, struct value *out, char **error)
{
    struct parser p = {(const unsigned char *)text, len, 0, error};
    *out = value_null();
    skip_space(&p);
    if (parse_value(&p, 0, out) < 0)
        return -1;
    if (parse_end(&p) < 0) {
        value_free(out);
        return -1;
    }
    return 0;
}

/* Adds `members` (keys unique) to `map`, replacing values of keys present. */
static void map_merge(struct value_map *map, struct value_map *members)
{
    if (map->count == 0) {
        free(map->entries);
        *map = *members;
        return;
    }
    for (uint32_t i = 0; i < members->count; i++)
        json_map_push(map, members->entries[i].key, &members->entries[i].value);
    free(members->entries);
    json_map_dedup(map);
}

int json_parse_object_into(const char *text, size_t len, struct value_map *map, char **error)
{
    struct parser p = {(const unsigned char *)text, len, 0, error};
    struct value_map members = {0};
    skip_space(&p);
    if (peek(&p) != '{')
        return fail(&p, "expected an object");
    if (parse_object(&p, 1, &members) < 0 || parse_end(&p) < 0) {
        value_map_free(&members);
        return -1;
    }
    map_merge(map, &members);
    return 0;
}
