/* The streaming reader of `_bulk` responses (es_response_internal.h): one
 * pass over the body that checks it is JSON as json_parse reads it and
 * keeps, per item, only its operation, status and error. No value is built
 * but the "error" member of a failed item (parsed alone by json_parse, so
 * that its texts are what the tree reader would give). A success answer
 * (`{"errors":false,"items":[{"create":{"status":201}},...]}` with the
 * filter_path we ask for) costs one small allocation for the whole batch,
 * and its items, all alike, a comparison each with the one before.
 * "errors" is not trusted: every item is read and counted, since "errors"
 * says nothing of how many items there are (a body cut short, or the answer
 * of another request, has the wrong count) nor of which item failed, and an
 * item repeated costs a memcmp, no more than skipping it would.
 *
 * Whatever this does not handle exactly as json_parse would is declined, and
 * the tree reader takes the whole body: keys with escapes (json_parse
 * compares them decoded), a key twice where it matters (the last wins
 * there), numbers with a fraction or exponent or over 19 digits (json_parse
 * reads them as doubles and may find them out of range), nesting deeper than
 * SCAN_MAX_DEPTH (json_parse keeps very deep parts as text), and every
 * error. */
#include "es_response_internal.h"

#include "json_parse.h"
#include "xalloc.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Far below CODEC_MAX_DEPTH, where json_parse starts keeping containers as
 * text; bulk answers nest 4 levels, their errors a few more. */
#define SCAN_MAX_DEPTH 32

struct scan {
    const unsigned char *text;
    size_t len;
    size_t pos;
};

/* A string's body (between its quotes) as it is in the text. */
struct scan_string {
    const unsigned char *ptr;
    size_t len;
    bool escaped; /* holds a backslash */
};

/* What an item's operation object holds. */
struct scan_op {
    int status;                    /* 0: none, or not an integer in 100..599 */
    size_t error_start, error_end; /* the last "error" member's value; 0, 0: none */
};

static const bool scan_space[256] = {[' '] = true, ['\t'] = true, ['\n'] = true, ['\r'] = true};

static void skip_space(struct scan *s)
{
    while (s->pos < s->len && scan_space[s->text[s->pos]])
        s->pos++;
}

/* The byte at the position after whitespace, or -1 at the end. */
static int next(struct scan *s)
{
    skip_space(s);
    return s->pos < s->len ? s->text[s->pos] : -1;
}

static bool eat(struct scan *s, unsigned char c)
{
    if (next(s) != c)
        return false;
    s->pos++;
    return true;
}

static bool is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/* The escape at `p` (a backslash) as json_parse accepts it: its length, or
 * 0 if it is malformed. */
static size_t escape_length(const unsigned char *p, const unsigned char *end)
{
    if (end - p < 2)
        return 0;
    if (memchr("\"\\/bfnrt", p[1], 8))
        return 2;
    if (p[1] != 'u' || end - p < 6)
        return 0;
    for (int i = 2; i < 6; i++)
        if (!is_hex(p[i]))
            return 0;
    return 6;
}

/* Reads the string at the position (after whitespace). Raw control bytes and
 * invalid UTF-8 pass, as in json_parse. */
static bool read_string(struct scan *s, struct scan_string *out)
{
    if (next(s) != '"')
        return false;
    const unsigned char *p = s->text + s->pos + 1;
    const unsigned char *end = s->text + s->len;
    *out = (struct scan_string){.ptr = p};
    for (;;) {
        const unsigned char *quote = memchr(p, '"', (size_t)(end - p));
        if (!quote)
            return false;
        const unsigned char *backslash = memchr(p, '\\', (size_t)(quote - p));
        if (!backslash) {
            out->len = (size_t)(quote - out->ptr);
            s->pos = (size_t)(quote + 1 - s->text);
            return true;
        }
        size_t n = escape_length(backslash, end);
        if (!n)
            return false;
        out->escaped = true;
        p = backslash + n;
    }
}

static bool string_is(const struct scan_string *str, const char *word, size_t n)
{
    return !str->escaped && str->len == n && memcmp(str->ptr, word, n) == 0;
}

/* Reads a number that json_parse would read as an integer (no fraction or
 * exponent, at most 19 digits, no leading zero); its value goes to *value
 * if it is not NULL. */
static bool read_integer(struct scan *s, int64_t *value)
{
    skip_space(s);
    bool negative = s->pos < s->len && s->text[s->pos] == '-';
    size_t start = s->pos + negative;
    size_t i = start;
    uint64_t magnitude = 0;
    while (i < s->len && s->text[i] >= '0' && s->text[i] <= '9' && i - start < 20)
        magnitude = magnitude * 10 + (uint64_t)(s->text[i++] - '0');
    size_t digits = i - start;
    if (digits == 0 || digits > 19 || (digits > 1 && s->text[start] == '0') ||
        magnitude > (uint64_t)INT64_MAX)
        return false;
    if (i < s->len && (s->text[i] == '.' || s->text[i] == 'e' || s->text[i] == 'E' ||
                       (s->text[i] >= '0' && s->text[i] <= '9')))
        return false;
    s->pos = i;
    if (value)
        *value = negative ? -(int64_t)magnitude : (int64_t)magnitude;
    return true;
}

static bool read_literal(struct scan *s, const char *word, size_t n)
{
    if (s->len - s->pos < n || memcmp(s->text + s->pos, word, n) != 0)
        return false;
    s->pos += n;
    return true;
}

static bool skip_value(struct scan *s, int depth);

/* Skips an object's members (the '{' is read): keys are only checked. */
static bool skip_object(struct scan *s, int depth)
{
    if (eat(s, '}'))
        return true;
    do {
        struct scan_string key;
        if (!read_string(s, &key) || !eat(s, ':') || !skip_value(s, depth))
            return false;
    } while (eat(s, ','));
    return eat(s, '}');
}

static bool skip_array(struct scan *s, int depth)
{
    if (eat(s, ']'))
        return true;
    do {
        if (!skip_value(s, depth))
            return false;
    } while (eat(s, ','));
    return eat(s, ']');
}

/* Skips the value at the position, which is `depth` containers deep. */
static bool skip_value(struct scan *s, int depth)
{
    struct scan_string str;
    switch (next(s)) {
    case '{':
        s->pos++;
        return depth < SCAN_MAX_DEPTH && skip_object(s, depth + 1);
    case '[':
        s->pos++;
        return depth < SCAN_MAX_DEPTH && skip_array(s, depth + 1);
    case '"':
        return read_string(s, &str);
    case 't':
        return read_literal(s, "true", 4);
    case 'f':
        return read_literal(s, "false", 5);
    case 'n':
        return read_literal(s, "null", 4);
    default:
        return read_integer(s, NULL);
    }
}

/* The members of an operation object such as {"status":201,"error":{...}}
 * (the '{' is read). The last of duplicate members counts, as in
 * json_parse. */
static bool read_op(struct scan *s, int depth, struct scan_op *op)
{
    *op = (struct scan_op){0};
    if (eat(s, '}'))
        return true;
    do {
        struct scan_string key;
        if (!read_string(s, &key) || !eat(s, ':'))
            return false;
        if (key.escaped)
            return false;
        if (string_is(&key, "status", 6)) {
            int64_t status;
            if (!read_integer(s, &status))
                return false; /* not an integer: the tree reader words it */
            op->status = status >= 100 && status <= 599 ? (int)status : 0;
        } else if (string_is(&key, "error", 5)) {
            skip_space(s);
            op->error_start = s->pos;
            if (!skip_value(s, depth))
                return false;
            op->error_end = s->pos;
        } else if (!skip_value(s, depth)) {
            return false;
        }
    } while (eat(s, ','));
    return eat(s, '}');
}

/* Fills in the item; its "error" member's value, if any, is parsed alone. */
static void finish_item(const struct scan *s, const struct scan_op *op, bool create,
                        struct es_item *item)
{
    item->status = op->status;
    if (op->error_end == 0) {
        es_item_finish(item, create, NULL);
        return;
    }
    struct value error;
    /* The same bytes already passed the scan, so this parse succeeds. */
    if (json_parse((const char *)s->text + op->error_start, op->error_end - op->error_start, &error,
                   NULL) < 0)
        error = value_null();
    es_item_finish(item, create, &error);
    value_free(&error);
}

/* The usual item with our filter_path, byte for byte, such as
 * {"create":{"status":201}}: read without the general walk. False, having
 * read nothing, for anything else. */
static bool read_short_item(struct scan *s, struct es_item *item)
{
    static const char create[] = "{\"create\":{\"status\":";
    static const char index[] = "{\"index\":{\"status\":";
    const unsigned char *p = s->text + s->pos;
    size_t left = s->len - s->pos;
    size_t n = 0;
    if (left >= sizeof create - 1 + 5 && memcmp(p, create, sizeof create - 1) == 0)
        n = sizeof create - 1;
    else if (left >= sizeof index - 1 + 5 && memcmp(p, index, sizeof index - 1) == 0)
        n = sizeof index - 1;
    if (!n || p[n] < '1' || p[n] > '5' || p[n + 1] < '0' || p[n + 1] > '9' || p[n + 2] < '0' ||
        p[n + 2] > '9' || p[n + 3] != '}' || p[n + 4] != '}')
        return false;
    item->status = (p[n] - '0') * 100 + (p[n + 1] - '0') * 10 + (p[n + 2] - '0');
    es_item_finish(item, n == sizeof create - 1, NULL);
    s->pos += n + 5;
    return true;
}

/* One item: an object with exactly one member, the operation. */
static bool read_item(struct scan *s, struct es_item *item)
{
    struct scan_string name;
    struct scan_op op;
    if (!eat(s, '{') || !read_string(s, &name) || name.escaped || !eat(s, ':') || !eat(s, '{') ||
        !read_op(s, 4, &op) || op.status == 0 || next(s) != '}')
        return false;
    s->pos++;
    finish_item(s, &op, string_is(&name, "create", 6), item);
    return true;
}

/* The text of the last item read, when it has no error texts to own. */
struct item_text {
    const unsigned char *start;
    size_t len;
};

/* Whether the item at the position is byte for byte the last one, which is
 * then taken as it was read: reading an item looks at its own bytes only,
 * from its '{' to its '}', so the same bytes give the same item. An
 * all-success answer is one item repeated ({"create":{"status":201}} with
 * our filter_path), so each costs a comparison. */
static bool repeat_item(struct scan *s, const struct item_text *last)
{
    if (!last->len || s->len - s->pos < last->len ||
        memcmp(s->text + s->pos, last->start, last->len) != 0)
        return false;
    s->pos += last->len;
    return true;
}

/* The items array (the '[' is read), exactly `expected` of them. */
static bool read_items(struct scan *s, size_t expected, struct es_response *out)
{
    out->items = xcalloc(expected ? expected : 1, sizeof *out->items);
    if (eat(s, ']'))
        return expected == 0;
    struct item_text last = {0};
    do {
        if (out->count == expected)
            return false;
        struct es_item *item = &out->items[out->count];
        /* Skip the whitespace here, where the item's leading '{' is. */
        skip_space(s);
        size_t start = s->pos;
        if (repeat_item(s, &last)) {
            *item = out->items[out->count - 1];
        } else {
            if (!read_short_item(s, item) && !read_item(s, item))
                return false;
            /* An item with error texts owns them: it is not copied. */
            bool plain = !item->error_type[0] && !item->error_reason[0];
            last =
                plain ? (struct item_text){s->text + start, s->pos - start} : (struct item_text){0};
        }
        out->count++;
        out->counts[item->class]++;
    } while (eat(s, ','));
    return eat(s, ']') && out->count == expected;
}

/* The top object: "items" once, anything else skipped. */
static bool read_root(struct scan *s, size_t expected, struct es_response *out)
{
    bool have_items = false;
    if (!eat(s, '{'))
        return false;
    if (eat(s, '}'))
        return false;
    do {
        struct scan_string key;
        if (!read_string(s, &key) || key.escaped || !eat(s, ':'))
            return false;
        if (string_is(&key, "items", 5)) {
            if (have_items || !eat(s, '[') || !read_items(s, expected, out))
                return false;
            have_items = true;
        } else if (!skip_value(s, 1)) {
            return false;
        }
    } while (eat(s, ','));
    if (!eat(s, '}') || !have_items)
        return false;
    skip_space(s);
    return s->pos == s->len;
}

int es_response_scan(const char *text, size_t len, size_t expected_items, struct es_response *out)
{
    struct scan s = {(const unsigned char *)text, len, 0};
    *out = (struct es_response){0};
    if (read_root(&s, expected_items, out))
        return 0;
    es_response_free(out);
    return -1;
}
